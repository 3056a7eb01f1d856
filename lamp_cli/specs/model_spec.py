"""``kind: ServingModelSpec`` — what is served: the image, its server, health and routes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from lamp_cli.specs.common import (
    Metadata,
    Probe,
    SpecModel,
    Violations,
    refuse_plain_secret,
    unique_names,
)
from lamp_cli.specs.image import ecr_location
from lamp_cli.specs.types import (
    EnvName,
    HttpPath,
    ImageDigest,
    ImageRepository,
    ImageTag,
    QuantityText,
    ShortText,
    Text,
)

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class Image(SpecModel):
    """The image CI pushed. The digest, when known, pins it: the tag alone can be moved."""

    repository: ImageRepository
    tag: ImageTag
    digest: ImageDigest | None = None

    @property
    def reference(self) -> str:
        """``repository@digest`` when pinned, else ``repository:tag``."""
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag}"

    @property
    def ecr(self) -> tuple[str, str] | None:
        """``(account, region)`` when the repository is on AWS ECR."""
        return ecr_location(self.repository)


class Server(SpecModel):
    # Ports below 1024 need root or NET_BIND_SERVICE, which the platform's pods do not get.
    port: int = Field(ge=1024, le=65535)
    protocol: Literal["http", "grpc"] = "http"


class Health(SpecModel):
    liveness: Probe
    readiness: Probe
    startup: Probe | None = None


class Route(SpecModel):
    name: ShortText | None = None
    path: HttpPath
    methods: list[HttpMethod] = Field(default_factory=lambda: ["POST"], min_length=1)  # type: ignore[arg-type]
    primary: bool | None = Field(
        default=None,
        description="The route whose JSON request and response make the model version's "
        "signature; at most one route is primary.",
    )

    @model_validator(mode="after")
    def _unique_methods(self) -> Route:
        if len(set(self.methods)) != len(self.methods):
            violations = Violations()
            violations.add(["methods"], f"lists a method twice ({', '.join(self.methods)})")
            violations.raise_if_any()
        return self


class ModelInfo(SpecModel):
    framework: ShortText | None = None
    description: Text | None = None


class PlainEnvVar(SpecModel):
    """A non-secret setting baked into what is served; secrets go in requiredSecrets."""

    name: EnvName
    value: Text

    @model_validator(mode="after")
    def _not_a_secret(self) -> PlainEnvVar:
        refuse_plain_secret(self.name, self.value)
        return self


class RequiredSecret(SpecModel):
    name: EnvName
    description: Text | None = None


class Gpu(SpecModel):
    count: int = Field(default=1, ge=1, le=16)
    product: ShortText | None = None


class Hardware(SpecModel):
    """The least the model needs to run; the endpoint's requests must cover it."""

    min_cpu: QuantityText | None = None
    min_memory: QuantityText | None = None
    gpu: Gpu | None = None
    arch: Literal["amd64", "arm64"] = "amd64"


class ModelSpecBody(SpecModel):
    image: Image
    server: Server
    health: Health
    routes: list[Route] = Field(min_length=1)
    model: ModelInfo | None = None
    env: list[PlainEnvVar] = Field(default_factory=list)
    required_secrets: list[RequiredSecret] = Field(default_factory=list)
    hardware: Hardware = Field(default_factory=Hardware)

    @field_validator("routes", mode="after")
    @classmethod
    def _unique_paths(cls, routes: list[Route]) -> list[Route]:
        violations = Violations()
        first: dict[str, int] = {}
        for index, route in enumerate(routes):
            if route.path in first:
                violations.add(
                    [index, "path"],
                    f"duplicate route path {route.path!r} (also spec.routes[{first[route.path]}])",
                )
            first.setdefault(route.path, index)
        primaries = [index for index, route in enumerate(routes) if route.primary]
        for index in primaries[1:]:
            violations.add(
                [index, "primary"],
                f"only one route may be primary (spec.routes[{primaries[0]}] already is)",
            )
        violations.raise_if_any()
        return routes

    @property
    def primary_route(self) -> Route | None:
        """The route marked ``primary: true``, if any."""
        return next((route for route in self.routes if route.primary), None)

    @field_validator("env", mode="after")
    @classmethod
    def _unique_env(cls, env: list[PlainEnvVar]) -> list[PlainEnvVar]:
        unique_names(env, "env name")
        return env

    @field_validator("required_secrets", mode="after")
    @classmethod
    def _unique_secrets(cls, secrets: list[RequiredSecret]) -> list[RequiredSecret]:
        unique_names(secrets, "required secret")
        return secrets

    @model_validator(mode="after")
    def _rules(self) -> ModelSpecBody:
        violations = Violations()
        probes = (
            ("liveness", self.health.liveness),
            ("readiness", self.health.readiness),
            ("startup", self.health.startup),
        )
        health_paths = {probe.path: name for name, probe in probes if probe is not None}
        for index, route in enumerate(self.routes):
            if route.path in health_paths:
                violations.add(
                    ["routes", index, "path"],
                    f"{route.path!r} is the {health_paths[route.path]} health path; "
                    "health paths are probes, not routes",
                )
        plain_names = {entry.name for entry in self.env}
        for index, secret in enumerate(self.required_secrets):
            if secret.name in plain_names:
                violations.add(
                    ["requiredSecrets", index, "name"],
                    f"{secret.name} is also a plain value in spec.env; a secret comes only from a "
                    "secretRef in the endpoint spec",
                )
        violations.raise_if_any()
        return self


class ServingModelSpec(SpecModel):
    """What is served: image, server, health, routes, env, required secrets and hardware."""

    api_version: Literal["lamp/v1alpha1"]
    kind: Literal["ServingModelSpec"]
    metadata: Metadata
    spec: ModelSpecBody
