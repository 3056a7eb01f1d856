"""One error hierarchy, one exit code per class, and the translation of backend errors.

Every failure the user can cause or meet is a :class:`LampError`; ``main`` maps it to its exit code
in one place. Errors from MLflow, pydantic or boto3 are translated here into lamp's own words:
no SQL text, no retry noise, no tracebacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

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


_BY_EXIT_CODE: dict[int, type[LampError]] = {
    cls.exit_code: cls
    for cls in (UsageError, InvalidInput, NotFound, Conflict, BackendUnavailable, PermissionDenied)
}


def error_for_exit_code(code: int, message: str, hint: str | None = None) -> LampError:
    """The error of lamp's hierarchy that ends with exit ``code`` (1 for an unknown code)."""
    return _BY_EXIT_CODE.get(code, UnexpectedError)(message, hint=hint)


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
    storage = _artifact_store_error(exc, subject, url)
    if storage is not None:
        return storage
    code = getattr(exc, "error_code", None)
    message = str(getattr(exc, "message", None) or exc)
    databricks = _databricks_error(code, message, subject, url)
    if databricks is not None:
        return databricks
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
        if _SQL_HINT_RE.search(message) and re.search(r"(?i)unique constraint|duplicate", message):
            # A server's store refusing a concurrent insert of the same key.
            return Conflict(
                f"{subject.what} was written by another client at the same time",
                hint=subject.hint_conflict or "retry",
            )
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


_PARENT_DIR_RE = re.compile(r"Parent directory (?P<dir>/\S*?)\.? does not exist", re.IGNORECASE)


def _databricks_error(code: Any, message: str, subject: Subject, url: str) -> LampError | None:
    """What only a Databricks workspace answers, in words that point at the fix."""
    parent = _PARENT_DIR_RE.search(message)
    if parent is not None:
        folder = parent["dir"]
        return NotFound(
            f"workspace folder {folder} does not exist ({subject.what})",
            hint=f"create the folder first: databricks workspace mkdirs {folder}",
        )
    if "legacy workspace model registry is disabled" in message.lower():
        return PermissionDenied(
            f"the workspace model registry is disabled on this Databricks workspace ({url})",
            hint="use Unity Catalog: unset MLFLOW_REGISTRY_URI (Databricks' default is "
            "databricks-uc) and set LAMP_UC_CATALOG and LAMP_UC_SCHEMA",
        )
    if code in ("REQUEST_LIMIT_EXCEEDED", "TEMPORARILY_UNAVAILABLE"):
        return BackendUnavailable(
            f"{url} kept answering '{code}' while accessing {subject.what}",
            hint="retry later; MLFLOW_DATABRICKS_ENDPOINT_HTTP_RETRY_TIMEOUT and "
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES tune how long lamp waits",
        )
    return None


def _is_connection_error(exc: BaseException) -> bool:
    names = ("ConnectionError", "ConnectTimeout", "ReadTimeout", "MaxRetryError", "Timeout")
    return any(
        type(error).__name__ in names or isinstance(error, (ConnectionError, TimeoutError))
        for error in _chain(exc)
    )


# --- artifact stores -------------------------------------------------------------------------
# MLflow reports a failing artifact store (S3 bucket missing, no credentials, endpoint down) as
# "Max retries exceeded", "404 Client Error" or "Failed to download artifacts ... ensure that the
# path is correct". The real cause is further down the exception chain, from boto3 or the server.

_S3_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
_S3_DENIED = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AllAccessDisabled",
    "403",
}
_S3_CREDENTIALS_HINT = (
    "give this process AWS credentials that may use the bucket (AWS_PROFILE, "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or aws-actions/configure-aws-credentials in CI), "
    "or have the tracking server proxy artifacts (mlflow server --serve-artifacts)"
)
_SERVER_STORE_HINT = (
    "the server's artifact store failed: check the server log, that its --artifacts-destination "
    "bucket exists, and the server's AWS credentials"
)
_AWS_CODE_RE = re.compile(r"An error occurred \((?P<code>[A-Za-z0-9.]+)\)")
_HOST_RE = re.compile(r"^(?P<base>[a-z][a-z0-9+.-]*://[^/?#\s\"]+)")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not e for e in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _artifact_store_error(exc: BaseException, subject: Subject, url: str) -> LampError | None:
    """The cause of an artifact store failure in lamp's words, or None if it is not one."""
    what = subject.what
    for error in _chain(exc):
        name = type(error).__name__
        if name in ("NoCredentialsError", "PartialCredentialsError", "NoAuthTokenError"):
            return PermissionDenied(
                f"no AWS credentials for the S3 artifact store ({what})", hint=_S3_CREDENTIALS_HINT
            )
        response = getattr(error, "response", None)
        if isinstance(response, dict) and "Error" in response:  # botocore's ClientError
            return _s3_client_error(response, what)
        if name == "EndpointConnectionError":
            endpoint = _base_url(str(getattr(error, "kwargs", {}).get("endpoint_url", "")))
            return BackendUnavailable(
                f"cannot reach the S3 endpoint {endpoint or '(unknown)'} ({what})",
                hint="check MLFLOW_S3_ENDPOINT_URL / AWS_ENDPOINT_URL and the network",
            )
    for error in _chain(exc):
        # boto3's upload error keeps only the text of the ClientError when it is not chained.
        if type(error).__name__ == "S3UploadFailedError":
            match = _AWS_CODE_RE.search(str(error))
            return _s3_client_error({"Error": {"Code": match["code"] if match else ""}}, what)
    text = " ".join(str(e) for e in _chain(exc))
    if "/mlflow-artifacts/" not in text:
        return None
    status = _http_status(exc)
    if status in (401, 403):
        return PermissionDenied(f"the tracking server at {url} refused access to {what}")
    if status == 404:
        return NotFound(
            f"{what}: the tracking server at {url} has no such artifacts (HTTP 404)",
            hint="if they were logged, " + _SERVER_STORE_HINT,
        )
    if (status and status >= 500) or re.search(r"too many 5\d\d error responses", text):
        return BackendUnavailable(
            f"the tracking server at {url} failed to read or write artifacts ({what})",
            hint=_SERVER_STORE_HINT,
        )
    return None


def _s3_client_error(response: dict[str, Any], what: str) -> LampError:
    error = response.get("Error", {})
    code = str(error.get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code == "NoSuchBucket":
        bucket = error.get("BucketName")
        named = f"S3 bucket '{bucket}'" if bucket else "the S3 bucket"
        return NotFound(
            f"{named} of the artifact store does not exist ({what})",
            hint="create the bucket, or fix the experiment's artifact location "
            "(the server's --default-artifact-root)",
        )
    if code in _S3_NOT_FOUND:
        return NotFound(
            f"artifact not found in the S3 artifact store ({what})",
            hint="the run's artifacts were removed or never uploaded",
        )
    if code in _S3_DENIED or status in (401, 403):
        return PermissionDenied(
            f"S3 refused the credentials ({code or status}) of the artifact store ({what})",
            hint=_S3_CREDENTIALS_HINT,
        )
    if code in ("SlowDown", "ServiceUnavailable", "InternalError") or (status or 0) >= 500:
        return BackendUnavailable(f"S3 failed ({code or status}) on {what}", hint="retry later")
    return UnexpectedError(f"S3 refused {what}: {code or 'unknown error'}")


def _base_url(text: str) -> str:
    match = _HOST_RE.match(text.strip())
    return redact(match["base"]) if match else ""


def _http_status(exc: BaseException) -> int | None:
    for error in _chain(exc):
        response = getattr(error, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            return status
        match = re.search(r"\b([45]\d\d) (?:Client|Server) Error", str(error))
        if match:
            return int(match.group(1))
    return None
