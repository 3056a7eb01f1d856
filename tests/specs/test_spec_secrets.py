"""No credential of the environment ever reaches a spec that lamp logs: ``${VAR}`` refuses
credential variables, and the value of every secret variable is looked for in the specs, however
it got there. The value itself never appears in lamp's output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lamp_cli.secrets import carried_secrets, is_credential_variable, scrub
from lamp_cli.specs.interpolate import interpolate

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "specs" / "examples"
TOKEN = "dapi0123456789abcdef0123456789abcdef"  # the shape of a Databricks token


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An app with the example specs and [tool.lamp], and a Databricks token in the environment."""
    (tmp_path / "specs").mkdir()
    for name in ("serving-model-spec.yaml", "serving-endpoint-spec.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path / "specs" / name)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "fraud"\n\n[tool.lamp]\nexperiment = "fraud"\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    return tmp_path


def add_env(app: Path, name: str, value: str) -> None:
    path = app / "specs" / "serving-model-spec.yaml"
    text = path.read_text(encoding="utf-8")
    entry = f"    - name: {name}\n      value: {json.dumps(value)}\n"
    path.write_text(text.replace("  env:\n", "  env:\n" + entry, 1), encoding="utf-8")


def assert_refused_without_the_value(result, *names: str) -> None:
    assert result.exit_code == 3, result.stderr
    for name in names:
        assert name in result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "reference",
    [
        "${DATABRICKS_TOKEN}",
        "${DATABRICKS_TOKEN:-none}",
        "${DATABRICKS_HOST}",
        "${AWS_SECRET_ACCESS_KEY}",
        "${AWS_REGION}",
        "${MLFLOW_TRACKING_PASSWORD}",
        "${GITHUB_TOKEN}",
        "${ACTIONS_ID_TOKEN_REQUEST_URL}",
        "${FEATURE_STORE_API_KEY}",
    ],
)
def test_a_credential_variable_is_never_interpolated(app: Path, lamp, reference: str) -> None:
    add_env(app, "FEATURE_URL", f"https://feature-store/api?key={reference}")
    result = lamp("spec", "validate")
    name = reference[2:].split(":-")[0].rstrip("}")
    assert_refused_without_the_value(result, name, "serving-model-spec.yaml", "credential")
    assert "spec.env[0].value" in result.stderr


def test_the_refusal_points_at_the_file_line_and_field(app: Path, lamp) -> None:
    add_env(app, "FEATURE_URL", "https://feature-store/api?key=${DATABRICKS_TOKEN}")
    result = lamp("-o", "json", "spec", "validate")
    (problem,) = json.loads(result.stderr)["error"]["problems"]
    assert problem["file"].endswith("serving-model-spec.yaml")
    assert problem["field"] == "spec.env[0].value"
    lines = (app / "specs" / "serving-model-spec.yaml").read_text().splitlines()
    assert "${DATABRICKS_TOKEN}" in lines[problem["line"] - 1]


def test_ordinary_variables_still_expand(app: Path, lamp, monkeypatch) -> None:
    monkeypatch.setenv("FEATURE_HOST", "features.internal")
    add_env(app, "FEATURE_URL", "https://${FEATURE_HOST}/api")
    result = lamp("spec", "render", "-f", "values")
    assert result.exit_code == 0, result.stderr
    assert "https://features.internal/api" in result.stdout


def test_interpolate_allow_lets_a_project_use_a_name_caught_by_mistake(
    app: Path, lamp, monkeypatch
) -> None:
    monkeypatch.setenv("TOKENIZER_URL", "https://tokenizer.internal")
    add_env(app, "SPLITTER_URL", "${TOKENIZER_URL}")
    refused = lamp("spec", "validate")
    assert refused.exit_code == 3 and "TOKENIZER_URL" in refused.stderr
    pyproject = app / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + 'interpolate-allow = ["TOKENIZER_URL"]\n', encoding="utf-8"
    )
    allowed = lamp("spec", "render", "-f", "values")
    assert allowed.exit_code == 0, allowed.stderr
    assert "https://tokenizer.internal" in allowed.stdout
    shown = lamp("-o", "json", "config", "show")
    row = next(r for r in json.loads(shown.stdout) if r["name"] == "interpolate-allow")
    assert row == {"name": "interpolate-allow", "value": "TOKENIZER_URL", "source": "pyproject"}


def test_a_secret_value_pasted_through_set_is_refused(app: Path, lamp) -> None:
    override = f"model.spec.env[0].value=https://feature-store/api?key={TOKEN}"
    result = lamp("spec", "validate", "--set", override)
    assert_refused_without_the_value(result, "DATABRICKS_TOKEN", "--set")


def test_a_secret_value_pasted_into_the_file_is_refused(app: Path, lamp) -> None:
    add_env(app, "FEATURE_URL", f"https://feature-store/api?key={TOKEN}")
    result = lamp("spec", "render")
    assert_refused_without_the_value(result, "DATABRICKS_TOKEN", "spec.env[0].value")


def test_a_value_that_fails_validation_is_scrubbed_from_the_message(app: Path, lamp) -> None:
    # An image tag may hold 128 characters: the pattern check quotes the value back.
    result = lamp("spec", "validate", "--set", f"model.spec.image.tag={TOKEN}!")
    assert result.exit_code == 3
    assert TOKEN not in result.stdout + result.stderr
    assert "***" in result.stderr


def test_log_spec_refuses_before_anything_is_written(app: Path, lamp) -> None:
    assert lamp("experiment", "create", "fraud").exit_code == 0
    add_env(app, "FEATURE_URL", "https://feature-store/api?key=${DATABRICKS_TOKEN}")
    result = lamp("run", "log-spec")
    assert_refused_without_the_value(result, "DATABRICKS_TOKEN")
    runs = lamp("-o", "json", "run", "list")
    assert runs.exit_code == 0, runs.stderr
    assert json.loads(runs.stdout) == []
    stored = [p for p in app.rglob("*") if p.is_file() and p.suffix != ".yaml"]
    assert all(TOKEN.encode() not in p.read_bytes() for p in stored)


def test_short_values_are_not_looked_for() -> None:
    env = {"MY_TOKEN": "abc", "DATABRICKS_TOKEN": TOKEN, "AWS_REGION": "eu-west-1"}
    assert carried_secrets(f"x abc eu-west-1 {TOKEN}", env) == ["DATABRICKS_TOKEN"]
    assert carried_secrets("nothing here", env) == []
    assert carried_secrets(TOKEN, env, allow=["DATABRICKS_TOKEN"]) == []


def test_what_counts_as_a_credential_variable() -> None:
    for name in ("DATABRICKS_HOST", "AWS_PROFILE", "MLFLOW_TRACKING_TOKEN", "GITHUB_TOKEN",
                 "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ARM_CLIENT_SECRET", "DB_PASSWORD",
                 "STRIPE_API_KEY", "MLFLOW_TRACKING_CLIENT_CERT_PATH"):  # fmt: skip
        assert is_credential_variable(name), name
    for name in ("APP_VERSION", "LOG_LEVEL", "MLFLOW_TRACKING_URI", "PORT", "HOME"):
        assert not is_credential_variable(name), name
    text, errors = interpolate("${DATABRICKS_TOKEN}", {"DATABRICKS_TOKEN": TOKEN})
    assert text == "${DATABRICKS_TOKEN}" and TOKEN not in " ".join(errors)
    text, errors = interpolate("${GH_TOKEN}", {"GH_TOKEN": "t"}, allow=["GH_TOKEN"])
    assert (text, errors) == ("t", [])


def test_scrub_masks_every_secret_of_the_environment() -> None:
    env = {"DATABRICKS_TOKEN": TOKEN, "SHOP_API_KEY": "k-123456", "AWS_REGION": "eu-west-1"}
    text = f"https://u:p@host/x?token=abc {TOKEN} k-123456 eu-west-1"
    assert scrub(text, env) == "https://***@host/x?token=*** *** *** eu-west-1"
