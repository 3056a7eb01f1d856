"""Releases whose artifacts live in S3 (moto_server): through the server, and client-side.

Two extra `mlflow server`s for this module, started together: one proxies artifacts to
``s3://BUCKET/proxied`` (``--artifacts-destination``), the other lets clients write
``s3://BUCKET/client`` themselves (``--no-serve-artifacts``). MLflow's own messages for a
failing store ("Max retries exceeded", "ensure that the path is correct") must not reach users.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SERVER_ENV, free_port

pytestmark = pytest.mark.server

BUCKET = "lamp-artifacts"
REGION = "eu-west-1"


def _wait(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"mlflow server at {url} did not start:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def s3_servers(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    base = tmp_path_factory.mktemp("s3-servers")
    empty = base / "aws-empty"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_", "LAMP_"))}
    env.update(
        AWS_ACCESS_KEY_ID="server",
        AWS_SECRET_ACCESS_KEY="server-secret",
        AWS_DEFAULT_REGION=REGION,
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_CONFIG_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
        MLFLOW_S3_ENDPOINT_URL=moto_url,
        **SERVER_ENV,
    )
    modes = {
        "proxied": ["--artifacts-destination", f"s3://{BUCKET}/proxied", "--serve-artifacts"],
        "client": ["--default-artifact-root", f"s3://{BUCKET}/client", "--no-serve-artifacts"],
    }
    started: dict[str, tuple[subprocess.Popen, str, Path]] = {}
    try:
        for mode, args in modes.items():
            port, log = free_port(), base / f"{mode}.log"
            cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri"]
            cmd += [f"sqlite:///{base / mode}.db", *args, "--host", "127.0.0.1"]
            cmd += ["--port", str(port), "--workers", "1"]
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
                )
            started[mode] = (proc, f"http://127.0.0.1:{port}", log)
        for proc, url, log in started.values():
            _wait(url, proc, log)
        yield {mode: url for mode, (_, url, _) in started.items()}
    finally:
        # Throw-away servers on temporary stores: no graceful shutdown to wait for.
        for proc, _, _ in started.values():
            with contextlib.suppress(ProcessLookupError):  # exited at start-up
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def s3(aws: str) -> Any:
    """A client of the moto S3, with the artifact bucket created afresh (moto was reset)."""
    import boto3

    client = boto3.client("s3", region_name=REGION, endpoint_url=aws)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


def _drop_bucket(s3: Any) -> None:
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    s3.delete_bucket(Bucket=BUCKET)


def _keys(s3: Any, prefix: str) -> list[str]:
    found = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return sorted(item["Key"].rsplit("/", 1)[-1] for item in found)


@pytest.fixture
def use(lamp, specs, s3_servers: dict, monkeypatch: pytest.MonkeyPatch, unique: str):
    """``use(mode)``: point lamp at one of the servers; returns a release runner."""

    def select(mode: str):
        url = s3_servers[mode]
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", os.environ["AWS_ENDPOINT_URL"])
        project = f"s3-{mode}-{unique}"
        assert lamp("project", "create", project).exit_code == 0
        model, endpoint = specs

        def release(*extra: str):
            return lamp(
                "-o", "json", "release", "-p", project, "-e", project, "--model-spec",
                str(model), "--endpoint-spec", str(endpoint), "--release-key", "v1",
                "--no-verify-image", *extra,
            )  # fmt: skip

        release.project = project  # type: ignore[attr-defined]
        return release

    return select


def _ok(result) -> dict:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _error(result, code: int) -> str:
    assert result.exit_code == code, result.stdout + result.stderr
    assert result.stdout == ""
    message = json.loads(result.stderr.splitlines()[0])["error"]["message"]
    for noise in ("Max retries", "ensure that the path is correct", "Traceback", "server-secret"):
        assert noise not in result.stderr
    return message


@pytest.mark.parametrize("mode", ["proxied", "client"])
def test_release_and_read_back_through_s3(lamp, use, s3, mode: str) -> None:
    release = use(mode)
    first = _ok(release())
    run_prefix = f"{mode}/{first['experiment_id']}/{first['run_id']}/artifacts/lamp/"
    assert _keys(s3, run_prefix) == [
        "MLmodel", "lamp.json", "serving-endpoint-spec.yaml", "serving-model-spec.yaml",
    ]  # fmt: skip
    again = _ok(release())
    assert again["reused"] and again["model_version"] == first["model_version"] == 1
    spec = lamp("version", "spec", release.project, "1", "--kind", "model")
    assert spec.exit_code == 0, spec.stderr
    assert "kind: ServingModelSpec" in spec.stdout


def test_proxied_store_failure_marks_the_run_failed_and_a_rerun_recovers(lamp, use, s3) -> None:
    release = use("proxied")
    _drop_bucket(s3)
    message = _error(release(), 6)
    assert "failed to read or write artifacts" in message and "marked FAILED" in message

    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    recovered = _ok(release())
    # The FAILED run of the first attempt is not taken for a complete release.
    assert recovered["created_run"] and recovered["run_id"] not in message

    _drop_bucket(s3)
    gone = _error(lamp("-o", "json", "version", "spec", release.project, "1"), 4)
    assert "has no such artifacts" in gone


def test_client_side_store_errors(lamp, use, s3, monkeypatch, closed_url: str) -> None:
    release = use("client")
    _ok(release())
    read = ("-o", "json", "version", "spec", release.project, "1")

    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", closed_url)
    assert closed_url in _error(lamp(*read), 6)
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", os.environ["AWS_ENDPOINT_URL"])

    # A process of its own: MLflow caches its S3 client, credentials included, per process.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ACCESS_KEY_ID")}
    env.pop("AWS_SECRET_ACCESS_KEY")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "lamp"), *read],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 7, done.stderr
    assert "no AWS credentials" in json.loads(done.stderr.splitlines()[0])["error"]["message"]

    _drop_bucket(s3)
    assert f"S3 bucket '{BUCKET}'" in _error(lamp(*read), 4)
    failed = _error(release("--set", "endpoint.spec.replicas=3", "--new-release"), 4)
    assert "bucket" in failed and "marked FAILED" in failed


def test_client_side_rejected_credentials(lamp, use, s3, moto_auth: None) -> None:
    message = _error(use("client")(), 7)
    assert "S3 refused the credentials" in message
