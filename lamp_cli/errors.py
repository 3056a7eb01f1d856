"""One error hierarchy, one exit code per class, and the translation of backend errors.

Every failure the user can cause or meet is a :class:`LampError`; ``main`` maps it to its exit code
in one place. Errors from MLflow, pydantic or boto3 are translated here into lamp's own words:
no SQL text, no retry noise, no tracebacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_INVALID = 3
EXIT_NOT_FOUND = 4
EXIT_CONFLICT = 5
EXIT_UNREACHABLE = 6
EXIT_DENIED = 7


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what is wrong."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
                if self.column:
                    where += f":{self.column}"
            where += ": "
        what = f"{self.field}: " if self.field else ""
        return f"{where}{what}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
        }


class LampError(Exception):
    """Base of every error lamp reports to the user."""

    exit_code = EXIT_UNEXPECTED
    kind = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    @property
    def problems(self) -> list[Problem]:
        return []

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": self.kind,
            "exit_code": self.exit_code,
            "message": self.message,
        }
        if self.hint:
            data["hint"] = self.hint
        if self.problems:
            data["problems"] = [p.to_dict() for p in self.problems]
        return data


class UsageError(LampError):
    exit_code = EXIT_USAGE
    kind = "usage"


class InvalidInput(LampError):
    """A value given by the user is not acceptable (exit 3), optionally with located problems."""

    exit_code = EXIT_INVALID
    kind = "invalid"

    def __init__(
        self, message: str, *, problems: list[Problem] | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self._problems = list(problems or [])

    @property
    def problems(self) -> list[Problem]:
        return self._problems


class SpecInvalid(InvalidInput):
    """One or more problems in spec documents; all of them are reported at once."""

    kind = "invalid_spec"

    def __init__(self, problems: list[Problem], *, hint: str | None = None) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        files = sorted({p.file for p in problems if p.file})
        where = f" in {', '.join(files)}" if files else ""
        super().__init__(f"{count} {noun}{where}", problems=problems, hint=hint)


class NotFound(LampError):
    exit_code = EXIT_NOT_FOUND
    kind = "not_found"


class Conflict(LampError):
    exit_code = EXIT_CONFLICT
    kind = "conflict"


class BackendUnavailable(LampError):
    exit_code = EXIT_UNREACHABLE
    kind = "unreachable"


class PermissionDenied(LampError):
    exit_code = EXIT_DENIED
    kind = "denied"


class UnexpectedError(LampError):
    exit_code = EXIT_UNEXPECTED
    kind = "unexpected"


@dataclass
class Subject:
    """What a backend call was about, so a translated error can name it."""

    what: str
    hint_not_found: str | None = None
    hint_conflict: str | None = None
    url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


_TOKEN_RE = re.compile(r"(?i)(token|password|secret|authorization)([=:]\s*)([^\s&'\"]+)")
_USERINFO_RE = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@")
_SQL_HINT_RE = re.compile(r"(?i)\b(sqlite3?|sqlalchemy|psycopg|pymysql|IntegrityError|\[SQL:)")
_UNREACHABLE_RE = re.compile(
    r"(?i)(max retries exceeded|failed to establish a new connection|connection refused|"
    r"connection aborted|connectionerror|name or service not known|read timed out|"
    r"connect timeout|timed out|temporary failure in name resolution|remote end closed)"
)


def redact(text: str) -> str:
    """Remove credentials from a URL or message before it is shown."""
    text = _USERINFO_RE.sub(r"\g<scheme>***@", text)
    return _TOKEN_RE.sub(r"\1\2***", text)


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def translate_backend_error(exc: BaseException, subject: Subject) -> LampError:
    """Turn an exception raised by MLflow (or its HTTP layer) into a :class:`LampError`.

    Duck-typed on ``error_code`` so this module never imports mlflow.
    """
    if isinstance(exc, LampError):
        return exc
    url = redact(subject.url) if subject.url else "the tracking server"
    code = getattr(exc, "error_code", None)
    message = str(getattr(exc, "message", None) or exc)
    if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "ENDPOINT_NOT_FOUND"):
        if code == "ENDPOINT_NOT_FOUND":
            return BackendUnavailable(
                f"{url} does not answer the MLflow REST API ({subject.what})",
                hint="check the tracking URI: it should point at an MLflow tracking server",
            )
        return NotFound(f"{subject.what} not found", hint=subject.hint_not_found)
    if code == "RESOURCE_ALREADY_EXISTS":
        return Conflict(f"{subject.what} already exists", hint=subject.hint_conflict)
    if code in ("UNAUTHENTICATED",):
        return PermissionDenied(
            f"authentication to {url} failed while accessing {subject.what}",
            hint="check MLFLOW_TRACKING_TOKEN (or MLFLOW_TRACKING_USERNAME/PASSWORD) "
            "or DATABRICKS_TOKEN",
        )
    if code in ("PERMISSION_DENIED",):
        return PermissionDenied(
            f"permission denied on {subject.what} at {url}",
            hint="ask the platform team for write access to this experiment or project",
        )
    if _UNREACHABLE_RE.search(message) or _is_connection_error(exc):
        return BackendUnavailable(
            f"cannot reach the tracking server at {url} ({subject.what})",
            hint="check that the server runs and the URI is right; "
            "MLFLOW_HTTP_REQUEST_TIMEOUT and MLFLOW_HTTP_REQUEST_MAX_RETRIES tune the wait",
        )
    if code == "INVALID_PARAMETER_VALUE" and re.search(r"(?i)not found|does not exist", message):
        # MLflow reports a missing alias as an invalid parameter.
        return NotFound(f"{subject.what} not found", hint=subject.hint_not_found)
    if code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE"):
        if _SQL_HINT_RE.search(message):
            return InvalidInput(f"the backend refused {subject.what}")
        return InvalidInput(f"{subject.what}: {redact(_first_line(message))}")
    if _SQL_HINT_RE.search(message):
        if re.search(r"(?i)unique constraint|already exists|duplicate", message):
            return Conflict(f"{subject.what} already exists", hint=subject.hint_conflict)
        if re.search(r"(?i)database is locked", message):
            return BackendUnavailable(
                "the local SQLite store is locked by another process",
                hint="retry, or use an MLflow tracking server for concurrent writers",
            )
        return UnexpectedError(f"the store failed on {subject.what}")
    return UnexpectedError(f"{subject.what} failed: {redact(_first_line(message))}")


def _is_connection_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        if name in ("ConnectionError", "ConnectTimeout", "ReadTimeout", "MaxRetryError", "Timeout"):
            return True
        if isinstance(current, (ConnectionError, TimeoutError)):
            return True
        current = current.__cause__ or current.__context__
    return False
