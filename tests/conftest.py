"""Shared fixtures: an isolated environment per test, and one real `mlflow server` per session."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "specs" / "examples"
MODEL_EXAMPLE = EXAMPLES / "serving-model-spec.yaml"
ENDPOINT_EXAMPLE = EXAMPLES / "serving-endpoint-spec.yaml"

_ISOLATED_PREFIXES = ("MLFLOW_", "LAMP_", "GITHUB_", "DATABRICKS_")

#: Environment of every `mlflow server` the tests start: lamp uses none of the server's job
#: execution, whose three consumer processes would only compete with the tests for the CPUs.
SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test that starts the session's server needs it, whatever its module says.
    for item in items:
        if {"mlflow_server", "server_env"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)


@pytest.fixture(autouse=True)
def offline_means_offline(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test marked ``offline`` never reaches MLflow through lamp: scripts/test.sh runs it on
    the newest MLflow only, as it cannot depend on the version."""
    if request.node.get_closest_marker("offline") is None:
        return
    import lamp_cli.gateway
    import lamp_cli.gateway.client

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a test marked offline connected to MLflow")

    monkeypatch.setattr(lamp_cli.gateway, "connect", refuse)
    monkeypatch.setattr(lamp_cli.gateway.client, "connect", refuse)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Each test runs in an empty directory with no lamp, MLflow or GitHub settings."""
    for name in list(os.environ):
        if name.startswith(_ISOLATED_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return workdir


def _module_at(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


#: The counting, fault-injecting reverse proxy of tests/faults/proxy.py.
proxy_module = _module_at(Path(__file__).parent / "faults" / "proxy.py", "lamp_fault_proxy")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


#: ``python -c`` code that answers a shell's completion request as `lamp` does, then says on
#: stderr which of mlflow and boto3 it imported (``imported: `` and none, as it should be).
COMPLETION_PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write(\n"
    "    'imported: ' + ','.join(m for m in ('mlflow', 'boto3') if m in sys.modules)))\n"
    "from lamp_cli.main import run\n"
    "sys.argv = ['lamp']\n"
    "run()\n"
)


def imported_by(args: list[str], cwd: Path) -> tuple[str, list[str]]:
    """stdout of ``lamp ARGS`` run to exit 0 in a fresh interpreter, and the modules it imported."""
    code = (
        "import sys\n"
        "from lamp_cli.main import app\n"
        "try:\n"
        f"    app({args!r})\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "sys.stderr.write('MODULES=' + ','.join(sorted(sys.modules)) + '\\n')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    modules = result.stderr.rsplit("MODULES=", 1)[1].strip().split(",")
    return result.stdout, modules


@contextlib.contextmanager
def moto_server(log_dir: Path, account: str | None = None) -> Iterator[str]:
    """A `moto_server` on a free loopback port for the block's duration; its URL. ``account``
    is the AWS account every request lands in (moto's default is AWS's example account)."""
    port = free_port()
    log = log_dir / "moto_server.log"
    env = {**os.environ, **({"MOTO_ACCOUNT_ID": account} if account else {})}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start on {url}:\n{log.read_text()[-2000:]}")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedded store as lamp creates it, made once per session.

    Creating an SQLite store runs every one of MLflow's migrations (seconds); tests that need a
    store, not its creation, start from a copy (:func:`embedded_store`).
    """
    from lamp_cli.gateway import connect
    from lamp_cli.settings import resolve

    where = tmp_path_factory.mktemp("store-template")
    connect(resolve({}, environ={}, cwd=where), writes=True)
    return where / "mlflow.db"


@pytest.fixture
def embedded_store(store_template: Path, isolated_env: Path) -> Path:
    """A copy of the session's store template as ``mlflow.db`` of the test's directory."""
    target = isolated_env / "mlflow.db"
    shutil.copyfile(store_template, target)
    return target


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `mlflow server --workers 1` on a free loopback port, with proxied artifacts."""
    base = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log = open(base / "server.log", "wb")  # noqa: SIM115 - closed at teardown
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{base / 'server.db'}",
        "--artifacts-destination",
        str(base / "artifacts"),
        "--serve-artifacts",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=base,
        start_new_session=True,
        env={**os.environ, **SERVER_ENV},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", timeout=90, proc=proc)
    except RuntimeError:
        # A server that exited at start-up has no process group left to kill.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        raise RuntimeError((base / "server.log").read_text(errors="replace")[-3000:]) from None
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


@pytest.fixture
def server_env(mlflow_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    return mlflow_server


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


@pytest.fixture
def unique() -> str:
    """A short unique suffix, so tests sharing the session server never collide."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def specs(isolated_env: Path) -> tuple[Path, Path]:
    """Copies of the example spec pair in the test's working directory."""
    model = isolated_env / "serving-model-spec.yaml"
    endpoint = isolated_env / "serving-endpoint-spec.yaml"
    shutil.copy(MODEL_EXAMPLE, model)
    shutil.copy(ENDPOINT_EXAMPLE, endpoint)
    return model, endpoint


class Lamp:
    """Invokes the root app in-process and keeps stdout and stderr apart."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, env: dict[str, str] | None = None):
        from lamp_cli.main import app

        return self.runner.invoke(app, list(args), env=env, catch_exceptions=False)

    def json(self, *args: str, env: dict[str, str] | None = None):
        result = self("-o", "json", *args, env=env)
        assert result.exit_code == 0, f"exit {result.exit_code}: {result.stderr}"
        return json.loads(result.stdout)


@pytest.fixture
def lamp() -> Lamp:
    return Lamp()
