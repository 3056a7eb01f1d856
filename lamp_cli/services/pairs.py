"""Spec files to what a run records: the pair loaded, validated, overridden and image-pinned,
checked against the app's API, and the signature made from it.

``lamp run log-spec`` and ``lamp release`` record exactly what :func:`prepare` returns, and
nothing is written anywhere before it has returned.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lamp_cli.errors import InvalidInput, Problem, SpecInvalid
from lamp_cli.secrets import carried_secrets
from lamp_cli.services import ecr
from lamp_cli.settings import Settings
from lamp_cli.specs import SpecPair, load_pair

if TYPE_CHECKING:
    from lamp_cli.specs.api import ApiDocument
    from lamp_cli.specs.signature import Signature

Say = Callable[[str], None]


@dataclass(frozen=True)
class Prepared:
    """What a run records: the spec pair and, when the app's API is known, its OpenAPI document
    and the signature of its primary route."""

    pair: SpecPair
    api: ApiDocument | None = None
    signature: Signature | None = None


def prepare(
    settings: Settings,
    model_path: str | os.PathLike[str],
    endpoint_path: str | os.PathLike[str],
    *,
    overrides: Sequence[str] = (),
    image: str | None = None,
    verify_image: bool | None = None,
    look_up_by_default: bool,
    strict: bool = False,
    notice: Say | None = None,
    warn: Say | None = None,
) -> Prepared:
    """Both spec files validated, ``--set`` overrides applied and the image pinned
    (:func:`apply_image`); no value of a secret of the environment anywhere in them; the model
    spec checked against the app's API when there is one (:func:`with_api`)."""
    pair = load_pair(
        model_path,
        endpoint_path,
        overrides=overrides,
        interpolate_allow=settings.interpolate_allow,
    )
    api = _load_api(settings, notice)
    prepared = with_api(pair, api, strict=strict, notice=notice, warn=warn)
    pair = apply_image(pair, image, verify_image, look_up_by_default=look_up_by_default)
    refuse_carried_secrets(pair, settings)
    from lamp_cli.specs.warnings import spec_warnings

    for warning in spec_warnings([pair.model]):
        (warn or notice or (lambda _message: None))(str(warning))
    return Prepared(pair, prepared.api, prepared.signature)


def _load_api(settings: Settings, notice: Say | None) -> ApiDocument | None:
    from lamp_cli.services.app import load_api

    say = notice or (lambda _message: None)
    return load_api(settings, announce=say)


def with_api(
    pair: SpecPair,
    api: ApiDocument | None,
    *,
    strict: bool = False,
    notice: Say | None = None,
    warn: Say | None = None,
) -> Prepared:
    """``pair`` with the app's ``api``: every spec route and probe must be served by the app
    (exit 3 with each mismatch); app operations no route exposes are warnings (errors with
    ``strict``). The signature comes from the primary route."""
    if api is None:
        return Prepared(pair)
    from lamp_cli.specs.contract import check_against_app, primary_operation
    from lamp_cli.specs.signature import signature_for

    problems, warnings = check_against_app(pair, api, strict=strict)
    if problems:
        raise SpecInvalid(problems)
    for problem in warnings:
        (warn or notice or (lambda _message: None))(str(problem))
    operation, why = primary_operation(pair.model_spec, api)
    signature = signature_for(api, operation)
    say = notice or (lambda _message: None)
    say(f"signature from {why}" if operation is not None else f"generic signature: {why}")
    for line in signature.notices:
        say(line)
    return Prepared(pair, api, signature)


def refuse_carried_secrets(pair: SpecPair, settings: Settings) -> None:
    """The last look before anything is logged: the normalized texts hold no secret's value,
    whatever brought it there (the files, ``${VAR}``, ``--set``, ``--image``)."""
    problems = [
        Problem(
            f"holds the value of {', '.join(names)}, a secret of this environment; a spec is "
            "logged to MLflow: supply the secret with a secretRef",
            file=str(spec.path),
        )
        for spec in (pair.model, pair.endpoint)
        if (names := carried_secrets(spec.text, allow=settings.interpolate_allow))
    ]
    if problems:
        raise SpecInvalid(problems)


def apply_image(
    pair: SpecPair, image: str | None, verify: bool | None, *, look_up_by_default: bool
) -> SpecPair:
    """The pair with ``image`` (``HOST/REPO:TAG[@DIGEST]``) in the model spec, digest pinned.

    ``image`` replaces the repository and tag and drops the digest the file had. An ECR image
    without digest gets the one its tag points to now (``verify`` is the tri-state of
    ``--verify-image``). Without ``image`` the spec's own image is looked up only when
    ``look_up_by_default`` or ``verify`` asks for it. Nothing is written anywhere.
    """
    current = pair.model_spec.spec.image
    if image is not None:
        ref = ecr.parse_image_ref(image)
        if ref.tag is None:
            raise InvalidInput(
                f"--image {image!r} has no tag; the model spec records repository and tag",
                hint="pass HOST/REPOSITORY:TAG (optionally @sha256:DIGEST)",
            )
        repository, tag, digest = ref.repository, ref.tag, ref.digest
    else:
        if verify is False or (verify is None and not look_up_by_default):
            return pair
        repository, tag, digest = current.repository, current.tag, current.digest
    pinned = ecr.pin_image(repository, tag, digest, verify=verify)
    if (repository, tag, pinned) == (current.repository, current.tag, current.digest):
        return pair
    return SpecPair(model=pair.model.with_image(repository, tag, pinned), endpoint=pair.endpoint)
