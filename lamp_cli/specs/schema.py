"""JSON Schemas generated from the models, and lookups in them by field path.

The same schema serves editors (``# yaml-language-server: $schema=...``), ``--set`` typing and the
"allowed: ..." list of an unknown-field message, so all three always agree with the models.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path as FsPath
from typing import Any

from lamp_cli.specs.common import ENDPOINT_KIND, MODEL_KIND
from lamp_cli.specs.endpoint_spec import ServingEndpointSpec
from lamp_cli.specs.model_spec import ServingModelSpec
from lamp_cli.specs.paths import Path

MODELS: dict[str, type[ServingModelSpec] | type[ServingEndpointSpec]] = {
    MODEL_KIND: ServingModelSpec,
    ENDPOINT_KIND: ServingEndpointSpec,
}
SCHEMA_FILES = {
    MODEL_KIND: "serving-model-spec.schema.json",
    ENDPOINT_KIND: "serving-endpoint-spec.schema.json",
}
PACKAGED_SCHEMA_DIR = FsPath(__file__).parent / "schema"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@cache
def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one spec kind (cached; treat as read-only)."""
    schema = MODELS[kind].model_json_schema(by_alias=True, mode="validation")
    return {"$schema": _DIALECT, "$id": SCHEMA_FILES[kind], **schema}


def schema_text(kind: str) -> str:
    """The schema as written to disk: stable key order, trailing newline."""
    return json.dumps(json_schema(kind), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(directory: FsPath) -> list[FsPath]:
    """Write both schemas into ``directory``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, name in SCHEMA_FILES.items():
        target = directory / name
        target.write_text(schema_text(kind), encoding="utf-8")
        written.append(target)
    return written


def _deref(root: dict[str, Any], node: Any) -> dict[str, Any]:
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 32:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = root.get("$defs", {}).get(name, {})
        seen += 1
    return node if isinstance(node, dict) else {}


def _branches(root: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    node = _deref(root, node)
    options = node.get("anyOf") or node.get("oneOf")
    if not options:
        return [node]
    result = []
    for option in options:
        result.extend(_branches(root, option))
    return [branch for branch in result if branch.get("type") != "null"] or result


def node_at(kind: str, path: Path) -> dict[str, Any] | None:
    """The schema of the value at ``path``, ``{}`` inside free-form values, ``None`` if no field."""
    root = json_schema(kind)
    node: dict[str, Any] = root
    for part in path:
        following: dict[str, Any] | None = None
        for branch in _branches(root, node):
            if not branch:
                following = {}
            elif isinstance(part, int) and branch.get("type") == "array":
                following = _deref(root, branch.get("items", {}))
            elif isinstance(part, str) and branch.get("type") == "object":
                properties = branch.get("properties", {})
                extra = branch.get("additionalProperties", not properties)
                if part in properties:
                    following = properties[part]
                elif isinstance(extra, dict):
                    following = extra
                elif extra is True:
                    following = {}
            if following is not None:
                break
        if following is None:
            return None
        node = following
    return _deref(root, node)


def allowed_keys(kind: str, path: Path) -> list[str]:
    """The keys a mapping at ``path`` may hold, in schema order."""
    node = node_at(kind, path)
    if node is None:
        return []
    keys: list[str] = []
    for branch in _branches(json_schema(kind), node):
        keys.extend(key for key in branch.get("properties", {}) if key not in keys)
    return keys


def types_at(kind: str, path: Path) -> tuple[set[str], list[Any]]:
    """JSON types allowed at ``path`` and the enumerated values, if any."""
    node = node_at(kind, path)
    if node is None:
        return set(), []
    types: set[str] = set()
    choices: list[Any] = []
    for branch in _branches(json_schema(kind), node):
        if "const" in branch:
            choices.append(branch["const"])
        choices.extend(branch.get("enum", []))
        kind_of = branch.get("type")
        if isinstance(kind_of, list):
            types.update(kind_of)
        elif kind_of:
            types.add(kind_of)
        elif "const" not in branch and "enum" not in branch:
            types.add("any")
    if choices and not types:
        types = {"string"} if all(isinstance(c, str) for c in choices) else {"any"}
    return types, choices
