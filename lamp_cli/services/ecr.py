"""Container image references and their digests on Amazon ECR.

A release pins the image it records by digest, so that what the operator deploys is exactly what CI
pushed, even when a tag is later moved. Digests are looked up on ECR with boto3's standard
credential chain; other registries are trusted as given.

boto3 and botocore are imported inside the functions that call AWS: ``lamp --help`` and the spec
commands must start without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lamp_cli import translate
from lamp_cli.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    UnexpectedError,
)
from lamp_cli.specs import image
from lamp_cli.specs.image import ImageRef, placeholder_account
from lamp_cli.specs.warnings import placeholder_message

if TYPE_CHECKING:
    from botocore.client import BaseClient

_HINTS = {
    "empty": "pass --image HOST/REPOSITORY:TAG",
    "untagged": "add the tag that CI pushed, e.g. :v1.2.0 ('latest' is refused)",
    "latest": "tag the image with the release tag or the commit sha and pass that",
    "tag": "a tag is 1-128 letters, digits, '_', '.' or '-' and starts with neither",
    "digest": "a digest is 'sha256:' followed by 64 lower-case hex digits",
    "name": "use lower-case HOST/REPOSITORY:TAG, e.g. "
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1.2.0",
}


def parse_image_ref(ref: str) -> ImageRef:
    """Parse an image reference given on the command line: exit 3 with a hint when refused."""
    try:
        return image.parse_image_ref(ref)
    except image.ImageReferenceError as err:
        message = (
            "the image reference is empty" if err.kind == "empty" else f"image reference {err}"
        )
        raise InvalidInput(message, hint=_HINTS[err.kind]) from None


def _join(repository: str, tag: str | None, digest: str | None) -> str:
    return repository + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def _ecr_ref(repository: str, tag: str | None, digest: str | None = None) -> ImageRef:
    image = parse_image_ref(_join(repository, tag, digest))
    if not image.is_ecr:
        raise InvalidInput(
            f"{image.registry} is not an Amazon ECR registry; lamp looks up digests only on ECR",
            hint="pin the digest in the model spec, or drop --verify-image",
        )
    refuse_placeholder(image)
    return image


def refuse_placeholder(image: ImageRef) -> None:
    """Exit 3 for an image on an example AWS account: asking AWS about one can only fail, and
    as "denied" or "no credentials", which would send the user the wrong way."""
    if placeholder_account(image.account):
        raise InvalidInput(
            f"not looking up {image} on ECR: "
            + placeholder_message(image.account or "", image.registry),
            hint="set spec.image.repository in the model spec (or pass --image with the image "
            "CI pushed); --no-verify-image records the image without looking it up",
        )


def resolve_digest(repository: str, tag: str) -> str:
    """Return the ``sha256:`` digest that ``tag`` points to in an ECR repository."""
    image = _ecr_ref(repository, tag)
    details = _describe_image(image, {"imageTag": tag})
    digest = details.get("imageDigest")
    if not isinstance(digest, str) or not digest:
        raise UnexpectedError(f"ECR returned no digest for {image}")
    return digest


def verify_digest(repository: str, tag: str | None, digest: str) -> None:
    """Check a pinned digest: the tag must point to it, or without a tag it must exist."""
    image = _ecr_ref(repository, tag, digest)
    if tag is None:
        _describe_image(image, {"imageDigest": digest})
        return
    actual = resolve_digest(repository, tag)
    if actual != digest:
        raise Conflict(
            f"image {repository}:{tag} points to {actual}, not to the pinned digest {digest}",
            hint="pin the current digest, or push the image again under a new tag",
        )


def pin_image(
    repository: str, tag: str | None, digest: str | None, *, verify: bool | None
) -> str | None:
    """Return the digest to record for an image, looking it up on ECR when that is useful.

    ``verify`` is the tri-state of ``--verify-image/--no-verify-image``: ``None`` (default)
    resolves a missing digest and trusts a pinned one, ``True`` also checks a pinned digest,
    ``False`` never calls AWS.
    """
    image = parse_image_ref(_join(repository, tag, digest))
    if verify is False:
        return digest
    if not image.is_ecr:
        if verify:
            # Asked to check and unable to: saying so beats a silent pass.
            raise InvalidInput(
                f"cannot verify image {image}: {image.registry} is not an Amazon ECR registry",
                hint="drop --verify-image for images outside ECR",
            )
        return digest
    if digest is None:
        assert tag is not None  # parse_image_ref refused a reference with neither
        return resolve_digest(repository, tag)
    if verify:
        verify_digest(repository, tag, digest)
    return digest


def _client(region: str) -> BaseClient:
    import boto3
    from botocore.config import Config

    # Short timeouts and few retries: a release in CI must fail within seconds when the endpoint
    # is unreachable, not after botocore's default minute of back-off.
    config = Config(
        connect_timeout=5,
        read_timeout=10,
        retries={"max_attempts": 2, "mode": "standard"},
        user_agent_extra="lamp-cli",
    )
    client: BaseClient = boto3.session.Session().client("ecr", region_name=region, config=config)
    return client


def _describe_image(image: ImageRef, image_id: dict[str, str]) -> dict[str, Any]:

    which = (
        f"tag {image_id['imageTag']!r}"
        if "imageTag" in image_id
        else f"digest {image_id['imageDigest']}"
    )
    what = f"image {which} of repository {image.path!r} in registry {image.registry}"
    try:
        # botocore builds its clients' methods at run time: to a type checker they are Any.
        client: Any = _client(image.region or "us-east-1")
        response: dict[str, Any] = client.describe_images(
            registryId=image.account, repositoryName=image.path, imageIds=[image_id]
        )
    except Exception as exc:
        raise translate.ecr_error(
            exc, repository=image.path, registry=image.registry, what=what
        ) from exc
    details = response.get("imageDetails") or []
    if not details:
        raise NotFound(f"{what} not found", hint="push the image first, or check --image")
    found: dict[str, Any] = details[0]
    return found
