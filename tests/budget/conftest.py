"""A counting proxy between lamp and the session's real `mlflow server` (tests/faults/proxy.py)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_PROXY = Path(__file__).parents[1] / "faults" / "proxy.py"
_spec = importlib.util.spec_from_file_location("lamp_counting_proxy", _PROXY)
assert _spec is not None and _spec.loader is not None
proxy_module = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = proxy_module
_spec.loader.exec_module(proxy_module)


@pytest.fixture
def counting(mlflow_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """The proxy lamp talks to; ``counting.calls`` lists every request it forwarded."""
    proxy = proxy_module.Proxy(mlflow_server).start()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", proxy.url)
    yield proxy
    proxy.stop()
