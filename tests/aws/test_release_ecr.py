"""`lamp release` and `lamp run log-spec` with --image: digests pinned from a real moto ECR.

A wrong image must fail the release before anything is written to MLflow.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.aws.conftest import REGISTRY

pytestmark = pytest.mark.server


@pytest.fixture
def names(lamp, server_env: str, unique: str) -> dict[str, str]:
    project = f"ecr-{unique}"
    assert lamp("project", "create", project).exit_code == 0
    return {"project": project, "experiment": f"ecr-{unique}", "url": server_env}


def release(lamp, specs, names, *extra: str, env: dict | None = None):
    model, endpoint = specs
    return lamp(
        "-o", "json", "release", "--project", names["project"],
        "--experiment", names["experiment"], "--model-spec", str(model),
        "--endpoint-spec", str(endpoint), "--release-key", "v1.2.0", *extra, env=env,
    )  # fmt: skip


def nothing_written(names: dict[str, str]) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(names["url"], names["url"])
    assert client.get_experiment_by_name(names["experiment"]) is None
    assert client.search_model_versions(f"name = '{names['project']}'") == []


def model_spec_of_version(lamp, names, version: int) -> str:
    result = lamp("version", "spec", names["project"], str(version), "--kind", "model")
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_release_pins_the_digest_of_the_pushed_tag(lamp, specs, names, ecr: Any) -> None:
    ecr.create_repository("team/app")
    digest = ecr.push("team/app", "v1.2.0")
    result = release(lamp, specs, names, "--image", f"{REGISTRY}/team/app:v1.2.0")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["image"] == f"{REGISTRY}/team/app:v1.2.0@{digest}"
    assert data["version"]["tags"]["lamp_image"] == data["image"]
    text = model_spec_of_version(lamp, names, data["model_version"])
    assert f"repository: {REGISTRY}/team/app\n" in text
    assert "tag: v1.2.0\n" in text and f"digest: {digest}\n" in text

    # CI rebuilt and re-pushed the tag: the recorded release no longer matches it.
    ecr.push("team/app", "v1.2.0", layer="b")
    moved = release(lamp, specs, names, "--image", f"{REGISTRY}/team/app:v1.2.0")
    assert moved.exit_code == 5
    assert f"image {data['image']}, now {REGISTRY}/team/app:v1.2.0@sha256:" in moved.stderr


def test_release_without_image_pins_the_spec_image(lamp, specs, names, ecr: Any) -> None:
    ecr.create_repository("fraud-detector")
    digest = ecr.push("fraud-detector", "1.4.0")
    result = release(lamp, specs, names)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["image"].endswith(f"fraud-detector:1.4.0@{digest}")


def test_wrong_tag_fails_before_anything_is_written(
    lamp, specs, names, ecr: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ecr.create_repository("team/app")
    ecr.push("team/app", "v1.2.0")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = release(lamp, specs, names, "--image", f"{REGISTRY}/team/app:v1.2.1")
    assert result.exit_code == 4
    message = json.loads(result.stderr.splitlines()[0])["error"]["message"]
    assert REGISTRY in message and "'team/app'" in message and "'v1.2.1'" in message
    annotations = [ln for ln in result.stderr.splitlines() if ln.startswith("::error")]
    assert len(annotations) == 1 and "'v1.2.1'" in annotations[0]
    nothing_written(names)

    missing_repo = release(lamp, specs, names, "--image", f"{REGISTRY}/team/nope:v1.2.0")
    assert missing_repo.exit_code == 4 and "'team/nope'" in missing_repo.stderr
    nothing_written(names)


def test_without_credentials_exit_7_or_skip_the_look_up(lamp, specs, names, no_aws) -> None:
    image = f"{REGISTRY}/team/app:v1.2.0"
    result = release(lamp, specs, names, "--image", image)
    assert result.exit_code == 7
    assert "--no-verify-image" in result.stderr
    nothing_written(names)

    skipped = release(lamp, specs, names, "--image", image, "--no-verify-image")
    assert skipped.exit_code == 0, skipped.stderr
    assert json.loads(skipped.stdout)["image"] == image


def test_rejected_credentials_are_exit_7_and_never_printed(
    lamp, specs, names, ecr: Any, moto_auth: None
) -> None:
    result = release(lamp, specs, names, "--image", f"{REGISTRY}/team/app:v1.2.0")
    assert result.exit_code == 7
    assert "testing-secret-never-printed" not in result.stdout + result.stderr
    nothing_written(names)


def test_a_pinned_digest_is_trusted_unless_verify_image(
    lamp, specs, names, ecr: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ecr.create_repository("team/app")
    ecr.push("team/app", "v1.2.0")
    stale = "sha256:" + "e" * 64
    pinned = f"{REGISTRY}/team/app:v1.2.0@{stale}"
    checked = release(lamp, specs, names, "--image", pinned, "--verify-image")
    assert checked.exit_code == 5
    assert stale in checked.stderr
    nothing_written(names)
    # Trusted as given: no AWS call at all, even without credentials.
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    trusted = release(lamp, specs, names, "--image", pinned)
    assert trusted.exit_code == 0, trusted.stderr
    assert json.loads(trusted.stdout)["image"] == pinned


def test_log_spec_with_image(lamp, specs, names, ecr: Any, isolated_env: Path) -> None:
    ecr.create_repository("team/app")
    digest = ecr.push("team/app", "v2")
    lamp("experiment", "create", names["experiment"])
    model, endpoint = specs
    base = ["run", "log-spec", "-e", names["experiment"]]
    base += ["--model-spec", str(model), "--endpoint-spec", str(endpoint)]
    logged = lamp.json(*base, "--image", f"{REGISTRY}/team/app:v2")
    assert logged["image"] == f"{REGISTRY}/team/app:v2@{digest}"
    assert logged["tags"]["lamp.image"] == logged["image"]
    wrong = lamp(*base, "--image", f"{REGISTRY}/team/app:v3")
    assert wrong.exit_code == 4 and "'v3'" in wrong.stderr
    # Without --image, log-spec records the spec as written and calls no AWS API.
    plain = lamp.json(*base)
    assert plain["image"] == f"{REGISTRY}/fraud-detector:1.4.0"
    bad = lamp(*base, "--image", f"{REGISTRY}/team/app")
    assert bad.exit_code == 3 and "no tag" in bad.stderr


def test_doctor_looks_up_the_spec_image_on_ecr(lamp, specs, names, ecr: Any) -> None:
    ecr.create_repository("fraud-detector")
    missing = lamp("-o", "json", "doctor", env=spec_env(specs))
    assert missing.exit_code == 4
    ecr.push("fraud-detector", "1.4.0")
    found = lamp("-o", "json", "doctor", env=spec_env(specs))
    assert found.exit_code == 0, found.stderr
    image = {c["name"]: c for c in json.loads(found.stdout)}["image"]
    assert image["status"] == "ok" and "sha256:" in image["detail"]


def spec_env(specs) -> dict[str, str]:
    model, endpoint = specs
    return {"LAMP_MODEL_SPEC": str(model), "LAMP_ENDPOINT_SPEC": str(endpoint)}
