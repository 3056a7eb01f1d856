"""``lamp spec validate``: any number of files, each by its kind, and the pair when there is one."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lamp_cli.errors import Problem, spec_error
from lamp_cli.specs.api import ApiDocument
from lamp_cli.specs.common import ENDPOINT_KIND, MODEL_KIND
from lamp_cli.specs.contract import check_contract
from lamp_cli.specs.interpolate import Variables
from lamp_cli.specs.loader import LoadedSpec, load_document
from lamp_cli.specs.overrides import parse_overrides
from lamp_cli.specs.pair import check_pair
from lamp_cli.specs.warnings import spec_warnings


@dataclass(frozen=True)
class ValidationReport:
    specs: list[LoadedSpec]
    paired: bool
    #: The app's API the model specs were checked against; ``None`` when there was none.
    api: ApiDocument | None = None
    #: Valid but probably not meant: app operations no route exposes, an example account, a
    #: registry lamp cannot pin on.
    warnings: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        api = None
        if self.api is not None:
            api = {
                "source": self.api.source,
                "sha256": self.api.sha256,
                "operations": len(self.api.operations),
            }
        return {
            "valid": True,
            "specs": [
                {
                    "path": str(spec.path),
                    "kind": spec.kind,
                    "name": spec.document.metadata.name,
                    "sha256": spec.sha256,
                }
                for spec in self.specs
            ],
            "pair_checked": self.paired,
            "api": api,
            "warnings": [warning.to_dict() for warning in self.warnings],
        }


def validate_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    interpolate_allow: Collection[str] = (),
    api: Callable[[], ApiDocument | None] | None = None,
    strict: bool = False,
    warn: Callable[[Problem], None] | None = None,
) -> ValidationReport:
    """Validate every file; check the pair when exactly one spec of each kind is given, and
    each valid model spec against the app's API when ``api`` gives one (called only then).

    Raises :class:`SpecInvalid` with the problems of all files together, or
    :class:`SpecFileNotFound` (exit 4) with them when a file is missing. Warnings (operations
    of the app that no route exposes, example accounts, registries lamp cannot pin on) go to
    ``warn`` as they are found, and into the report.
    """
    unique = list(dict.fromkeys(Path(p) for p in paths))
    parsed, problems = parse_overrides(overrides, require_prefix=len(unique) > 1)
    variables = Variables.of(os.environ if environ is None else environ, interpolate_allow)
    loaded: list[LoadedSpec] = []
    failed = False
    for path in unique:
        spec, more = load_document(path, expected_kind=None, overrides=parsed, variables=variables)
        problems.extend(more)
        if spec is None:
            failed = True
        else:
            loaded.append(spec)
    kinds = [spec.kind for spec in loaded]
    if not failed:
        targeted = {o.kind: o.text for o in parsed if o.kind is not None}
        for kind, text in targeted.items():
            if kind not in kinds:
                problems.append(
                    Problem(
                        message=f"no {kind} among the files given; nothing to set",
                        field=f"--set {text.split('=', 1)[0]}",
                    )
                )
    paired = kinds.count(MODEL_KIND) == 1 and kinds.count(ENDPOINT_KIND) == 1
    if paired and not failed:
        model = next(spec for spec in loaded if spec.kind == MODEL_KIND)
        endpoint = next(spec for spec in loaded if spec.kind == ENDPOINT_KIND)
        problems.extend(check_pair(model, endpoint))
    warnings: list[Problem] = []
    models = [spec for spec in loaded if spec.kind == MODEL_KIND]
    document = api() if models and api is not None else None
    if document is not None:
        for model in models:
            more, notes = check_contract(model, document, strict=strict)
            problems.extend(more)
            warnings.extend(notes)
    for warning in warnings:
        if warn is not None:
            warn(warning)
    if problems or failed:
        raise spec_error(problems)
    more_warnings = spec_warnings(loaded)
    for warning in more_warnings:
        if warn is not None:
            warn(warning)
    return ValidationReport(
        specs=loaded, paired=paired, api=document, warnings=warnings + more_warnings
    )
