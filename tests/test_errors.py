"""Translation of backend errors into lamp's errors and exit codes."""

from __future__ import annotations

import pytest

from lamp_cli.errors import (
    BackendUnavailable,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Problem,
    Subject,
    UnexpectedError,
)
from lamp_cli.secrets import redact
from lamp_cli.translate import translate_backend_error

pytestmark = pytest.mark.offline


class FakeMlflowError(Exception):
    """Stands in for MlflowException's shape only (message + error_code)."""

    def __init__(self, message: str, error_code: str) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code


def subject() -> Subject:
    return Subject("experiment 'x'", hint_not_found="create it", url="http://u:tok@host:5000")


def test_error_codes_map_to_exit_codes() -> None:
    cases = {
        "RESOURCE_DOES_NOT_EXIST": (NotFound, 4),
        "RESOURCE_ALREADY_EXISTS": (Conflict, 5),
        "UNAUTHENTICATED": (PermissionDenied, 7),
        "PERMISSION_DENIED": (PermissionDenied, 7),
        "INVALID_PARAMETER_VALUE": (InvalidInput, 3),
    }
    for code, (cls, exit_code) in cases.items():
        err = translate_backend_error(FakeMlflowError("boom", code), subject())
        assert isinstance(err, cls), code
        assert err.exit_code == exit_code


def test_sql_text_never_leaks() -> None:
    message = (
        "(sqlite3.IntegrityError) UNIQUE constraint failed: experiments.name "
        "[SQL: INSERT INTO experiments (name) VALUES (?)]"
    )
    err = translate_backend_error(FakeMlflowError(message, "INTERNAL_ERROR"), subject())
    assert isinstance(err, Conflict)
    assert "SQL" not in err.message and "sqlite" not in err.message


def test_connection_noise_becomes_unreachable_without_token() -> None:
    message = (
        "API request to http://u:tok@host:5000/api/2.0/mlflow/experiments/get failed with "
        "exception HTTPConnectionPool(host='host', port=5000): Max retries exceeded with url"
    )
    err = translate_backend_error(FakeMlflowError(message, "INTERNAL_ERROR"), subject())
    assert isinstance(err, BackendUnavailable)
    assert err.exit_code == 6
    assert "Max retries" not in err.message
    assert "tok" not in err.message
    assert "host:5000" in err.message


def test_unknown_error_is_unexpected_with_first_line_only() -> None:
    err = translate_backend_error(RuntimeError("first line\nsecond line"), subject())
    assert isinstance(err, UnexpectedError)
    assert err.exit_code == 1
    assert "second line" not in err.message


def test_redact() -> None:
    assert redact("https://user:pw@h/x?token=abc") == "https://***@h/x?token=***"


def test_problem_renders_file_line_column_field() -> None:
    problem = Problem(
        "must be >= 1024", file="m.yaml", line=12, column=11, field="spec.server.port"
    )
    assert str(problem) == "m.yaml:12:11: spec.server.port: must be >= 1024"
    assert str(Problem("bad")) == "bad"
