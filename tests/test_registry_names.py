"""Registry resolution, Unity Catalog names and tag keys: decided locally, before any request."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lamp_cli.errors import InvalidInput, UsageError
from lamp_cli.services import names
from lamp_cli.settings import resolve


def settings(tmp_path: Path, **env: str):
    return resolve(environ=env, cwd=tmp_path)


@pytest.mark.parametrize(
    ("tracking", "registry", "uri", "kind"),
    [
        ("databricks", None, "databricks-uc", "unity-catalog"),
        ("databricks://ci", None, "databricks-uc://ci", "unity-catalog"),
        ("databricks", "databricks", "databricks", "workspace"),
        ("databricks://ci", "databricks://ci", "databricks://ci", "workspace"),
        ("http://127.0.0.1:5000", None, "http://127.0.0.1:5000", "mlflow"),
        ("sqlite:///mlflow.db", None, "sqlite:///mlflow.db", "mlflow"),
        ("http://127.0.0.1:5000", "databricks-uc", "databricks-uc", "unity-catalog"),
    ],
)
def test_registry_follows_mlflow_defaults(tmp_path, tracking, registry, uri, kind) -> None:
    env = {"MLFLOW_TRACKING_URI": tracking}
    if registry:
        env["MLFLOW_REGISTRY_URI"] = registry
    resolved = settings(tmp_path, **env)
    assert resolved.effective_registry_uri == uri
    assert resolved.registry_kind == kind


def test_bare_project_ids_take_catalog_and_schema(tmp_path) -> None:
    uc = settings(
        tmp_path, MLFLOW_TRACKING_URI="databricks", LAMP_UC_CATALOG="ML", LAMP_UC_SCHEMA="Serving"
    )
    assert names.project_name("Fraud-Detector", uc) == "ml.serving.fraud-detector"
    assert names.project_name("Main.Default.X", uc) == "main.default.x"


def test_bare_project_id_without_catalog_is_a_usage_error(tmp_path) -> None:
    uc = settings(tmp_path, MLFLOW_TRACKING_URI="databricks", LAMP_UC_SCHEMA="serving")
    with pytest.raises(UsageError) as err:
        names.project_name("fraud", uc)
    assert err.value.exit_code == 2
    assert "LAMP_UC_CATALOG" in (err.value.hint or "")
    assert "LAMP_UC_SCHEMA" not in (err.value.hint or "")


@pytest.mark.parametrize("bad", ["a.b", "a.b.c.d", "main.default.has space", "main..x", "a/b"])
def test_malformed_uc_names_are_refused(tmp_path, bad: str) -> None:
    uc = settings(
        tmp_path, MLFLOW_TRACKING_URI="databricks", LAMP_UC_CATALOG="c", LAMP_UC_SCHEMA="s"
    )
    with pytest.raises(InvalidInput):
        names.project_name(bad, uc)


def test_other_registries_keep_the_project_id(tmp_path) -> None:
    oss = settings(tmp_path, MLFLOW_TRACKING_URI="http://127.0.0.1:5000")
    assert names.project_name("Fraud-Detector", oss) == "Fraud-Detector"
    with pytest.raises(InvalidInput):
        names.project_name("bad/name", oss)


def test_tag_keys_unity_catalog_refuses(tmp_path) -> None:
    uc = settings(tmp_path, MLFLOW_TRACKING_URI="databricks")
    oss = settings(tmp_path, MLFLOW_TRACKING_URI="http://127.0.0.1:5000")
    names.check_tag_keys({"team_name": "fraud"}, uc, "version")
    names.check_tag_keys({"team.name": "fraud"}, oss, "version")
    for key in ("team.name", "a-b", "a/b", "a=b", "a:b", "a,b"):
        with pytest.raises(InvalidInput) as err:
            names.check_tag_keys({key: "x"}, uc, "version")
        assert repr(key) in err.value.message


def test_version_tags_use_one_scheme_and_read_the_old_one() -> None:
    from lamp_cli import layout

    tags = layout.version_tags({"lamp.spec.model.sha256": "a", "lamp.git.commit": "c", "own": "x"})
    assert tags == {"lamp_spec_model_sha256": "a", "lamp_git_commit": "c", "own": "x"}
    assert layout.read_version_tag(tags, "lamp.git.commit") == "c"
    assert layout.read_version_tag({"lamp.image": "old"}, "lamp.image") == "old"
    assert layout.read_version_tag({}, "lamp.image") is None


def test_aliases_are_refused_on_the_workspace_registry(tmp_path) -> None:
    workspace = settings(
        tmp_path, MLFLOW_TRACKING_URI="databricks", MLFLOW_REGISTRY_URI="databricks"
    )
    with pytest.raises(UsageError) as err:
        names.check_aliases_supported(workspace, ["candidate"])
    assert "Unity Catalog" in err.value.message + (err.value.hint or "")
    names.check_aliases_supported(workspace, [])
    names.check_aliases_supported(settings(tmp_path, MLFLOW_TRACKING_URI="databricks"), ["c"])


def test_config_show_names_the_registry_and_why(lamp, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "databricks")
    monkeypatch.setenv("LAMP_UC_CATALOG", "ml")
    rows = {r["name"]: r for r in lamp.json("config", "show")}
    assert rows["registry-uri"]["value"] == "databricks-uc"
    assert "Unity Catalog" in rows["registry-uri"]["source"]
    assert rows["uc-catalog"] == {
        "name": "uc-catalog",
        "value": "ml",
        "source": "env:LAMP_UC_CATALOG",
    }
    flagged = {r["name"]: r for r in lamp.json("--uc-schema", "serving", "config", "show")}
    assert flagged["uc-schema"]["value"] == "serving" and flagged["uc-schema"]["source"] == "flag"


def test_project_on_uc_without_catalog_exits_2_before_any_request(lamp, monkeypatch) -> None:
    # The host is a closed port: reaching it would be exit 6, not 2.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "databricks")
    monkeypatch.setenv("DATABRICKS_HOST", "http://127.0.0.1:9")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-canary")
    result = lamp("project", "create", "fraud-prj")
    assert result.exit_code == 2, result.stderr
    assert "LAMP_UC_CATALOG" in result.stderr and "Traceback" not in result.stderr


def test_bare_experiment_name_on_databricks_exits_3(lamp, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "databricks")
    monkeypatch.setenv("DATABRICKS_HOST", "http://127.0.0.1:9")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-canary")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_DATABRICKS_ENDPOINT_HTTP_RETRY_TIMEOUT", "2")
    result = lamp("-o", "json", "experiment", "create", "fraud-detector")
    assert result.exit_code == 3, result.stderr
    error = json.loads(result.stderr)["error"]
    assert "/Shared/fraud-detector" in error["hint"] and "/Users/" in error["hint"]
    assert "dapi-canary" not in result.stderr


def test_without_the_extra_a_databricks_command_exits_2(tmp_path) -> None:
    # numpy made unimportable, as on an install without lamp-cli[databricks].
    code = (
        "import sys; sys.modules['numpy'] = None; sys.argv = ['lamp', 'experiment', 'list'];"
        "from lamp_cli.main import run; run()"
    )
    env = {"PATH": "/usr/bin:/bin", "MLFLOW_TRACKING_URI": "databricks", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "pip install 'lamp-cli[databricks]'" in done.stderr
    assert "numpy" in done.stderr and "Traceback" not in done.stderr
