"""The model version's signature, from the app's primary route, in MLflow's own JSON.

``ModelSignature.to_dict()`` writes ``inputs`` and ``outputs`` as JSON text of column lists;
this module writes the same without importing ``mlflow.models`` (which needs numpy and pandas).
JSON Schema maps onto MLflow's types as: string, integer -> long, number -> double, boolean,
``date-time`` -> datetime, ``binary``; objects -> ``object`` (properties sorted by name, as MLflow
keeps them), lists -> ``array``, dicts -> ``map``; what MLflow cannot express -> ``any``, with a
notice. ``required`` is written on every column and property: MLflow reads a column without it
as ``required: null``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lamp_cli.specs.api import ApiDocument, Operation, resolve_ref

#: Without an app, the signature of an HTTP exchange with one of the model spec's routes: Unity
#: Catalog registers only models whose signature has inputs and outputs.
PLACEHOLDER_INPUTS: list[dict[str, Any]] = [
    {"type": "string", "name": "route", "required": True},
    {"type": "string", "name": "method", "required": True},
    {"type": "string", "name": "body", "required": False},
]
PLACEHOLDER_OUTPUTS: list[dict[str, Any]] = [
    {"type": "long", "name": "status", "required": True},
    {"type": "string", "name": "body", "required": False},
]
ANY: dict[str, Any] = {"type": "any"}
_SCALARS = {"integer": "long", "number": "double", "boolean": "boolean"}


@dataclass(frozen=True)
class Signature:
    """Input and output columns as MLflow's ``ColSpec.to_dict()`` writes them."""

    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    #: ``POST /v1/predict`` or ``placeholder``.
    source: str
    notices: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """What ``ModelSignature.to_dict()`` gives: the ``signature`` of an ``MLmodel`` file."""
        return {
            "inputs": json.dumps(self.inputs),
            "outputs": json.dumps(self.outputs),
            "params": None,
        }


PLACEHOLDER = Signature(PLACEHOLDER_INPUTS, PLACEHOLDER_OUTPUTS, "placeholder")


class Converter:
    """JSON Schema (of one OpenAPI document) to MLflow column types.

    Collects a notice per thing MLflow's signature cannot express, and the enum values met at
    each field path (``a.b``, ``items[]``, ``tags{}``) for the API diff.
    """

    def __init__(self, document: dict[str, Any], where: str) -> None:
        self.document = document
        self.where = where
        self.notices: list[str] = []
        self.enums: dict[str, tuple[Any, ...]] = {}

    def _notice(self, path: str, reason: str) -> dict[str, Any]:
        self.notices.append(f"{self.where} {path or 'body'}: {reason}; written as any")
        return dict(ANY)

    def convert(
        self, schema: Any, path: str = "", stack: tuple[str, ...] = ()
    ) -> tuple[dict[str, Any], bool]:
        """The MLflow type of ``schema`` and whether it admits null."""
        if schema is True or schema == {}:
            return dict(ANY), False
        if not isinstance(schema, dict):
            return self._notice(path, "a schema lamp cannot read"), False
        while "$ref" in schema:
            ref = schema["$ref"]
            if ref in stack:
                name = str(ref).rsplit("/", 1)[-1]
                return self._notice(path, f"{name} refers to itself, which MLflow cannot"), False
            target = resolve_ref(self.document, ref)
            if target is None:
                return self._notice(path, f"the reference {ref} leads nowhere"), False
            stack = (*stack, ref)
            schema = target
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                return self._union(schema[key], path, stack)
        if isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
            return self.convert(schema["allOf"][0], path, stack)
        if "allOf" in schema:
            return self._notice(path, "a combination of schemas (allOf)"), False
        kind = schema.get("type")
        nullable = False
        values = schema["enum"] if isinstance(schema.get("enum"), list) else None
        if "const" in schema:
            values = [schema["const"]]
        if values is not None:
            nullable = None in values
            self.enums[path] = tuple(v for v in values if v is not None)
            if kind is None:
                kind = _kind_of(values)
        if isinstance(kind, list):
            nullable = nullable or "null" in kind
            kinds = [k for k in kind if k != "null"]
            if len(kinds) != 1:
                if not kinds:
                    return dict(ANY), True
                return self._notice(
                    path, f"one of {', '.join(kinds)}; MLflow has no unions"
                ), nullable
            kind = kinds[0]
        if kind is None:
            if "properties" in schema or "additionalProperties" in schema:
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            else:
                return dict(ANY), nullable
        return self._typed(schema, str(kind), path, stack), nullable

    def _typed(
        self, schema: dict[str, Any], kind: str, path: str, stack: tuple[str, ...]
    ) -> dict[str, Any]:
        if kind == "string":
            media = schema.get("contentMediaType")
            if schema.get("format") == "binary" or (media and "json" not in str(media)):
                return {"type": "binary"}
            return {"type": "datetime" if schema.get("format") == "date-time" else "string"}
        if kind in _SCALARS:
            return {"type": _SCALARS[kind]}
        if kind == "null":
            return dict(ANY)
        if kind == "array":
            items = schema.get("items")
            if items is None and "prefixItems" in schema:
                self._notice(f"{path}[]", "a tuple of fixed positions")
                return {"type": "array", "items": dict(ANY)}
            item, _ = self.convert(True if items is None else items, f"{path}[]", stack)
            return {"type": "array", "items": item}
        if kind == "object":
            properties = schema.get("properties")
            if isinstance(properties, dict) and properties:
                return {"type": "object", "properties": self.properties(schema, path, stack)}
            extra = schema.get("additionalProperties", True)
            if extra is False:
                return self._notice(path, "an object without properties")
            value, _ = self.convert(extra, f"{path}{{}}", stack)
            return {"type": "map", "values": value}
        return self._notice(path, f"the type {kind!r}")

    def properties(
        self, schema: dict[str, Any], path: str, stack: tuple[str, ...]
    ) -> dict[str, dict[str, Any]]:
        """An object's properties, each with its ``required`` flag, sorted by name: as MLflow's
        ``Object`` keeps them, and so that the document read from the app and the same document
        saved with sorted keys give the same signature."""
        required = set(schema.get("required") or [])
        found: dict[str, dict[str, Any]] = {}
        for name in sorted(schema["properties"]):
            sub = f"{path}.{name}" if path else name
            kind, nullable = self.convert(schema["properties"][name], sub, stack)
            found[name] = {**kind, "required": name in required and not nullable}
        return found

    def _union(
        self, options: list[Any], path: str, stack: tuple[str, ...]
    ) -> tuple[dict[str, Any], bool]:
        kept = [o for o in options if not _is_null(o)]
        nullable = len(kept) < len(options)
        if not kept:
            return dict(ANY), True
        if len(kept) == 1:
            kind, inner = self.convert(kept[0], path, stack)
            return kind, nullable or inner
        quiet = Converter(self.document, self.where)
        kinds = [quiet.convert(o, path, stack)[0] for o in kept]
        if all(k == kinds[0] for k in kinds) and not quiet.notices:
            return kinds[0], nullable
        names = ", ".join(str(k["type"]) for k in kinds)
        return self._notice(path, f"one of {names}; MLflow has no unions"), nullable

    def columns(self, schema: dict[str, Any] | None) -> list[dict[str, Any]]:
        """A body's columns: one per top-level property of an object (by name), else one unnamed
        column (which MLflow requires to be required)."""
        target: Any = schema
        seen: set[str] = set()
        while isinstance(target, dict) and "$ref" in target and target["$ref"] not in seen:
            seen.add(target["$ref"])
            target = resolve_ref(self.document, target["$ref"])
        if (
            isinstance(target, dict)
            and isinstance(target.get("properties"), dict)
            and target["properties"]
            and target.get("type", "object") == "object"
        ):
            properties = self.properties(target, "", tuple(seen))
            return [
                {**{k: v for k, v in prop.items() if k != "required"}, "name": name}
                | {"required": prop["required"]}
                for name, prop in properties.items()
            ]
        kind, _ = self.convert(schema if schema is not None else True, "", ())
        return [{**kind, "required": True}]


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null" and len(schema) <= 2


def _kind_of(values: list[Any]) -> str | None:
    kinds = {
        "boolean" if isinstance(v, bool) else
        "integer" if isinstance(v, int) else
        "number" if isinstance(v, float) else
        "string" if isinstance(v, str) else "other"
        for v in values if v is not None
    }  # fmt: skip
    return kinds.pop() if len(kinds) == 1 and "other" not in kinds else None


def operation_signature(document: dict[str, Any], operation: Operation) -> Signature:
    """The signature of one operation: its JSON request body in, its 200/201 JSON answer out."""
    request = Converter(document, f"request of {operation.label}")
    response = Converter(document, f"response of {operation.label}")
    inputs = request.columns(operation.request)
    outputs = response.columns(operation.response)
    notices = request.notices + response.notices
    if operation.response is None:
        notices.append(f"{operation.label} declares no JSON answer for 200 or 201; output is any")
    return Signature(inputs, outputs, operation.label, notices)


def signature_for(api: ApiDocument | None, operation: Operation | None) -> Signature:
    """The signature of ``operation`` of ``api``; the placeholder when either is unknown."""
    if api is None or operation is None or operation.request is None:
        return PLACEHOLDER
    return operation_signature(api.document, operation)
