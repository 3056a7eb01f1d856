"""`lamp experiment create` without a name creates the experiment the settings name, the one
`run log-spec` and `release` then use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.mark.parametrize("source", ["pyproject", "env"])
def test_experiment_create_without_a_name_uses_the_setting(lamp, isolated_env: Path, source):
    env = {}
    if source == "pyproject":
        (isolated_env / "pyproject.toml").write_text('[tool.lamp]\nexperiment = "from-settings"\n')
    else:
        env["LAMP_EXPERIMENT"] = "from-settings"
    result = lamp("-o", "json", "experiment", "create", env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "from-settings"
    shown = lamp("-o", "json", "experiment", "show", "from-settings", env=env)
    assert shown.exit_code == 0, shown.stderr
    # Given again, the setting is the same experiment: --exist-ok finds it.
    again = lamp("-o", "json", "experiment", "create", "--exist-ok", env=env)
    assert again.exit_code == 0 and json.loads(again.stdout)["created"] is False


def test_a_name_given_wins_over_the_setting(lamp, isolated_env: Path) -> None:
    result = lamp("-o", "json", "experiment", "create", "given", env={"LAMP_EXPERIMENT": "other"})
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "given"


def test_without_a_name_or_a_setting_it_is_a_usage_error(lamp, isolated_env: Path) -> None:
    result = lamp("experiment", "create")
    assert result.exit_code == 2
    assert "LAMP_EXPERIMENT" in result.stderr and "[tool.lamp]" in result.stderr
    assert not (isolated_env / "mlflow.db").exists()
