"""`lamp release` end to end against the session's real `mlflow server`: idempotent per key."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml

from lamp_cli import layout

pytestmark = pytest.mark.server

RELEASE_KEYS = {
    "run_id", "experiment_id", "experiment", "project", "model_version", "version", "image",
    "specs", "release_key", "reused", "created_run", "run_name",
}  # fmt: skip


def live_runs(release) -> list:
    return [
        r
        for r in release.runs()
        if r.info.status == "FINISHED" and layout.TAG_SUPERSEDED_BY not in r.data.tags
    ]


def test_first_release_then_reruns_return_the_same_run_and_version(release) -> None:
    first = release.json("--alias", "candidate")
    assert set(first) == RELEASE_KEYS
    assert first["reused"] is False and first["created_run"] is True
    assert first["model_version"] == 1 and first["version"]["version"] == 1
    assert first["version"]["status"] == "READY"
    assert first["version"]["aliases"] == ["candidate"]
    assert first["version"]["source"] == f"runs:/{first['run_id']}/lamp"
    assert first["experiment"] == release.experiment
    assert first["release_key"] == "v1.0.0"
    assert first["image"].endswith("/fraud-detector:1.4.0")
    tags = first["version"]["tags"]
    assert tags["lamp_release_key"] == "v1.0.0"
    assert tags["lamp_spec_model_sha256"] == first["specs"]["model"]
    # Bookkeeping of the election stays on the run.
    assert layout.TAG_SPECS.replace(".", "_") not in tags and layout.TAG_SPECS not in tags

    for _ in range(2):
        again = release.json("--alias", "candidate")
        assert again["reused"] is True and again["created_run"] is False
        assert (again["run_id"], again["model_version"]) == (first["run_id"], 1)
        assert again["specs"] == first["specs"]
    assert [r.info.run_id for r in release.runs()] == [first["run_id"]]
    assert release.versions() == [1]


def test_quiet_prints_the_version_number(release) -> None:
    result = release("--alias", "staging", env={"LAMP_OUTPUT": "quiet"})
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "1\n"


def test_other_specs_under_the_same_key_conflict_unless_new_release(release) -> None:
    first = release.json()
    changed = release("--set", "endpoint.spec.replicas=3")
    assert changed.exit_code == 5
    assert "release 'v1.0.0'" in changed.stderr and first["run_id"] in changed.stderr
    assert "endpoint spec" in changed.stderr and "--new-release" in changed.stderr
    assert changed.stdout == ""
    assert release.versions() == [1] and len(release.runs()) == 1

    second = release.json("--set", "endpoint.spec.replicas=3", "--new-release")
    assert second["model_version"] == 2 and second["run_id"] != first["run_id"]
    # Both records stay; each set of specs keeps returning its own version.
    assert release.json("--set", "endpoint.spec.replicas=3")["model_version"] == 2
    assert release.json()["model_version"] == 1
    assert release.json("--set", "endpoint.spec.replicas=3", "--new-release")["reused"] is True
    assert release.versions() == [1, 2]


def test_changed_image_names_both_images_in_the_conflict(release) -> None:
    release.json()
    result = release("--set", "model.spec.image.tag=1.4.1")
    assert result.exit_code == 5
    assert "fraud-detector:1.4.0, now " in result.stderr
    assert "fraud-detector:1.4.1" in result.stderr


def test_missing_project_is_exit_4_and_creates_nothing(release, lamp) -> None:
    release.project = release.project + "-missing"
    result = release()
    assert result.exit_code == 4
    assert f"project '{release.project}' not found" in result.stderr
    # The session's server holds projects of other tests, some of them close names.
    assert "lamp project list" in result.stderr
    assert release.client().get_experiment_by_name(release.experiment) is None


def test_failed_and_abandoned_runs_are_not_reused(release) -> None:
    client = release.client()
    exp_id = client.create_experiment(release.experiment)
    tags = {"lamp.release.key": "v1.0.0", layout.TAG_PROJECT: release.project}
    failed = client.create_run(exp_id, tags=tags).info.run_id
    client.set_terminated(failed, "FAILED")
    hour_ago = int((time.time() - 3600) * 1000)
    stale = client.create_run(exp_id, tags=tags, start_time=hour_ago).info.run_id

    result = release.json()
    assert result["run_id"] not in (failed, stale)
    assert result["created_run"] is True and result["model_version"] == 1
    assert client.get_run(failed).info.status == "FAILED"
    abandoned = client.get_run(stale)
    assert abandoned.info.status == "FAILED"
    assert layout.TAG_ABANDONED in abandoned.data.tags
    assert [r.info.run_id for r in live_runs(release)] == [result["run_id"]]


def test_rerun_of_an_older_release_leaves_a_newer_alias_alone(release) -> None:
    old = release.json("--alias", "candidate")
    new = release.json("--alias", "candidate", "--set", "model.spec.image.tag=2.0.0", key="v2")
    assert new["model_version"] == 2
    result = release("--alias", "candidate")
    assert result.exit_code == 0, result.stderr
    assert "alias @candidate stays on the newer version 2" in result.stderr
    again = release.json("--alias", "candidate")
    assert again["model_version"] == old["model_version"] == 1
    assert again["version"]["aliases"] == []


def test_without_a_release_key_it_says_how_to_give_one(release) -> None:
    result = release(key=None)
    assert result.exit_code == 2
    assert "--release-key" in result.stderr
    assert release.runs() == []


def test_in_github_actions(release, actions_env, outputs) -> None:
    result = release.json("--alias", "candidate", key=None)
    assert result["release_key"] == "v2.0.0"
    client = release.client()
    run = client.get_run(result["run_id"])
    # What MLflow's UI shows, read the way it reads it (a run search, the version search).
    (shown,) = client.search_runs(
        [result["experiment_id"]], filter_string=f"attributes.run_id = '{result['run_id']}'"
    )
    assert shown.info.run_name == f"{release.project}@v2.0.0" == result["run_name"]
    assert {k: v for k, v in shown.data.tags.items() if k.startswith("mlflow.")}.items() >= {
        "mlflow.user": "octocat",
        "mlflow.source.name": "https://github.com/acme/fraud-model",
        "mlflow.source.type": "JOB",
        "mlflow.source.git.commit": "0123456789abcdef0123456789abcdef01234567",
        "mlflow.source.git.repoURL": "https://github.com/acme/fraud-model",
    }.items()
    assert not any("request_id" in key for key in shown.data.tags)
    (listed,) = client.search_model_versions(f"name = '{release.project}'")
    assert listed.description.startswith("Release v2.0.0; commit 0123456")
    assert listed.description.endswith(
        "CI run https://github.com/acme/fraud-model/actions/runs/4242"
    )
    assert not any("request_id" in key for key in listed.tags)
    expected = {
        "lamp.git.commit": "0123456789abcdef0123456789abcdef01234567",
        "lamp.git.ref": "refs/tags/v2.0.0",
        "lamp.git.repo": "https://github.com/acme/fraud-model",
        "lamp.ci.run_url": "https://github.com/acme/fraud-model/actions/runs/4242",
        "lamp.release.key": "v2.0.0",
    }
    assert {k: run.data.tags.get(k) for k in expected} == expected
    # On the version under the keys Unity Catalog accepts.
    on_version = {k.replace(".", "_"): v for k, v in expected.items()}
    assert {k: result["version"]["tags"].get(k) for k in on_version} == on_version

    values = outputs(actions_env["output"])
    assert values == {
        "run_id": result["run_id"],
        "experiment_id": result["experiment_id"],
        "project": release.project,
        "model_version": "1",
        "image": result["image"],
        "release_key": "v2.0.0",
        "reused": "false",
    }
    # Every output of the composite action is one that lamp really writes.
    action = yaml.safe_load((Path(__file__).parents[2] / "action.yml").read_text())
    for name, output in action["outputs"].items():
        written = re.fullmatch(r"\$\{\{ steps\.release\.outputs\.(\w+) \}\}", output["value"])
        assert written and written.group(1) in values, name
    summary = actions_env["summary"].read_text()
    assert summary.startswith(f"### lamp release v2.0.0: {release.project} version 1\n")
    assert "| aliases | @candidate |" in summary

    # A re-run of the workflow (attempt 2) reuses everything and says so.
    release.json("--alias", "candidate", key=None, env={"GITHUB_RUN_ATTEMPT": "2"})
    assert outputs(actions_env["output"])["reused"] == "true"
    assert release.versions() == [1]


def test_errors_in_actions_are_annotations(release, actions_env) -> None:
    release.project = release.project + "-nope"
    result = release(key=None)
    assert result.exit_code == 4
    annotations = [ln for ln in result.stderr.splitlines() if ln.startswith("::error")]
    assert len(annotations) == 1
    assert f"project '{release.project}' not found" in annotations[0]
    assert not actions_env["output"].exists()


def test_log_spec_and_register_record_provenance(
    lamp, release, actions_env, outputs, specs
) -> None:
    lamp("experiment", "create", release.experiment)
    model, endpoint = specs
    logged = lamp.json(
        "run", "log-spec", "-e", release.experiment,
        "--model-spec", str(model), "--endpoint-spec", str(endpoint),
    )  # fmt: skip
    assert logged["tags"]["lamp.git.commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert logged["tags"]["lamp.ci.run_url"].endswith("/actions/runs/4242")
    # Only `lamp release` marks a run as the record of a release.
    assert "lamp.release.key" not in logged["tags"]

    version = lamp.json("register", logged["run_id"], release.project)
    assert version["tags"]["lamp_git_ref"] == "refs/tags/v2.0.0"
    assert outputs(actions_env["output"]) == {
        "run_id": logged["run_id"],
        "project": release.project,
        "model_version": "1",
        "image": logged["image"],
        "created": "true",
    }
    assert "### lamp register" in actions_env["summary"].read_text()


def test_register_fills_in_provenance_the_run_lacks(lamp, release, monkeypatch) -> None:
    # Released outside any checkout and outside Actions: the run records no commit.
    run = release.json(key="k1")
    assert "lamp.git.commit" not in release.client().get_run(run["run_id"]).data.tags
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_SHA", "f" * 40)
    lamp.json("project", "create", release.project + "-b")
    version = lamp.json("register", run["run_id"], release.project + "-b")
    assert version["tags"]["lamp_git_commit"] == "f" * 40
    assert version["tags"]["lamp_spec_model_sha256"] == run["specs"]["model"]


def test_human_output_is_a_table(release) -> None:
    result = release()
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["release_key", "v1.0.0"]
    assert any(line.split()[:2] == ["model_version", "1"] for line in lines)
    assert not result.stdout.lstrip().startswith("{")


def test_a_release_interrupted_before_registering_completes_on_rerun(release) -> None:
    # The first attempt logged its run, then died before `register`.
    client = release.client()
    exp_id = client.create_experiment(release.experiment)
    first = release.json(key="probe")  # the specs' hashes, from a release of another key
    tags = {
        "lamp.release.key": "v1.0.0",
        layout.TAG_PROJECT: release.project,
        layout.TAG_MODEL_SHA: first["specs"]["model"],
        layout.TAG_ENDPOINT_SHA: first["specs"]["endpoint"],
    }
    from lamp_cli.gateway import connect
    from lamp_cli.services import runs
    from lamp_cli.services.pairs import Prepared
    from lamp_cli.settings import resolve
    from lamp_cli.specs import load_pair

    gateway = connect(resolve({}, environ={"MLFLOW_TRACKING_URI": release.url}))
    orphan = client.create_run(exp_id, tags=tags).info.run_id
    runs.log_specs(gateway, Prepared(load_pair(release.model, release.endpoint)), run_id=orphan)

    result = release.json()
    assert (result["run_id"], result["reused"], result["created_run"]) == (orphan, True, False)
    assert result["model_version"] == 2 and release.versions() == [1, 2]
