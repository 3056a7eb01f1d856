"""GitHub Actions files and workflow commands, read back the way the runner parses them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lamp_cli.errors import NotFound, Problem, SpecInvalid
from lamp_cli.gha import (
    error_command,
    error_commands,
    in_actions,
    write_outputs,
    write_summary,
)

pytestmark = pytest.mark.offline


def parse_github_output(text: str) -> dict[str, str]:
    """The runner's reading of $GITHUB_OUTPUT (actions/runner's SetOutputFileCommand)."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq != -1 and (heredoc == -1 or eq < heredoc):
            values[line[:eq]] = line[eq + 1 :]
            continue
        assert heredoc > 0, f"malformed output line {line!r}"
        key, delimiter = line[:heredoc], line[heredoc + 2 :]
        body: list[str] = []
        while lines[i] != delimiter:
            body.append(lines[i])
            i += 1
        i += 1
        values[key] = "\n".join(body)
    return values


def test_in_actions() -> None:
    assert in_actions({"GITHUB_ACTIONS": "true"})
    assert not in_actions({"GITHUB_ACTIONS": "false"})
    assert not in_actions({})


def test_outputs_append_and_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "output"
    out.write_text("earlier=step\n")
    env = {"GITHUB_OUTPUT": str(out)}
    values = {
        "run_id": "a1b2c3",
        "model_version": "7",
        "image": "1.dkr.ecr.eu-west-1.amazonaws.com/app:v1@sha256:" + "0" * 64,
        "empty": "",
        "equals": "a=b=c",
    }
    assert write_outputs(values, env)
    assert write_outputs({"second": "call"}, env)
    assert parse_github_output(out.read_text()) == {"earlier": "step", **values, "second": "call"}


def test_multiline_value_cannot_inject_another_output(tmp_path: Path) -> None:
    out = tmp_path / "output"
    hostile = "line one\nmodel_version=999\nEOF\nlast<<x"
    write_outputs({"message": hostile, "model_version": "3"}, {"GITHUB_OUTPUT": str(out)})
    text = out.read_text()
    assert re.search(r"^message<<ghadelimiter_[0-9a-f-]{36}$", text, re.M)
    assert parse_github_output(text) == {"message": hostile, "model_version": "3"}


@pytest.mark.parametrize("key", ["", "a=b", "a\nb", "a<<b"])
def test_invalid_output_names_are_refused(tmp_path: Path, key: str) -> None:
    out = tmp_path / "output"
    with pytest.raises(ValueError, match="output name"):
        write_outputs({key: "x"}, {"GITHUB_OUTPUT": str(out)})
    assert not out.exists()


def test_outside_actions_nothing_is_written() -> None:
    assert write_outputs({"run_id": "x"}, {}) is False
    assert write_summary("lamp release", [("run_id", "x")], {}) is False
    assert list(Path.cwd().iterdir()) == []


def test_summary_is_a_markdown_table(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    rows = [("run_id", "a1b2"), ("image", "app:v1|evil"), ("note", "two\nlines")]
    assert write_summary("lamp release v1.2.0", rows, env, headers=("Field", "Value"))
    write_summary("second", [("x", "y")], env)
    text = summary.read_text()
    assert text.startswith(
        "### lamp release v1.2.0\n\n"
        "| Field | Value |\n"
        "|---|---|\n"
        "| run_id | a1b2 |\n"
        "| image | app:v1\\|evil |\n"
        "| note | two<br>lines |\n\n"
    )
    assert "### second" in text
    # Every table row has exactly two unescaped separators inside it.
    for line in text.splitlines():
        if line.startswith("|"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 3


def test_error_command_plain_and_with_properties() -> None:
    assert error_command("run not found") == "::error::run not found"
    assert (
        error_command("bad port", file="specs/model.yaml", line=12, col=5, title="lamp")
        == "::error file=specs/model.yaml,line=12,col=5,title=lamp::bad port"
    )


def test_error_command_escapes_data_and_properties() -> None:
    command = error_command("100% wrong\r\nsecond line: a, b", file="C:\\a,b:c.yaml", title="x%y")
    assert command == (
        "::error file=C%3A\\a%2Cb%3Ac.yaml,title=x%25y::100%25 wrong%0D%0Asecond line: a, b"
    )
    assert "\n" not in command


def test_error_commands_one_per_problem() -> None:
    error = SpecInvalid(
        [
            Problem(
                "must be >= 1024", file="model.yaml", line=9, column=11, field="spec.server.port"
            ),
            Problem("unknown key", file="endpoint.yaml", line=3),
        ]
    )
    assert error_commands(error) == [
        "::error file=model.yaml,line=9,col=11,title=lamp%3A invalid_spec::"
        "spec.server.port: must be >= 1024",
        "::error file=endpoint.yaml,line=3,title=lamp%3A invalid_spec::unknown key",
    ]
    assert error_commands(NotFound("run abc not found", hint="check the id")) == [
        "::error title=lamp%3A not_found::run abc not found (check the id)"
    ]
