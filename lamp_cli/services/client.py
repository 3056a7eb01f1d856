"""The MLflow client factory: the only module that imports mlflow, and only when a command needs it.

It also owns what every backend call shares: HTTP retry and timeout defaults that fail a dead
server in seconds instead of minutes, keeping MLflow's prints and log lines off stdout, translating
MLflow's exceptions into lamp's errors, and the retries of creates.

Retries. Reads and idempotent writes (tags, artifacts, status, aliases, deletes) are retried by
MLflow's HTTP client. A create is not idempotent: when its answer is lost, MLflow's client would
send it again and the server would create a second experiment, run or version. So lamp turns
MLflow's retries off for creates and retries them itself (:meth:`Backend.create`): each create
carries a request id, written as a tag in the same call; after a failure that leaves open whether
the server acted (transport error, timeout, 429, 5xx) lamp looks the request id up, and sends the
create again only when nothing carries it. 4xx answers and permission errors are never retried.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from lamp_cli.errors import (
    Conflict,
    LampError,
    NotFound,
    Subject,
    redact,
)
from lamp_cli.services import databricks as databricks_service
from lamp_cli.settings import Settings, check_uri, env_number, is_databricks_uri
from lamp_cli.translate import CONFIGURED_RETRIES, translate_backend_error

EMBEDDED_DB_FILE = "mlflow.db"

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

T = TypeVar("T")

#: mlflow.entities.ViewType.ACTIVE_ONLY, for searches, without importing mlflow at import time.
ACTIVE_ONLY = 1

#: lamp's defaults; any of these set in the environment wins. Worst case against a server that
#: accepts connections but never answers: 3 attempts x 4 s + ~2.5 s backoff, well under 20 s
#: (MLflow's own defaults wait about 4 minutes).
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.3",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "4",
}
_QUIET_DEFAULTS = {
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    # MLflow's telemetry thread edits os.environ while requests read it (a rare KeyError on
    # '_MLFLOW_TELEMETRY_SESSION_ID'), and a CLI in CI should not phone home. Users opt back in
    # with MLFLOW_DISABLE_TELEMETRY=false.
    "MLFLOW_DISABLE_TELEMETRY": "true",
}
_MAX_RETRIES = "MLFLOW_HTTP_REQUEST_MAX_RETRIES"

#: The tag that carries the request id of a create: ``lamp.request_id`` on experiments and runs,
#: ``lamp_request_id`` on registered models and versions (Unity Catalog refuses dots in keys).
REQUEST_ID_TAG = "lamp.request_id"
REQUEST_ID_KEY = "lamp_request_id"


def new_request_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class RetryPolicy:
    """lamp's own retries of creates, from the same variables as MLflow's HTTP client."""

    retries: int
    backoff_factor: float
    jitter: float
    timeout: float

    @classmethod
    def from_environment(cls) -> RetryPolicy:
        return cls(
            retries=max(0, int(env_number(_MAX_RETRIES, 2))),
            backoff_factor=max(0.0, env_number("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", 1)),
            jitter=max(0.0, env_number("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", 0.3)),
            timeout=max(0.1, env_number("MLFLOW_HTTP_REQUEST_TIMEOUT", 4)),
        )

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt`` (1, 2, ...): exponential, with jitter."""
        return float(self.backoff_factor * 2.0 ** (attempt - 1) + random.random() * self.jitter)

    @property
    def budget(self) -> float:
        """How long one create may take with its retries: what one read takes with MLflow's."""
        waits = sum(self.backoff_factor * 2.0 ** (n - 1) + self.jitter for n in range(self.retries))
        return float((self.retries + 1) * self.timeout + waits)


@contextlib.contextmanager
def _mlflow_retries_off() -> Iterator[None]:
    # MLflow reads the variable on every request, so this covers exactly the calls inside.
    before = os.environ.get(_MAX_RETRIES)
    os.environ[_MAX_RETRIES] = "0"
    configured = CONFIGURED_RETRIES.set(before)  # what a time-out's message counts
    try:
        yield
    finally:
        CONFIGURED_RETRIES.reset(configured)
        if before is None:
            os.environ.pop(_MAX_RETRIES, None)
        else:
            os.environ[_MAX_RETRIES] = before


_NOISY_LOGGERS = (
    "mlflow",
    "alembic",
    "urllib3",
    "botocore",
    "sqlalchemy",
    "databricks",
    "databricks.sdk",
    "azure",
    "google",
)


@dataclass
class Backend:
    """An MLflow client bound to the resolved tracking and registry URIs."""

    client: MlflowClient
    tracking_uri: str
    registry_uri: str
    settings: Settings

    @property
    def registry_kind(self) -> str:
        """``unity-catalog``, ``workspace`` (Databricks' legacy registry) or ``mlflow``."""
        return self.settings.registry_kind

    @property
    def on_databricks(self) -> bool:
        return is_databricks_uri(self.settings.tracking_uri)

    def call(self, subject: Subject, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one MLflow call with its prints kept off stdout and its errors translated."""
        subject.url = subject.url or self.tracking_uri
        with contextlib.redirect_stdout(sys.stderr):
            try:
                return fn(*args, **kwargs)
            except LampError:
                raise
            except Exception as exc:
                raise translate_backend_error(exc, subject) from exc

    def create(
        self,
        subject: Subject,
        fn: Callable[..., T],
        *args: Any,
        find: Callable[[], T | None],
        **kwargs: Any,
    ) -> T:
        """Run a create that carries a request id, retrying it without ever doubling it.

        ``find`` returns what carries this create's request id, or None. It is asked after every
        failure that leaves open whether the server acted, and after a conflict that follows
        one (the lost first attempt took the name). A create is sent again only when ``find``
        finds nothing; a 4xx answer or a permission error ends the retries at once.
        """
        policy = RetryPolicy.from_environment()
        deadline = time.monotonic() + policy.budget
        pending = False  # a create may have reached the server
        error: LampError | None = None
        for attempt in range(policy.retries + 1):
            if attempt:
                time.sleep(policy.delay(attempt))
            try:
                with _mlflow_retries_off():
                    if pending and (found := self.call(subject, find)) is not None:
                        return found
                    return self.call(subject, fn, *args, **kwargs)
            except Conflict:
                if pending:
                    with _mlflow_retries_off():
                        if (found := self.call(subject, find)) is not None:
                            return found
                raise
            except LampError as err:
                if not err.retryable:
                    raise
                error, pending = err, True
            if time.monotonic() >= deadline:
                break
        # The last attempt may have reached the server too.
        with contextlib.suppress(LampError), _mlflow_retries_off():
            if (found := self.call(subject, find)) is not None:
                return found
        assert error is not None
        raise error

    def search_all(
        self, subject: Subject, fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> list[Any]:
        """Every result of a paged MLflow search, all pages followed."""
        results: list[Any] = []
        token = None
        while True:
            page = self.call(subject, fn, *args, max_results=1000, page_token=token, **kwargs)
            results.extend(page)
            token = getattr(page, "token", None)
            if not token:
                return results

    def list_artifacts(
        self, subject: Subject, run_id: str, artifact_uri: str | None, path: str
    ) -> list[Any]:
        """The entries under ``path`` of a run's artifacts.

        With the run's artifact URI at hand they are listed in one call; by run id, MLflow first
        reads the run again and searches its logged models. On Databricks the client adds the
        profile to the URI, so it goes through the client.
        """
        if artifact_uri and not self.on_databricks:
            import mlflow.artifacts

            uri = f"{artifact_uri.rstrip('/')}/{path}"
            return list(self.call(subject, mlflow.artifacts.list_artifacts, artifact_uri=uri))
        return list(self.call(subject, self.client.list_artifacts, run_id, path))

    def upload(
        self, subject: Subject, run_id: str, artifact_uri: str | None, local_dir: str, path: str
    ) -> None:
        """Upload the folder ``local_dir`` to ``path`` under a run's artifacts.

        With the run's artifact URI at hand (it came back when the run was created or read) the
        store is written directly: MLflow's client would read the run again only to learn it.
        On Databricks the client adds the profile to the URI, so it goes through the client.
        """
        if not artifact_uri or self.on_databricks:
            self.call(subject, self.client.log_artifacts, run_id, local_dir, path)
            return
        import mlflow
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        def upload() -> None:
            repo = get_artifact_repository(artifact_uri, tracking_uri=mlflow.get_tracking_uri())
            repo.log_artifacts(local_dir, path)  # type: ignore[no-untyped-call]

        self.call(subject, upload)

    def set_run_tags(self, subject: Subject, run_id: str, tags: Mapping[str, str]) -> None:
        """Write all ``tags`` on a run in one request."""
        from mlflow.entities import RunTag

        batch = [RunTag(key, value) for key, value in tags.items()]
        self.call(subject, self.client.log_batch, run_id, tags=batch)

    def download_version_files(
        self, subject: Subject, name: str, version: int, files: Sequence[str]
    ) -> dict[str, str]:
        """The text of files of a model version, read through ``models:/`` like the operator."""
        import tempfile
        from pathlib import Path

        import mlflow.artifacts

        def read() -> dict[str, str]:
            with tempfile.TemporaryDirectory(prefix="lamp-") as tmp:
                if len(files) == 1:
                    local = mlflow.artifacts.download_artifacts(
                        artifact_uri=f"models:/{name}/{version}/{files[0]}", dst_path=tmp
                    )
                    return {files[0]: Path(local).read_text(encoding="utf-8")}
                root = Path(
                    mlflow.artifacts.download_artifacts(
                        artifact_uri=f"models:/{name}/{version}", dst_path=tmp
                    )
                )
                missing = [f for f in files if not (root / f).is_file()]
                if missing:
                    raise NotFound(f"{subject.what}: no {', '.join(missing)}")
                return {f: (root / f).read_text(encoding="utf-8") for f in files}

        return self.call(subject, read)


def prepare_environment(settings: Settings | None = None) -> None:
    """Set lamp's defaults for MLflow's environment variables before mlflow is imported."""
    databricks = settings is not None and (
        is_databricks_uri(settings.tracking_uri) or is_databricks_uri(settings.registry_uri)
    )
    http = databricks_service.HTTP_DEFAULTS if databricks else HTTP_DEFAULTS
    for name, value in {**http, **_QUIET_DEFAULTS}.items():
        os.environ.setdefault(name, value)
    profile = settings is not None and databricks_service.profile_of(settings.tracking_uri)
    if profile:
        # MLflow's run-artifact client builds its SDK client without the URI's profile; the
        # SDK's own variable makes every client of this process use the same one.
        os.environ.setdefault("DATABRICKS_CONFIG_PROFILE", profile)
    if os.environ.get("LAMP_DEBUG", "") in ("", "0", "false"):
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
        quiet_loggers()


def quiet_loggers() -> None:
    """Keep MLflow's and its libraries' log lines (migrations, retries) out of lamp's output."""
    if os.environ.get("LAMP_DEBUG", "") not in ("", "0", "false"):
        return
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def connect(settings: Settings, announce: Callable[[str], None] | None = None) -> Backend:
    """An MLflow client for ``settings``; imports mlflow on first use."""
    tracking_uri = settings.tracking_uri
    registry_uri = settings.effective_registry_uri
    check_uri(tracking_uri, "tracking URI")
    check_uri(registry_uri, "registry URI")
    databricks = is_databricks_uri(tracking_uri) or is_databricks_uri(registry_uri)
    if databricks:
        databricks_service.check_client_packages()
    # The embedded store is announced once: when this command creates it.
    creating = not (settings.cwd / EMBEDDED_DB_FILE).exists()
    if settings.uses_embedded_default and announce is not None and creating:
        legacy = settings.legacy_file_store()
        announce(
            f"creating the local store {tracking_uri} in {settings.cwd} "
            "(set MLFLOW_TRACKING_URI or --tracking-uri for a server)"
        )
        if legacy is not None:
            announce(
                f"a legacy MLflow file store exists at {legacy} and is NOT used; "
                f"pass --tracking-uri file://{legacy} to use it"
            )
    prepare_environment(settings)
    subject = Subject("connecting to MLflow", url=tracking_uri)
    with contextlib.redirect_stdout(sys.stderr):
        try:
            import mlflow
            from mlflow.tracking import MlflowClient

            # models:/ downloads read the process-wide URIs. MLflow also exports them as
            # MLFLOW_*_URI, which would then read as the user's own setting: keep the
            # environment as the user left it.
            with _environment_kept("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
                mlflow.set_tracking_uri(absolute_sqlite_uri(tracking_uri, settings))
                mlflow.set_registry_uri(absolute_sqlite_uri(registry_uri, settings))
            quiet_loggers()  # mlflow sets its own logger levels on import
            if databricks:
                databricks_service.share_one_configuration()
            client = MlflowClient(
                tracking_uri=absolute_sqlite_uri(tracking_uri, settings),
                registry_uri=absolute_sqlite_uri(registry_uri, settings),
            )
        except ImportError as exc:
            raise translate_backend_error(_missing_driver(exc, tracking_uri), subject) from exc
        except Exception as exc:
            raise translate_backend_error(exc, subject) from exc
    return Backend(client, redact(tracking_uri), redact(registry_uri), settings)


@contextlib.contextmanager
def _environment_kept(*names: str) -> Iterator[None]:
    before = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def absolute_sqlite_uri(uri: str, settings: Settings) -> str:
    """``sqlite:///mlflow.db`` made absolute against the working directory lamp resolved.

    MLflow caches stores by URI; a relative SQLite path would follow the process's current
    directory instead of the one the settings were resolved in.
    """
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri[len(prefix) :].startswith("/"):
        return prefix + str(settings.cwd / uri[len(prefix) :])
    return uri


_DRIVER_HINTS = {
    "psycopg": "pip install psycopg2-binary",
    "psycopg2": "pip install psycopg2-binary",
    "MySQLdb": "pip install mysqlclient, or pip install pymysql with a mysql+pymysql:// URI",
    "pymysql": "pip install pymysql",
    "pyodbc": "pip install pyodbc",
}


def _missing_driver(exc: ImportError, uri: str) -> LampError:
    from lamp_cli.errors import UsageError

    if not isinstance(exc, ModuleNotFoundError):
        # The package is there but lacks a name MLflow imports: versions that do not fit.
        return UsageError(
            f"cannot open {redact(uri)}: {exc}",
            hint="the installed MLflow and its database packages do not fit together; "
            "reinstall lamp-cli to get the versions it is tested with",
        )
    name = (exc.name or "").split(".")[0]
    hint = _DRIVER_HINTS.get(
        name, "reinstall lamp-cli: the SQLite store needs sqlalchemy and alembic"
    )
    return UsageError(
        f"cannot open {redact(uri)}: the Python package '{name or exc}' is not installed",
        hint=hint,
    )
