"""Constrained field types shared by both spec kinds.

Each type carries its own check and a message that says what to write instead, so the models in
``model_spec`` and ``endpoint_spec`` read as the format they describe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, NoReturn
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from lamp_cli.specs.image import (
    DEFAULT_REGISTRY,
    DIGEST_RE,
    TAG_RE,
    ImageReferenceError,
    parse_image_ref,
)
from lamp_cli.specs.quantity import QUANTITY_PATTERN, QuantityError, parse_quantity

DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
ENV_NAME_RE = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
LABEL_NAME_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
# semver.org's recommended expression: exact versions only, no ranges and no leading "v".
SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
HTTP_PATH_RE = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/{}-]*$")


def fail(message: str) -> NoReturn:
    """Raise the one error type the loader turns into a :class:`~lamp_cli.errors.Problem`."""
    raise PydanticCustomError("lamp", "{message}", {"message": message})


def shown(value: Any, limit: int = 60) -> str:
    """A short, quoted rendering of a user value for messages."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_of(values: Iterable[str]) -> str:
    return ", ".join(values)


def _dns_label(max_length: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value) > max_length:
            fail(f"must be at most {max_length} characters (got {len(value)})")
        if not DNS_LABEL_RE.match(value):
            fail(
                "must be a DNS-1123 label: lowercase letters, digits and '-', "
                f"starting and ending with a letter or digit (got {shown(value)})"
            )
        return value

    return AfterValidator(check)


def _check_subdomain(value: str) -> str:
    if len(value) > 253 or not DNS_SUBDOMAIN_RE.match(value):
        fail(f"must be a lowercase DNS name such as fraud.example.com (got {shown(value)})")
    return value


def _check_env_name(value: str) -> str:
    if not ENV_NAME_RE.match(value):
        fail(
            "must be a valid environment variable name: letters, digits, '_', '-' or '.', "
            f"not starting with a digit (got {shown(value)})"
        )
    return value


def _check_http_path(value: str) -> str:
    if not HTTP_PATH_RE.match(value):
        fail(f"must be an absolute URL path starting with '/', without spaces (got {shown(value)})")
    return value


def _number_to_text(value: Any) -> Any:
    # Kubernetes accepts `cpu: 2` as well as `cpu: "2"`; the normalized document keeps text.
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        text = format(value, "f").rstrip("0").rstrip(".")
        return text or "0"
    return value


def _check_quantity(value: str) -> str:
    try:
        quantity = parse_quantity(value)
    except QuantityError as exc:
        fail(str(exc))
    if quantity.value < 0:
        fail(f"must not be negative (got {shown(value)})")
    return value


def _check_image_repository(value: str) -> str:
    if ":" in value.rsplit("/", 1)[-1] or "@" in value:
        fail(
            f"must be an image repository without tag or digest (got {shown(value)}); "
            "put the tag in spec.image.tag and the digest in spec.image.digest"
        )
    try:
        parsed = parse_image_ref(value, need_tag_or_digest=False)
    except ImageReferenceError as exc:
        fail(f"not a valid image repository: {exc}")
    if parsed.registry == DEFAULT_REGISTRY and not value.startswith(DEFAULT_REGISTRY + "/"):
        fail(
            "must be a full image reference including the registry host, such as "
            f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-detector (got {shown(value)})"
        )
    return value


def _check_tag(value: str) -> str:
    if not TAG_RE.match(value):
        fail(
            "must be an image tag: up to 128 letters, digits, '_', '.' or '-', "
            f"not starting with '.' or '-' (got {shown(value)})"
        )
    if value.lower() == "latest":
        fail("'latest' is refused: it does not say what is served; use the release version")
    return value


def _check_digest(value: str) -> str:
    if not DIGEST_RE.match(value):
        fail(f"must be sha256:<64 lowercase hex digits> (got {shown(value)})")
    return value


def _check_semver(value: str) -> str:
    if not SEMVER_RE.match(value):
        fail(f"must be an exact SemVer version such as 1.2.0, not a range (got {shown(value)})")
    return value


def _check_chart_repository(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "oci") or not parts.hostname or " " in value:
        fail(
            "must be an https:// or oci:// chart repository URL, such as "
            f"oci://123456789012.dkr.ecr.eu-west-1.amazonaws.com/charts (got {shown(value)})"
        )
    if parts.username or parts.password:
        fail("must not contain credentials; register the repository with Argo CD instead")
    if parts.query or parts.fragment:
        fail(f"must not have a query or fragment (got {shown(value)})")
    return value


def _check_labels(value: dict[str, str]) -> dict[str, str]:
    problems: list[tuple[tuple[str, ...], str]] = []
    for key, label in value.items():
        prefix, _, name = key.rpartition("/")
        if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN_RE.match(prefix)):
            problems.append(((key,), "the key's prefix must be a lowercase DNS name"))
        elif not name or len(name) > 63 or not LABEL_NAME_RE.match(name):
            problems.append(((key,), f"not a label key: {_LABEL_TEXT} (got {shown(key)})"))
        if label and (len(label) > 63 or not LABEL_NAME_RE.match(label)):
            problems.append(((key,), f"not a label value: {_LABEL_TEXT} (got {shown(label)})"))
    if problems:
        message = "; ".join(m for _, m in problems)
        raise PydanticCustomError("lamp", "{message}", {"message": message, "problems": problems})
    return value


# Patterns go to the JSON Schema only (json_schema_extra) so that editors check while typing, while
# validation goes through the checks above, whose messages say what to write instead.
_LABEL_TEXT = "at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric"
ResourceName = Annotated[
    str, Field(json_schema_extra={"pattern": DNS_LABEL_RE.pattern, "maxLength": 53}), _dns_label(53)
]
DnsLabel = Annotated[
    str, Field(json_schema_extra={"pattern": DNS_LABEL_RE.pattern, "maxLength": 63}), _dns_label(63)
]
DnsSubdomain = Annotated[
    str,
    Field(json_schema_extra={"pattern": DNS_SUBDOMAIN_RE.pattern, "maxLength": 253}),
    AfterValidator(_check_subdomain),
]
EnvName = Annotated[str, Field(min_length=1, max_length=253), AfterValidator(_check_env_name)]
HttpPath = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_check_http_path)]
QuantityText = Annotated[
    str,
    BeforeValidator(_number_to_text),
    AfterValidator(_check_quantity),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": QUANTITY_PATTERN}, {"type": "number"}],
            "description": "Kubernetes quantity, e.g. 500m, 2, 512Mi, 2Gi",
        }
    ),
]
ImageRepository = Annotated[
    str, Field(min_length=1, max_length=255), AfterValidator(_check_image_repository)
]
ImageTag = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_check_tag)]
ImageDigest = Annotated[
    str, Field(json_schema_extra={"pattern": DIGEST_RE.pattern}), AfterValidator(_check_digest)
]
SemVer = Annotated[
    str, Field(json_schema_extra={"pattern": SEMVER_RE.pattern}), AfterValidator(_check_semver)
]
ChartRepository = Annotated[
    str, Field(min_length=1, max_length=2048), AfterValidator(_check_chart_repository)
]
Labels = Annotated[dict[str, str], AfterValidator(_check_labels)]
Text = Annotated[str, Field(max_length=4096)]
ShortText = Annotated[str, Field(min_length=1, max_length=253)]
