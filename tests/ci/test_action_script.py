"""The release step of action.yml, run by bash as the runner runs it, with a stand-in lamp.

The stand-in prints the arguments it receives, one per line, so these tests see exactly the
command line that the composite action builds from its inputs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.offline

ROOT = Path(__file__).resolve().parents[2]
EMPTY_INPUTS = {
    "INPUT_PROJECT": "",
    "INPUT_EXPERIMENT": "",
    "INPUT_MODEL_SPEC": "",
    "INPUT_ENDPOINT_SPEC": "",
    "INPUT_IMAGE": "",
    "INPUT_VERIFY_IMAGE": "auto",
    "INPUT_ALIASES": "",
    "INPUT_SETS": "",
    "INPUT_TRACKING_URI": "",
    "INPUT_REGISTRY_URI": "",
    "INPUT_OPENAPI": "",
    "INPUT_FAIL_ON_BREAKING": "false",
    "INPUT_CHECK_MANIFESTS": "false",
    "INPUT_CHART": "",
}


def _release_step() -> dict:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    return next(step for step in action["runs"]["steps"] if step.get("id") == "release")


def test_step_env_maps_every_input() -> None:
    env = _release_step()["env"]
    assert set(env) == set(EMPTY_INPUTS)
    for name, value in env.items():
        assert value.startswith("${{ inputs.") and value.endswith(" }}"), name


def _run(tmp_path: Path, **inputs: str) -> tuple[int, list[str], str]:
    lamp = tmp_path / "lamp-venv" / "bin" / "lamp"
    lamp.parent.mkdir(parents=True, exist_ok=True)
    lamp.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    lamp.chmod(0o755)
    script = tmp_path / "release.sh"
    script.write_text(_release_step()["run"])
    env = {"PATH": "/usr/bin:/bin", "RUNNER_TEMP": str(tmp_path), **EMPTY_INPUTS, **inputs}
    # The runner's command line for `shell: bash`.
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.returncode, done.stdout.splitlines(), done.stdout + done.stderr


def test_empty_inputs_add_no_flags(tmp_path: Path) -> None:
    code, args, _ = _run(tmp_path)
    assert code == 0
    assert args == ["--output", "json", "release"]


def test_every_input_becomes_its_flag(tmp_path: Path) -> None:
    code, args, output = _run(
        tmp_path,
        INPUT_TRACKING_URI="https://mlflow.example.com",
        INPUT_REGISTRY_URI="databricks-uc",
        INPUT_PROJECT="fraud-model",
        INPUT_EXPERIMENT="/Shared/fraud model",
        INPUT_MODEL_SPEC="deploy/model.yaml",
        INPUT_ENDPOINT_SPEC="deploy/endpoint.yaml",
        INPUT_IMAGE="123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud:v1.2.0",
        INPUT_VERIFY_IMAGE="true",
        INPUT_ALIASES="candidate\n  staging  \n\n",
        INPUT_SETS="endpoint.spec.replicas=3\r\nmodel.metadata.labels.team=risk ops\n",
        INPUT_OPENAPI="build/openapi.json",
        INPUT_FAIL_ON_BREAKING="true",
        INPUT_CHECK_MANIFESTS="true",
        INPUT_CHART="deploy/chart",
    )
    assert code == 0, output
    assert args == [
        "--tracking-uri",
        "https://mlflow.example.com",
        "--registry-uri",
        "databricks-uc",
        "--output",
        "json",
        "release",
        "--project",
        "fraud-model",
        "--experiment",
        "/Shared/fraud model",
        "--model-spec",
        "deploy/model.yaml",
        "--endpoint-spec",
        "deploy/endpoint.yaml",
        "--image",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud:v1.2.0",
        "--openapi",
        "build/openapi.json",
        "--fail-on-breaking",
        "--check-manifests",
        "--chart",
        "deploy/chart",
        "--verify-image",
        "--alias",
        "candidate",
        "--alias",
        "staging",
        "--set",
        "endpoint.spec.replicas=3",
        "--set",
        "model.metadata.labels.team=risk ops",
    ]
    assert _parsed_by_the_real_lamp(args)["release"] == {
        "project": "fraud-model",
        "experiment": "/Shared/fraud model",
        "model_spec": Path("deploy/model.yaml"),
        "endpoint_spec": Path("deploy/endpoint.yaml"),
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud:v1.2.0",
        "verify_image": True,
        "alias": ["candidate", "staging"],
        "set_": ["endpoint.spec.replicas=3", "model.metadata.labels.team=risk ops"],
        "release_key": None,
        "new_release": False,
        "wait_timeout": 300.0,
        "run_name": None,
        "description": None,
        "check_manifests": True,
        "chart": Path("deploy/chart"),
        "fail_on_breaking": True,
        "app": None,
        "app_dir": None,
        "app_python": None,
        "openapi": Path("build/openapi.json"),
        "strict": False,
    }


def _parsed_by_the_real_lamp(args: list[str]) -> dict[str, dict]:
    """The parameters lamp's own parser reads from ``args`` (global options, then release).

    Unknown options, a flag given a value or an option missing its value fail here as they
    would on the runner: the action can only pass what `lamp release` really takes.
    """
    import typer

    from lamp_cli.main import app

    root = typer.main.get_command(app)
    head = args.index("release")
    context = root.make_context("lamp", args[:head])
    command = root.get_command(context, "release")
    sub = command.make_context("release", args[head + 1 :], parent=context)
    return {"root": context.params, "release": sub.params}


def test_empty_inputs_parse_as_the_defaults(tmp_path: Path) -> None:
    code, args, _ = _run(tmp_path)
    assert code == 0
    parsed = _parsed_by_the_real_lamp(args)
    assert parsed["root"]["output"].value == "json"
    assert parsed["release"]["verify_image"] is None


def test_no_verify_image(tmp_path: Path) -> None:
    code, args, _ = _run(tmp_path, INPUT_VERIFY_IMAGE="false")
    assert code == 0
    assert args[-1] == "--no-verify-image"
    assert _parsed_by_the_real_lamp(args)["release"]["verify_image"] is False


def test_bad_verify_image_value_is_an_error(tmp_path: Path) -> None:
    code, _, output = _run(tmp_path, INPUT_VERIFY_IMAGE="yes")
    assert code == 2
    assert "::error title=lamp::verify-image must be auto, true or false" in output


@pytest.mark.parametrize(
    ("variable", "name"),
    [("INPUT_FAIL_ON_BREAKING", "fail-on-breaking"), ("INPUT_CHECK_MANIFESTS", "check-manifests")],
)
def test_a_switch_takes_only_true_or_false(tmp_path: Path, variable: str, name: str) -> None:
    code, args, output = _run(tmp_path, **{variable: "yes $(touch pwned)"})
    assert code == 2 and "release" not in args  # lamp never ran
    assert f"::error title=lamp::{name} must be true or false, not 'yes $(touch pwned)'" in output
    assert not (tmp_path / "pwned").exists()
    assert not Path("pwned").exists()


def test_a_chart_without_check_manifests_is_refused_by_lamp(tmp_path: Path) -> None:
    code, args, _ = _run(tmp_path, INPUT_CHART="deploy/chart")
    assert code == 0
    assert args[-2:] == ["--chart", "deploy/chart"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMP_", "MLFLOW_"))}
    done = subprocess.run(
        [sys.executable, "-m", "lamp_cli", *args],
        cwd=tmp_path,
        env={**env, "LAMP_PROJECT_ID": "fraud-model"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--chart applies with --check-manifests" in done.stdout + done.stderr


@pytest.mark.parametrize(
    "hostile",
    ["$(touch pwned)", "`touch pwned`", '"; touch pwned; echo "', "a'b\"c $HOME"],
)
def test_hostile_values_stay_literal(tmp_path: Path, hostile: str) -> None:
    code, args, output = _run(tmp_path, INPUT_PROJECT=hostile, INPUT_ALIASES=hostile)
    assert code == 0, output
    assert args[args.index("--project") + 1] == hostile
    assert args[args.index("--alias") + 1] == hostile.strip()
    assert not (tmp_path / "pwned").exists()
    assert not Path("pwned").exists()


def _install_step() -> dict:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    return next(step for step in action["runs"]["steps"] if step.get("name") == "Install lamp")


def _install(tmp_path: Path, **env: str) -> tuple[int, str, str]:
    """Runs the install step with a stand-in Python whose venv's pip prints the requirement."""
    python = tmp_path / "python"
    python.write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2" = "-m venv" ]; then\n'
        '  mkdir -p "$3/bin"\n'
        '  printf \'#!/bin/sh\\nfor a in "$@"; do last="$a"; done\\necho "$last" >> "%s"\\n\' '
        f'"{tmp_path}/installed" > "$3/bin/python"\n'
        "  printf '#!/bin/sh\\necho lamp 0\\n' > \"$3/bin/lamp\"\n"
        '  chmod +x "$3/bin/python" "$3/bin/lamp"\n'
        "fi\n"
    )
    python.chmod(0o755)
    script = tmp_path / "install.sh"
    script.write_text(_install_step()["run"])
    base = {
        "PATH": "/usr/bin:/bin",
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_ACTION_PATH": "/action",
        "LAMP_PYTHON": str(python),
        "LAMP_VERSION": "",
        "LAMP_SOURCE": "",
        "LAMP_EXTRAS": "auto",
        "INPUT_TRACKING_URI": "",
        "INPUT_REGISTRY_URI": "",
        "INPUT_CHECK_MANIFESTS": "false",
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    installed = tmp_path / "installed"
    requirement = installed.read_text().strip() if installed.exists() else ""
    return done.returncode, requirement, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("env", "requirement"),
    [
        ({}, "/action"),
        ({"MLFLOW_TRACKING_URI": "databricks"}, "/action[databricks]"),
        ({"INPUT_TRACKING_URI": "databricks://ci"}, "/action[databricks]"),
        ({"MLFLOW_REGISTRY_URI": "databricks-uc"}, "/action[databricks]"),
        ({"MLFLOW_TRACKING_URI": "https://mlflow.example.com"}, "/action"),
        ({"MLFLOW_TRACKING_URI": "databricks", "LAMP_EXTRAS": "none"}, "/action"),
        (
            {"LAMP_EXTRAS": "databricks-azure", "LAMP_VERSION": "0.2.0"},
            "lamp-cli[databricks-azure]==0.2.0",
        ),
        (
            {"MLFLOW_TRACKING_URI": "databricks", "LAMP_VERSION": "0.2.0"},
            "lamp-cli[databricks]==0.2.0",
        ),
        (
            {"MLFLOW_TRACKING_URI": "databricks", "LAMP_SOURCE": "lamp-cli==0.2.0"},
            "lamp-cli==0.2.0",
        ),
        ({"INPUT_CHECK_MANIFESTS": "true"}, "/action[k8s]"),
        (
            {"INPUT_CHECK_MANIFESTS": "true", "MLFLOW_TRACKING_URI": "databricks"},
            "/action[databricks,k8s]",
        ),
        ({"INPUT_CHECK_MANIFESTS": "true", "LAMP_EXTRAS": "none"}, "/action"),
        ({"LAMP_EXTRAS": "databricks,k8s"}, "/action[databricks,k8s]"),
    ],
)
def test_install_takes_the_extras_the_backend_needs(tmp_path: Path, env, requirement) -> None:
    code, installed, output = _install(tmp_path, **env)
    assert code == 0, output
    assert installed == requirement


def test_install_refuses_odd_extras(tmp_path: Path) -> None:
    code, installed, output = _install(tmp_path, LAMP_EXTRAS="databricks; rm -rf /")
    assert code == 2 and installed == ""
    assert "::error" in output
