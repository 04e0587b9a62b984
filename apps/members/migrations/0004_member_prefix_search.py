"""Indexes for the admin site's member search across organizations (issue 15): an exact
userId or a display name "beginning with" (``LIKE 'x%'``), which scanned every member.
``text_pattern_ops`` lets PostgreSQL's btree serve the prefix LIKE under a non-C
collation (and equality); SQLite ignores the operator class."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0003_member_is_bot_member_removed_at"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="member",
            index=models.Index(
                fields=["user_id"], name="member_user_id_prefix", opclasses=["text_pattern_ops"]
            ),
        ),
        migrations.AddIndex(
            model_name="member",
            index=models.Index(
                fields=["display_name"], name="member_name_prefix", opclasses=["text_pattern_ops"]
            ),
        ),
    ]
