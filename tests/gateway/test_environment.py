"""The environment the gateway sets for MLflow: bounded retries by default, the user's values
win."""

from __future__ import annotations

import os

import pytest

from lamp_cli.gateway.environment import (
    HTTP_DEFAULTS,
    absolute_sqlite_uri,
    missing_driver,
    prepare,
)
from lamp_cli.settings import resolve


def test_http_defaults_bound_the_wait(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    prepare(resolve({}, environ={}, cwd=tmp_path))
    retries = int(os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"])
    timeout = float(os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"])
    backoff = float(os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"])
    jitter = float(os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"])
    # urllib3 sleeps factor * 2**(n-1) before retry n (none before the first).
    worst = (retries + 1) * timeout + sum(
        backoff * 2 ** (n - 1) + jitter for n in range(2, retries + 1)
    )
    assert worst < 20
    assert os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] == "true"


def test_user_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "7")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "120")
    prepare(resolve({}, environ={}, cwd=tmp_path))
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "7"
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "120"
    assert set(HTTP_DEFAULTS) >= {"MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"}


def test_relative_sqlite_uri_is_anchored_to_the_resolved_directory(tmp_path) -> None:
    settings = resolve({}, environ={}, cwd=tmp_path)
    assert absolute_sqlite_uri("sqlite:///mlflow.db", settings) == f"sqlite:///{tmp_path}/mlflow.db"
    assert absolute_sqlite_uri("sqlite:////abs/x.db", settings) == "sqlite:////abs/x.db"
    assert absolute_sqlite_uri("http://h:5000", settings) == "http://h:5000"


def test_databricks_gets_its_own_defaults_and_the_user_still_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from lamp_cli.gateway import databricks

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "90")
    prepare(resolve({}, environ={"MLFLOW_TRACKING_URI": "databricks"}, cwd=tmp_path))
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "90"
    for name in (
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
        "MLFLOW_DATABRICKS_ENDPOINT_HTTP_RETRY_TIMEOUT",
    ):
        assert os.environ[name] == databricks.HTTP_DEFAULTS[name]
    # Sized for a remote, rate-limited service: more patient than the loopback defaults.
    assert int(databricks.HTTP_DEFAULTS["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]) > int(
        HTTP_DEFAULTS["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
    )
    assert "MLFLOW_ENABLE_DB_SDK" not in os.environ  # the SDK's authentication stays on


def test_a_package_that_does_not_fit_is_not_called_missing() -> None:
    """MLflow below 3.9 imports a name SQLAlchemy 2.1 removed: the package is there, so the
    message says what failed instead of asking to install it."""
    uri = "postgresql://u:secret@db/x"
    missing = missing_driver(
        ModuleNotFoundError("No module named 'psycopg2'", name="psycopg2"), uri
    )
    assert "'psycopg2' is not installed" in missing.message
    assert missing.hint == "pip install psycopg2-binary"
    mismatch = ImportError(
        "cannot import name 'FallbackAsyncAdaptedQueuePool' from 'sqlalchemy.pool'",
        name="sqlalchemy.pool",
    )
    error = missing_driver(mismatch, uri)
    assert "not installed" not in error.message and "FallbackAsyncAdaptedQueuePool" in error.message
    assert "secret" not in error.message and error.exit_code == 2
    assert error.hint is not None and "do not fit" in error.hint
