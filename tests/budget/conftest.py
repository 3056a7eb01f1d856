"""A counting proxy between lamp and the session's real `mlflow server` (tests/faults/proxy.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import proxy_module


@pytest.fixture
def counting(mlflow_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """The proxy lamp talks to; ``counting.calls`` lists every request it forwarded."""
    proxy = proxy_module.Proxy(mlflow_server).start()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", proxy.url)
    yield proxy
    proxy.stop()
