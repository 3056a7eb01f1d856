"""``--set model.spec.image.tag=1.5.0``: command-line values applied before validation.

The key names the document (``model.`` or ``endpoint.``) and a path from its root; the value is
typed by the JSON Schema at that path, like Helm's ``--set`` but without the guessing:
``replicas`` gets an integer, ``enabled`` a boolean, a tag stays text even when it looks numeric.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from lamp_cli.errors import Problem
from lamp_cli.specs.common import ENDPOINT_KIND, MODEL_KIND
from lamp_cli.specs.paths import Path, format_path, parse_path
from lamp_cli.specs.schema import allowed_keys, node_at, types_at
from lamp_cli.specs.types import one_of
from lamp_cli.specs.yaml_source import SpecLoader

PREFIXES = {"model": MODEL_KIND, "endpoint": ENDPOINT_KIND}
_INT_RE = re.compile(r"^[+-]?[0-9]+$")
_BOOLS = {"true": True, "false": False}


@dataclass(frozen=True)
class Override:
    """One ``--set`` item: target document (``None`` when unprefixed), path and raw value."""

    text: str
    kind: str | None
    path: Path
    raw: str


def _bad(text: str, message: str) -> Problem:
    key = text.split("=", 1)[0]
    return Problem(message=message, field=f"--set {key}")


def parse_overrides(
    items: Sequence[str], *, require_prefix: bool
) -> tuple[list[Override], list[Problem]]:
    """Split ``K=V`` items; a key without ``model.``/``endpoint.`` is kept only when allowed."""
    overrides: list[Override] = []
    problems: list[Problem] = []
    for text in items:
        key, equals, raw = text.partition("=")
        if not equals or not key:
            problems.append(_bad(text, "expected KEY=VALUE, e.g. --set model.spec.image.tag=1.5.0"))
            continue
        path = parse_path(key.strip())
        if path is None:
            problems.append(
                _bad(
                    text, 'not a field path, e.g. spec.routes[0].path or requests["nvidia.com/gpu"]'
                )
            )
            continue
        kind = PREFIXES.get(str(path[0])) if len(path) > 1 else None
        if kind is not None:
            path = path[1:]
        elif require_prefix:
            problems.append(
                _bad(text, "prefix the key with the document it sets: model. or endpoint.")
            )
            continue
        overrides.append(Override(text=text, kind=kind, path=path, raw=raw))
    return overrides, problems


def typed_value(kind: str, override: Override) -> tuple[Any, Problem | None]:
    """The override's value as the schema at its path wants it."""
    types, choices = types_at(kind, override.path)
    raw = override.raw
    if types == {"integer"}:
        if _INT_RE.match(raw.strip()):
            return int(raw), None
        return None, _bad(override.text, f"must be an integer (got {raw!r})")
    if types == {"boolean"}:
        if raw.strip().lower() in _BOOLS:
            return _BOOLS[raw.strip().lower()], None
        return None, _bad(override.text, f"must be true or false (got {raw!r})")
    if types == {"string"}:
        if choices and raw not in choices:
            return None, _bad(
                override.text, f"must be one of {one_of(map(str, choices))} (got {raw!r})"
            )
        return raw, None
    try:
        value = yaml.load(raw, Loader=SpecLoader) if raw.strip() else ""
    except yaml.YAMLError:
        return None, _bad(override.text, f"cannot read {raw!r} as a YAML value")
    if types == {"number"} and isinstance(value, bool | str):
        return None, _bad(override.text, f"must be a number (got {raw!r})")
    return value, None


def apply_overrides(
    data: Any, kind: str, overrides: Sequence[Override]
) -> tuple[Any, dict[Path, str], list[Problem]]:
    """A copy of ``data`` with the overrides for ``kind`` set; which paths they set; problems."""
    result = copy.deepcopy(data)
    applied: dict[Path, str] = {}
    problems: list[Problem] = []
    for override in overrides:
        if override.kind not in (None, kind):
            continue
        if node_at(kind, override.path) is None:
            problems.append(_unknown_field(kind, override))
            continue
        value, problem = typed_value(kind, override)
        if problem is not None:
            problems.append(problem)
            continue
        problem = _assign(result, override, value)
        if problem is not None:
            problems.append(problem)
            continue
        applied[override.path] = f"--set {override.text}"
    return result, applied, problems


def _unknown_field(kind: str, override: Override) -> Problem:
    path = override.path
    for depth in range(len(path) - 1, -1, -1):
        if node_at(kind, path[:depth]) is not None:
            allowed = allowed_keys(kind, path[:depth])
            where = format_path(path[:depth]) or "the document root"
            hint = f" (allowed under {where}: {one_of(allowed)})" if allowed else ""
            return _bad(override.text, f"no field {format_path(path[depth:])!r} in a {kind}{hint}")
    return _bad(
        override.text, f"no such field in a {kind}"
    )  # pragma: no cover - root always exists


def _assign(data: Any, override: Override, value: Any) -> Problem | None:
    if not isinstance(data, dict):
        return _bad(override.text, "the document is not a mapping")
    current: Any = data
    path = override.path
    for index, part in enumerate(path):
        last = index == len(path) - 1
        where = format_path(path[:index]) or "the document root"
        if isinstance(part, int):
            if not isinstance(current, list):
                return _bad(override.text, f"{where} is not a list")
            if part > len(current):
                return _bad(
                    override.text, f"{where} has {len(current)} items; index {part} is out of range"
                )
            if part == len(current):
                current.append({} if not last else None)
        else:
            if not isinstance(current, dict):
                return _bad(override.text, f"{where} is not a mapping")
            if not last and not isinstance(current.get(part), dict | list):
                current[part] = [] if isinstance(path[index + 1], int) else {}
        if last:
            current[part] = value
        else:
            current = current[part]
    return None
