"""Real `lamp` processes racing against one `mlflow server`: one result per run and per release.

Each racer is the installed console script in its own process, started together; every test is
bounded by a timeout so that a hung racer fails the test instead of hanging CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.server

LAMP = str(Path(sys.executable).parent / "lamp")
TIMEOUT_S = 90


def race(commands: list[list[str]], cwd: Path, url: str) -> list[subprocess.CompletedProcess]:
    """Start every command at once and wait for all of them."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": url}
    procs = [
        subprocess.Popen(
            [LAMP, *cmd], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for cmd in commands
    ]
    done = []
    try:
        for proc, cmd in zip(procs, commands, strict=True):
            out, err = proc.communicate(timeout=TIMEOUT_S)
            result = subprocess.CompletedProcess(cmd, proc.returncode, out.decode(), err.decode())
            done.append(result)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for result in done:
        assert result.returncode == 0, result.stderr
    return done


@pytest.fixture
def project(lamp, server_env: str, unique: str) -> str:
    assert lamp("project", "create", f"race-{unique}").exit_code == 0
    assert lamp("experiment", "create", f"race-{unique}").exit_code == 0
    return f"race-{unique}"


def logged_run(lamp, specs, experiment: str, replicas: int = 2) -> str:
    model, endpoint = specs
    data = lamp.json(
        "run", "log-spec", "-e", experiment, "--model-spec", str(model),
        "--endpoint-spec", str(endpoint), "--set", f"endpoint.spec.replicas={replicas}",
    )  # fmt: skip
    return data["run_id"]


def versions(lamp, project: str) -> list[dict]:
    return lamp.json("version", "list", project)


def test_racing_registrations_of_one_run_make_one_version(
    lamp, specs, project, server_env, isolated_env
) -> None:
    run_id = logged_run(lamp, specs, project)
    results = race([["-o", "quiet", "register", run_id, project]] * 4, isolated_env, server_env)
    assert {r.stdout for r in results} == {"1\n"}
    listed = versions(lamp, project)
    assert [(v["version"], v["run_id"]) for v in listed] == [(1, run_id)]


def test_racing_registrations_of_distinct_runs_all_succeed(
    lamp, specs, project, server_env, isolated_env
) -> None:
    run_ids = [logged_run(lamp, specs, project, replicas=n) for n in range(1, 5)]
    results = race(
        [["-o", "json", "register", run_id, project] for run_id in run_ids],
        isolated_env,
        server_env,
    )
    reported = {json.loads(r.stdout)["run_id"]: json.loads(r.stdout)["version"] for r in results}
    assert set(reported) == set(run_ids)
    assert sorted(reported.values()) == [1, 2, 3, 4]
    listed = {v["run_id"]: v["version"] for v in versions(lamp, project)}
    assert listed == reported


def test_racing_releases_of_one_key_make_one_run_and_one_version(
    lamp, specs, project, server_env, isolated_env
) -> None:
    model, endpoint = specs
    command = [
        "-o", "json", "release", "--project", project, "--experiment", project,
        "--model-spec", str(model), "--endpoint-spec", str(endpoint),
        "--release-key", "v3.0.0", "--no-verify-image", "--alias", "candidate",
    ]  # fmt: skip
    results = [json.loads(r.stdout) for r in race([command] * 3, isolated_env, server_env)]
    assert len({(r["run_id"], r["model_version"]) for r in results}) == 1
    winner = results[0]["run_id"]
    assert sum(r["created_run"] for r in results) == 1

    from mlflow.tracking import MlflowClient

    client = MlflowClient(server_env)
    found = client.search_runs(
        [results[0]["experiment_id"]], filter_string="tags.`lamp.release.key` = 'v3.0.0'"
    )
    live = [
        r
        for r in found
        if r.info.status == "FINISHED" and "lamp.release.superseded_by" not in r.data.tags
    ]
    assert [r.info.run_id for r in live] == [winner]
    for loser in (r for r in found if r.info.run_id != winner):
        assert loser.info.status == "KILLED"
        assert loser.data.tags["lamp.release.superseded_by"] == winner
    listed = versions(lamp, project)
    assert [(v["version"], v["run_id"], v["aliases"]) for v in listed] == [
        (1, winner, ["candidate"])
    ]


def test_racing_alias_writes_all_succeed(lamp, specs, project, server_env, isolated_env) -> None:
    """The server's store refuses the second of two simultaneous inserts of one alias; every
    racer must still end with the alias on its version and exit 0."""
    import threading

    from lamp_cli.gateway import connect
    from lamp_cli.services import registry, versions
    from lamp_cli.settings import resolve

    run_id = logged_run(lamp, specs, project)
    version = lamp.json("register", run_id, project)["version"]
    backend = connect(resolve({}, cwd=isolated_env))
    record = versions.get_version(backend, project, str(version))
    errors: list[BaseException] = []

    def set_alias(alias: str, start: threading.Barrier) -> None:
        try:
            start.wait(timeout=TIMEOUT_S)
            registry._set_aliases(backend, record, [alias], keep_newer=False)
        except BaseException as exc:
            errors.append(exc)

    racers, trials = 8, 10
    for trial in range(trials):
        start = threading.Barrier(racers)
        threads = [
            threading.Thread(target=set_alias, args=(f"a{trial}", start)) for _ in range(racers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=TIMEOUT_S)
    assert errors == []
    assert lamp.json("version", "show", project, f"@a{trials - 1}")["version"] == version
