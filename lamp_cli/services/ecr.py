"""Container image references and their digests on Amazon ECR.

A release pins the image it records by digest, so that what the operator deploys is exactly what CI
pushed, even when a tag is later moved. Digests are looked up on ECR with boto3's standard
credential chain; other registries are trusted as given.

boto3 and botocore are imported inside the functions that call AWS: ``lamp --help`` and the spec
commands must start without them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lamp_cli.errors import (
    BackendUnavailable,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    UnexpectedError,
    redact,
)
from lamp_cli.specs.types import DIGEST_RE, TAG_RE, ecr_location

if TYPE_CHECKING:
    from botocore.client import BaseClient

# The grammar of github.com/distribution/reference, which Docker, containerd and ECR follow.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_HOST_RE = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?")
_PATH_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
DEFAULT_REGISTRY = "docker.io"

_NOT_FOUND_CODES = {"RepositoryNotFoundException", "ImageNotFoundException"}
_DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "UnauthorizedOperation",
    "MissingAuthenticationToken",
}
_THROTTLED_CODES = {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}
_CREDENTIALS_HINT = (
    "configure AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or "
    "aws-actions/configure-aws-credentials in CI) with ecr:DescribeImages on the repository, "
    "or pass --no-verify-image to skip the look-up"
)


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference: ``[registry/]path[:tag][@digest]``.

    ``repository`` is the reference as written without tag and digest, host included when the
    reference has one: it is what a model spec's ``spec.image.repository`` holds.
    """

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def path(self) -> str:
        """The repository name inside its registry (ECR's ``repositoryName``)."""
        head, _, rest = self.repository.partition("/")
        return rest if rest and head == self.registry else self.repository

    @property
    def is_ecr(self) -> bool:
        return ecr_location(self.registry) is not None

    @property
    def account(self) -> str | None:
        location = ecr_location(self.registry)
        return location[0] if location else None

    @property
    def region(self) -> str | None:
        location = ecr_location(self.registry)
        return location[1] if location else None

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_image_ref(ref: str) -> ImageRef:
    """Parse an image reference; a tag or a digest is required and ``latest`` is refused."""
    text = ref.strip()
    if not text:
        raise InvalidInput("the image reference is empty", hint="pass --image HOST/REPOSITORY:TAG")
    name, _, digest = text.partition("@")
    if digest:
        _check_digest(digest, ref)
    tag: str | None = None
    # A colon after the last slash separates the tag; one before it belongs to a registry port.
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, _, tag = name.rpartition(":")
        if not TAG_RE.fullmatch(tag):
            raise InvalidInput(
                f"image reference {ref!r} has an invalid tag {tag!r}",
                hint="a tag is 1-128 letters, digits, '_', '.' or '-' and starts with neither",
            )
        _check_not_latest(tag, ref)
    registry, path = _split_registry(name)
    if not _PATH_RE.fullmatch(path) or (
        registry != DEFAULT_REGISTRY and not _HOST_RE.fullmatch(registry)
    ):
        raise InvalidInput(
            f"image reference {ref!r} is not a valid image name",
            hint="use lower-case HOST/REPOSITORY:TAG, e.g. "
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1.2.0",
        )
    if tag is None and not digest:
        raise InvalidInput(
            f"image reference {ref!r} has no tag",
            hint="add the tag that CI pushed, e.g. :v1.2.0 ('latest' is refused)",
        )
    return ImageRef(registry=registry, repository=name, tag=tag, digest=digest or None)


def _split_registry(name: str) -> tuple[str, str]:
    head, sep, rest = name.partition("/")
    # Docker's rule: the first component is a registry host when it looks like one.
    if sep and ("." in head or ":" in head or head == "localhost" or head.startswith("[")):
        return head, rest
    return DEFAULT_REGISTRY, name


def _check_digest(digest: str, ref: str) -> None:
    if not DIGEST_RE.fullmatch(digest):
        raise InvalidInput(
            f"image reference {ref!r} has an invalid digest {digest!r}",
            hint="a digest is 'sha256:' followed by 64 lower-case hex digits",
        )


def _check_not_latest(tag: str, ref: str) -> None:
    if tag == "latest":
        raise InvalidInput(
            f"image reference {ref!r} uses the tag 'latest', which lamp refuses",
            hint="tag the image with the release tag or the commit sha and pass that",
        )


def _join(repository: str, tag: str | None, digest: str | None) -> str:
    return repository + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def _ecr_ref(repository: str, tag: str | None, digest: str | None = None) -> ImageRef:
    image = parse_image_ref(_join(repository, tag, digest))
    if not image.is_ecr:
        raise InvalidInput(
            f"{image.registry} is not an Amazon ECR registry; lamp looks up digests only on ECR",
            hint="pin the digest in the model spec, or drop --verify-image",
        )
    return image


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
    return boto3.session.Session().client("ecr", region_name=region, config=config)


def _describe_image(image: ImageRef, image_id: dict[str, str]) -> dict[str, Any]:
    from botocore import exceptions as bce

    which = (
        f"tag {image_id['imageTag']!r}"
        if "imageTag" in image_id
        else f"digest {image_id['imageDigest']}"
    )
    what = f"image {which} of repository {image.path!r} in registry {image.registry}"
    try:
        client = _client(image.region or "us-east-1")
        response = client.describe_images(
            registryId=image.account, repositoryName=image.path, imageIds=[image_id]
        )
    except bce.ClientError as exc:
        raise _translate_client_error(exc, image, which, what) from exc
    except (bce.NoCredentialsError, bce.PartialCredentialsError) as exc:
        raise PermissionDenied(
            f"no AWS credentials found to look up {what}", hint=_CREDENTIALS_HINT
        ) from exc
    except (
        bce.EndpointConnectionError,
        bce.ConnectTimeoutError,
        bce.ReadTimeoutError,
        bce.ConnectionClosedError,
    ) as exc:
        endpoint = redact(str(getattr(exc, "kwargs", {}).get("endpoint_url") or image.registry))
        raise BackendUnavailable(
            f"cannot reach the ECR API at {endpoint} to look up {what}",
            hint="check the network and AWS_ENDPOINT_URL, or pass --no-verify-image",
        ) from exc
    except (bce.TokenRetrievalError, bce.CredentialRetrievalError, bce.SSOError) as exc:
        raise PermissionDenied(
            f"AWS credentials could not be loaded to look up {what}: {type(exc).__name__}",
            hint=_CREDENTIALS_HINT,
        ) from exc
    except bce.ParamValidationError as exc:
        # botocore checks ECR's own limits (e.g. a repository name of 2+ characters).
        detail = _first_line(str(exc).strip().splitlines()[-1])
        raise InvalidInput(f"ECR cannot look up {what}: {detail}") from exc
    except bce.BotoCoreError as exc:
        raise UnexpectedError(f"looking up {what} failed: {type(exc).__name__}") from exc
    details = response.get("imageDetails") or []
    if not details:
        raise NotFound(f"{what} not found", hint="push the image first, or check --image")
    return details[0]


def _translate_client_error(exc: Any, image: ImageRef, which: str, what: str) -> Exception:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code == "RepositoryNotFoundException":
        return NotFound(
            f"repository {image.path!r} not found in registry {image.registry} "
            f"(looking up image {which})",
            hint="create the ECR repository and push the image, or check --image",
        )
    if code in _NOT_FOUND_CODES:
        return NotFound(f"{what} not found", hint="push the image first, or check --image")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    # A bare 401/403 comes from proxies and emulators that answer without an AWS error code.
    if code in _DENIED_CODES or code.startswith("AccessDenied") or status in (401, 403):
        # Only the error code: AWS messages can carry ARNs and account ids of the caller.
        reason = f"HTTP {status}" if not code or code.isdigit() else code
        return PermissionDenied(
            f"AWS refused the credentials looking up {what} ({reason})", hint=_CREDENTIALS_HINT
        )
    if code in _THROTTLED_CODES:
        return BackendUnavailable(f"ECR throttled the look-up of {what}", hint="retry in a minute")
    if status >= 500:
        return BackendUnavailable(
            f"ECR failed looking up {what} (HTTP {status})", hint="retry, or pass --no-verify-image"
        )
    if code in ("InvalidParameterException", "ValidationException"):
        return InvalidInput(
            f"ECR refused the look-up of {what}: {redact(_first_line(error.get('Message')))}"
        )
    return UnexpectedError(f"looking up {what} failed: {code or 'unknown AWS error'}")


def _first_line(text: object) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0][:300] if lines else ""
