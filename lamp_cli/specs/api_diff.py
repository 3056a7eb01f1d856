"""What changed in the API between two OpenAPI documents, and which changes break clients.

Operations match by method and path shape. Within an operation the request body and the
200/201 answer are compared field by field, as the signature sees them (``a.b`` for a nested
field, ``a[]`` for a list's items, ``a{}`` for a dict's values, ``(body)`` for a whole body that is
not an object). Breaking: a removed operation, a removed or retyped response field, a new
required or retyped request field, a request field that became required, a removed enum value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lamp_cli.errors import BreakingChanges, Problem
from lamp_cli.specs.api import ApiDocument, Operation
from lamp_cli.specs.signature import Converter

BODY = "(body)"


@dataclass(frozen=True)
class ApiChange:
    change: str
    operation: str
    breaking: bool
    message: str
    field: str | None = None
    required: bool | None = None
    old: str | None = None
    new: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "operation": self.operation,
            "field": self.field,
            "required": self.required,
            "old": self.old,
            "new": self.new,
            "breaking": self.breaking,
            "message": self.message,
        }


@dataclass(frozen=True)
class _Field:
    type: str
    required: bool


def _walk(kind: dict[str, Any], path: str, required: bool, out: dict[str, _Field]) -> None:
    out[path] = _Field(str(kind["type"]), required)
    if kind["type"] == "object":
        for name, prop in kind["properties"].items():
            _walk(prop, f"{path}.{name}" if path else name, bool(prop["required"]), out)
    elif kind["type"] == "array":
        _walk(kind["items"], f"{path}[]", True, out)
    elif kind["type"] == "map":
        _walk(kind["values"], f"{path}{{}}", True, out)


def _fields(
    document: dict[str, Any], schema: dict[str, Any] | None
) -> tuple[dict[str, _Field], dict[str, tuple[Any, ...]]]:
    """A body's fields by path, and the enum values at each path that has them."""
    if schema is None:
        return {}, {}
    converter = Converter(document, "")
    out: dict[str, _Field] = {}
    for column in converter.columns(schema):
        _walk(column, str(column.get("name", "")), bool(column["required"]), out)
    return out, converter.enums


def _under(path: str, parent: str) -> bool:
    if path == parent or not path.startswith(parent):
        return False
    return parent == "" or path[len(parent)] in ".[{"


def _compare(
    side: str,
    label: str,
    old: tuple[dict[str, _Field], dict[str, tuple[Any, ...]]],
    new: tuple[dict[str, _Field], dict[str, tuple[Any, ...]]],
) -> list[ApiChange]:
    (before, old_enums), (after, new_enums) = old, new
    changes: list[ApiChange] = []
    settled: list[str] = []  # paths whose descendants are covered by a change already
    request = side == "request"
    for path in [*before, *(p for p in after if p not in before)]:
        if any(_under(path, done) for done in settled):
            continue
        shown = path or BODY
        was, now = before.get(path), after.get(path)
        if now is None and was is not None:
            settled.append(path)
            changes.append(
                ApiChange(
                    f"{side}_field_removed",
                    label,
                    breaking=not request,
                    message=f"{label}: {side} field {shown} removed",
                    field=shown,
                    required=was.required,
                    old=was.type,
                )
            )
        elif was is None and now is not None:
            settled.append(path)
            extra = " (required)" if now.required else " (optional)"
            changes.append(
                ApiChange(
                    f"{side}_field_added",
                    label,
                    breaking=request and now.required,
                    message=f"{label}: {side} field {shown} added" + (extra if request else ""),
                    field=shown,
                    required=now.required,
                    new=now.type,
                )
            )
        elif was is not None and now is not None and was.type != now.type:
            settled.append(path)
            breaking = not (request and now.type == "any")
            changes.append(
                ApiChange(
                    f"{side}_field_type_changed",
                    label,
                    breaking=breaking,
                    message=f"{label}: {side} field {shown} changed from {was.type} to {now.type}",
                    field=shown,
                    required=now.required,
                    old=was.type,
                    new=now.type,
                )
            )
        elif request and was is not None and now is not None and now.required > was.required:
            changes.append(
                ApiChange(
                    "request_field_required",
                    label,
                    breaking=True,
                    message=f"{label}: request field {shown} is now required",
                    field=shown,
                    required=True,
                )
            )
        if path in old_enums and path in new_enums and path not in settled:
            changes += _enum_changes(side, label, shown, old_enums[path], new_enums[path])
    return changes


def _enum_changes(
    side: str, label: str, shown: str, old: tuple[Any, ...], new: tuple[Any, ...]
) -> list[ApiChange]:
    changes = [
        ApiChange(
            "enum_value_removed",
            label,
            breaking=True,
            message=f"{label}: {side} field {shown} no longer allows {value!r}",
            field=shown,
            old=str(value),
        )
        for value in old
        if value not in new
    ]
    changes += [
        ApiChange(
            "enum_value_added",
            label,
            breaking=False,
            message=f"{label}: {side} field {shown} also allows {value!r}",
            field=shown,
            new=str(value),
        )
        for value in new
        if value not in old
    ]
    return changes


def diff_api(old: ApiDocument, new: ApiDocument) -> list[ApiChange]:
    """Every change from ``old`` to ``new``, operations in the order of the documents."""
    before: dict[tuple[str, str], Operation] = {(op.shape, op.method): op for op in old.operations}
    after: dict[tuple[str, str], Operation] = {(op.shape, op.method): op for op in new.operations}
    changes: list[ApiChange] = []
    for key, op in before.items():
        if key not in after:
            changes.append(
                ApiChange(
                    "operation_removed", op.label, breaking=True, message=f"{op.label}: removed"
                )
            )
    for key, op in after.items():
        if key not in before:
            changes.append(
                ApiChange("operation_added", op.label, breaking=False, message=f"{op.label}: added")
            )
            continue
        was = before[key]
        changes += _compare(
            "request",
            op.label,
            _fields(old.document, was.request),
            _fields(new.document, op.request),
        )
        changes += _compare(
            "response",
            op.label,
            _fields(old.document, was.response),
            _fields(new.document, op.response),
        )
    return changes


def changes_to_dict(changes: list[ApiChange]) -> dict[str, Any]:
    """The stable JSON shape of ``-o json``: whether any change breaks, and every change."""
    return {
        "breaking": any(change.breaking for change in changes),
        "changes": [change.to_dict() for change in changes],
    }


def breaking_error(changes: list[ApiChange], against: str) -> BreakingChanges:
    """The error of ``--fail-on-breaking``: each change that breaks the clients of ``against``
    (``version 3``, ``@production``), one problem each."""
    breaking = [change for change in changes if change.breaking]
    noun = "change" if len(breaking) == 1 else "changes"
    return BreakingChanges(
        f"{len(breaking)} {noun} of the API break clients of {against}",
        problems=[Problem(change.message) for change in breaking],
        hint="keep the old fields and operations beside the new ones (deprecate first), or "
        "release without --fail-on-breaking once the clients have moved",
    )
