"""Input and output shapes of the messaging API's permission routes
(docs/api/messaging-permissions.md)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.core.fields import StringField
from apps.messaging.base import id_str
from apps.permissions.models import Rule
from apps.permissions.services import ACCESS_VALUES, MAX_RULES_PER_REQUEST

#: The longest resource name a rule or a query may use (Rule.resource).
MAX_RESOURCE_LENGTH = 128
#: The longest operation name (Rule.operation).
MAX_OPERATION_LENGTH = 64


# --- input ---------------------------------------------------------------------------
class EffectiveQueryInput(serializers.Serializer):
    resource = StringField(required=False, allow_blank=True, max_length=MAX_RESOURCE_LENGTH)


class RuleInput(serializers.Serializer):
    resource = StringField(max_length=MAX_RESOURCE_LENGTH)
    operation = StringField(max_length=MAX_OPERATION_LENGTH)
    access = serializers.ChoiceField(choices=list(ACCESS_VALUES))


class RulesSetInput(serializers.Serializer):
    rules = RuleInput(many=True, allow_empty=False, max_length=MAX_RULES_PER_REQUEST)


# --- output --------------------------------------------------------------------------
class OperationOutput(serializers.Serializer):
    resource = serializers.CharField()
    operation = serializers.CharField()
    description = serializers.CharField()


class EffectiveRuleOutput(serializers.Serializer):
    resource = serializers.CharField()
    operation = serializers.CharField()
    access = serializers.ChoiceField(choices=Rule.Access.choices)


class RoleRuleOutput(serializers.Serializer):
    roleID = serializers.CharField(help_text="The role's numeric id, as a string.")
    resource = serializers.CharField()
    operation = serializers.CharField()
    access = serializers.ChoiceField(choices=Rule.Access.choices)


class OperationsEnvelope(serializers.Serializer):
    response = OperationOutput(many=True)


class EffectiveEnvelope(serializers.Serializer):
    response = EffectiveRuleOutput(many=True)


class RoleRulesEnvelope(serializers.Serializer):
    response = RoleRuleOutput(many=True)


# The messaging dialect's acknowledgement and error bodies, for OpenAPI. Other areas of the
# messaging API import these two envelopes too (one component each in the schema).
def render_rules(rules: list[Rule]) -> list[dict[str, Any]]:
    return [
        {
            "roleID": id_str(rule.role_id),
            "resource": rule.resource,
            "operation": rule.operation,
            "access": rule.access,
        }
        for rule in rules
    ]
