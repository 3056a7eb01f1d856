"""Shell completion for bash, zsh and fish: each script is of its shell, and answering a
completion request imports neither mlflow nor boto3."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import COMPLETION_PROBE

pytestmark = pytest.mark.offline

LAMP = Path(sys.executable).parent / "lamp"

#: What only a script of that shell holds: zsh's completion-function header, fish's `complete`
#: builtin, bash's COMPREPLY array.
SCRIPT_MARKS = {
    "bash": ("COMPREPLY=", "complete -o default -F _lamp_completion lamp"),
    "zsh": ("#compdef lamp", "compdef _lamp_completion lamp"),
    "fish": ("complete --command lamp",),
}


def show(*argv: str) -> subprocess.CompletedProcess[str]:
    # A bash parent: without a shell given, Typer names the shell from the process tree.
    command = " ".join(f"'{a}'" for a in (LAMP, *argv))
    return subprocess.run(
        ["bash", "-c", f"{command}; exit $?"],
        env={**os.environ, "SHELL": "/bin/bash"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("shell", sorted(SCRIPT_MARKS))
@pytest.mark.parametrize("form", ["separate", "joined"])
def test_show_completion_prints_the_script_of_the_shell_asked_for(shell: str, form: str) -> None:
    argv = ["--show-completion", shell] if form == "separate" else [f"--show-completion={shell}"]
    done = show(*argv)
    assert done.returncode == 0, done.stderr
    for mark in SCRIPT_MARKS[shell]:
        assert mark in done.stdout, done.stdout
    others = [m for s, marks in SCRIPT_MARKS.items() if s != shell for m in marks]
    assert not any(mark in done.stdout for mark in others), done.stdout
    assert done.stderr == ""


def test_show_completion_without_a_shell_detects_it() -> None:
    done = show("--show-completion")
    assert done.returncode == 0 and "COMPREPLY=" in done.stdout


def test_an_unknown_shell_is_a_usage_error() -> None:
    done = show("--show-completion", "tcsh")
    assert done.returncode == 2
    assert "tcsh" in done.stderr and "bash, zsh, fish" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("shell", "env", "expected"),
    [
        ("zsh", {"_TYPER_COMPLETE_ARGS": "lamp version al"}, '"alias":"Set or delete'),
        (
            "fish",
            {"_TYPER_COMPLETE_ARGS": "lamp version al", "_TYPER_COMPLETE_FISH_ACTION": "get-args"},
            "alias\tSet or delete",
        ),
    ],
)
def test_zsh_and_fish_completion_answer_without_importing_mlflow(shell, env, expected) -> None:
    done = subprocess.run(
        [sys.executable, "-c", COMPLETION_PROBE],
        env={**os.environ, "_LAMP_COMPLETE": f"complete_{shell}", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert expected in done.stdout, done.stdout + done.stderr
    assert done.stderr.strip().endswith("imported:"), done.stderr
