"""The election between racing releases of one key, with the interleavings forced by hand.

Real parallel processes (tests/concurrency) cannot choose who is first; here each order that
matters is set up against the session's real `mlflow server`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from lamp_cli.errors import Conflict
from lamp_cli.services import experiments, projects, runs
from lamp_cli.services import release as service
from lamp_cli.services.client import Backend, connect
from lamp_cli.settings import resolve
from lamp_cli.specs import load_pair

pytestmark = pytest.mark.server
KEY = "v9.9.9"


@pytest.fixture
def backend(server_env: str, isolated_env: Path) -> Backend:
    return connect(resolve({}, environ={"MLFLOW_TRACKING_URI": server_env}, cwd=isolated_env))


@pytest.fixture
def setup(backend: Backend, specs, unique: str):
    project = f"elect-{unique}"
    projects.create_project(backend, project)
    exp, _ = experiments.create(backend, f"elect-{unique}")
    pair = load_pair(*specs)
    return project, exp, pair, f"{pair.model.sha256}:{pair.endpoint.sha256}"


def _running(backend: Backend, exp, project: str, specs: str) -> str:
    """A racer's run right after creation: tagged, nothing logged yet."""
    tags = {"lamp.release.key": KEY, service.TAG_PROJECT: project, service.TAG_SPECS: specs}
    return backend.client.create_run(exp.experiment_id, tags=tags).info.run_id


def _elect(backend: Backend, exp, project: str, mine: str, specs: str, pair, new=False) -> str:
    notes: list[str] = []
    return service._elect(
        backend, exp.experiment_id, project, KEY, mine, specs, new, pair, notes.append
    )


def test_a_later_racer_waits_for_an_earlier_one_and_steps_back(backend, setup) -> None:
    project, exp, pair, specs = setup
    first = _running(backend, exp, project, specs)
    time.sleep(0.01)
    second = service._create_run(backend, exp, project, KEY, pair, specs, None)
    finisher = threading.Timer(1.0, lambda: runs.log_specs(backend, pair, run_id=first))
    finisher.start()
    started = time.monotonic()
    try:
        assert _elect(backend, exp, project, second, specs, pair) == first
    finally:
        finisher.join()
    assert time.monotonic() - started >= 0.9  # it did wait for the earlier run
    assert _elect(backend, exp, project, first, specs, pair) == first
    loser = backend.client.get_run(second)
    assert loser.info.status == "KILLED"
    assert loser.data.tags[service.TAG_SUPERSEDED_BY] == first


def test_an_earlier_racer_that_never_finishes_is_abandoned(backend, setup, monkeypatch) -> None:
    project, exp, pair, specs = setup
    monkeypatch.setattr(service, "PEER_WAIT_S", 0.5)
    dead = _running(backend, exp, project, specs)
    time.sleep(0.01)
    mine = service._create_run(backend, exp, project, KEY, pair, specs, None)
    assert _elect(backend, exp, project, mine, specs, pair) == mine
    abandoned = backend.client.get_run(dead)
    assert abandoned.info.status == "FAILED"
    assert service.TAG_ABANDONED in abandoned.data.tags


def test_a_racer_with_other_specs_conflicts_unless_new_release(backend, setup, specs) -> None:
    project, exp, pair, sha = setup
    winner = service._create_run(backend, exp, project, KEY, pair, sha, None)
    other = load_pair(*specs, overrides=["endpoint.spec.replicas=4"])
    other_sha = f"{other.model.sha256}:{other.endpoint.sha256}"
    late = service._create_run(backend, exp, project, KEY, other, other_sha, None)
    with pytest.raises(Conflict, match=winner):
        _elect(backend, exp, project, late, other_sha, other)
    assert backend.client.get_run(late).info.status == "FAILED"

    allowed = service._create_run(backend, exp, project, KEY, other, other_sha, None)
    assert _elect(backend, exp, project, allowed, other_sha, other, new=True) == allowed
    assert _elect(backend, exp, project, winner, sha, pair) == winner
