"""Spec files to the pair a run records: loaded, validated, overridden, image pinned.

``lamp run log-spec`` and ``lamp release`` record exactly what :func:`prepare` returns, and
nothing is written anywhere before it has returned.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from lamp_cli.errors import InvalidInput
from lamp_cli.services import ecr
from lamp_cli.specs import SpecPair, load_pair


def prepare(
    model_path: str | os.PathLike[str],
    endpoint_path: str | os.PathLike[str],
    *,
    overrides: Sequence[str] = (),
    image: str | None = None,
    verify_image: bool | None = None,
    look_up_by_default: bool,
) -> SpecPair:
    """Both spec files validated, ``--set`` overrides applied and the image pinned
    (:func:`apply_image`)."""
    pair = load_pair(model_path, endpoint_path, overrides=overrides)
    return apply_image(pair, image, verify_image, look_up_by_default=look_up_by_default)


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
