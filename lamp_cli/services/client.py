"""The MLflow client factory: the only module that imports mlflow, and only when a command needs it.

It also owns the three things every backend call shares: HTTP retry and timeout defaults that fail a
dead server in seconds instead of minutes, keeping MLflow's prints and log lines off stdout, and
translating MLflow's exceptions into lamp's errors.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from lamp_cli.errors import LampError, NotFound, Subject, redact, translate_backend_error
from lamp_cli.services import databricks as databricks_service
from lamp_cli.settings import Settings, is_databricks_uri

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
}
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
    databricks = is_databricks_uri(tracking_uri) or is_databricks_uri(registry_uri)
    if databricks:
        databricks_service.check_client_packages()
    if settings.uses_embedded_default and announce is not None:
        legacy = settings.legacy_file_store()
        announce(
            f"using the local store {tracking_uri} in {settings.cwd} "
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


def _missing_driver(exc: ImportError, uri: str) -> LampError:
    from lamp_cli.errors import UnexpectedError

    return UnexpectedError(
        f"cannot open {redact(uri)}: missing Python package ({exc.name or exc})",
        hint="reinstall lamp-cli; the SQLite store needs sqlalchemy and alembic",
    )
