"""`lamp doctor` in an app that is barely set up: each skipped check says why and what to
set, and when most were skipped it ends saying that it checked little (exit 0: nothing failed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import ENDPOINT_EXAMPLE, MODEL_EXAMPLE


@pytest.fixture
def store(isolated_env: Path, store_template: Path) -> str:
    """An existing local store (doctor never creates one)."""
    shutil.copyfile(store_template, isolated_env / "store.db")
    return f"sqlite:///{isolated_env / 'store.db'}"


def test_each_skipped_check_says_why_and_what_to_set(lamp, store) -> None:
    result = lamp("-o", "json", "--tracking-uri", store, "doctor")
    assert result.exit_code == 0, result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    skipped = [name for name, c in checks.items() if c["status"] == "skipped"]
    assert skipped == ["specs", "experiment", "project", "image", "manifests"]
    assert "no spec files" in checks["specs"]["detail"]
    assert "lamp spec init" in checks["specs"]["hint"]
    assert "no experiment set" in checks["experiment"]["detail"]
    assert "LAMP_EXPERIMENT" in checks["experiment"]["hint"]
    assert "no project set" in checks["project"]["detail"]
    assert "LAMP_PROJECT_ID" in checks["project"]["hint"]
    assert "[tool.lamp]" in checks["project"]["hint"]
    assert "no spec files" in checks["image"]["detail"]


def test_when_most_checks_were_skipped_it_ends_saying_so(lamp, store) -> None:
    result = lamp("--tracking-uri", store, "doctor")
    assert result.exit_code == 0, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("lamp: warning: doctor checked little: 5 of 8 checks skipped")
    assert "(specs, experiment, project, image, manifests)" in last
    for what in ("lamp spec init", "project", "experiment"):
        assert what in last
    assert "checked little" not in result.stdout  # the report is data; the summary is not
    as_json = lamp("-o", "json", "--tracking-uri", store, "doctor")
    assert "doctor checked little" in as_json.stderr
    json.loads(as_json.stdout)  # stdout stays one JSON document


def test_a_configured_app_gets_no_such_summary(
    lamp, store, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "")  # no helm: the manifests check is skipped, saying why
    for example in (MODEL_EXAMPLE, ENDPOINT_EXAMPLE):
        shutil.copy(example, isolated_env / example.name)
    (isolated_env / "pyproject.toml").write_text(
        "[tool.lamp]\n"
        f'tracking-uri = "{store}"\nexperiment = "e"\nproject = "p"\n'
        f'model-spec = "{MODEL_EXAMPLE.name}"\nendpoint-spec = "{ENDPOINT_EXAMPLE.name}"\n'
    )
    assert lamp("project", "create", "p").exit_code == 0
    result = lamp("-o", "json", "doctor", "--no-verify-image")
    assert result.exit_code == 0, result.stderr
    skipped = [c["name"] for c in json.loads(result.stdout) if c["status"] == "skipped"]
    assert skipped == ["image", "manifests"]  # --no-verify-image, and no helm
    assert "checked little" not in result.stderr


def test_a_failure_is_said_alone(lamp, closed_port: int) -> None:
    """A failed check says more than the skipped ones behind it: no summary, and under -o json
    stderr stays the one error document."""
    url = f"http://127.0.0.1:{closed_port}"
    env = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    result = lamp("-o", "json", "--tracking-uri", url, "doctor", env=env)
    assert result.exit_code == 6
    assert json.loads(result.stderr)["error"]["exit_code"] == 6
