"""The image a newcomer has before editing anything: the example AWS account of `lamp spec init`
is warned about and never looked up, a registry outside ECR is warned about, and absent AWS
credentials are said to be absent, not refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.aws.conftest import EXAMPLE_REGISTRY, REGISTRY
from tests.conftest import ENDPOINT_EXAMPLE, MODEL_EXAMPLE

DIGEST = "sha256:" + "c" * 64


def model_with(isolated_env: Path, repository: str, *, digest: str | None = None) -> Path:
    text = MODEL_EXAMPLE.read_text().replace(f"{EXAMPLE_REGISTRY}/fraud-detector", repository)
    if digest:
        text = text.replace("    tag: 1.4.0\n", f"    tag: 1.4.0\n    digest: {digest}\n")
    path = isolated_env / "model.yaml"
    path.write_text(text)
    return path


def warnings_of(lamp, model: Path) -> tuple[list[dict], str]:
    result = lamp("-o", "json", "spec", "validate", str(model), str(ENDPOINT_EXAMPLE))
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["warnings"], result.stderr


@pytest.mark.parametrize("account", ["123456789012", "111111111111", "111122223333"])
def test_validate_warns_about_a_placeholder_account(lamp, isolated_env, account) -> None:
    registry = f"{account}.dkr.ecr.eu-west-1.amazonaws.com"
    model = model_with(isolated_env, f"{registry}/app")
    [warning], stderr = warnings_of(lamp, model)
    assert warning["field"] == "spec.image.repository" and warning["line"] == 15
    assert f"placeholder AWS account {account}" in warning["message"]
    template = "(the example lamp spec init writes)"
    assert (template in warning["message"]) == (account == "123456789012")
    assert f"lamp: warning: {model}:15" in stderr
    human = lamp("spec", "validate", str(model), str(ENDPOINT_EXAMPLE))
    assert human.exit_code == 0
    assert f"warning: {model.name}" not in human.stdout  # warnings never reach stdout
    assert f"placeholder AWS account {account}" in human.stderr


def test_validate_warns_about_a_registry_outside_ecr_unless_the_digest_is_pinned(
    lamp, isolated_env
) -> None:
    [warning], _ = warnings_of(lamp, model_with(isolated_env, "ghcr.io/acme/app"))
    assert "ghcr.io is not Amazon ECR" in warning["message"]
    assert "pin spec.image.digest" in warning["message"]
    pinned = model_with(isolated_env, "ghcr.io/acme/app", digest=DIGEST)
    assert warnings_of(lamp, pinned)[0] == []
    assert warnings_of(lamp, model_with(isolated_env, f"{REGISTRY}/app"))[0] == []


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch, closed_url: str, no_aws: None) -> None:
    """Every AWS endpoint on a closed port and no credentials: any look-up would fail."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_url)


RELEASE = ["release", "-p", "p", "--release-key", "v1", "--endpoint-spec", str(ENDPOINT_EXAMPLE)]


@pytest.mark.usefixtures("nowhere")
@pytest.mark.parametrize("how", ["spec image", "--image"])
def test_release_refuses_to_look_up_a_placeholder_account(lamp, isolated_env, how) -> None:
    image = f"{EXAMPLE_REGISTRY}/fraud-detector:1.4.0"
    extra = ["--image", image] if how == "--image" else []
    result = lamp("-o", "json", *RELEASE, "--model-spec", str(MODEL_EXAMPLE), *extra)
    assert result.exit_code == 3, result.stderr
    error = json.loads(result.stderr)["error"]
    assert error["message"].startswith(f"not looking up {image} on ECR")
    assert "placeholder AWS account 123456789012" in error["message"]
    assert "spec.image.repository" in error["hint"]
    assert not (isolated_env / "mlflow.db").exists()  # nothing written, no store made

    logged = lamp("-o", "json", "run", "log-spec", "-e", "x", "--model-spec", str(MODEL_EXAMPLE),
                  "--endpoint-spec", str(ENDPOINT_EXAMPLE), "--image", image)  # fmt: skip
    assert logged.exit_code == 3
    assert "placeholder AWS account" in json.loads(logged.stderr)["error"]["message"]


@pytest.mark.usefixtures("nowhere")
@pytest.mark.parametrize("digest", [None, DIGEST], ids=["tag", "pinned digest"])
def test_doctor_fails_the_image_check_of_a_placeholder_account(lamp, isolated_env, digest):
    model = model_with(isolated_env, f"{EXAMPLE_REGISTRY}/app", digest=digest)
    env = {"LAMP_MODEL_SPEC": str(model), "LAMP_ENDPOINT_SPEC": str(ENDPOINT_EXAMPLE)}
    result = lamp("-o", "json", "doctor", env=env)
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["image"]["status"] == "failed" and checks["image"]["exit_code"] == 3
    assert "placeholder AWS account 123456789012" in checks["image"]["detail"]
    assert result.exit_code == 3


def test_absent_credentials_are_missing_credentials_not_permission_denied(
    lamp, isolated_env, no_aws
) -> None:
    model = model_with(isolated_env, f"{REGISTRY}/app")
    result = lamp("-o", "json", *RELEASE, "--model-spec", str(model))
    assert result.exit_code == 7, result.stderr
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "no_credentials"
    assert error["message"].startswith("no AWS credentials found to look up image tag '1.4.0'")
    assert error["hint"].startswith("configure AWS credentials")
    assert "denied" not in error["message"] + error["hint"]
    human = lamp(*RELEASE, "--model-spec", str(model))
    assert "\nerror: no AWS credentials found to look up" in human.stderr
    assert "permission denied" not in human.stderr


def test_absent_credentials_against_moto_are_missing_credentials(
    lamp, isolated_env, aws: str, moto_auth: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    model = model_with(isolated_env, f"{REGISTRY}/app")
    result = lamp("-o", "json", *RELEASE, "--model-spec", str(model))
    assert result.exit_code == 7, result.stderr
    assert json.loads(result.stderr)["error"]["type"] == "no_credentials"
    # With credentials moto does not know, AWS refuses them: that is a denial.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "unknown-secret-never-printed")
    refused = lamp("-o", "json", *RELEASE, "--model-spec", str(model))
    assert refused.exit_code == 7
    assert json.loads(refused.stderr)["error"]["type"] == "denied"


def test_an_incomplete_pair_of_keys_names_the_missing_half(lamp, isolated_env, no_aws, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAONLYHALF00000000")
    model = model_with(isolated_env, f"{REGISTRY}/app")
    result = lamp("-o", "json", *RELEASE, "--model-spec", str(model))
    assert result.exit_code == 7, result.stderr
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "no_credentials"
    assert "incomplete AWS credentials" in error["message"]


def test_an_unknown_aws_profile_is_named(lamp, isolated_env, no_aws, monkeypatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nosuch")
    model = model_with(isolated_env, f"{REGISTRY}/app")
    result = lamp("-o", "json", *RELEASE, "--model-spec", str(model))
    assert result.exit_code == 7, result.stderr
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "no_credentials"
    assert "the AWS profile 'nosuch' (AWS_PROFILE) is not configured" in error["message"]


def test_release_without_a_look_up_still_warns_about_a_placeholder_account(
    lamp, isolated_env, embedded_store
) -> None:
    from tests.conftest import MODEL_EXAMPLE

    assert lamp("project", "create", "p").exit_code == 0
    result = lamp(
        "release", "--project", "p", "--model-spec", str(MODEL_EXAMPLE),
        "--endpoint-spec", str(ENDPOINT_EXAMPLE), "--release-key", "v1", "--no-verify-image",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "warning:" in result.stderr and "placeholder AWS account 123456789012" in result.stderr
