"""The routes and probes ``lamp spec init`` writes when the app's API is known.

Routes are the app's operations grouped by path (health and documentation routes left out), the
first one with a JSON request body marked primary; the probes are the app's health routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import get_args

import yaml

from lamp_cli.specs.api import ApiDocument, Operation, health_kind
from lamp_cli.specs.model_spec import HttpMethod
from lamp_cli.specs.templates import DEFAULT_HEALTH, DEFAULT_ROUTES

_SPEC_METHODS = frozenset(get_args(HttpMethod))


@dataclass(frozen=True)
class ApiScaffold:
    """The ``spec.health`` and ``spec.routes`` blocks of the model spec template, as text."""

    health: str = DEFAULT_HEALTH
    routes: str = DEFAULT_ROUTES
    notices: list[str] = field(default_factory=list)


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain where that reads back the same, else quoted."""
    return str(yaml.safe_dump(text, width=4096)).removesuffix("\n...\n").strip()


def _pick(health: list[Operation], *kinds: str) -> Operation | None:
    for kind in kinds:
        for op in health:
            if health_kind(op.path) == kind:
                return op
    return None


def _health_block(api: ApiDocument) -> tuple[str, list[str]]:
    health = api.health_routes()
    liveness = _pick(health, "liveness", "health", "readiness")
    readiness = _pick(health, "readiness", "health", "liveness")
    if liveness is None or readiness is None:
        return DEFAULT_HEALTH, [
            "the app has no health route (GET /health, /healthz, /livez, /readyz, "
            "/health/live, /health/ready, /ping): the probes are the template's; add one to "
            "the app, or set spec.health by hand"
        ]
    lines = ["    # The app's health routes (GET)."]
    probes = [("liveness", liveness), ("readiness", readiness)]
    startup = _pick(health, "startup")
    if startup is not None:
        probes.append(("startup", startup))
    for name, op in probes:
        lines += [f"    {name}:", f"      path: {_scalar(op.path)}"]
    return "\n".join(lines) + "\n", []


def scaffold_from_api(api: ApiDocument) -> ApiScaffold:
    """The health and routes blocks for the app's API, and what could not come from it."""
    health, notices = _health_block(api)
    health_paths = {op.shape for op in api.health_routes()}
    by_path: dict[str, list[Operation]] = {}
    for op in api.operations:
        if op.shape in health_paths or op.method not in _SPEC_METHODS:
            continue
        by_path.setdefault(op.path, []).append(op)
    if not by_path:
        notices.append(
            "the app has no operation besides its health routes: spec.routes is the "
            "template's; add the app's routes, or set spec.routes by hand"
        )
        return ApiScaffold(health=health, notices=notices)
    lines = [
        "    # The app's operations (`lamp spec openapi`); `lamp spec validate` checks the",
        "    # routes against the app. Leave out what the endpoint must not expose.",
    ]
    names: set[str] = set()
    primary_done = False
    for path, ops in by_path.items():
        name = ops[0].name
        base, suffix = name, 2
        while name in names:
            name, suffix = f"{base}-{suffix}", suffix + 1
        names.add(name)
        methods = ", ".join(op.method for op in ops)
        lines += [
            f"    - name: {_scalar(name)}",
            f"      path: {_scalar(path)}",
            f"      methods: [{methods}]",
        ]
        if not primary_done and any(op.has_json_body for op in ops):
            primary_done = True
            lines += [
                "      # Its JSON request and response make the model version's signature.",
                "      primary: true",
            ]
    return ApiScaffold(health=health, routes="\n".join(lines) + "\n", notices=notices)
