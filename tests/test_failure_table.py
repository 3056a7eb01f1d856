"""Each command into each failure class of the design: the documented exit code, one clear
`error:` line on stderr, nothing on stdout, no traceback. (Permission denied, exit 7, needs an
authenticating server: tests/databricks/test_lamp_databricks.py covers it.)"""

from __future__ import annotations

import pytest

from tests.conftest import ENDPOINT_EXAMPLE, MODEL_EXAMPLE

RUN = "0" * 32
SPECS = ("--model-spec", str(MODEL_EXAMPLE), "--endpoint-spec", str(ENDPOINT_EXAMPLE))

BACKEND_COMMANDS = {
    "experiment create": ["experiment", "create", "e"],
    "experiment list": ["experiment", "list"],
    "experiment show": ["experiment", "show", "e"],
    "run create": ["run", "create", "-e", "e"],
    "run show": ["run", "show", RUN],
    "run log-spec": ["run", "log-spec", "-e", "e", *SPECS],
    "project create": ["project", "create", "p"],
    "project show": ["project", "show", "p"],
    "project list": ["project", "list"],
    "register": ["register", RUN, "p"],
    "version list": ["version", "list", "p"],
    "version show": ["version", "show", "p", "1"],
    "version spec": ["version", "spec", "p", "1"],
    "version render": ["version", "render", "p", "1"],
    "version diff": ["version", "diff", "p", "1", "2"],
    "version alias set": ["version", "alias", "set", "p", "a", "1"],
    "version alias delete": ["version", "alias", "delete", "p", "a"],
    "release": ["release", "-p", "p", "--release-key", "k", "--no-verify-image", *SPECS],
    "doctor": ["doctor", "--no-verify-image"],
}

#: On an empty local store: what each command cannot find.
NOT_FOUND = {k: v for k, v in BACKEND_COMMANDS.items() if k not in {
    "experiment create", "experiment list", "project create", "project list", "doctor",
}}  # fmt: skip

INVALID = {
    "run show": ["run", "show", "a b"],
    "register": ["register", "a b", "p"],
    "run log-spec": ["run", "log-spec", "a b", *SPECS],
    "project create": ["project", "create", "bad/name"],
    "version show": ["version", "show", "bad/name", "1"],
    "version alias set": ["version", "alias", "set", "p", "latest", "1"],
    "version alias delete": ["version", "alias", "delete", "p", "v1"],
    "experiment create": ["experiment", "create", " "],
    "spec validate": ["spec", "validate", str(MODEL_EXAMPLE), "--set", "model.spec.server.port=80"],
    "release": [
        "release",
        "-p",
        "p",
        "--release-key",
        "k",
        "-a",
        "latest",
        "--no-verify-image",
        *SPECS,
    ],
}

USAGE = {
    "version show": ["version", "show", "p", "1", "extra"],
    "version diff": ["version", "diff", "1"],
    "version alias set": ["version", "alias", "set", "p", "a", "x"],
    "register": ["register", RUN, "p", "--no-such-flag"],
    "experiment list": ["experiment", "list", "--no-such-flag"],
}


def one_clear_error(result, code: int, *, report_on_stdout: bool = False) -> None:
    assert result.exit_code == code, result.stdout + result.stderr
    # doctor's report of every check is its data, on stdout even when a check fails.
    assert report_on_stdout or result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith(("error:", "Error"))]
    assert len(lines) == 1, result.stderr


@pytest.mark.parametrize("name", sorted(BACKEND_COMMANDS))
def test_unreachable_backend_is_exit_6(lamp, closed_port, monkeypatch, name) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("LAMP_OUTPUT", "human")
    result = lamp(*BACKEND_COMMANDS[name])
    one_clear_error(result, 6, report_on_stdout=name == "doctor")
    assert f"127.0.0.1:{closed_port}" in result.stderr


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory: pytest.TempPathFactory):
    """An empty embedded store made once: creating one runs MLflow's migrations (seconds)."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.mark.parametrize("name", sorted(NOT_FOUND))
def test_missing_objects_are_exit_4(lamp, name, migrated_store, isolated_env) -> None:
    import shutil

    shutil.copy(migrated_store, isolated_env / "mlflow.db")
    one_clear_error(lamp(*NOT_FOUND[name]), 4)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_values_are_exit_3_before_any_request(lamp, closed_port, name) -> None:
    # A closed port: a request would be exit 6.
    result = lamp("--tracking-uri", f"http://127.0.0.1:{closed_port}", *INVALID[name])
    assert result.exit_code == 3, result.stdout + result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


@pytest.mark.parametrize("name", sorted(USAGE))
def test_usage_errors_are_exit_2(lamp, name) -> None:
    result = lamp(*USAGE[name])
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "argv"),
    [
        ("experiment create", ["experiment", "create", "dup"]),
        ("project create", ["project", "create", "dup"]),
    ],
)
def test_existing_objects_are_exit_5(lamp, name, argv, migrated_store, isolated_env) -> None:
    import shutil

    shutil.copy(migrated_store, isolated_env / "mlflow.db")
    assert lamp(*argv).exit_code == 0
    one_clear_error(lamp(*argv), 5)


def test_a_canary_token_never_reaches_debug_output(lamp, closed_port, monkeypatch) -> None:
    canary = "canary-9f3c1e7a55"
    monkeypatch.setenv("LAMP_DEBUG", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", canary)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", canary)
    monkeypatch.setenv("DATABRICKS_TOKEN", canary)
    uri = f"http://user:{canary}@127.0.0.1:{closed_port}"
    result = lamp("--tracking-uri", uri, "experiment", "list")
    assert result.exit_code == 6
    assert "Traceback" in result.stderr  # LAMP_DEBUG=1 does show the traceback ...
    assert canary not in result.stderr + result.stdout  # ... without the secret
