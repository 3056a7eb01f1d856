"""Fixtures for tests against the loopback Databricks workspace stand-in (standin.py).

`databricks` (session) is the stand-in; `databricks_env` (per test) points MLflow's client at it
through the environment, as CI would; the autouse `fresh_databricks_clients` clears the stores
and SDK clients MLflow caches per process, so tests with different credentials never share one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import moto_server

sys.path.insert(0, str(Path(__file__).resolve().parent))

from standin import StandinServer, Workspace

S3_REGION = "us-east-1"
BUCKET = "uc-metastore-root"
# The stand-in's own credentials for its moto bucket; MLflow's client never sees them.
_MOTO_KEYS = {"aws_access_key_id": "standin", "aws_secret_access_key": "standin-secret"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test here runs against the stand-in, which needs both of these servers.
    for item in items:
        if "databricks" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.server)
            item.add_marker(pytest.mark.moto)


@pytest.fixture(scope="session")
def databricks_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `moto_server` of its own: tests/aws resets its moto per test, dropping any bucket."""
    with moto_server(tmp_path_factory.mktemp("databricks-moto")) as url:
        yield url


class Databricks:
    """What tests see of the stand-in: addresses, identities, controls, log and client env."""

    def __init__(self, workspace: Workspace, s3_endpoint: str) -> None:
        self.workspace = workspace
        self.url = workspace.url
        self.pat = workspace.auth.pat
        self.user = workspace.auth.user
        self.client_id = workspace.auth.client_id
        self.client_secret = workspace.auth.client_secret
        self.s3_endpoint = s3_endpoint
        self.bucket = BUCKET
        self.uc = workspace.uc

    # -- log -----------------------------------------------------------------------------------

    @property
    def log(self) -> list[dict]:
        """Requests in arrival order, each a dict with method, path, query, url (the raw request
        target), status, token_sha256 (of the token presented, or None), auth_scheme, time."""
        with self.workspace.lock:
            return list(self.workspace.log)

    @property
    def counts(self) -> dict[str, int]:
        with self.workspace.lock:
            return dict(self.workspace.counts)

    def reset_log(self) -> None:
        self.workspace.reset_log()

    def requests(self, path_prefix: str = "/", method: str | None = None) -> list[dict]:
        return [
            r
            for r in self.log
            if r["path"].startswith(path_prefix) and (method is None or r["method"] == method)
        ]

    def secrets(self) -> list[str]:
        """Every credential value in play, for canaries: none may appear in a URL or output."""
        return self.workspace.secrets()

    # -- controls ------------------------------------------------------------------------------

    def enable_legacy_registry(self, enabled: bool = True) -> None:
        self.workspace.legacy_registry = enabled

    def inject(self, status: int, count: int, path_prefix: str) -> None:
        """The next `count` requests under `path_prefix` answer `status`, with Retry-After: 1.

        429 carries REQUEST_LIMIT_EXCEEDED, any other status TEMPORARILY_UNAVAILABLE."""
        self.workspace.inject(status, count, path_prefix)

    def create_catalog_schema(self, catalog: str, schema: str) -> None:
        self.uc.create_catalog_schema(catalog, schema)

    def set_uc_storage(self, mode: str) -> None:
        """Where new model versions keep their files, as the workspace tells MLflow's client:

        "s3": `aws_temp_credentials` for the version's `s3://` storage location (moto);
        "default_storage": `storage_mode=DEFAULT_STORAGE`, presigned URLs from `fs/create-*-url`;
        "sdk": `is-databricks-sdk-models-artifact-repository-enabled` true, the SDK's Files API.
        """
        assert mode in ("s3", "default_storage", "sdk"), mode
        self.uc.storage_mode = mode

    def reset(self) -> None:
        self.workspace.legacy_registry = False
        self.uc.storage_mode = "s3"
        with self.workspace.lock:
            self.workspace.faults.clear()
        self.reset_log()

    # -- client environment ----------------------------------------------------------------------

    def _base_env(self) -> dict[str, str]:
        return {
            "MLFLOW_TRACKING_URI": "databricks",
            "DATABRICKS_HOST": self.url,
            # Model versions on "s3" storage are written with the temporary credentials Unity
            # Catalog hands out, to this endpoint; no ambient AWS credentials are needed.
            "MLFLOW_S3_ENDPOINT_URL": self.s3_endpoint,
            "AWS_DEFAULT_REGION": S3_REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def pat_env(self, token: str | None = None) -> dict[str, str]:
        return {**self._base_env(), "DATABRICKS_TOKEN": token or self.pat}

    def m2m_env(self, secret: str | None = None) -> dict[str, str]:
        return {
            **self._base_env(),
            "DATABRICKS_CLIENT_ID": self.client_id,
            "DATABRICKS_CLIENT_SECRET": secret or self.client_secret,
        }

    def github_oidc_env(self, request_token: str | None = None) -> dict[str, str]:
        """GitHub Actions OIDC federation: the SDK gets an ID token, exchanges it (RFC 8693)."""
        return {
            **self._base_env(),
            "DATABRICKS_AUTH_TYPE": "github-oidc",
            "DATABRICKS_CLIENT_ID": self.client_id,
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.url}/github-actions/idtoken?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": request_token
            or self.workspace.auth.github_request_token,
        }


@pytest.fixture(scope="session")
def databricks(
    mlflow_server: str, databricks_moto: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Databricks]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=databricks_moto, region_name=S3_REGION, **_MOTO_KEYS)
    s3.create_bucket(Bucket=BUCKET)
    workspace = Workspace(tmp_path_factory.mktemp("databricks-files"), mlflow_server, s3, BUCKET)
    server = StandinServer(workspace).start()
    try:
        yield Databricks(workspace, databricks_moto)
    finally:
        server.stop()


def clear_client_caches() -> None:
    """Forget every store, SDK client and session MLflow caches per process.

    `get_workspace_client` is keyed by (host, token): for OAuth the token is None, so without
    this a test with a wrong client secret would reuse the previous test's authenticated client.
    The store registries are keyed by URI ("databricks", "databricks-uc") alone.
    """
    from mlflow.store.artifact import s3_artifact_repo
    from mlflow.tracking import fluent
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils
    from mlflow.utils import request_utils, rest_utils

    while fluent.active_run() is not None:
        fluent.end_run()
    fluent._active_experiment_id = None
    tracking_utils._tracking_uri = None
    registry_utils._registry_uri = None
    rest_utils.get_workspace_client.cache_clear()
    request_utils._cached_get_request_session.cache_clear()
    s3_artifact_repo._cached_get_s3_client.cache_clear()
    tracking_utils._get_tracking_scheme_with_resolved_uri.cache_clear()
    tracking_utils._tracking_store_registry._get_store_with_resolved_uri.cache_clear()
    if registry_utils._model_registry_store_registry is not None:  # built on first use
        registry_utils._model_registry_store_registry._get_store_with_resolved_uri.cache_clear()
    tracking_utils._artifact_repos_cache.clear()


@pytest.fixture(autouse=True)
def fresh_databricks_clients(
    databricks: Databricks, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    # A CI runner with `id-token: write` exports these; they must not pick an auth method.
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", raising=False)
    databricks.reset()
    clear_client_caches()
    yield
    clear_client_caches()
    # A canary on every test: no credential may travel in a URL, where proxies and logs keep it.
    secrets = databricks.secrets()
    leaked = [r["url"] for r in databricks.log if any(s in r["url"] for s in secrets)]
    assert not leaked, f"a credential appeared in {len(leaked)} request URL(s)"


@pytest.fixture
def databricks_env(
    databricks: Databricks, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., dict[str, str]]:
    """`databricks_env("pat" | "m2m" | "github-oidc", **overrides)` sets the client env."""

    def use(kind: str = "pat", **overrides: str) -> dict[str, str]:
        env = {
            "pat": databricks.pat_env,
            "m2m": databricks.m2m_env,
            "github-oidc": databricks.github_oidc_env,
        }[kind]()
        env.update(overrides)
        # Switching identity within a test must not leave the previous one's variables behind.
        for name in list(os.environ):
            if name.startswith(("DATABRICKS_", "ACTIONS_ID_TOKEN_")) and name not in env:
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return env

    return use
