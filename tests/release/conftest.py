"""Helpers for the `lamp release` tests: a project on the session server and a plain client."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SHA = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Release:
    """A project on the session server and the arguments of `lamp release` for it."""

    lamp: Any
    project: str
    experiment: str
    model: Path
    endpoint: Path
    url: str

    def args(self, *extra: str, key: str | None = "v1.0.0") -> list[str]:
        args = [
            "release",
            "--project", self.project,
            "--experiment", self.experiment,
            "--model-spec", str(self.model),
            "--endpoint-spec", str(self.endpoint),
            "--no-verify-image",
        ]  # fmt: skip
        if key is not None:
            args += ["--release-key", key]
        return [*args, *extra]

    def __call__(self, *extra: str, key: str | None = "v1.0.0", env: dict | None = None):
        return self.lamp(*self.args(*extra, key=key), env=env)

    def json(self, *extra: str, key: str | None = "v1.0.0", env: dict | None = None) -> dict:
        return self.lamp.json(*self.args(*extra, key=key), env=env)

    def client(self):
        from mlflow.tracking import MlflowClient

        return MlflowClient(self.url, self.url)

    def runs(self) -> list[Any]:
        """Every run of the experiment, oldest first."""
        client = self.client()
        exp = client.get_experiment_by_name(self.experiment)
        if exp is None:
            return []
        found = client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])
        return list(found)

    def versions(self) -> list[int]:
        found = self.client().search_model_versions(f"name = '{self.project}'")
        return sorted(int(v.version) for v in found)


@pytest.fixture
def release(lamp, server_env: str, specs: tuple[Path, Path], unique: str) -> Release:
    project = f"rel-{unique}"
    assert lamp("project", "create", project).exit_code == 0
    return Release(lamp, project, f"exp-{unique}", *specs, url=server_env)


@pytest.fixture
def actions_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Path]:
    """The variables a GitHub Actions runner sets for a job triggered by a published release."""
    files = {"output": tmp_path / "github_output", "summary": tmp_path / "step_summary"}
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SHA": SHA,
        "GITHUB_REF": "refs/tags/v2.0.0",
        "GITHUB_REF_NAME": "v2.0.0",
        "GITHUB_REF_TYPE": "tag",
        "GITHUB_REPOSITORY": "acme/fraud-model",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_STEP_SUMMARY": str(files["summary"]),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return files


def read_outputs(path: Path) -> dict[str, str]:
    """`key=value` lines of $GITHUB_OUTPUT (lamp writes no multi-line value here)."""
    pairs = (line.partition("=") for line in path.read_text().splitlines() if line)
    return {key: value for key, _, value in pairs}


@pytest.fixture
def outputs():
    return read_outputs
