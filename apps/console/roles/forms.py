"""The roles page's form: a role's rules, one select per registered operation (on the
organization, ``messaging``, or on any channel, ``messaging:channel:*``), one per rule the
role holds on another resource (one channel, or ``messaging:channel``), and an optional
new rule for one channel."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.permissions.models import Rule
from apps.permissions.registry import ANY_CHANNEL, CHANNEL, MESSAGING, operations_of
from apps.permissions.services import INHERIT, rule_dict

ACCESS_CHOICES = [
    (INHERIT, "Default"),
    (Rule.Access.ALLOW.value, "Allow"),
    (Rule.Access.DENY.value, "Deny"),
]
#: Longest channelId the new-rule field takes (the column's size).
MAX_CHANNEL_ID_LENGTH = 128


def matrix_resource(operation_resource: str) -> str:
    """Where the page's matrix sets an operation's rule: ``messaging`` for the
    organization's operations, ``messaging:channel:*`` for the channel ones."""
    return MESSAGING if operation_resource == MESSAGING else ANY_CHANNEL


def field_name(resource: str, operation: str) -> str:
    return f"access|{resource}|{operation}"


class RoleRulesForm(forms.Form):
    new_channel = forms.CharField(
        label="Channel (channelId)", required=False, max_length=MAX_CHANNEL_ID_LENGTH
    )
    new_operation = forms.ChoiceField(label="Operation", required=False)
    new_access = forms.ChoiceField(
        label="Allow or deny",
        required=False,
        choices=ACCESS_CHOICES[1:],
        initial=Rule.Access.DENY,
    )

    def __init__(self, *args: Any, rules: list[Rule], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = {(r.resource, r.operation): r.access for r in rules}
        #: field name -> (resource, operation, access now)
        self.targets: dict[str, tuple[str, str, str]] = {}
        matrix = set()
        for op in operations_of():
            resource = matrix_resource(op.resource)
            matrix.add((resource, op.operation))
            self._add(resource, op.operation, current.get((resource, op.operation), INHERIT))
        for rule in rules:
            if (rule.resource, rule.operation) not in matrix:
                self._add(rule.resource, rule.operation, rule.access)
        self.fields["new_operation"].choices = [("", "—")] + [
            (op.operation, f"{op.operation}: {op.description}") for op in operations_of(CHANNEL)
        ]

    def _add(self, resource: str, operation: str, access: str) -> None:
        name = field_name(resource, operation)
        self.targets[name] = (resource, operation, access)
        self.fields[name] = forms.ChoiceField(
            label=f"{operation} on {resource}",
            choices=ACCESS_CHOICES,
            initial=access,
            required=False,  # a rule added since the page was read is left alone
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        channel = (data.get("new_channel") or "").strip()
        data["new_channel"] = channel
        if channel and not data.get("new_operation"):
            self.add_error("new_operation", "Choose the operation the channel's rule is for.")
        if data.get("new_operation") and not channel:
            self.add_error("new_channel", "Give the channelId the rule is for.")
        if channel and not data.get("new_access"):
            self.add_error("new_access", "Choose allow or deny.")
        return data

    def changes(self) -> list[dict[str, str]]:
        """``{resource, operation, access}`` of every select whose value changed (what
        :func:`apps.permissions.services.role_rules_set` takes; ``inherit`` removes)."""
        changed = []
        for name, (resource, operation, access) in self.targets.items():
            wanted = self.cleaned_data.get(name) or access
            if wanted != access:
                changed.append(rule_dict(resource, operation, wanted))
        return changed

    def rows(self) -> dict[tuple[str, str], forms.BoundField]:
        """(resource, operation) -> its select, for the template."""
        return {(r, o): self[name] for name, (r, o, _a) in self.targets.items()}
