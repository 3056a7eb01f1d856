"""Spec files to what a run records: the pair loaded, validated, overridden and image-pinned.

``lamp run log-spec`` and ``lamp release`` record exactly what :func:`prepare` returns, and
nothing is written anywhere before it has returned.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lamp_cli.errors import InvalidInput, Problem, SpecInvalid
from lamp_cli.secrets import carried_secrets
from lamp_cli.services import ecr
from lamp_cli.settings import Settings
from lamp_cli.specs import SpecPair, load_pair


@dataclass(frozen=True)
class Prepared:
    """What a run records: the spec pair and, when the app's API is known, its OpenAPI document
    and the signature made from it (MLflow's signature columns)."""

    pair: SpecPair
    api: dict[str, Any] | None = None
    signature: dict[str, list[dict[str, Any]]] | None = None


def prepare(
    settings: Settings,
    model_path: str | os.PathLike[str],
    endpoint_path: str | os.PathLike[str],
    *,
    overrides: Sequence[str] = (),
    image: str | None = None,
    verify_image: bool | None = None,
    look_up_by_default: bool,
    notice: Callable[[str], None] | None = None,
) -> Prepared:
    """Both spec files validated, ``--set`` overrides applied and the image pinned
    (:func:`apply_image`); no value of a secret of the environment anywhere in them."""
    del notice  # used once the app's API is read here
    pair = load_pair(
        model_path,
        endpoint_path,
        overrides=overrides,
        interpolate_allow=settings.interpolate_allow,
    )
    pair = apply_image(pair, image, verify_image, look_up_by_default=look_up_by_default)
    refuse_carried_secrets(pair, settings)
    return Prepared(pair)


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
