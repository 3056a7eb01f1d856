"""Every command documents itself: help text, real examples, and option help rendered intact."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from lamp_cli.commands import COMMANDS as COMMAND_SUMMARIES
from lamp_cli.main import app, load_command

pytestmark = pytest.mark.offline


def leaf_commands() -> list[tuple[list[str], object]]:
    root = typer.main.get_command(app)
    found: list[tuple[list[str], object]] = []

    def walk(path: list[str], command) -> None:
        if hasattr(command, "list_commands"):
            ctx = command.make_context(command.name, [], resilient_parsing=True)
            for name in command.list_commands(ctx):
                walk([*path, name], command.get_command(ctx, name))
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
        "spec init", "spec validate", "spec openapi", "spec schema", "spec render",
        "config show",
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


def _help(path: list[str], columns: int = 80) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.stdout


ALL_PATHS = [p for p, _ in COMMANDS] + [[], ["version"], ["version", "alias"], ["spec"]]


@pytest.mark.parametrize("path", ALL_PATHS, ids=[" ".join(p) or "lamp" for p in ALL_PATHS])
def test_help_reads_well_at_80_columns(path) -> None:
    text = _help(path)
    long_lines = [line for line in text.splitlines() if len(line) > 80]
    assert long_lines == []
    # Human placeholders: TEXT, PATH, INTEGER, choices; none of the type-name kind.
    assert re.findall(r"<(?:str|bool|int|float|path|Path|list\[[^>]*\])[^>]*>", text) == []


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_option_has_help_and_names_each_variable_once(path, command) -> None:
    ctx = typer.main.get_command(app).make_context("lamp", [], resilient_parsing=True)
    for param in command.params:
        if param.name == "help":
            continue
        assert (getattr(param, "help", None) or "").strip(), f"{param.name} has no help"
        record = param.get_help_record(ctx)
        if record is None:
            continue
        for env_name in set(re.findall(r"\b(?:LAMP|MLFLOW)_[A-Z_]+\b", record[1])):
            assert record[1].count(env_name) == 1, f"{param.name}: {env_name} shown twice"


@pytest.mark.parametrize(
    "argv",
    [
        ["config", "show", "-o", "json", "--tracking-uri", "http://127.0.0.1:1"],
        ["config", "show", "--output=json", "--tracking-uri=http://127.0.0.1:1"],
        ["-o", "json", "config", "show", "--tracking-uri", "http://127.0.0.1:1"],
        ["config", "show", "-ojson", "--tracking-uri", "http://127.0.0.1:1"],
    ],
)
def test_global_options_work_after_the_sub_command(argv) -> None:
    import json

    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["tracking-uri"] == {
        "name": "tracking-uri",
        "value": "http://127.0.0.1:1",
        "source": "flag",
    }


def test_hoisting_stops_at_the_end_of_options() -> None:
    from lamp_cli.main import hoist_global_options

    assert hoist_global_options(["run", "show", "x", "-o", "json"]) == [
        "-o", "json", "run", "show", "x",
    ]  # fmt: skip
    assert hoist_global_options(["spec", "validate", "--", "-o", "json"]) == [
        "spec", "validate", "--", "-o", "json",
    ]  # fmt: skip


def test_shell_completion_answers_without_importing_mlflow(tmp_path) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import COMPLETION_PROBE

    env = {
        **os.environ,
        "_LAMP_COMPLETE": "complete_bash",
        "COMP_WORDS": "lamp version al",
        "COMP_CWORD": "2",
    }
    done = subprocess.run(
        [sys.executable, "-c", COMPLETION_PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.split() == ["alias"], done.stdout + done.stderr
    assert done.stderr.strip().endswith("imported:"), done.stderr
    # Typer names the shell from the process tree: a bash parent (`; exit` keeps bash from
    # exec-ing lamp), whatever runs the tests.
    lamp = Path(sys.executable).parent / "lamp"
    shown = subprocess.run(
        ["bash", "-c", f"'{lamp}' --show-completion; exit $?"],
        env={**os.environ, "SHELL": "/bin/bash"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0 and "_LAMP_COMPLETE" in shown.stdout


@pytest.mark.parametrize("name", list(COMMAND_SUMMARIES))
def test_the_root_help_summary_is_the_first_line_of_the_commands_help(name: str) -> None:
    """`lamp --help` lists the summaries without loading the commands; each must still say
    what the command's own help page says first."""
    command = load_command(name)
    first_paragraph = " ".join(command.help.split("\n\n")[0].split())
    assert COMMAND_SUMMARIES[name] == first_paragraph
    listed = " ".join(CliRunner().invoke(app, ["--help"]).stdout.split())
    assert f" {name} {COMMAND_SUMMARIES[name]}" in listed


def test_a_mistyped_command_is_a_usage_error_with_the_nearest_names() -> None:
    result = CliRunner().invoke(app, ["releas"])
    assert result.exit_code == 2
    assert "No such command 'releas'. Did you mean 'release'?" in result.output
    unknown = CliRunner().invoke(app, ["zzz"])
    assert unknown.exit_code == 2 and "Did you mean" not in unknown.output


def test_completion_after_an_unknown_word_is_quiet() -> None:
    """Completion parses resiliently: an unknown command is no usage error there."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {
        **os.environ,
        "_LAMP_COMPLETE": "complete_bash",
        "COMP_WORDS": "lamp xyz ",
        "COMP_CWORD": "2",
    }
    lamp = Path(sys.executable).parent / "lamp"
    done = subprocess.run([str(lamp)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Error" not in done.stderr and "Traceback" not in done.stderr
