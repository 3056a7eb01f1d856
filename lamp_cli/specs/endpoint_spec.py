"""``kind: ServingEndpointSpec`` — how it is deployed: chart, target, scale, resources, routing."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, WithJsonSchema, field_validator, model_validator

from lamp_cli.specs.common import (
    Metadata,
    SpecModel,
    Violations,
    refuse_plain_secret,
    unique_names,
)
from lamp_cli.specs.quantity import parse_quantity
from lamp_cli.specs.types import (
    ChartRepository,
    DnsLabel,
    DnsSubdomain,
    EnvName,
    HttpPath,
    Labels,
    QuantityText,
    SemVer,
    ShortText,
    Text,
    fail,
    shown,
)

# Top-level chart values that lamp renders from the model spec; spec.values may not replace them,
# or the endpoint could serve another image than the one the run recorded.
# Top-level values lamp renders from checked fields: letting spec.values override one would bypass
# its rules (requests <= limits, hardware minimums, secrets only by secretRef, min <= max).
# Routing, rollout and scheduling stay open to deep-merged chart-specific additions.
RESERVED_VALUES = {
    "image": "spec.image of the model spec",
    "containerPort": "spec.server.port of the model spec",
    "protocol": "spec.server.protocol of the model spec",
    "probes": "spec.health of the model spec",
    "fullnameOverride": "metadata.name",
    "replicaCount": "spec.replicas",
    "autoscaling": "spec.autoscaling",
    "resources": "spec.resources",
    "env": "spec.env",
}
GPU = "nvidia.com/gpu"
_PERCENT_RE = re.compile(r"^(100|[1-9]?[0-9])%$")


def _int_or_percent(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _PERCENT_RE.match(value):
        return value
    fail(f"must be a non-negative integer or a percentage such as 25% (got {shown(value)})")


IntOrPercent = Annotated[
    int | str,
    PlainValidator(_int_or_percent),
    WithJsonSchema(
        {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^[0-9]+%$"}]}
    ),
]


class Chart(SpecModel):
    repository: ChartRepository
    name: DnsLabel
    version: SemVer


class Target(SpecModel):
    # "in-cluster" is the name Argo CD gives the cluster it runs in.
    cluster: ShortText = "in-cluster"
    namespace: DnsLabel
    argocd_project: DnsSubdomain = "default"


class Autoscaling(SpecModel):
    enabled: bool = False
    min_replicas: int = Field(default=1, ge=1, le=1000)
    max_replicas: int = Field(default=3, ge=1, le=1000)
    metric: Literal["cpu", "memory", "concurrency", "rps"] = "cpu"
    # Percent of the request for cpu/memory; requests in flight or per second otherwise.
    target: int = Field(default=70, ge=1, le=100000)

    @model_validator(mode="after")
    def _min_le_max(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            violations = Violations()
            violations.add(
                ["minReplicas"],
                f"must be <= maxReplicas (got minReplicas {self.min_replicas} > "
                f"maxReplicas {self.max_replicas})",
            )
            violations.raise_if_any()
        return self


class ResourceList(SpecModel):
    cpu: QuantityText | None = None
    memory: QuantityText | None = None
    ephemeral_storage: QuantityText | None = Field(default=None, alias="ephemeral-storage")
    nvidia_gpu: QuantityText | None = Field(default=None, alias="nvidia.com/gpu")

    def items_by_key(self) -> dict[str, str]:
        """The set quantities under their Kubernetes resource names."""
        # Read from the fields: a dump would build this nested model's own serializer.
        fields = type(self).model_fields
        return {
            field.alias or name: value
            for name, field in fields.items()
            if (value := getattr(self, name)) is not None
        }


class Resources(SpecModel):
    requests: ResourceList
    limits: ResourceList | None = None

    @model_validator(mode="after")
    def _rules(self) -> Resources:
        violations = Violations()
        requests = self.requests.items_by_key()
        limits = self.limits.items_by_key() if self.limits else {}
        if not requests:
            violations.add(["requests"], "must set at least one of cpu, memory")
        for key, request in requests.items():
            limit = limits.get(key)
            if limit is not None and parse_quantity(request) > parse_quantity(limit):
                violations.add(
                    ["requests", key], f"request {request} exceeds the limit {limit} (limits.{key})"
                )
        gpu_request, gpu_limit = requests.get(GPU), limits.get(GPU)
        for where, value in (("requests", gpu_request), ("limits", gpu_limit)):
            if value is not None and not parse_quantity(value).is_integer:
                violations.add([where, GPU], f"GPUs come whole: must be an integer (got {value})")
        if (gpu_request is None) != (gpu_limit is None) or (
            gpu_request is not None
            and gpu_limit is not None
            and parse_quantity(gpu_request).value != parse_quantity(gpu_limit).value
        ):
            at = ["requests", GPU] if gpu_request is not None else ["limits", GPU]
            violations.add(
                at,
                f"GPU request and limit must be equal (got request {gpu_request or 'none'}, "
                f"limit {gpu_limit or 'none'})",
            )
        violations.raise_if_any()
        return self


class Toleration(SpecModel):
    key: ShortText | None = None
    operator: Literal["Exists", "Equal"] = "Equal"
    value: Text | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _operator(self) -> Toleration:
        if self.operator == "Exists" and self.value is not None:
            fail("operator Exists takes no value")
        if self.operator == "Equal" and self.key is None:
            fail("operator Equal needs a key")
        return self


class Scheduling(SpecModel):
    node_selector: Labels = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)


class SecretRef(SpecModel):
    """A key of a Kubernetes Secret in the target namespace."""

    name: DnsSubdomain
    key: str = Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")


class EnvVar(SpecModel):
    """Either a plain ``value`` or a ``secretRef``, never both."""

    name: EnvName
    value: Text | None = None
    secret_ref: SecretRef | None = None

    @model_validator(mode="after")
    def _one_source(self) -> EnvVar:
        if (self.value is None) == (self.secret_ref is None):
            fail("needs exactly one of value or secretRef")
        refuse_plain_secret(self.name, self.value)
        return self


class Auth(SpecModel):
    mode: Literal["none", "jwt", "apiKey"] = "none"
    audiences: list[ShortText] = Field(default_factory=list)

    @model_validator(mode="after")
    def _audiences(self) -> Auth:
        violations = Violations()
        if self.mode == "jwt" and not self.audiences:
            violations.add(["audiences"], "mode jwt needs at least one audience")
        if self.mode != "jwt" and self.audiences:
            violations.add(["audiences"], f"audiences apply to mode jwt only (mode is {self.mode})")
        violations.raise_if_any()
        return self


class Routing(SpecModel):
    exposure: Literal["internal", "external"] = "internal"
    host: DnsSubdomain | None = None
    path_prefix: HttpPath = "/"
    timeout_seconds: int = Field(default=30, ge=1, le=3600)
    auth: Auth = Field(default_factory=Auth)

    @model_validator(mode="after")
    def _host(self) -> Routing:
        if self.exposure == "external" and self.host is None:
            violations = Violations()
            violations.add(["exposure"], "exposure external needs routing.host")
            violations.raise_if_any()
        return self


class Rollout(SpecModel):
    strategy: Literal["RollingUpdate", "Recreate"] = "RollingUpdate"
    max_surge: IntOrPercent | None = None
    max_unavailable: IntOrPercent | None = None

    @model_validator(mode="after")
    def _strategy(self) -> Rollout:
        violations = Violations()
        if self.strategy == "Recreate":
            for field, value in (
                ("maxSurge", self.max_surge),
                ("maxUnavailable", self.max_unavailable),
            ):
                if value is not None:
                    violations.add([field], "applies to strategy RollingUpdate only")
        elif self.max_surge in (0, "0%") and self.max_unavailable in (0, "0%"):
            violations.add(["maxUnavailable"], "maxSurge and maxUnavailable cannot both be 0")
        violations.raise_if_any()
        return self


class EndpointSpecBody(SpecModel):
    chart: Chart
    target: Target
    replicas: int = Field(default=1, ge=0, le=1000)
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    resources: Resources
    scheduling: Scheduling = Field(default_factory=Scheduling)
    env: list[EnvVar] = Field(default_factory=list)
    routing: Routing = Field(default_factory=Routing)
    rollout: Rollout = Field(default_factory=Rollout)
    values: dict[str, Any] = Field(default_factory=dict)

    @field_validator("env", mode="after")
    @classmethod
    def _unique_env(cls, env: list[EnvVar]) -> list[EnvVar]:
        unique_names(env, "env name")
        return env

    @field_validator("values", mode="after")
    @classmethod
    def _reserved(cls, values: dict[str, Any]) -> dict[str, Any]:
        violations = Violations()
        for key, owner in RESERVED_VALUES.items():
            if key in values:
                violations.add(
                    [key], f"is set by lamp from {owner} and cannot be set in spec.values"
                )
        violations.raise_if_any()
        return values

    @model_validator(mode="after")
    def _rules(self) -> EndpointSpecBody:
        violations = Violations()
        metric = self.autoscaling.metric
        needs_request = self.autoscaling.enabled and metric in ("cpu", "memory")
        if needs_request and getattr(self.resources.requests, metric) is None:
            violations.add(
                ["autoscaling", "metric"],
                f"scaling on {metric} utilization needs resources.requests.{metric}",
            )
        violations.raise_if_any()
        return self


class ServingEndpointSpec(SpecModel):
    """How the model is deployed: chart, target, replicas, resources, env, routing, rollout."""

    api_version: Literal["lamp/v1alpha1"]
    kind: Literal["ServingEndpointSpec"]
    metadata: Metadata
    spec: EndpointSpecBody
