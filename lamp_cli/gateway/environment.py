"""The process environment MLflow reads, set before it is imported: lamp's defaults for its HTTP
client, its prints and log lines kept off lamp's output, and the errors of a store that cannot be
opened.

Every default here yields to a value the user set.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from lamp_cli.errors import LampError, UsageError
from lamp_cli.secrets import redact
from lamp_cli.settings import Settings, is_databricks_uri

#: Worst case against a server that accepts connections but never answers: 3 attempts x 4 s +
#: ~2.5 s backoff, well under 20 s (MLflow's own defaults wait about 4 minutes).
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.3",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "4",
}

QUIET_DEFAULTS = {
    # MLflow's client prints a run's URL on stdout when the run ends, and reads the run again to
    # build it (all versions up to 3.18 at least): stdout is lamp's data, and the read is a REST
    # call for nothing.
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    # MLflow's telemetry (on by default since 3.2, off under CI and test runners) runs a thread
    # that edits os.environ while requests read it (a rare KeyError on
    # '_MLFLOW_TELEMETRY_SESSION_ID'); a CLI should not phone home either. Users opt back in with
    # MLFLOW_DISABLE_TELEMETRY=false.
    "MLFLOW_DISABLE_TELEMETRY": "true",
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


def debugging() -> bool:
    return os.environ.get("LAMP_DEBUG", "") not in ("", "0", "false")


def prepare(settings: Settings) -> None:
    """Set lamp's defaults for MLflow's environment variables before mlflow is imported: those
    of a remote, rate-limited Databricks workspace, or of an MLflow server."""
    from lamp_cli.gateway import databricks

    http_defaults = databricks.HTTP_DEFAULTS if uses_databricks(settings) else HTTP_DEFAULTS
    for name, value in {**http_defaults, **QUIET_DEFAULTS}.items():
        os.environ.setdefault(name, value)
    if not debugging():
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
        quiet_loggers()


def quiet_loggers() -> None:
    """Keep MLflow's and its libraries' log lines (migrations, retries) out of lamp's output.

    MLflow sets its own logger's level when it is imported, so this runs again after that.
    """
    if debugging():
        return
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def kept(*names: str) -> Iterator[None]:
    """Restore the variables ``names`` to what they were when the block ends.

    ``mlflow.set_tracking_uri`` and ``set_registry_uri`` export ``MLFLOW_*_URI`` to the
    environment (every supported version), which would then read as the user's own setting.
    """
    before = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    """Run the block in ``path``.

    MLflow's SQLite store resolves its default artifact root, ``./mlruns``, against the working
    directory when the store is opened (every supported version). lamp opens the embedded store
    in the app's root, so the artifacts land beside ``mlflow.db``, where ``mlflow ui`` started
    there finds them, from whatever directory of the app lamp runs.
    """
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def sqlite_path(uri: str, settings: Settings) -> Path | None:
    """The database file of a ``sqlite:///`` URI, made absolute against the settings' root."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    path = Path(uri[len(prefix) :].split("?", 1)[0])
    return path if path.is_absolute() else settings.cwd / path


def absolute_sqlite_uri(uri: str, settings: Settings) -> str:
    """``sqlite:///mlflow.db`` made absolute against the root lamp resolved.

    MLflow caches stores by URI; a relative SQLite path would follow the process's current
    directory instead of the one the settings were resolved in.
    """
    path = sqlite_path(uri, settings)
    if path is None or uri.startswith("sqlite:////"):
        return uri
    query = uri.split("?", 1)[1] if "?" in uri else None
    return f"sqlite:///{path}" + (f"?{query}" if query else "")


def uses_databricks(settings: Settings) -> bool:
    return is_databricks_uri(settings.tracking_uri) or is_databricks_uri(
        settings.effective_registry_uri
    )


_DRIVER_HINTS = {
    "psycopg": "pip install psycopg2-binary",
    "psycopg2": "pip install psycopg2-binary",
    "MySQLdb": "pip install mysqlclient, or pip install pymysql with a mysql+pymysql:// URI",
    "pymysql": "pip install pymysql",
    "pyodbc": "pip install pyodbc",
}


def missing_driver(exc: ImportError, uri: str) -> LampError:
    """What an ImportError while opening a store means, in words that say what to install."""
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
