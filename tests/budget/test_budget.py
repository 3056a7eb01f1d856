"""Each write command makes at most the REST calls its command module allows
(``REST_CALL_BUDGET``), counted by a proxy in front of a real `mlflow server`.

The budgets are what a hand-written MlflowClient script needs for the same writes, plus the
look-ups lamp's guarantees need; a call added without a reason makes the test fail.
"""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from lamp_cli.commands import experiment, project, register, release, run

pytestmark = pytest.mark.server


def within_budget(counting, lamp, budget: int, *args: str) -> dict:
    counting.calls.clear()
    data = lamp.json(*args)
    calls = "\n".join(f"  {method} {path}" for method, path in counting.calls)
    assert len(counting.calls) <= budget, f"{len(counting.calls)} calls > {budget}:\n{calls}"
    return data


@pytest.fixture
def client(mlflow_server: str) -> MlflowClient:
    return MlflowClient(mlflow_server, mlflow_server)


@pytest.fixture
def spec_args(specs) -> list[str]:
    model, endpoint = specs
    return ["--model-spec", str(model), "--endpoint-spec", str(endpoint)]


def test_experiment_and_project_create(lamp, counting, unique: str) -> None:
    budget = experiment.REST_CALL_BUDGET["experiment create"]
    within_budget(counting, lamp, budget, "experiment", "create", f"b-{unique}")
    budget = project.REST_CALL_BUDGET["project create"]
    within_budget(counting, lamp, budget, "project", "create", f"b-{unique}")


def test_run_create_log_spec_and_register(lamp, counting, client, spec_args, unique) -> None:
    name = f"b-{unique}"
    client.create_experiment(name)
    client.create_registered_model(name)
    within_budget(counting, lamp, run.REST_CALL_BUDGET["run create"], "run", "create", "-e", name)
    budget = run.REST_CALL_BUDGET["run log-spec"]
    logged = within_budget(counting, lamp, budget, "run", "log-spec", "-e", name, *spec_args)
    budget = register.REST_CALL_BUDGET["register"]
    args = ["register", logged["run_id"], name, "--alias", "staging"]
    assert within_budget(counting, lamp, budget, *args)["version"] == 1


def test_release_fresh_and_rerun(lamp, counting, client, spec_args, unique: str) -> None:
    name = f"b-{unique}"
    client.create_registered_model(name)
    args = ["release", "--project", name, "--experiment", name, *spec_args]
    args += ["--no-verify-image", "--alias", "candidate"]
    budget = release.REST_CALL_BUDGET["release"]
    # A new experiment, then an existing one with a new key: both are fresh releases.
    first = within_budget(counting, lamp, budget, *args, "--release-key", "v1")
    assert first["created_run"] is True
    second = within_budget(counting, lamp, budget, *args, "--release-key", "v2")
    assert second["created_run"] is True and second["model_version"] == 2
    budget = release.REST_CALL_BUDGET["release (rerun)"]
    again = within_budget(counting, lamp, budget, *args, "--release-key", "v2")
    assert again["reused"] is True and again["model_version"] == 2
