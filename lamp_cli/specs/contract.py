"""The model spec against the app's API: what the spec exposes, the app must serve.

Every spec route and method is an operation of the app; every probe path is a GET of the app;
the primary route takes a JSON body. An app operation that no route exposes (health and
documentation routes aside) is a warning, or an error when asked to be strict.
"""

from __future__ import annotations

from lamp_cli.errors import Problem
from lamp_cli.specs.api import ApiDocument, Operation, health_kind, path_shape
from lamp_cli.specs.loader import LoadedSpec, SpecPair
from lamp_cli.specs.model_spec import ServingModelSpec
from lamp_cli.specs.paths import Path, format_path

_PROBES = ("liveness", "readiness", "startup")


def _at(spec: LoadedSpec, path: Path, message: str) -> Problem:
    if spec.source is None:
        return Problem(message=message, file=str(spec.path), field=format_path(path))
    return spec.source.problem(path, message)


def _served(operations: list[Operation]) -> str:
    methods = ", ".join(op.method for op in operations)
    return f"{operations[0].path} with {methods}" if operations else ""


def check_contract(
    model: LoadedSpec, api: ApiDocument, *, strict: bool = False
) -> tuple[list[Problem], list[Problem]]:
    """The problems and the warnings of one model spec checked against the app's API.

    With ``strict`` the operations that no route exposes are problems, and no warnings remain.
    """
    assert isinstance(model.document, ServingModelSpec)
    spec = model.document.spec
    problems: list[Problem] = []
    where = f"the app ({api.source})"

    for index, route in enumerate(spec.routes):
        served = api.at(route.path)
        if not served:
            problems.append(
                _at(
                    model,
                    ("spec", "routes", index, "path"),
                    f"{where} serves no path {route.path}" + _nearest(api, route.path),
                )
            )
            continue
        for position, method in enumerate(route.methods):
            if api.find(route.path, method) is None:
                problems.append(
                    _at(
                        model,
                        ("spec", "routes", index, "methods", position),
                        f"{where} serves {_served(served)}, not {method}",
                    )
                )
        if route.primary and not any(
            op.has_json_body for op in served if op.method in route.methods
        ):
            problems.append(
                _at(
                    model,
                    ("spec", "routes", index, "primary"),
                    f"the primary route must take a JSON request body; {where} has none at "
                    f"{route.path} ({', '.join(route.methods)})",
                )
            )

    for name in _PROBES:
        probe = getattr(spec.health, name)
        if probe is None:
            continue
        served = api.at(probe.path)
        if api.find(probe.path, "GET") is not None:
            continue
        detail = f"serves {_served(served)}, not GET" if served else f"serves no path {probe.path}"
        problems.append(
            _at(
                model,
                ("spec", "health", name, "path"),
                f"the {name} probe needs a GET route; {where} {detail}" + _health_hint(api),
            )
        )

    exposed = {(path_shape(r.path), m) for r in spec.routes for m in r.methods}
    probed = {path_shape(getattr(spec.health, n).path) for n in _PROBES if getattr(spec.health, n)}
    unexposed = [
        op
        for op in api.operations
        if (op.shape, op.method) not in exposed
        and op.shape not in probed
        and not (op.method == "GET" and health_kind(op.path))
    ]
    notes = [
        _at(
            model,
            ("spec", "routes"),
            f"{where} serves {op.label}, which no spec route exposes: add it to spec.routes "
            "or leave it private",
        )
        for op in unexposed
    ]
    if strict:
        return problems + notes, []
    return problems, notes


def check_against_app(
    pair: SpecPair, api: ApiDocument, *, strict: bool = False
) -> tuple[list[Problem], list[Problem]]:
    """:func:`check_contract` for the model spec of a pair: ``(problems, warnings)``."""
    return check_contract(pair.model, api, strict=strict)


def primary_operation(model: ServingModelSpec, api: ApiDocument) -> tuple[Operation | None, str]:
    """The operation whose request and response make the signature, and why it is that one.

    The route marked ``primary: true`` (its first method with a JSON body), else the first spec
    route that takes a JSON body; ``None`` when no route does.
    """
    marked = model.spec.primary_route
    routes = [marked] if marked is not None else model.spec.routes
    for route in routes:
        for method in route.methods:
            op = api.find(route.path, method)
            if op is not None and op.has_json_body:
                reason = (
                    "the primary route" if marked is not None else "the first route with a body"
                )
                return op, f"{op.label}, {reason}"
    return None, "no spec route takes a JSON body"


def _nearest(api: ApiDocument, path: str) -> str:
    import difflib

    paths = sorted({op.path for op in api.operations})
    close = difflib.get_close_matches(path, paths, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _health_hint(api: ApiDocument) -> str:
    routes = [op.path for op in api.health_routes()]
    return f" (its health routes: {', '.join(routes)})" if routes else ""
