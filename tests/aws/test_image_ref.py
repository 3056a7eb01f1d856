"""Parsing image references: what a model spec's image and ``--image`` accept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lamp_cli.errors import EXIT_INVALID, InvalidInput
from lamp_cli.services.ecr import parse_image_ref

pytestmark = pytest.mark.offline

ROOT = Path(__file__).resolve().parents[2]
DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("host", "account", "region"),
    [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "123456789012", "eu-west-1"),
        ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "123456789012", "us-gov-west-1"),
        ("210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn", "210987654321", "cn-north-1"),
        ("123456789012.dkr-ecr.us-east-1.on.aws", "123456789012", "us-east-1"),
    ],
)
def test_ecr_hosts_give_account_and_region(host: str, account: str, region: str) -> None:
    image = parse_image_ref(f"{host}/team/app:v1.2.0")
    assert image.is_ecr
    assert (image.account, image.region) == (account, region)
    assert image.registry == host
    assert image.repository == f"{host}/team/app"
    assert image.path == "team/app"
    assert image.tag == "v1.2.0"
    assert image.digest is None


@pytest.mark.parametrize(
    ("ref", "registry", "repository", "tag", "digest"),
    [
        ("nginx:1.27", "docker.io", "nginx", "1.27", None),
        ("ghcr.io/org/app:v1", "ghcr.io", "ghcr.io/org/app", "v1", None),
        ("localhost:5000/app:0.1.0", "localhost:5000", "localhost:5000/app", "0.1.0", None),
        (
            "registry.local:5000/a/b@" + DIGEST,
            "registry.local:5000",
            "registry.local:5000/a/b",
            None,
            DIGEST,
        ),
        ("ghcr.io/org/app:v1@" + DIGEST, "ghcr.io", "ghcr.io/org/app", "v1", DIGEST),
        (
            "ghcr.io/org/my_app__x-y.z:1.0_rc-1",
            "ghcr.io",
            "ghcr.io/org/my_app__x-y.z",
            "1.0_rc-1",
            None,
        ),
    ],
)
def test_other_registries(
    ref: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    image = parse_image_ref(ref)
    assert (image.registry, image.repository, image.tag, image.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    assert not image.is_ecr
    assert image.account is None and image.region is None
    assert str(image) == ref


def test_lookalike_ecr_host_is_not_ecr() -> None:
    # Not twelve digits, or another domain: must never be sent to AWS as an ECR look-up.
    assert not parse_image_ref("12345.dkr.ecr.eu-west-1.amazonaws.com/app:v1").is_ecr
    assert not parse_image_ref("123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.io/a:v1").is_ecr


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ghcr.io/org/app", "has no tag"),
        ("ghcr.io/org/app:latest", "'latest'"),
        ("ghcr.io/org/app:latest@" + DIGEST, "'latest'"),
        ("ghcr.io/org/App:v1", "not a valid image name"),
        ("ghcr.io/org//app:v1", "not a valid image name"),
        ("ghcr.io/org/app:-v1", "invalid tag"),
        ("ghcr.io/org/app:v1 space", "invalid tag"),
        ("ghcr.io/org/app:" + "x" * 129, "invalid tag"),
        ("ghcr.io/org/app@sha256:abc", "invalid digest"),
        ("ghcr.io/org/app@md5:" + "0" * 32, "invalid digest"),
        ("https://ghcr.io/org/app:v1", "not a valid image name"),
    ],
)
def test_invalid_references_are_exit_3_with_one_line(ref: str, says: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_image_ref(ref)
    error = info.value
    assert error.exit_code == EXIT_INVALID
    assert says in error.message
    assert "\n" not in error.message
    assert error.hint


def test_non_ascii_tag_is_refused() -> None:
    with pytest.raises(InvalidInput, match="invalid tag"):
        parse_image_ref("ghcr.io/org/app:vé1")


def test_importing_lamp_services_does_not_import_boto3() -> None:
    code = (
        "import sys, lamp_cli.services.ecr, lamp_cli.services.provenance, lamp_cli.gha; "
        "print(sorted(m for m in ('boto3', 'botocore', 'typer', 'rich', 'mlflow') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("repository", "tag"),
    [
        ("ghcr.io/org/app", "latest"),
        ("ghcr.io/org/app", "LATEST"),
        ("ghcr.io/org/App", "v1"),
        ("ghcr.io/org//app", "v1"),
        ("ghcr.io/org/app", "-v1"),
        ("ghcr.io/org/app", "v1"),
        ("registry.local:5000/a/b", "v1"),
    ],
)
def test_specs_and_image_flags_share_one_parser(repository: str, tag: str) -> None:
    """A repository and tag valid in a model spec are valid as --image, and the other way round."""
    from pydantic import TypeAdapter, ValidationError

    from lamp_cli.specs.types import ImageRepository, ImageTag

    try:
        TypeAdapter(ImageRepository).validate_python(repository)
        TypeAdapter(ImageTag).validate_python(tag)
        in_spec = True
    except ValidationError:
        in_spec = False
    try:
        parse_image_ref(f"{repository}:{tag}")
        as_flag = True
    except InvalidInput:
        as_flag = False
    assert in_spec == as_flag
