"""Spec files in, validated documents out — or every problem found, each with its position."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lamp_cli.errors import MissingFile, Problem, SpecInvalid, spec_error
from lamp_cli.secrets import carried_secrets
from lamp_cli.specs.common import KINDS, MODEL_KIND, build_validator
from lamp_cli.specs.endpoint_spec import ServingEndpointSpec
from lamp_cli.specs.interpolate import Variables
from lamp_cli.specs.model_spec import ServingModelSpec
from lamp_cli.specs.overrides import Override, apply_overrides, parse_overrides
from lamp_cli.specs.paths import Path as FieldPath
from lamp_cli.specs.problems import problem_at, problems_from_error
from lamp_cli.specs.schema import MODELS
from lamp_cli.specs.types import shown
from lamp_cli.specs.yaml_source import MAX_BYTES, SourceDocument, parse_yaml

SpecDocument = ServingModelSpec | ServingEndpointSpec


def normalized_text(document: SpecDocument) -> str:
    """The document as lamp logs it: every default filled in, stable key order, plain YAML."""
    data = document.model_dump(mode="json", by_alias=True, exclude_none=True)
    return yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096
    )


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec: where it came from, its model, and the normalized text with its hash."""

    path: Path
    kind: str
    document: SpecDocument
    text: str
    sha256: str
    source: SourceDocument | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_document(
        cls, path: Path, document: SpecDocument, source: SourceDocument | None = None
    ) -> LoadedSpec:
        text = normalized_text(document)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return cls(path, document.kind, document, text, digest, source)

    def with_image(self, repository: str, tag: str, digest: str | None = None) -> LoadedSpec:
        """The same model spec serving another image (e.g. the digest ECR reports), re-validated."""
        if self.kind != MODEL_KIND:
            raise TypeError("with_image applies to a ServingModelSpec only")
        data = self.document.model_dump(mode="json", by_alias=True, exclude_none=True)
        image = {"repository": repository, "tag": tag}
        if digest is not None:
            image["digest"] = digest
        data["spec"]["image"] = image
        source = self.source or SourceDocument(file=str(self.path))
        try:
            document = ServingModelSpec.model_validate(data)
        except ValidationError as exc:
            overridden: dict[tuple[str | int, ...], str] = {
                ("spec", "image"): f"the image {repository}:{tag} given to lamp"
            }
            raise SpecInvalid(problems_from_error(exc, MODEL_KIND, source, overridden)) from None
        return LoadedSpec.from_document(self.path, document, self.source)


@dataclass(frozen=True)
class SpecPair:
    model: LoadedSpec
    endpoint: LoadedSpec

    @property
    def model_spec(self) -> ServingModelSpec:
        """The Serving Model Spec document (``model.document``, typed)."""
        assert isinstance(self.model.document, ServingModelSpec)
        return self.model.document

    @property
    def endpoint_spec(self) -> ServingEndpointSpec:
        """The Serving Endpoint Spec document (``endpoint.document``, typed)."""
        assert isinstance(self.endpoint.document, ServingEndpointSpec)
        return self.endpoint.document


def read_text(path: Path) -> tuple[str | None, list[Problem]]:
    """The file as text, refusing what no spec can be: huge, binary or not UTF-8."""
    file = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return None, [
                Problem(
                    message=f"the file is {size} bytes; spec files are limited to 1 MiB", file=file
                )
            ]
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [MissingFile(message="no such file", file=file)]
    except IsADirectoryError:
        return None, [Problem(message="is a directory, not a spec file", file=file)]
    except OSError as exc:
        return None, [Problem(message=f"cannot read the file: {exc.strerror or exc}", file=file)]
    if len(raw) > MAX_BYTES:
        return None, [Problem(message="the file is larger than 1 MiB", file=file)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        return None, [
            Problem(
                message=f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
                file=file,
                line=line,
                column=column,
            )
        ]
    if "\x00" in text:
        return None, [Problem(message="holds NUL bytes; a spec is a YAML text file", file=file)]
    return text, []


def _check_head(
    data: dict[str, Any], source: SourceDocument, expected_kind: str | None
) -> tuple[str | None, list[Problem]]:
    """The document's kind, checked before the model for that kind can be chosen."""
    kind = data.get("kind")
    problems: list[Problem] = []
    if "kind" not in data:
        wanted = expected_kind or " or ".join(KINDS)
        return None, [source.problem((), f"kind is missing; expected kind: {wanted}")]
    if kind not in KINDS:
        return None, [
            source.problem(("kind",), f"must be one of {', '.join(KINDS)} (got {shown(kind)})")
        ]
    if expected_kind is not None and kind != expected_kind:
        flag = "--model-spec" if expected_kind == MODEL_KIND else "--endpoint-spec"
        problems.append(
            source.problem(
                ("kind",), f"expected a {expected_kind} here ({flag}), but the file is a {kind}"
            )
        )
        return None, problems
    return str(kind), problems


def load_document(
    path: Path,
    *,
    expected_kind: str | None,
    overrides: Sequence[Override],
    variables: Variables,
) -> tuple[LoadedSpec | None, list[Problem]]:
    """Load one file; never raises for bad input, returns every problem found instead."""
    text, problems = read_text(path)
    if text is None:
        return None, problems
    return load_text(
        text, path, expected_kind=expected_kind, overrides=overrides, variables=variables
    )


def load_text(
    text: str,
    path: Path,
    *,
    expected_kind: str | None,
    overrides: Sequence[Override] = (),
    variables: Variables | None = None,
) -> tuple[LoadedSpec | None, list[Problem]]:
    """Load a spec from text; ``path`` names it in problems.

    ``variables=None`` (for documents read back from MLflow) resolves no ``${VAR}`` and looks
    for no secret; otherwise a value of a secret variable of the environment, wherever it came
    from (the file, ``${VAR}``, ``--set``), is a problem at its field.
    """
    if len(text.encode("utf-8")) > MAX_BYTES:
        return None, [Problem(message="the document is larger than 1 MiB", file=str(path))]
    source, problems = parse_yaml(text, str(path), variables)
    if problems or not isinstance(source.data, dict):
        return None, problems
    kind, problems = _check_head(source.data, source, expected_kind)
    if kind is None:
        return None, problems
    data, overridden, problems = apply_overrides(source.data, kind, overrides)
    build_validator(MODELS[kind])
    try:
        document = MODELS[kind].model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from_error(exc, kind, source, overridden))
        return None, problems
    if variables is not None:
        problems.extend(_carried_secrets(document, source, overridden, variables))
    if problems:
        return None, problems
    return LoadedSpec.from_document(path, document, source), []


def _carried_secrets(
    document: SpecDocument,
    source: SourceDocument,
    overridden: Mapping[FieldPath, str],
    variables: Variables,
) -> list[Problem]:
    """A problem at each value that holds the value of a secret variable (named, never shown)."""
    problems: list[Problem] = []

    def visit(value: Any, path: FieldPath) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                visit(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, (*path, index))
        elif isinstance(value, str):
            names = carried_secrets(value, variables.environ, allow=variables.allow)
            if names:
                problems.append(
                    problem_at(
                        source,
                        path,
                        f"holds the value of {', '.join(names)}, a secret of this environment; "
                        "a spec is logged to MLflow: declare the secret in spec.requiredSecrets "
                        "and supply it with a secretRef",
                        overridden,
                    )
                )

    visit(document.model_dump(mode="json", by_alias=True, exclude_none=True), ())
    return problems


def load_spec(
    path: str | os.PathLike[str],
    *,
    expected_kind: str | None = None,
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    interpolate_allow: Collection[str] = (),
) -> LoadedSpec:
    """Load and validate one spec file, or raise :class:`SpecInvalid` with all its problems
    (:class:`SpecFileNotFound` when there is no such file).

    ``overrides`` are ``--set`` items; ``model.``/``endpoint.`` prefixed keys apply to that kind
    only, unprefixed keys to this file whatever its kind.
    """
    if expected_kind is not None and expected_kind not in KINDS:
        raise ValueError(f"unknown spec kind {expected_kind!r}")
    parsed, problems = parse_overrides(overrides, require_prefix=False)
    loaded, more = load_document(
        Path(path),
        expected_kind=expected_kind,
        overrides=parsed,
        variables=Variables.of(os.environ if environ is None else environ, interpolate_allow),
    )
    problems.extend(more)
    if problems or loaded is None:
        raise spec_error(problems)
    return loaded


def load_spec_text(
    text: str, *, name: str = "<text>", expected_kind: str | None = None
) -> LoadedSpec:
    """Validate a spec read back as text (e.g. from a model version); no ``${VAR}`` resolution."""
    loaded, problems = load_text(text, Path(name), expected_kind=expected_kind, variables=None)
    if problems or loaded is None:
        raise SpecInvalid(problems)
    return loaded
