"""A real ``moto_server`` on loopback for the ECR tests, one per session."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port, moto_server

#: Not moto's default (AWS's example account 123456789012): lamp refuses to look that one up.
ACCOUNT = "493275106824"
REGION = "eu-west-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
EXAMPLE_REGISTRY = f"123456789012.dkr.ecr.{REGION}.amazonaws.com"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The `moto` marker of pyproject.toml, on exactly the tests that start the server.
    for item in items:
        if "moto_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.moto)


def _post(url: str, body: bytes = b"") -> None:
    # Not form-encoded: the server would parse the body away as form data.
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_server(tmp_path_factory.mktemp("moto"), account=ACCOUNT) as url:
        yield url


@pytest.fixture
def specs(specs: tuple[Path, Path]) -> tuple[Path, Path]:
    """The example pair, its image moved from the example account to the moto server's."""
    model = specs[0]
    model.write_text(model.read_text().replace(EXAMPLE_REGISTRY, REGISTRY))
    return specs


def _isolate_from_the_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No profile, config file, instance role or endpoint of the machine may leak in."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_ECR",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An environment without any AWS credentials."""
    _isolate_from_the_machine(monkeypatch, tmp_path)


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Fake credentials and every AWS endpoint on the moto server, reset for each test."""
    _isolate_from_the_machine(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret-never-printed")
    _post(f"{moto_url}/moto-api/reset")
    return moto_url


@pytest.fixture
def moto_auth(aws: str) -> Iterator[None]:
    """Make the moto server check credentials as AWS does, for this test only."""
    _post(f"{aws}/moto-api/reset-auth", b"0")
    try:
        yield
    finally:
        _post(f"{aws}/moto-api/reset-auth", b"inf")


@dataclass
class Ecr:
    """Test helper that pushes image manifests to the moto ECR."""

    client: object

    def create_repository(self, name: str) -> str:
        self.client.create_repository(repositoryName=name)  # type: ignore[attr-defined]
        return f"{REGISTRY}/{name}"

    def push(self, name: str, tag: str, layer: str = "a") -> str:
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": "sha256:" + "c" * 64, "size": 1, "mediaType": "x"},
            "layers": [{"digest": "sha256:" + layer * 64, "size": 1, "mediaType": "x"}],
        }
        response = self.client.put_image(  # type: ignore[attr-defined]
            repositoryName=name,
            imageManifest=json.dumps(manifest),
            imageManifestMediaType=manifest["mediaType"],
            imageTag=tag,
        )
        return response["image"]["imageId"]["imageDigest"]


@pytest.fixture
def ecr(aws: str) -> Ecr:
    import boto3

    return Ecr(boto3.client("ecr", region_name=REGION, endpoint_url=aws))


@pytest.fixture
def closed_url() -> str:
    """A loopback URL where nothing listens: any request to it fails at once."""
    return f"http://127.0.0.1:{free_port()}"
