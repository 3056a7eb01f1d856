"""What the operator applies: the Helm values of the chart and the Argo CD Application.

Pure functions of the two validated specs, so `lamp spec render` shows offline, byte for byte,
what a deployment of the same specs will carry.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from lamp_cli.errors import InvalidInput, Problem
from lamp_cli.specs.common import Probe
from lamp_cli.specs.endpoint_spec import ServingEndpointSpec
from lamp_cli.specs.loader import SpecPair
from lamp_cli.specs.model_spec import ServingModelSpec
from lamp_cli.specs.paths import format_path

ARGOCD_NAMESPACE = "argocd"
ARCH_LABEL = "kubernetes.io/arch"
# Set by NVIDIA's GPU feature discovery on GPU nodes.
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"


def _probe(probe: Probe, port: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": probe.path, "port": port},
        "periodSeconds": probe.period_seconds,
        "timeoutSeconds": probe.timeout_seconds,
        "failureThreshold": probe.failure_threshold,
        "initialDelaySeconds": probe.initial_delay_seconds,
    }


def _env(served: ServingModelSpec, deployed: ServingEndpointSpec) -> list[dict[str, Any]]:
    # Model env first, in its order; an endpoint entry of the same name replaces it in place,
    # so a deployment can tune a model default (LOG_LEVEL) without two entries of one name.
    merged: dict[str, dict[str, Any]] = {
        entry.name: {"name": entry.name, "value": entry.value} for entry in served.spec.env
    }
    for entry in deployed.spec.env:
        if entry.secret_ref is not None:
            merged[entry.name] = {
                "name": entry.name,
                "valueFrom": {
                    "secretKeyRef": {"name": entry.secret_ref.name, "key": entry.secret_ref.key}
                },
            }
        else:
            merged[entry.name] = {"name": entry.name, "value": entry.value}
    return list(merged.values())


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of values: mappings merge, anything else replaces, ``null`` removes the key."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def render_values(pair: SpecPair) -> dict[str, Any]:
    """The Helm values for the chart of the endpoint spec."""
    served = pair.model.document
    deployed = pair.endpoint.document
    assert isinstance(served, ServingModelSpec)
    assert isinstance(deployed, ServingEndpointSpec)
    model, endpoint = served.spec, deployed.spec
    port = model.server.port

    image: dict[str, Any] = {"repository": model.image.repository, "tag": model.image.tag}
    if model.image.digest:
        image["digest"] = model.image.digest
    image["reference"] = model.image.reference

    probes = {"liveness": _probe(model.health.liveness, port)}
    probes["readiness"] = _probe(model.health.readiness, port)
    if model.health.startup is not None:
        probes["startup"] = _probe(model.health.startup, port)

    resources: dict[str, Any] = {"requests": endpoint.resources.requests.items_by_key()}
    if endpoint.resources.limits is not None:
        resources["limits"] = endpoint.resources.limits.items_by_key()

    node_selector: dict[str, str] = {ARCH_LABEL: model.hardware.arch}
    if model.hardware.gpu is not None and model.hardware.gpu.product:
        node_selector[GPU_PRODUCT_LABEL] = model.hardware.gpu.product
    node_selector.update(endpoint.scheduling.node_selector)

    routing = endpoint.routing.model_dump(mode="json", by_alias=True, exclude_none=True)
    routing["routes"] = [
        route.model_dump(mode="json", by_alias=True, exclude_none=True) for route in model.routes
    ]

    strategy: dict[str, Any] = {"type": endpoint.rollout.strategy}
    rolling = {
        key: value
        for key, value in (
            ("maxSurge", endpoint.rollout.max_surge),
            ("maxUnavailable", endpoint.rollout.max_unavailable),
        )
        if value is not None
    }
    if endpoint.rollout.strategy == "RollingUpdate" and rolling:
        strategy["rollingUpdate"] = rolling

    values: dict[str, Any] = {
        "fullnameOverride": deployed.metadata.name,
        "image": image,
        "containerPort": port,
        "protocol": model.server.protocol,
        "probes": probes,
        "replicaCount": endpoint.replicas,
        "autoscaling": endpoint.autoscaling.model_dump(mode="json", by_alias=True),
        "resources": resources,
        "nodeSelector": node_selector,
        "tolerations": [
            t.model_dump(mode="json", by_alias=True, exclude_none=True)
            for t in endpoint.scheduling.tolerations
        ],
        "env": _env(served, deployed),
        "routing": routing,
        "strategy": strategy,
        "podLabels": {**served.metadata.labels, **deployed.metadata.labels},
    }
    return deep_merge(values, endpoint.values)


def render_application(pair: SpecPair, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Argo CD ``Application`` installing the chart with exactly ``values``."""
    deployed = pair.endpoint.document
    assert isinstance(deployed, ServingEndpointSpec)
    endpoint = deployed.spec
    metadata: dict[str, Any] = {"name": deployed.metadata.name, "namespace": ARGOCD_NAMESPACE}
    if deployed.metadata.labels:
        metadata["labels"] = dict(deployed.metadata.labels)
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": metadata,
        "spec": {
            "project": endpoint.target.argocd_project,
            "source": {
                "repoURL": endpoint.chart.repository,
                "chart": endpoint.chart.name,
                "targetRevision": endpoint.chart.version,
                "helm": {
                    "releaseName": deployed.metadata.name,
                    "valuesObject": render_values(pair) if values is None else values,
                },
            },
            "destination": {
                "name": endpoint.target.cluster,
                "namespace": endpoint.target.namespace,
            },
        },
    }


def check_chart_values(values: dict[str, Any], schema_path: Path) -> list[Problem]:
    """Validate ``values`` against a chart's ``values.schema.json``, as ``helm install`` would."""
    import jsonschema  # only for --chart-schema; keeps `lamp spec render` fast without it

    file = str(schema_path)
    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{file}: not a JSON Schema file ({exc})") from None
    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise InvalidInput(f"{file}: not a valid JSON Schema: {exc.message}") from None
    validator = validator_class(schema)
    problems = []
    for error in sorted(validator.iter_errors(values), key=lambda e: list(map(str, e.path))):
        where = format_path(["values", *error.absolute_path])
        problems.append(Problem(message=f"{error.message} (chart schema {file})", field=where))
    return problems


def to_yaml(data: Any) -> str:
    """Stable YAML: key order as built, no wrapping, no anchors."""

    class _NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml.dump(
        data,
        Dumper=_NoAliases,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=4096,
    )
