"""Digest look-ups against a real moto_server: the errors a release meets and their exit codes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from lamp_cli.errors import (
    EXIT_CONFLICT,
    EXIT_DENIED,
    EXIT_NOT_FOUND,
    EXIT_UNREACHABLE,
    BackendUnavailable,
    Conflict,
    InvalidInput,
    LampError,
    NotFound,
    PermissionDenied,
)
from lamp_cli.services.ecr import pin_image, resolve_digest, verify_digest
from tests.aws.conftest import REGISTRY

OTHER = "sha256:" + "f" * 64


def _assert_one_line(error: LampError) -> None:
    assert "\n" not in error.message
    assert "Traceback" not in error.message
    assert "testing-secret-never-printed" not in f"{error.message} {error.hint}"


def test_resolve_returns_the_pushed_digest(ecr: Any) -> None:
    repository = ecr.create_repository("team/app")
    digest = ecr.push("team/app", "v1.2.0")
    assert resolve_digest(repository, "v1.2.0") == digest
    assert digest.startswith("sha256:")


def test_resolve_follows_a_moved_tag(ecr: Any) -> None:
    repository = ecr.create_repository("team/app")
    first = ecr.push("team/app", "v1", layer="a")
    second = ecr.push("team/app", "v1", layer="b")
    assert first != second
    assert resolve_digest(repository, "v1") == second


def test_missing_repository_is_exit_4_naming_registry_repository_and_tag(ecr: Any) -> None:
    with pytest.raises(NotFound) as info:
        resolve_digest(f"{REGISTRY}/team/nope", "v1.2.0")
    error = info.value
    assert error.exit_code == EXIT_NOT_FOUND
    assert REGISTRY in error.message
    assert "'team/nope'" in error.message
    assert "'v1.2.0'" in error.message
    assert error.hint
    _assert_one_line(error)


def test_missing_tag_is_exit_4_naming_registry_repository_and_tag(ecr: Any) -> None:
    repository = ecr.create_repository("team/app")
    ecr.push("team/app", "v1.0.0")
    with pytest.raises(NotFound) as info:
        resolve_digest(repository, "v9.9.9")
    error = info.value
    assert error.exit_code == EXIT_NOT_FOUND
    assert REGISTRY in error.message
    assert "'team/app'" in error.message
    assert "'v9.9.9'" in error.message
    _assert_one_line(error)


def test_no_credentials_is_exit_7(
    no_aws: None, closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A closed port as endpoint: the request must not even be attempted without credentials.
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_url)
    with pytest.raises(PermissionDenied) as info:
        resolve_digest(f"{REGISTRY}/team/app", "v1")
    error = info.value
    assert error.exit_code == EXIT_DENIED
    assert "credentials" in error.message
    assert "AWS_PROFILE" in (error.hint or "")
    _assert_one_line(error)


def test_rejected_credentials_are_exit_7_without_the_secret(
    ecr: Any, moto_auth: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")
    with pytest.raises(PermissionDenied) as info:
        resolve_digest(f"{REGISTRY}/team/app", "v1")
    error = info.value
    assert error.exit_code == EXIT_DENIED
    assert "AKIAUNKNOWNKEY000000" not in f"{error.message} {error.hint}"
    _assert_one_line(error)


def test_dead_endpoint_is_exit_6_quickly(
    aws: str, closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = closed_url
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        resolve_digest(f"{REGISTRY}/team/app", "v1")
    assert time.monotonic() - started < 8
    error = info.value
    assert error.exit_code == EXIT_UNREACHABLE
    assert dead in error.message
    _assert_one_line(error)


def test_verify_accepts_the_current_digest(ecr: Any) -> None:
    repository = ecr.create_repository("team/app")
    digest = ecr.push("team/app", "v1")
    verify_digest(repository, "v1", digest)
    verify_digest(repository, None, digest)


def test_verify_mismatch_is_exit_5_naming_both_digests(ecr: Any) -> None:
    repository = ecr.create_repository("team/app")
    digest = ecr.push("team/app", "v1")
    with pytest.raises(Conflict) as info:
        verify_digest(repository, "v1", OTHER)
    error = info.value
    assert error.exit_code == EXIT_CONFLICT
    assert digest in error.message and OTHER in error.message
    _assert_one_line(error)


def test_verify_of_an_unknown_digest_without_tag_is_exit_4(ecr: Any) -> None:
    repository = ecr.create_repository("team/app")
    ecr.push("team/app", "v1")
    with pytest.raises(NotFound) as info:
        verify_digest(repository, None, OTHER)
    assert OTHER in info.value.message


# pin_image: which inputs call AWS. Tests that must not call AWS point it at a closed port, so
# that any call would fail with BackendUnavailable.


@pytest.fixture
def unreachable_aws(aws: str, closed_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_url)


def test_pin_resolves_a_missing_ecr_digest(ecr: Any) -> None:
    repository = ecr.create_repository("team/app")
    digest = ecr.push("team/app", "v1")
    assert pin_image(repository, "v1", None, verify=None) == digest
    assert pin_image(repository, "v1", None, verify=True) == digest


@pytest.mark.usefixtures("unreachable_aws")
def test_pin_without_look_up() -> None:
    ecr_repo = f"{REGISTRY}/team/app"
    assert pin_image(ecr_repo, "v1", None, verify=False) is None
    assert pin_image(ecr_repo, "v1", OTHER, verify=None) == OTHER
    assert pin_image(ecr_repo, "v1", OTHER, verify=False) == OTHER
    assert pin_image("ghcr.io/org/app", "v1", None, verify=None) is None
    assert pin_image("ghcr.io/org/app", "v1", OTHER, verify=None) == OTHER


@pytest.mark.usefixtures("unreachable_aws")
def test_pin_with_a_look_up_reaches_aws() -> None:
    # The counterpart of the test above: the same closed port does fail a real look-up.
    with pytest.raises(BackendUnavailable):
        pin_image(f"{REGISTRY}/team/app", "v1", OTHER, verify=True)


def test_pin_verifies_a_pinned_digest_when_asked(ecr: Any) -> None:
    repository = ecr.create_repository("team/app")
    digest = ecr.push("team/app", "v1")
    assert pin_image(repository, "v1", digest, verify=True) == digest
    with pytest.raises(Conflict):
        pin_image(repository, "v1", OTHER, verify=True)


@pytest.mark.usefixtures("unreachable_aws")
def test_pin_refuses_to_verify_outside_ecr_and_latest() -> None:
    with pytest.raises(InvalidInput, match="not an Amazon ECR registry"):
        pin_image("ghcr.io/org/app", "v1", OTHER, verify=True)
    with pytest.raises(InvalidInput, match="latest"):
        pin_image(f"{REGISTRY}/team/app", "latest", None, verify=None)
    with pytest.raises(InvalidInput, match="has no tag"):
        pin_image(f"{REGISTRY}/team/app", None, None, verify=None)
    with pytest.raises(InvalidInput, match="not an Amazon ECR registry"):
        resolve_digest("ghcr.io/org/app", "v1")
