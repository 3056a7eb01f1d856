"""Each workaround of MLflow's behaviour in lamp_cli/gateway, checked both ways: MLflow still
behaves the way that makes it needed (on the installed version), and lamp's way around it works.

A test here that fails after an MLflow upgrade says which workaround to revisit. Others are
checked where their whole flow is: the telemetry default in tests/faults/test_user_path.py, the
shared Databricks configuration in tests/databricks/test_lamp_databricks.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lamp_cli.gateway import connect, creates
from lamp_cli.settings import resolve
from tests.conftest import proxy_module

RUNS_CREATE = "/api/2.0/mlflow/runs/create"
RUNS_GET = "/api/2.0/mlflow/runs/get"


@pytest.fixture
def proxy(mlflow_server: str):
    started = proxy_module.Proxy(mlflow_server).start()
    yield started
    started.stop()


def _in_subprocess(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.server
def test_mlflow_resends_a_create_after_a_5xx_exactly_on_the_versions_lamp_guards(
    proxy, isolated_env: Path, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """creates.mlflow_resends_unsafe_posts() says which versions resend a create that the
    server may have carried out; MLflow's own client, retries on, shows what it does."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(proxy.url, proxy.url)
    experiment_id = client.create_experiment(f"resend-{unique}")
    proxy.inject("status", "POST", RUNS_CREATE, code=503)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")
    try:
        client.create_run(experiment_id)
        answered = True
    except Exception:
        answered = False
    sent = proxy.calls.count(("POST", RUNS_CREATE))
    assert sent in (1, 2)
    resent = sent == 2
    assert resent == answered  # a resent create got the second, real answer
    assert resent == creates.mlflow_resends_unsafe_posts()


@pytest.mark.server
def test_mlflow_reads_the_run_to_print_its_url_unless_lamp_says_not_to(
    proxy, isolated_env: Path, unique: str
) -> None:
    """MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT (environment.QUIET_DEFAULTS): without it, ending a
    run prints its URL on stdout, lamp's data channel, and costs a read of the run."""
    code = (
        "import sys\n"
        "from mlflow.tracking import MlflowClient\n"
        "c = MlflowClient(sys.argv[1], sys.argv[1])\n"
        "r = c.create_run(c.create_experiment(sys.argv[2]))\n"
        "c.set_terminated(r.info.run_id)\n"
    )
    printed, reads = [], []
    for suppress in ("false", "true"):
        env = {**os.environ, "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": suppress}
        proxy.calls.clear()
        done = subprocess.run(
            [sys.executable, "-c", code, proxy.url, f"url-{suppress}-{unique}"],
            cwd=isolated_env, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        printed.append(done.stdout)
        reads.append(proxy.calls.count(("GET", RUNS_GET)))
    assert "/runs/" in printed[0] and reads[0] == 1  # still needed
    assert printed[1] == "" and reads[1] == 0  # still works


@pytest.mark.server
def test_uploading_through_mlflows_client_reads_the_run_first(
    proxy, specs, isolated_env: Path, unique: str
) -> None:
    """Gateway.upload writes the artifact store directly: MLflow's log_artifacts would read the
    run again only to learn its artifact URI."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(proxy.url, proxy.url)
    experiment_id = client.create_experiment(f"upload-{unique}")
    run = client.create_run(experiment_id)
    folder = isolated_env / "lamp"
    folder.mkdir()
    (folder / "x.txt").write_text("x")
    proxy.calls.clear()
    client.log_artifacts(run.info.run_id, str(folder), "by-mlflow")
    assert proxy.calls.count(("GET", RUNS_GET)) == 1  # still needed

    settings = resolve({}, environ={"MLFLOW_TRACKING_URI": proxy.url}, cwd=isolated_env)
    gateway = connect(settings)
    record = gateway.run(run.info.run_id, _subject())
    proxy.calls.clear()
    gateway.upload(record, folder, "by-lamp", _subject())
    assert proxy.calls.count(("GET", RUNS_GET)) == 0  # still works
    names = {f.path for f in client.list_artifacts(run.info.run_id, "by-lamp")}
    assert names == {"by-lamp/x.txt"}


def test_mlflow_exports_its_uris_and_lamp_keeps_the_environment(
    isolated_env: Path, embedded_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """environment.kept: mlflow.set_tracking_uri writes MLFLOW_TRACKING_URI into os.environ,
    where it would read as the user's own setting; lamp's connect leaves the environment as it
    found it."""
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    before = mlflow.get_tracking_uri()
    try:
        mlflow.set_tracking_uri(f"sqlite:///{isolated_env / 'exported.db'}")
        exported = os.environ.pop("MLFLOW_TRACKING_URI", None)
        connect(resolve({}, environ={}, cwd=isolated_env))
        assert "MLFLOW_TRACKING_URI" not in os.environ  # still works
    finally:
        mlflow.set_tracking_uri(before)
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    assert exported is not None and exported.endswith("exported.db")  # still needed


def test_the_sqlite_stores_artifact_root_follows_the_working_directory(
    isolated_env: Path, store_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """environment.working_directory: MLflow resolves the SQLite store's default artifact root
    against the working directory when it opens the store; lamp run from a subdirectory of the
    app still puts the artifacts beside mlflow.db."""
    from mlflow.tracking import MlflowClient

    from lamp_cli.services import experiments

    app, sub = isolated_env / "app", isolated_env / "app" / "src"
    sub.mkdir(parents=True)
    (app / "pyproject.toml").write_text('[tool.lamp]\nexperiment = "e"\n')
    # Copies of a migrated store: the root is resolved whenever a store is opened.
    shutil.copyfile(store_template, app / "plain.db")
    shutil.copyfile(store_template, app / "mlflow.db")
    monkeypatch.chdir(sub)
    plain = MlflowClient(f"sqlite:///{app / 'plain.db'}")
    located = plain.get_experiment(plain.create_experiment("plain")).artifact_location
    assert located.removeprefix("file://").startswith(str(sub / "mlruns"))  # still needed

    exp, _ = experiments.create(connect(resolve({}, environ={})), "beside")
    assert exp.artifact_location.removeprefix("file://").startswith(str(app.resolve() / "mlruns"))


def _subject():
    from lamp_cli.errors import Subject

    return Subject("a workaround's test")
