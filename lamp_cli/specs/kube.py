"""Rendered objects against the schemas the API server holds them to.

Built-in kinds are checked with the schemas of one Kubernetes version, strictly (an unknown field
is an error, as ``kubectl apply`` reports it), by the optional package ``kubernetes-validate``
(``lamp-cli[k8s]``); it costs about 0.2 s to import, so only the commands that render manifests
load it. Argo CD's ``Application`` is checked against its CRD's schema, shipped with lamp.
Objects of other custom resources are listed as not checked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from lamp_cli.errors import InvalidInput, Problem
from lamp_cli.specs.manifests import Manifest
from lamp_cli.specs.paths import format_path

#: A Kubernetes minor that current clusters run and every supported tool knows.
DEFAULT_KUBE_VERSION = "1.35"
K8S_EXTRA = "lamp-cli[k8s]"
APPLICATION = ("argoproj.io/v1alpha1", "Application")
_APPLICATION_SCHEMA = Path(__file__).parent / "crds" / "argocd-application-v1alpha1.json"
_VERSION_RE = re.compile(r"^v?(1)\.(\d{1,3})(?:\.(\d{1,4}))?$")


@dataclass(frozen=True)
class KubeVersion:
    major: int
    minor: int
    patch: int = 0

    @property
    def minor_text(self) -> str:
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def parse_kube_version(text: str, source: str = "--kube-version") -> KubeVersion:
    """``1.35``, ``v1.35`` or ``1.35.2``; anything else is invalid input naming ``source``."""
    match = _VERSION_RE.match(text.strip())
    if match is None:
        raise InvalidInput(
            f"{source}: '{text}' is not a Kubernetes version",
            hint=f"give MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. {DEFAULT_KUBE_VERSION}",
        )
    major, minor, patch = match.groups()
    return KubeVersion(int(major), int(minor), int(patch or 0))


@dataclass
class Validation:
    """What the schema check found: problems, objects it had no schema for, and whether the
    built-in kinds were checked at all (``kubernetes-validate`` installed)."""

    problems: list[Problem] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    checked: int = 0
    validator: str | None = None  # "kubernetes-validate X.Y.Z", None when it is not installed


def load_validator() -> ModuleType | None:
    """``kubernetes_validate``, or ``None`` when the ``k8s`` extra is not installed."""
    try:
        import kubernetes_validate
    except ImportError:
        return None
    module: ModuleType = kubernetes_validate
    return module


def missing_validator_notice() -> str:
    """What lamp says, once, when it renders manifests it cannot check."""
    return (
        "the manifests are not checked against Kubernetes' schemas: "
        f"pip install '{K8S_EXTRA}' adds that check"
    )


def validate_manifests(manifests: list[Manifest], version: KubeVersion) -> Validation:
    """Each object against its schema for ``version`` (strict), or its CRD's for Argo CD's
    Application; problems name the object, its template, the field and the message."""
    module = load_validator()
    result = Validation()
    if module is not None:
        _check_supported(module, version)
        result.validator = f"kubernetes-validate {module.__version__}"
    for manifest in manifests:
        if not manifest.api_version or not manifest.kind:
            result.problems.append(
                _problem(manifest, [], "not a Kubernetes object: apiVersion and kind are required")
            )
        elif (manifest.api_version, manifest.kind) == APPLICATION:
            result.problems += check_application(manifest.body, source=manifest.source)
            result.checked += 1
        elif module is None:
            continue
        else:
            try:
                module.validate(manifest.body, str(version), strict=True)
                result.checked += 1
            except module.ValidationError as err:
                result.problems += _schema_problems(manifest, err, version)
                result.checked += 1
            except module.SchemaNotFoundError:
                result.unchecked.append(f"{manifest.ref} ({manifest.api_version})")
    return result


def check_supported(version: KubeVersion) -> ModuleType | None:
    """``kubernetes_validate`` when installed, after checking it has schemas of ``version``
    (invalid input otherwise); ``None`` when the extra is not installed."""
    module = load_validator()
    if module is not None:
        _check_supported(module, version)
    return module


def _check_supported(module: ModuleType, version: KubeVersion) -> None:
    known = sorted(
        {tuple(int(p) for p in v.split(".")[:2]) for v in module.utils.all_versions()},
    )
    if (version.major, version.minor) not in known:
        first, last = known[0], known[-1]
        raise InvalidInput(
            f"kube-version {version.minor_text}: kubernetes-validate {module.__version__} has "
            f"the schemas of Kubernetes {first[0]}.{first[1]} to {last[0]}.{last[1]}",
            hint="pass --kube-version within that range (or upgrade lamp-cli[k8s])",
        )


def _schema_problems(manifest: Manifest, err: Any, version: KubeVersion) -> list[Problem]:
    path = list(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        known = set(err.schema.get("properties") or {})
        unknown = [key for key in err.instance if key not in known]
        if unknown:
            return [
                _problem(
                    manifest,
                    [*path, key],
                    f"unknown field (not in the Kubernetes {version.minor_text} schema of "
                    f"{manifest.kind} {manifest.api_version})",
                )
                for key in unknown
            ]
    return [_problem(manifest, path, str(err.message))]


def _problem(manifest: Manifest, path: list[Any], message: str) -> Problem:
    return Problem(
        message,
        file=manifest.source,
        field=format_path(path) or None,
        object=manifest.ref,
    )


def _strict(node: Any) -> Any:
    """The schema with unknown fields refused where the API server's strict field validation
    refuses them: in every object schema that lists its properties and keeps no unknown ones."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        key: {name: _strict(sub) for name, sub in value.items()}
        if key == "properties"
        else _strict(value)
        for key, value in node.items()
    }
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@cache
def _application_validator() -> Any:
    import jsonschema

    schema = json.loads(_APPLICATION_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(_strict(schema))


def check_application(body: dict[str, Any], source: str | None = None) -> list[Problem]:
    """Problems of an Argo CD ``Application`` against the v1alpha1 schema of its CRD."""
    manifest = Manifest(body, source)
    errors = sorted(
        _application_validator().iter_errors(body), key=lambda e: list(map(str, e.path))
    )
    problems = []
    for error in errors:
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set(error.schema.get("properties") or {})
            problems += [
                _problem(manifest, [*error.absolute_path, key], "unknown field (not in the CRD)")
                for key in error.instance
                if key not in known
            ]
        else:
            problems.append(_problem(manifest, list(error.absolute_path), str(error.message)))
    return problems
