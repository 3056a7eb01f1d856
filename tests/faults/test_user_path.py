"""lamp as users run it: a subprocess without the variables that make MLflow switch its telemetry
off by itself (CI, GITHUB_ACTIONS, PYTEST_CURRENT_TEST, ...), so the path users take is tested.

MLflow's telemetry thread edits os.environ while requests read it; lamp starts MLflow with it
off, and a user who sets MLFLOW_DISABLE_TELEMETRY=false gets it back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.server

LAMP = str(Path(sys.executable).parent / "lamp")
#: Every variable MLflow 3.17 takes as a sign of CI or tests (mlflow/telemetry/utils.py).
CI_MARKERS = (
    "PYTEST_CURRENT_TEST", "GITHUB_ACTIONS", "CI", "CIRCLECI", "GITLAB_CI", "JENKINS_URL",
    "TRAVIS", "TF_BUILD", "BITBUCKET_BUILD_NUMBER", "CODEBUILD_BUILD_ARN", "BUILDKITE",
    "TEAMCITY_VERSION", "CLOUD_RUN_EXECUTION", "RUNBOT_HOST_URL", "RUNBOT_BUILD_NAME",
    "RUNBOT_WORKER_ID", "DO_NOT_TRACK", "MLFLOW_DISABLE_TELEMETRY",
)  # fmt: skip
#: One real lamp command in-process, then whether MLflow's telemetry client runs.
PROBE = """
import json, sys
from lamp_cli.main import run
sys.argv = ["lamp", *sys.argv[1:]]
try:
    run()
    code = 0
except SystemExit as exc:
    code = exc.code
from mlflow.telemetry import get_telemetry_client
print(json.dumps({"exit": code, "telemetry": get_telemetry_client() is not None}), file=sys.stderr)
"""


def user_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CI_MARKERS}
    return {**env, "MLFLOW_TRACKING_URI": url, **extra}


def probe(cwd: Path, env: dict[str, str], *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_telemetry_is_off_unless_the_user_turns_it_on(server_env, isolated_env, unique) -> None:
    off = probe(isolated_env, user_env(server_env), "experiment", "create", f"tel-{unique}")
    assert off == {"exit": 0, "telemetry": False}
    on = user_env(server_env, MLFLOW_DISABLE_TELEMETRY="false")
    assert probe(isolated_env, on, "experiment", "show", f"tel-{unique}")["telemetry"] is True


def test_the_workflow_in_a_users_shell(server_env, isolated_env, specs, unique) -> None:
    from mlflow.tracking import MlflowClient

    name = f"user-{unique}"
    client = MlflowClient(server_env, server_env)
    client.create_experiment(name)
    client.create_registered_model(name)
    env = user_env(server_env)
    model, endpoint = specs

    def run(*args: str) -> str:
        done = subprocess.run(
            [LAMP, "-o", "quiet", *args], cwd=isolated_env, env=env,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "TELEMETRY" not in done.stderr
        return done.stdout.strip()

    run_id = run("run", "log-spec", "-e", name, "--model-spec", str(model),
                 "--endpoint-spec", str(endpoint))  # fmt: skip
    assert len(run_id) == 32
    released = run(
        "release", "--project", name, "--experiment", name, "--model-spec", str(model),
        "--endpoint-spec", str(endpoint), "--no-verify-image", "--release-key", "v1",
        "--set", "endpoint.spec.replicas=3",
    )  # fmt: skip
    assert released == "1"
