"""A server that accepts connections and never answers is a time-out, said with the time lamp
waited; a port nobody listens on is "cannot reach". Both exit 6."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

#: One attempt and one retry of 1 s each, no back-off: lamp waits 2 s in all.
WAIT = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "1",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
}

COMMANDS = {
    "read": ["experiment", "list"],
    "create": ["experiment", "create", "never-answered"],
    "read by name": ["version", "list", "p"],
}


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel completes the handshake into the
    backlog) and never reads or answers a request."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@pytest.mark.parametrize("argv", list(COMMANDS.values()), ids=list(COMMANDS))
def test_a_server_that_never_answers_is_a_time_out(lamp, silent_port, monkeypatch, argv) -> None:
    for name, value in WAIT.items():
        monkeypatch.setenv(name, value)
    url = f"http://127.0.0.1:{silent_port}"
    result = lamp("-o", "json", "--tracking-uri", url, *argv)
    assert result.exit_code == 6, result.stderr
    error = json.loads(result.stderr)["error"]
    assert error["message"].startswith(f"the tracking server at {url} timed out after 2 s")
    assert "cannot reach" not in error["message"]
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" in error["hint"]


@pytest.mark.parametrize("argv", list(COMMANDS.values()), ids=list(COMMANDS))
def test_a_refused_connection_stays_cannot_reach(lamp, closed_port, monkeypatch, argv) -> None:
    for name, value in WAIT.items():
        monkeypatch.setenv(name, value)
    url = f"http://127.0.0.1:{closed_port}"
    result = lamp("-o", "json", "--tracking-uri", url, *argv)
    assert result.exit_code == 6, result.stderr
    message = json.loads(result.stderr)["error"]["message"]
    assert message.startswith(f"cannot reach the tracking server at {url}")
    assert "timed out" not in message


@pytest.mark.server
def test_a_create_that_is_never_answered_counts_every_attempt_lamp_made(
    lamp, proxy, unique: str
) -> None:
    """lamp retries a create itself (MLflow's retries off): the time-out still counts all four
    attempts of the proxy fixture's 2 s, not the last one alone."""
    proxy.inject("hang", "POST", r"/mlflow/experiments/create$", delay=3.5, times=10)
    result = lamp("-o", "json", "experiment", "create", f"slow-{unique}")
    assert result.exit_code == 6, result.stderr
    message = json.loads(result.stderr)["error"]["message"]
    assert f"timed out after 8 s (experiment 'slow-{unique}')" in message
    assert "(4 attempts of 2 s)" in message
