"""Pieces both spec kinds share: the strict model base, metadata, probes and env checks."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from lamp_cli.secrets import SECRET_NAME_RE
from lamp_cli.specs.types import HttpPath, Labels, ResourceName

API_VERSION = "lamp/v1alpha1"
MODEL_KIND = "ServingModelSpec"
ENDPOINT_KIND = "ServingEndpointSpec"
KINDS = (MODEL_KIND, ENDPOINT_KIND)


class SpecModel(BaseModel):
    """Strict base: camelCase keys only, unknown keys refused, no silent type coercion.

    Names are not accepted in place of aliases: a spec file has exactly one spelling per field.

    Validators are built on first use (``defer_build``), not when a class is defined: a spec is
    validated through its document model, whose validator covers the nested models, so the
    nested classes never pay for validators of their own, and a command that only imports the
    models pays for none.
    """

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        strict=True,
        frozen=True,
        defer_build=True,
    )


def build_validator(model: type[SpecModel]) -> None:
    """Build ``model``'s validator now, if it is not built yet, without pydantic's plugins.

    Pydantic looks for plugins in the entry points of every installed distribution before it
    builds its first validator; a plugin has nothing to observe in lamp's own spec models, and
    the look-up costs every offline command about as much as checking a spec. The variable is
    pydantic's documented switch (Typer turns it off the same way around its own validators).
    """
    if model.__pydantic_complete__:
        return
    before = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
    os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
    try:
        model.model_rebuild()
    finally:
        if before is None:
            del os.environ["PYDANTIC_DISABLE_PLUGINS"]
        else:
            os.environ["PYDANTIC_DISABLE_PLUGINS"] = before


class Metadata(SpecModel):
    """Identity of the document. The endpoint's name is also the Helm release name (<= 53 chars)."""

    name: ResourceName
    labels: Labels = Field(default_factory=dict)


class Probe(SpecModel):
    """An HTTP probe on the server port; numbers and defaults follow Kubernetes' Probe."""

    path: HttpPath
    period_seconds: int = Field(default=10, ge=1, le=3600)
    timeout_seconds: int = Field(default=1, ge=1, le=3600)
    failure_threshold: int = Field(default=3, ge=1, le=1000)
    initial_delay_seconds: int = Field(default=0, ge=0, le=3600)


class Violations:
    """Collects rule violations of one model so all are reported, not only the first.

    Pydantic stops a validator at its first error; this raises one error whose context carries every
    ``(relative path, message)`` pair, and the loader expands it into one Problem each.
    """

    def __init__(self) -> None:
        self.items: list[tuple[tuple[str | int, ...], str]] = []

    def add(self, at: Sequence[str | int], message: str) -> None:
        self.items.append((tuple(at), message))

    def raise_if_any(self) -> None:
        if self.items:
            raise PydanticCustomError(
                "lamp",
                "{message}",
                {"message": "; ".join(m for _, m in self.items), "problems": list(self.items)},
            )


def refuse_plain_secret(name: str, value: str | None) -> None:
    """A plain value under a secret-looking name would land in MLflow and Git: refuse it."""
    if value is not None and SECRET_NAME_RE.search(name):
        violations = Violations()
        violations.add(
            ["value"],
            f"{name} looks like a secret and must not be a plain value; declare it in "
            "spec.requiredSecrets of the model spec and supply it in the endpoint spec with "
            "secretRef: {name: <kubernetes secret>, key: <key>}",
        )
        violations.raise_if_any()


def unique_names(entries: Sequence[Any], what: str) -> None:
    """Refuse a name listed twice; for use in a list field's after-validator."""
    violations = Violations()
    first: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if entry.name in first:
            violations.add(
                [index, "name"],
                f"duplicate {what} {entry.name!r} (first at index {first[entry.name]})",
            )
        first.setdefault(entry.name, index)
    violations.raise_if_any()
