"""Full-text search of messages on PostgreSQL: a ``search_vector`` tsvector column with a
GIN index, kept by a trigger in the organization's ``search_language``.

Not a model field (the model stays the same on SQLite, where search falls back to a
LIKE scan: docs/api/messaging.md). The trigger fires on insert and when ``data``
changes, so every path that writes a message (services, bulk seeding) indexes it with
no statement of its own.
"""

from django.db import migrations

FORWARD = [
    "ALTER TABLE chat_messages_message ADD COLUMN search_vector tsvector",
    """
    CREATE FUNCTION chatadmin_message_search_vector() RETURNS trigger AS $$
    BEGIN
      NEW.search_vector := to_tsvector(
        COALESCE(
          (SELECT search_language FROM organizations_organization
            WHERE id = NEW.organization_id),
          'simple'
        )::regconfig,
        COALESCE(NEW.data->>'text', NEW.data->>'caption', NEW.data->>'name', '')
      );
      RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER message_search_vector
      BEFORE INSERT OR UPDATE OF data ON chat_messages_message
      FOR EACH ROW EXECUTE FUNCTION chatadmin_message_search_vector()
    """,
    "UPDATE chat_messages_message SET data = data",
    "CREATE INDEX message_search ON chat_messages_message USING GIN (search_vector)",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS message_search_vector ON chat_messages_message",
    "DROP FUNCTION IF EXISTS chatadmin_message_search_vector()",
    "ALTER TABLE chat_messages_message DROP COLUMN IF EXISTS search_vector",
]


def _run(statements: list[str]):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("chat_messages", "0003_bookmark_threadread_message_pinned_at_and_more"),
        ("organizations", "0004_organization_search_language"),
    ]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
