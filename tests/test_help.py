"""Every command documents itself: help text, real examples, and option help rendered intact."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from lamp_cli.main import app


def leaf_commands() -> list[tuple[list[str], object]]:
    root = typer.main.get_command(app)
    found: list[tuple[list[str], object]] = []

    def walk(path: list[str], command) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk([*path, name], sub)
        else:
            found.append((path, command))

    walk([], root)
    return found


COMMANDS = leaf_commands()


def test_the_command_surface_is_complete() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    expected = {
        "experiment create", "experiment list", "experiment show",
        "run create", "run show", "run log-spec",
        "project create", "project show", "register", "release", "doctor",
        "version list", "version show", "version spec", "version render",
        "spec init", "spec validate", "spec schema", "spec render", "config show",
    }  # fmt: skip
    assert expected <= names


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_has_text_examples_and_intact_option_help(path, command) -> None:
    assert command.help and command.help.strip(), "no help text"
    assert "Example" in command.help, "help ends with real examples"
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    rendered = re.sub(r"\s+", " ", result.stdout)
    for param in command.params:
        text = getattr(param, "help", None) or ""
        # Rich markup would swallow bracketed text such as "[env: X]"; it must print as written.
        for env_name in re.findall(r"\b(?:LAMP|MLFLOW)_[A-Z_]+\b", text):
            assert env_name in rendered, f"{param.name}: {env_name} missing from --help"
    assert "[[" not in rendered
