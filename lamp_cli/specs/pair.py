"""Rules across the two documents of a release: secrets supplied, hardware covered."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Collection, Mapping, Sequence

from lamp_cli.errors import Problem, spec_error
from lamp_cli.specs.common import ENDPOINT_KIND, MODEL_KIND
from lamp_cli.specs.endpoint_spec import GPU, ServingEndpointSpec
from lamp_cli.specs.interpolate import Variables
from lamp_cli.specs.loader import LoadedSpec, SpecPair, load_document
from lamp_cli.specs.model_spec import ServingModelSpec
from lamp_cli.specs.overrides import parse_overrides
from lamp_cli.specs.paths import Path, format_path
from lamp_cli.specs.quantity import parse_quantity
from lamp_cli.specs.yaml_source import SourceDocument


def _at(spec: LoadedSpec, path: Path, message: str) -> Problem:
    source = spec.source or SourceDocument(file=str(spec.path))
    if spec.source is None:
        return Problem(message=message, file=str(spec.path), field=format_path(path))
    return source.problem(path, message)


def check_pair(model: LoadedSpec, endpoint: LoadedSpec) -> list[Problem]:
    """Problems that only show when the model spec and the endpoint spec are read together."""
    assert isinstance(model.document, ServingModelSpec)
    assert isinstance(endpoint.document, ServingEndpointSpec)
    problems: list[Problem] = []
    served, deployed = model.document.spec, endpoint.document.spec

    supplied = {entry.name for entry in deployed.env if entry.secret_ref is not None}
    for index, secret in enumerate(served.required_secrets):
        if secret.name not in supplied:
            problems.append(
                _at(
                    model,
                    ("spec", "requiredSecrets", index, "name"),
                    f"{secret.name} is required but not supplied: add to spec.env of "
                    f"{endpoint.path} an entry {{name: {secret.name}, secretRef: "
                    "{name: <kubernetes secret>, key: <key>}}",
                )
            )

    requests = deployed.resources.requests.items_by_key()
    hardware = served.hardware
    minimums = [("cpu", "minCpu", hardware.min_cpu), ("memory", "minMemory", hardware.min_memory)]
    if hardware.gpu is not None:
        minimums.append((GPU, "gpu", str(hardware.gpu.count)))
    for resource, field, minimum in minimums:
        if minimum is None:
            continue
        request = requests.get(resource)
        where = ("spec", "resources", "requests", resource)
        if request is None:
            problems.append(
                _at(
                    endpoint,
                    ("spec", "resources", "requests"),
                    f"must request {resource}: the model spec needs at least {minimum} "
                    f"(spec.hardware.{field} of {model.path})",
                )
            )
        elif parse_quantity(request) < parse_quantity(minimum):
            problems.append(
                _at(
                    endpoint,
                    where,
                    f"requests {request}, below the model's minimum {minimum} "
                    f"(spec.hardware.{field} of {model.path})",
                )
            )
    return problems


def load_pair(
    model_path: str | os.PathLike[str],
    endpoint_path: str | os.PathLike[str],
    *,
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    interpolate_allow: Collection[str] = (),
) -> SpecPair:
    """Load both specs and check them together; problems of both files are raised at once.

    ``interpolate_allow``: credential-looking variable names ``${...}`` may expand anyway.
    """
    parsed, problems = parse_overrides(overrides, require_prefix=True)
    variables = Variables.of(os.environ if environ is None else environ, interpolate_allow)
    model, more = load_document(
        pathlib.Path(model_path), expected_kind=MODEL_KIND, overrides=parsed, variables=variables
    )
    problems.extend(more)
    endpoint, more = load_document(
        pathlib.Path(endpoint_path),
        expected_kind=ENDPOINT_KIND,
        overrides=parsed,
        variables=variables,
    )
    problems.extend(more)
    if model is not None and endpoint is not None:
        problems.extend(check_pair(model, endpoint))
    if problems or model is None or endpoint is None:
        raise spec_error(problems)
    return SpecPair(model=model, endpoint=endpoint)
