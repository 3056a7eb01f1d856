"""Container image references: the one parser that specs, ``--image`` and ECR look-ups share.

The grammar is that of github.com/distribution/reference, which Docker, containerd and ECR follow:
``[HOST[:PORT]/]PATH[:TAG][@DIGEST]``, lower-case path components, Docker's rule for telling a
registry host from a first path component, and ``latest`` refused in any spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_REGISTRY = "docker.io"
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
ECR_HOST_RE = re.compile(
    r"^(?:(?P<account>[0-9]{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
    # Dual-stack endpoints (IPv6) use a different domain for the same registry.
    r"|(?P<account6>[0-9]{12})\.dkr-ecr(?:-fips)?\.(?P<region6>[a-z0-9-]+)\.on\.aws)$"
)
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_HOST_RE = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?")
_PATH_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")


#: Account ids of examples, not of anyone's registry: AWS's documentation (and moto's default),
#: the template ``lamp spec init`` writes, and their kin. A digit repeated twelve times and the
#: four-by-three patterns of AWS's documentation (111122223333) are placeholders too.
PLACEHOLDER_ACCOUNTS = frozenset({"123456789012", "012345678901", "210987654321", "098765432109"})
_PLACEHOLDER_RE = re.compile(r"^(?:(\d)\1{11}|(\d)\2{3}(\d)\3{3}(\d)\4{3})$")


def placeholder_account(account: str | None) -> bool:
    """True for an AWS account id that only examples use (``123456789012``, ``111111111111``)."""
    return bool(account) and (
        account in PLACEHOLDER_ACCOUNTS or _PLACEHOLDER_RE.match(account or "") is not None
    )


class ImageReferenceError(ValueError):
    """Why a reference is refused; ``kind`` is empty, name, tag, latest, digest or untagged."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def ecr_location(repository: str) -> tuple[str, str] | None:
    """``(account, region)`` when ``repository`` (or a registry host) is on AWS ECR, else None."""
    match = ECR_HOST_RE.match(repository.split("/", 1)[0])
    if not match:
        return None
    return (match["account"] or match["account6"], match["region"] or match["region6"])


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


def parse_image_ref(text: str, *, need_tag_or_digest: bool = True) -> ImageRef:
    """Parse an image reference; raises :class:`ImageReferenceError` saying what is wrong."""
    ref = text.strip()
    if not ref:
        raise ImageReferenceError("empty", "the image reference is empty")
    name, _, digest = ref.partition("@")
    if digest and not DIGEST_RE.fullmatch(digest):
        raise ImageReferenceError(
            "digest", f"{ref!r} has an invalid digest {digest!r} (sha256:<64 hex digits>)"
        )
    tag: str | None = None
    # A colon after the last slash separates the tag; one before it belongs to a registry port.
    if ":" in name.rsplit("/", 1)[-1]:
        name, _, tag = name.rpartition(":")
        if not TAG_RE.fullmatch(tag):
            raise ImageReferenceError(
                "tag",
                f"{ref!r} has an invalid tag {tag!r}: up to 128 letters, digits, '_', '.' or '-', "
                "not starting with '.' or '-'",
            )
        if tag.lower() == "latest":
            raise ImageReferenceError(
                "latest", f"{ref!r} uses the tag 'latest', which does not say what is served"
            )
    registry, path = _split_registry(name)
    if path.lower() != path and _PATH_RE.fullmatch(path.lower()):
        raise ImageReferenceError(
            "name", f"{ref!r} is not a valid image name: the repository must be lowercase"
        )
    if not _PATH_RE.fullmatch(path) or (
        registry != DEFAULT_REGISTRY and not _HOST_RE.fullmatch(registry)
    ):
        raise ImageReferenceError("name", f"{ref!r} is not a valid image name")
    if need_tag_or_digest and tag is None and not digest:
        raise ImageReferenceError("untagged", f"{ref!r} has no tag")
    return ImageRef(registry=registry, repository=name, tag=tag, digest=digest or None)


def _split_registry(name: str) -> tuple[str, str]:
    head, sep, rest = name.partition("/")
    # Docker's rule: the first component is a registry host when it looks like one.
    if sep and ("." in head or ":" in head or head == "localhost" or head.startswith("[")):
        return head, rest
    return DEFAULT_REGISTRY, name
