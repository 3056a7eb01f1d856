"""The one translation of backend failures into lamp's errors: MLflow (REST error codes and
exception types first, message text only where nothing else tells), SQL stores, S3 artifact stores,
Databricks, and ECR look-ups. No SQL text, no retry noise, no tracebacks, no credentials.

Duck-typed on error codes and exception class names, so it never imports mlflow or botocore.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from typing import Any

from lamp_cli.errors import (
    BackendUnavailable,
    Conflict,
    CredentialsMissing,
    InvalidInput,
    LampError,
    NotFound,
    PermissionDenied,
    Subject,
    TransientFailure,
    UnexpectedError,
)
from lamp_cli.secrets import redact
from lamp_cli.settings import env_number

_SQL_HINT_RE = re.compile(r"(?i)\b(sqlite3?|sqlalchemy|psycopg|pymysql|IntegrityError|\[SQL:)")
#: urllib3's words when every attempt was answered with a status it retries (429, 5xx).
_STATUS_RETRIES_RE = re.compile(r"too many (?P<status>\d{3}) error responses")
_UNREACHABLE_RE = re.compile(
    r"(?i)(max retries exceeded|failed to establish a new connection|connection refused|"
    r"connection aborted|connectionerror|name or service not known|read timed out|"
    r"connect timeout|timed out|temporary failure in name resolution|remote end closed)"
)


#: urllib3's words (and requests' class names) when a connected server never answered in time.
_READ_TIMEOUT_RE = re.compile(r"(?i)read timed out|ReadTimeout")
#: MLflow's own default of MLFLOW_HTTP_REQUEST_MAX_RETRIES.
_MLFLOW_DEFAULT_RETRIES = 7
#: The retries of a create, which lamp makes itself (lamp_cli/gateway/creates.py): a time-out
#: then says how long lamp waited in all, not how long MLflow's one attempt took.
CONFIGURED_RETRIES: ContextVar[str | None] = ContextVar("lamp_configured_retries")


def http_wait() -> tuple[int, float]:
    """How many attempts of how many seconds a call to a tracking server makes, as configured."""
    try:
        raw = CONFIGURED_RETRIES.get()
    except LookupError:
        raw = os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES")
    try:
        retries = max(0, int(raw)) if raw is not None else _MLFLOW_DEFAULT_RETRIES
    except ValueError:
        retries = _MLFLOW_DEFAULT_RETRIES
    return retries + 1, max(0.0, env_number("MLFLOW_HTTP_REQUEST_TIMEOUT", 120))


def _timed_out(exc: BaseException, message: str, subject: Subject, url: str) -> LampError | None:
    """A server that took the connection and never answered, in the time lamp waited for it."""
    chain = _chain(exc)
    if not (
        _READ_TIMEOUT_RE.search(message)
        or any(_READ_TIMEOUT_RE.search(f"{type(e).__name__} {e}") for e in chain)
    ):
        return None
    attempts, timeout = http_wait()
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    return TransientFailure(
        f"the tracking server at {url} timed out after {attempts * timeout:g} s "
        f"({subject.what}): it took the connection but did not answer ({tries} of {timeout:g} s)",
        hint="check that the server is healthy (its log, its load, a proxy in between); "
        "MLFLOW_HTTP_REQUEST_TIMEOUT and MLFLOW_HTTP_REQUEST_MAX_RETRIES set how long lamp waits",
    )


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
    if _is_server_error(exc):
        status = _answer_status(exc)
        answered = f"answered HTTP {status}" if status else "failed"
        return TransientFailure(
            f"the tracking server at {url} {answered} on {subject.what} ({code})",
            hint="retry later; if it persists, check the server's log",
        )
    if retried := _STATUS_RETRIES_RE.search(message):
        return TransientFailure(
            f"the tracking server at {url} kept answering HTTP {retried['status']} on "
            f"{subject.what}",
            hint="retry later; MLFLOW_HTTP_REQUEST_MAX_RETRIES sets how often lamp tries",
        )
    timed_out = _timed_out(exc, message, subject, url)
    if timed_out is not None:
        return timed_out
    if _UNREACHABLE_RE.search(message) or _is_connection_error(exc):
        return TransientFailure(
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
            return TransientFailure(
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
    if code in ("REQUEST_LIMIT_EXCEEDED", "TEMPORARILY_UNAVAILABLE") and url.startswith(
        "databricks"
    ):
        return TransientFailure(
            f"{url} kept answering '{code}' while accessing {subject.what}",
            hint="retry later; MLFLOW_DATABRICKS_ENDPOINT_HTTP_RETRY_TIMEOUT and "
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES tune how long lamp waits",
        )
    return None


#: Error codes a server gives with 5xx answers (MLflow's own server and Databricks alike).
_SERVER_ERROR_CODES = {"INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"}


def _is_server_error(exc: BaseException) -> bool:
    """An answer of the server with a 429 or 5xx error code (MLflow's ``RestException`` carries
    the answer's JSON); client-side exceptions, which also default to INTERNAL_ERROR, are not."""
    if not isinstance(getattr(exc, "json", None), dict):
        return False
    if getattr(exc, "error_code", None) in _SERVER_ERROR_CODES:
        return True
    code = _answer_status(exc) or 0
    return code == 429 or code >= 500


def _answer_status(exc: BaseException) -> int | None:
    status = getattr(exc, "get_http_status_code", None)
    try:
        return int(status()) if callable(status) else None
    except (TypeError, ValueError):
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
            return CredentialsMissing(
                f"no AWS credentials found for the S3 artifact store ({what})",
                hint=_S3_CREDENTIALS_HINT,
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


# --- ECR look-ups --------------------------------------------------------------------------

_NOT_FOUND_CODES = {"RepositoryNotFoundException", "ImageNotFoundException"}
_DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "UnauthorizedOperation",
    "MissingAuthenticationToken",
}
_THROTTLED_CODES = {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}
ECR_CREDENTIALS_HINT = (
    "configure AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or "
    "aws-actions/configure-aws-credentials in CI) with ecr:DescribeImages on the repository, "
    "or pass --no-verify-image to skip the look-up"
)


_ECR_CONNECTION = {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError",
                   "ConnectionClosedError"}  # fmt: skip
_AWS_CREDENTIAL_LOADING = {"TokenRetrievalError", "CredentialRetrievalError", "SSOError"}


def ecr_error(exc: BaseException, *, repository: str, registry: str, what: str) -> LampError:
    """What an ECR ``DescribeImages`` call raised (botocore), in lamp's words."""
    name = type(exc).__name__
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return _ecr_client_error(response, repository, registry, what)
    if name == "NoCredentialsError":
        return CredentialsMissing(
            f"no AWS credentials found to look up {what}", hint=ECR_CREDENTIALS_HINT
        )
    if name == "PartialCredentialsError":
        # botocore names the missing half (e.g. aws_secret_access_key), never a value.
        missing = getattr(exc, "kwargs", {}).get("cred_var") or "a part"
        return CredentialsMissing(
            f"incomplete AWS credentials ({missing} is missing) to look up {what}",
            hint=ECR_CREDENTIALS_HINT,
        )
    if name == "ProfileNotFound":
        profile = getattr(exc, "kwargs", {}).get("profile") or "?"
        return CredentialsMissing(
            f"the AWS profile {profile!r} (AWS_PROFILE) is not configured; cannot look up {what}",
            hint=f"run `aws configure --profile {profile}`, or unset AWS_PROFILE; "
            f"{ECR_CREDENTIALS_HINT}",
        )
    if name in _ECR_CONNECTION:
        endpoint = redact(str(getattr(exc, "kwargs", {}).get("endpoint_url") or registry))
        return BackendUnavailable(
            f"cannot reach the ECR API at {endpoint} to look up {what}",
            hint="check the network and AWS_ENDPOINT_URL, or pass --no-verify-image",
        )
    if name in _AWS_CREDENTIAL_LOADING:
        return PermissionDenied(
            f"AWS credentials could not be loaded to look up {what}: {name}",
            hint=ECR_CREDENTIALS_HINT,
        )
    if name == "ParamValidationError":
        # botocore checks ECR's own limits (e.g. a repository name of 2+ characters).
        detail = _first_line(str(exc).strip().splitlines()[-1])
        return InvalidInput(f"ECR cannot look up {what}: {detail}")
    if isinstance(exc, LampError):
        return exc
    return UnexpectedError(f"looking up {what} failed: {name}")


def _ecr_client_error(
    response: dict[str, Any], repository: str, registry: str, what: str
) -> LampError:
    error = response.get("Error", {})
    code = str(error.get("Code", ""))
    if code == "RepositoryNotFoundException":
        return NotFound(
            f"repository {repository!r} not found in registry {registry} ({what})",
            hint="create the ECR repository and push the image, or check --image",
        )
    if code in _NOT_FOUND_CODES:
        return NotFound(f"{what} not found", hint="push the image first, or check --image")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    # A bare 401/403 comes from proxies and emulators that answer without an AWS error code.
    if code in _DENIED_CODES or code.startswith("AccessDenied") or status in (401, 403):
        # Only the error code: AWS messages can carry ARNs and account ids of the caller.
        reason = f"HTTP {status}" if not code or code.isdigit() else code
        return PermissionDenied(
            f"AWS refused the credentials looking up {what} ({reason})", hint=ECR_CREDENTIALS_HINT
        )
    if code in _THROTTLED_CODES:
        return BackendUnavailable(f"ECR throttled the look-up of {what}", hint="retry in a minute")
    if status >= 500:
        return BackendUnavailable(
            f"ECR failed looking up {what} (HTTP {status})", hint="retry, or pass --no-verify-image"
        )
    if code in ("InvalidParameterException", "ValidationException"):
        return InvalidInput(
            f"ECR refused the look-up of {what}: {redact(_first_line(str(error.get('Message'))))}"
        )
    return UnexpectedError(f"looking up {what} failed: {code or 'unknown AWS error'}")
