"""Pydantic validation errors rewritten as lamp Problems: a position and a readable message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from lamp_cli.errors import Problem
from lamp_cli.specs.common import ENDPOINT_KIND
from lamp_cli.specs.paths import Path, format_path
from lamp_cli.specs.schema import allowed_keys, node_at, types_at
from lamp_cli.specs.types import one_of, shown
from lamp_cli.specs.yaml_source import SourceDocument

# Unknown keys that people write for a reason; the message says where the thing belongs instead.
_MISPLACED: dict[tuple[str, tuple[str, ...]], str] = {
    (ENDPOINT_KIND, ("spec", "image")): (
        "the endpoint spec never names an image: it comes from spec.image of the model spec "
        "logged in the same run, so the two cannot disagree"
    ),
}
_TYPE_NAMES = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "none_required": "null",
}


def problems_from_error(
    error: ValidationError,
    kind: str,
    source: SourceDocument,
    overridden: Mapping[Path, str],
) -> list[Problem]:
    """One Problem per pydantic error (rule errors may expand to several), in document order."""
    problems: list[Problem] = []
    for entry in error.errors(include_url=False):
        loc: Path = tuple(entry["loc"])
        ctx = entry.get("ctx") or {}
        if entry["type"] == "lamp" and ctx.get("problems"):
            for at, message in ctx["problems"]:
                problems.append(problem_at(source, (*loc, *at), message, overridden))
            continue
        at_key = entry["type"] in ("extra_forbidden", "missing")
        problems.append(
            problem_at(source, loc, _message(entry, kind, loc), overridden, at_key=at_key)
        )
    return problems


def problem_at(
    source: SourceDocument,
    path: Path,
    message: str,
    overridden: Mapping[Path, str],
    *,
    at_key: bool = False,
) -> Problem:
    for prefix in (path[:n] for n in range(len(path), 0, -1)):
        if prefix in overridden:
            # The bad value came from the command line, not the file: no line to point at.
            return Problem(
                message=f"{message} (from {overridden[prefix]})",
                file=source.file,
                field=format_path(path),
            )
    return source.problem(path, message, at_key=at_key)


def _message(entry: Mapping[str, Any], kind: str, loc: Path) -> str:
    kind_of, ctx, value = entry["type"], entry.get("ctx") or {}, entry.get("input")
    if kind_of == "lamp":
        return str(ctx.get("message", entry["msg"]))
    if kind_of == "missing":
        return "required field missing"
    if kind_of == "extra_forbidden":
        misplaced = _MISPLACED.get((kind, tuple(str(p) for p in loc)))
        if misplaced is not None:
            return misplaced
        allowed = allowed_keys(kind, loc[:-1])
        return f"unknown field (allowed: {one_of(allowed)})" if allowed else "unknown field"
    if kind_of == "string_type":
        quote = "; quote it" if isinstance(value, (int, float, bool)) else ""
        return f"must be a string (got {shown(value)}){quote}"
    if kind_of in _TYPE_NAMES:
        return f"must be {_TYPE_NAMES[kind_of]} (got {shown(value)})"
    if kind_of in ("literal_error", "enum"):
        _, choices = types_at(kind, loc)
        if len(choices) == 1:
            return f"must be {choices[0]} (got {shown(value)})"
        expected = one_of(str(c) for c in choices) if choices else ctx.get("expected", "")
        return f"must be one of {expected} (got {shown(value)})"
    if kind_of in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        node = node_at(kind, loc) or {}
        if "minimum" in node and "maximum" in node:
            return f"must be between {node['minimum']} and {node['maximum']} (got {shown(value)})"
        symbol = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">"}.get(
            kind_of, "<"
        )
        bound = next(iter(ctx.values()), "")
        return f"must be {symbol} {bound} (got {shown(value)})"
    if kind_of == "too_short":
        count = ctx.get("min_length", 1)
        return f"must have at least {count} {'item' if count == 1 else 'items'}"
    if kind_of == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    if kind_of == "string_too_short":
        return "must not be empty"
    if kind_of == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters (got {len(str(value))})"
    if kind_of == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')} (got {shown(value)})"
    return f"{entry['msg']} (got {shown(value)})"
