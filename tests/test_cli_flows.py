"""The CLI as people use it: compare and promote versions, one project and spec-file setting,
output that reads well, and the rough edges a new user hit (each bug has a test here)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import ENDPOINT_EXAMPLE, MODEL_EXAMPLE


def _ok(result):
    assert result.exit_code == 0, result.stdout + result.stderr
    return json.loads(result.stdout) if result.stdout.strip().startswith(("{", "[")) else None


@pytest.fixture
def two_versions(lamp, server_env, specs, unique):
    """A project with version 1 (the example pair) and version 2 (tag 1.5.0, 3 replicas)."""
    model, endpoint = specs
    exp, project = f"flows-{unique}", f"flows-{unique}"
    _ok(lamp("experiment", "create", exp))
    base = ["-o", "json", "run", "log-spec", "-e", exp, "--model-spec", str(model)]
    base += ["--endpoint-spec", str(endpoint)]
    first = _ok(lamp(*base))
    second = _ok(
        lamp(*base, "--set", "model.spec.image.tag=1.5.0", "--set", "endpoint.spec.replicas=3")
    )
    _ok(lamp("project", "create", project))
    _ok(lamp("-o", "json", "register", first["run_id"], project, "--alias", "production"))
    _ok(lamp("-o", "json", "register", second["run_id"], project))
    return project, first, second


@pytest.mark.server
def test_diff_shows_only_what_changed(lamp, two_versions) -> None:
    project, _, _ = two_versions
    data = _ok(lamp("-o", "json", "version", "diff", project, "@production", "2"))
    assert data["old"]["version"] == 1 and data["new"]["version"] == 2
    assert data["image_changed"] is True
    assert data["new"]["image"].endswith(":1.5.0") and data["old"]["image"].endswith(":1.4.0")
    changed = {(c["spec"], c["path"]): (c["old"], c["new"]) for c in data["changes"]}
    assert changed == {
        ("model", "spec.image.tag"): ("1.4.0", "1.5.0"),
        ("endpoint", "spec.replicas"): (2, 3),
    }
    same = _ok(lamp("-o", "json", "version", "diff", project, "1", "1"))
    assert same["changes"] == [] and same["image_changed"] is False
    human = lamp("version", "diff", project, "1", "2")
    assert "spec.replicas" in human.stdout and "spec.chart" not in human.stdout


@pytest.mark.server
def test_alias_compare_and_set_and_delete(lamp, two_versions) -> None:
    project, _, _ = two_versions
    moved = _ok(lamp("-o", "json", "version", "alias", "set", project, "production", "2",
                     "--expect-current", "1"))  # fmt: skip
    assert moved == {"project": project, "alias": "production", "version": 2,
                     "previous_version": 1}  # fmt: skip
    stale = lamp("version", "alias", "set", project, "production", "1", "--expect-current", "1")
    assert stale.exit_code == 5 and "nothing changed" in stale.stderr
    assert _ok(lamp("-o", "json", "version", "show", project, "@production"))["version"] == 2
    # Rolling back deliberately is allowed; a new alias may demand that it is unset.
    _ok(lamp("version", "alias", "set", project, "production", "1", "--expect-current", "2"))
    _ok(lamp("version", "alias", "set", project, "canary", "2", "--expect-current", "none"))
    taken = lamp("version", "alias", "set", project, "canary", "1", "--expect-current", "none")
    assert taken.exit_code == 5
    deleted = _ok(lamp("-o", "json", "version", "alias", "delete", project, "canary"))
    assert deleted["previous_version"] == 2
    assert lamp("version", "show", project, "@canary").exit_code == 4
    assert lamp("version", "alias", "delete", project, "canary").exit_code == 4
    missing = lamp("version", "alias", "set", project, "canary", "9")
    assert missing.exit_code == 4


@pytest.mark.server
def test_list_max_and_the_project_from_the_environment(lamp, two_versions, monkeypatch) -> None:
    project, first, _ = two_versions
    assert [v["version"] for v in _ok(lamp("-o", "json", "version", "list", project))] == [2, 1]
    newest = _ok(lamp("-o", "json", "version", "list", project, "--max", "1"))
    assert [v["version"] for v in newest] == [2]
    monkeypatch.setenv("LAMP_PROJECT_ID", project)
    assert _ok(lamp("-o", "json", "version", "show", "1"))["run_id"] == first["run_id"]
    assert _ok(lamp("-o", "json", "version", "show", project, "1"))["run_id"] == first["run_id"]
    assert _ok(lamp("-o", "json", "version", "list"))[0]["version"] == 2
    assert _ok(lamp("-o", "json", "project", "show"))["project"] == project
    spec = lamp("version", "spec", "@production", "--kind", "model")
    assert spec.exit_code == 0 and "kind: ServingModelSpec" in spec.stdout


def test_a_missing_project_says_which_setting_to_give(lamp) -> None:
    result = lamp("version", "show", "3")
    assert result.exit_code == 2
    assert "LAMP_PROJECT_ID" in result.stderr and "[tool.lamp]" in result.stderr


@pytest.mark.server
def test_registering_again_reports_the_aliases_it_has(lamp, two_versions) -> None:
    project, first, _ = two_versions
    again = _ok(lamp("-o", "json", "register", first["run_id"], project))
    assert again["created"] is False and again["aliases"] == ["production"]


@pytest.mark.server
def test_the_workflow_from_a_subdirectory_of_the_app(
    lamp, server_env, unique, isolated_env, monkeypatch
):
    """[tool.lamp] of the app's pyproject.toml applies anywhere below it, paths relative to it."""
    app = isolated_env / "app"
    (app / "deploy").mkdir(parents=True)
    shutil.copy(MODEL_EXAMPLE, app / "deploy" / "model.yaml")
    shutil.copy(ENDPOINT_EXAMPLE, app / "deploy" / "endpoint.yaml")
    (app / "pyproject.toml").write_text(
        "[tool.lamp]\n"
        f'experiment = "sub-{unique}"\nproject = "sub-{unique}"\n'
        'model-spec = "deploy/model.yaml"\nendpoint-spec = "deploy/endpoint.yaml"\n'
    )
    deep = app / "src" / "service"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    _ok(lamp("experiment", "create", f"sub-{unique}"))
    run = _ok(lamp("-o", "json", "run", "log-spec"))
    _ok(lamp("project", "create"))
    version = _ok(lamp("-o", "json", "register", run["run_id"], "--alias", "staging"))
    assert version["project"] == f"sub-{unique}" and version["aliases"] == ["staging"]
    assert _ok(lamp("-o", "json", "version", "list"))[0]["version"] == 1
    assert lamp("spec", "validate").exit_code == 0


def test_default_spec_files_are_one_rule_for_doctor_and_release(lamp, isolated_env) -> None:
    """Both find specs/serving-*.yaml of the project; an invalid one fails both the same way."""
    specs_dir = isolated_env / "specs"
    specs_dir.mkdir()
    shutil.copy(MODEL_EXAMPLE, specs_dir / "serving-model-spec.yaml")
    bad = ENDPOINT_EXAMPLE.read_text().replace("replicas: 2", "replicas: many")
    (specs_dir / "serving-endpoint-spec.yaml").write_text(bad)
    doctor = lamp("-o", "json", "doctor", "--no-verify-image")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert checks["specs"]["status"] == "failed" and checks["specs"]["exit_code"] == 3
    assert doctor.exit_code == 3
    release = lamp("release", "--project", "p", "--release-key", "k", "--no-verify-image")
    assert release.exit_code == 3 and "spec.replicas" in release.stderr
    validate = lamp("spec", "validate")
    assert validate.exit_code == 3


def test_doctor_trusts_a_pinned_digest_like_release(lamp, isolated_env, monkeypatch) -> None:
    """No AWS credentials are needed when the image's digest is pinned and not verified."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(isolated_env / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(isolated_env / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    specs_dir = isolated_env / "specs"
    specs_dir.mkdir()
    # An account of someone's registry: the example's placeholder fails doctor, pinned or not.
    pinned = (
        MODEL_EXAMPLE.read_text()
        .replace("123456789012.dkr.ecr", "493275106824.dkr.ecr")
        .replace("    tag: 1.4.0\n", "    tag: 1.4.0\n    digest: sha256:" + "a" * 64 + "\n")
    )
    assert "digest: sha256:" in pinned
    (specs_dir / "serving-model-spec.yaml").write_text(pinned)
    shutil.copy(ENDPOINT_EXAMPLE, specs_dir / "serving-endpoint-spec.yaml")
    result = lamp("-o", "json", "doctor")
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["image"]["status"] == "ok", checks["image"]
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("run_id", ["", " ", "a b", "../etc", "x" * 300])
def test_malformed_run_ids_are_refused_before_any_request(lamp, closed_port, run_id) -> None:
    # A closed port: any request would end in exit 6, not 3.
    url = f"http://127.0.0.1:{closed_port}"
    for argv in (["run", "show", run_id], ["register", run_id, "p"]):
        result = lamp("--tracking-uri", url, *argv)
        assert result.exit_code == 3, (argv, result.stderr)
        assert "invalid run id" in result.stderr


def test_json_failure_is_one_document_and_the_store_notice_comes_once(lamp, isolated_env) -> None:
    first = lamp("-o", "json", "experiment", "show", "nothing")
    assert first.exit_code == 4
    assert json.loads(first.stderr)["error"]["type"] == "not_found"  # nothing else on stderr
    human = lamp("experiment", "create", "exp")
    assert human.exit_code == 0 and "creating the local store" in human.stderr
    assert "local store" not in lamp("experiment", "show", "exp").stderr
    fresh = isolated_env / "fresh"
    fresh.mkdir()
    import os

    os.chdir(fresh)
    # A read-only command never creates a store: it says where none is and what creates one.
    missing = lamp("experiment", "list")
    assert missing.exit_code == 4 and not (fresh / "mlflow.db").exists()
    assert f"no MLflow store at {fresh.resolve() / 'mlflow.db'}" in missing.stderr
    assert "lamp experiment create" in missing.stderr
    created = lamp("experiment", "create", "exp")
    assert "creating the local store" in created.stderr
    assert "local store" not in lamp("experiment", "list").stderr


@pytest.mark.parametrize(
    ("uri", "code", "hint"),
    [
        ("foo://bar", 3, "sqlite:///PATH"),
        ("postgresql://u:secret@127.0.0.1:1/db", 2, "pip install psycopg2-binary"),
    ],
)
def test_unknown_schemes_and_missing_drivers_name_the_fix(lamp, uri, code, hint) -> None:
    result = lamp("--tracking-uri", uri, "experiment", "list")
    assert result.exit_code == code, result.stderr
    assert hint in result.stderr
    assert "secret" not in result.stderr and "reinstall" not in result.stderr


@pytest.mark.server
def test_tables_keep_ids_and_images_whole_at_80_columns(lamp, two_versions) -> None:
    project, first, second = two_versions
    result = lamp("version", "list", project, env={"COLUMNS": "80"})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    # Still a table: the ids alone are wider than 80 columns, so the rows are too, each whole.
    assert lines[0].split() == ["VERSION", "STATUS", "ALIASES", "RUN", "IMAGE", "CREATED"]
    for version in (first, second):
        row = next(line for line in lines if version["run_id"] in line)
        assert version["image"] in row
    wide = lamp("version", "list", project, env={"COLUMNS": "250"})
    assert wide.stdout.splitlines()[0].split() == [
        "VERSION", "STATUS", "ALIASES", "RUN", "IMAGE", "CREATED",
    ]  # fmt: skip


def test_a_failed_release_in_actions_writes_a_step_summary(lamp, isolated_env, monkeypatch) -> None:
    summary = isolated_env / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = lamp("release", "--project", "p", "--release-key", "k")
    assert result.exit_code == 2  # no spec files anywhere
    text = summary.read_text()
    assert "lamp release failed" in text and "exit 2" in text
    assert "no spec files" in text or "missing" in text


def test_relative_paths_still_resolve_from_the_working_directory(lamp, isolated_env) -> None:
    """Flags and environment paths are the user's, relative to where lamp runs."""
    (isolated_env / "pyproject.toml").write_text('[tool.lamp]\nproject = "p"\n')
    sub = isolated_env / "deploy"
    sub.mkdir()
    shutil.copy(MODEL_EXAMPLE, sub / "m.yaml")
    shutil.copy(ENDPOINT_EXAMPLE, sub / "e.yaml")
    import os

    os.chdir(sub)
    result = lamp("spec", "validate", "m.yaml", "e.yaml")
    assert result.exit_code == 0, result.stderr
    assert Path("m.yaml").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["version", "alias", "set", "p", "champion\n", "1"], "invalid alias"),
        (["version", "alias", "set", "p", "Champion", "1"], "aliases are lower-case"),
        (["version", "alias", "set", "p", "V2", "1"], "invalid alias"),
        (["register", "0123abcd\n", "p"], "invalid run id"),
        (["run", "show", "abc\n"], "invalid run id"),
        (["experiment", "create", "   "], "experiment name must not be empty"),
        (["project", "create", "proj\n"], "invalid project id"),
    ],
)
def test_names_are_checked_whole_before_any_request(lamp, closed_port, argv, message) -> None:
    """The same exit 3 on every MLflow version: 3.18 matches ids and aliases whole and refuses a
    blank experiment name itself, earlier versions let both through. A closed port: any request
    would end in exit 6."""
    result = lamp("--tracking-uri", f"http://127.0.0.1:{closed_port}", *argv)
    assert result.exit_code == 3, result.stderr
    assert message in result.stderr
