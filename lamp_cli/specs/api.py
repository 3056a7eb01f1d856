"""The app's API as its OpenAPI document states it: operations, path shapes and health routes.

The document is what FastAPI's ``app.openapi()`` returns (OpenAPI 3.1, JSON Schema from
pydantic). Everything here is pure: it reads a parsed document and never imports FastAPI.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from lamp_cli.errors import InvalidInput, Problem

#: FastAPI's own documentation routes: served by every app, never one of its routes.
DOCS_PATHS = frozenset({"/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"})
#: The methods an OpenAPI path item may hold, in the order lamp lists them.
METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
#: Statuses whose JSON body is the operation's answer, in order of preference.
SUCCESS_STATUSES = ("200", "201")

_TEMPLATE_RE = re.compile(r"\{[^}/]*\}")
_LIVENESS_WORDS = frozenset({"live", "livez", "liveness", "alive"})
_READINESS_WORDS = frozenset({"ready", "readyz", "readiness"})
_STARTUP_WORDS = frozenset({"startup", "startupz", "started"})
_HEALTH_WORDS = frozenset({"health", "healthz", "healthcheck", "ping", "_health"})


def path_shape(path: str) -> str:
    """``/items/{item_id}`` -> ``/items/{}``: FastAPI path templates match by shape, whatever
    their parameters are called. A trailing slash is not part of the shape."""
    shape = _TEMPLATE_RE.sub("{}", path)
    return shape.rstrip("/") or "/"


def health_kind(path: str) -> str | None:
    """``liveness``, ``readiness``, ``startup`` or ``health`` (either) for a path that looks like
    a health check (``/health``, ``/healthz``, ``/livez``, ``/health/ready``, ``/ping``, ...);
    ``None`` for any other path."""
    if "{" in path:
        return None
    parts = [p.lower() for p in path.strip("/").split("/") if p]
    if not parts or len(parts) > 2:
        return None
    last = parts[-1]
    if len(parts) == 2 and parts[0] not in _HEALTH_WORDS and last not in _HEALTH_WORDS:
        return None
    for kind, words in (
        ("liveness", _LIVENESS_WORDS),
        ("readiness", _READINESS_WORDS),
        ("startup", _STARTUP_WORDS),
    ):
        if last in words:
            return kind
    return "health" if last in _HEALTH_WORDS else None


def _is_json(media_type: str) -> bool:
    base = media_type.split(";", 1)[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def _json_schema(content: Any) -> dict[str, Any] | None:
    """The schema of the first JSON media type of a ``content`` map."""
    if not isinstance(content, dict):
        return None
    for media_type, entry in content.items():
        if isinstance(media_type, str) and _is_json(media_type) and isinstance(entry, dict):
            schema = entry.get("schema", {})
            return schema if isinstance(schema, dict) else {}
    return None


@dataclass(frozen=True)
class Operation:
    """One method of one path, with its JSON request body and its 200/201 JSON response."""

    path: str
    method: str
    operation_id: str | None = None
    summary: str | None = None
    request: dict[str, Any] | None = field(default=None, compare=False)
    response: dict[str, Any] | None = field(default=None, compare=False)
    response_status: str | None = None

    @property
    def shape(self) -> str:
        return path_shape(self.path)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def has_json_body(self) -> bool:
        return self.request is not None

    @property
    def name(self) -> str:
        """A route name: the summary (FastAPI's from the function name) in kebab case, else the
        operation id, else the path."""
        for text in (self.summary, self.operation_id, self.path):
            name = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")
            if name:
                return name[:253]
        return "root"


@dataclass(frozen=True)
class ApiDocument:
    """A parsed OpenAPI document and where it came from (an app, or a saved file)."""

    document: dict[str, Any] = field(repr=False)
    source: str
    operations: tuple[Operation, ...]

    @property
    def text(self) -> str:
        """The document as lamp prints and stores it: sorted keys, two-space indent."""
        return canonical_text(self.document)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def at(self, path: str) -> list[Operation]:
        """The operations served at ``path`` (matched by shape)."""
        shape = path_shape(path)
        return [op for op in self.operations if op.shape == shape]

    def find(self, path: str, method: str) -> Operation | None:
        return next((op for op in self.at(path) if op.method == method.upper()), None)

    def health_routes(self) -> list[Operation]:
        """GET operations that look like health checks, in the document's order."""
        return [op for op in self.operations if op.method == "GET" and health_kind(op.path)]


def canonical_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def parse_operations(document: dict[str, Any]) -> tuple[Operation, ...]:
    """Every operation of the document, FastAPI's documentation routes left out."""
    operations: list[Operation] = []
    paths = document.get("paths") or {}
    for path, item in paths.items():
        if not isinstance(item, dict) or not isinstance(path, str) or path in DOCS_PATHS:
            continue
        for method in METHODS:
            entry = item.get(method)
            if not isinstance(entry, dict):
                continue
            body = entry.get("requestBody")
            if isinstance(body, dict) and "$ref" in body:
                body = resolve_ref(document, body["$ref"])
            request = _json_schema(body.get("content")) if isinstance(body, dict) else None
            response, status = None, None
            responses = entry.get("responses") or {}
            for code in SUCCESS_STATUSES:
                answer = responses.get(code) if isinstance(responses, dict) else None
                if isinstance(answer, dict) and "$ref" in answer:
                    answer = resolve_ref(document, answer["$ref"])
                if isinstance(answer, dict):
                    response, status = _json_schema(answer.get("content")), code
                    break
            operations.append(
                Operation(
                    path=path,
                    method=method.upper(),
                    operation_id=_text(entry.get("operationId")),
                    summary=_text(entry.get("summary")),
                    request=request,
                    response=response,
                    response_status=status,
                )
            )
    return tuple(operations)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def resolve_ref(document: dict[str, Any], ref: Any) -> dict[str, Any] | None:
    """The object a local ``$ref`` (``#/components/schemas/Name``) points to, else ``None``."""
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return None
    node: Any = document
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) else None


def api_document(data: Any, source: str) -> ApiDocument:
    """Check that ``data`` is an OpenAPI document and read its operations.

    Raises :class:`InvalidInput` (exit 3) naming ``source`` when it is not one.
    """
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: not an OpenAPI document (a JSON object is expected)")
    problems = []
    version = data.get("openapi")
    if not isinstance(version, str) or not version.startswith("3."):
        problems.append(Problem(f"must be an OpenAPI 3 version (got {version!r})", field="openapi"))
    if not isinstance(data.get("paths"), dict):
        problems.append(Problem("must be an object of paths", field="paths"))
    if problems:
        problems = [Problem(p.message, file=source, field=p.field) for p in problems]
        raise InvalidInput(f"{source}: not an OpenAPI 3 document", problems=problems)
    return ApiDocument(document=data, source=source, operations=parse_operations(data))


def parse_text(text: str, source: str) -> ApiDocument:
    """An :class:`ApiDocument` from JSON text; invalid JSON is exit 3 with its line."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{source}: not valid JSON",
            problems=[Problem(exc.msg, file=source, line=exc.lineno, column=exc.colno)],
        ) from None
    return api_document(data, source)
