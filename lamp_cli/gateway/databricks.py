"""Databricks-hosted MLflow: what a workspace needs from the client beyond the REST API.

A Databricks workspace authenticates through the Databricks SDK (tokens, profiles, OAuth M2M,
GitHub Actions OIDC), rate-limits with 429 and ``Retry-After``, names experiments by workspace
path, and registers models in Unity Catalog, whose client code needs numpy and pandas. This
module holds those rules; ``gateway.client.connect`` applies them when a URI is a Databricks one.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any

from lamp_cli.errors import InvalidInput, UsageError
from lamp_cli.settings import env_number

#: What the Unity Catalog client path imports (MLflow's signature and schema code).
REQUIRED_PACKAGES = ("numpy", "pandas")
INSTALL_LINE = "pip install 'lamp-cli[databricks]'"

#: Sized for a remote, rate-limited service instead of a loopback server: each request may take
#: 30 s; failed calls are retried 4 times with exponential backoff (2, 4, 8 s and jitter) and the
#: SDK's own retries of 429/503 honour ``Retry-After``, within 60 s per call in all. Any of these
#: set in the environment wins.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "4",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_DATABRICKS_ENDPOINT_HTTP_RETRY_TIMEOUT": "60",
}

_WORKSPACE_ROOTS = ("/Users/", "/Shared/", "/Repos/", "/Workspace/")
#: Names of the SDK environment that select a different authenticated configuration.
_AUTH_ENV_PREFIXES = ("DATABRICKS_", "ARM_", "GOOGLE_", "ACTIONS_ID_TOKEN_")


def profile_of(uri: str | None) -> str | None:
    """The ``~/.databrickscfg`` profile a ``databricks://PROFILE`` URI names, if any."""
    if not uri or "://" not in uri or uri.split("://", 1)[0] not in ("databricks", "databricks-uc"):
        return None
    profile = uri.split("://", 1)[1].strip("/")
    # databricks://scope:prefix names secret-scope credentials, not a profile.
    return profile if profile and ":" not in profile else None


def check_client_packages() -> None:
    """Exit 2 with the install line when the Databricks extra is not installed."""
    missing = [name for name in REQUIRED_PACKAGES if not _importable(name)]
    if missing:
        raise UsageError(
            f"Databricks needs the Python packages {', '.join(missing)}, "
            "which the core lamp install leaves out",
            hint=f"install the Databricks extra: {INSTALL_LINE}",
        )


def _importable(name: str) -> bool:
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def check_experiment_name(name: str) -> str:
    """A Databricks experiment name is an absolute workspace path; a bare name is refused."""
    if name.isdigit() or name.startswith(_WORKSPACE_ROOTS):
        return name
    home = "/Users/<you>"
    leaf = name.strip("/").rsplit("/", 1)[-1] or "NAME"
    raise InvalidInput(
        f"invalid experiment name '{name}': on Databricks an experiment is a workspace path",
        hint=f"use {home}/{leaf} or /Shared/{leaf}",
    )


def default_experiment(project: str) -> str:
    """The experiment ``lamp release`` uses when none is configured: ``/Shared`` always exists."""
    return f"/Shared/{project.rsplit('.', 1)[-1]}"


def share_one_configuration() -> None:
    """Resolve the SDK's authenticated configuration once per process, not once per call.

    MLflow builds a fresh Databricks SDK client for every REST call to learn the host's
    credentials; each one fetches the host metadata (``/.well-known/databricks-config``) and,
    under OAuth, the OIDC discovery document again. The results depend only on the URI and the
    authentication environment, so they are remembered for the life of this (one-command)
    process. Idempotent.
    """
    import databricks.sdk.config as sdk_config
    import mlflow.utils.databricks_utils as databricks_utils

    original = databricks_utils.get_databricks_host_creds
    if getattr(original, "__lamp_shared__", False):
        return
    shared = _remember_per_environment(original)
    # Every module that imported the function by name holds its own reference.
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "") or ""
        if name.startswith("mlflow") and getattr(module, "get_databricks_host_creds", None) is (
            original
        ):
            module.get_databricks_host_creds = shared  # type: ignore[attr-defined]
    for attr in ("get_host_metadata", "get_endpoints_from_url"):
        fetch = getattr(sdk_config, attr, None)
        if fetch is not None and not getattr(fetch, "__lamp_shared__", False):
            setattr(sdk_config, attr, _remember_per_url(fetch))


def _auth_environment() -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_AUTH_ENV_PREFIXES)))


def _remember_per_environment(fn: Callable[..., Any]) -> Callable[..., Any]:
    cache: dict[Any, Any] = {}

    @functools.wraps(fn)
    def wrapper(server_uri: str | None = None) -> Any:
        key = (server_uri, _auth_environment())
        if key not in cache:
            cache[key] = fn(server_uri)
        return cache[key]

    wrapper.__lamp_shared__ = True  # type: ignore[attr-defined]
    return wrapper


def _remember_per_url(fn: Callable[..., Any]) -> Callable[..., Any]:
    cache: dict[str, Any] = {}
    failed: dict[str, BaseException] = {}

    @functools.wraps(fn)
    def wrapper(url: str, *args: Any, **kwargs: Any) -> Any:
        if url in failed:
            # A host that did not answer once is not probed again by this process.
            raise failed[url]
        if url not in cache:
            # The SDK's default budget for these probes is 5 minutes against a dead host; lamp's
            # is the one of every other Databricks call.
            kwargs["client"] = _bounded_client()
            try:
                cache[url] = fn(url, *args, **kwargs)
            except Exception as exc:
                failed[url] = exc
                raise
        return cache[url]

    wrapper.__lamp_shared__ = True  # type: ignore[attr-defined]
    return wrapper


def _bounded_client() -> Any:
    from databricks.sdk._base_client import _BaseClient

    return _BaseClient(
        retry_timeout_seconds=int(env_number("MLFLOW_DATABRICKS_ENDPOINT_HTTP_RETRY_TIMEOUT", 60)),
        http_timeout_seconds=int(env_number("MLFLOW_HTTP_REQUEST_TIMEOUT", 30)),
    )
