"""A fault-injecting proxy between lamp and the session's real `mlflow server`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import proxy_module

Proxy = proxy_module.Proxy

#: A short timeout, so that an answer held past it costs the test seconds, not minutes; three
#: retries, so that a burst of 500, 503 and 429 is still survived; no back-off.
FAST_HTTP = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "2",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
}


@pytest.fixture
def proxy(mlflow_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """lamp talks to the server through the proxy, with FAST_HTTP's retries and timeout."""
    started = Proxy(mlflow_server).start()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", started.url)
    for name, value in FAST_HTTP.items():
        monkeypatch.setenv(name, value)
    yield started
    started.stop()
