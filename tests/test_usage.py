"""Usage errors and help as a script sees them: one JSON document under -o json, plain words for
a bad flag value, help on stdout with exit 0 when nothing was asked, exit 4 for a missing file."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import ENDPOINT_EXAMPLE, MODEL_EXAMPLE

pytestmark = pytest.mark.offline

#: Click's own usage errors, one of each kind, through the root app.
CLICK_USAGE = {
    "unknown option": ["version", "list", "p", "--bogus"],
    "unknown option of the root": ["--bogus", "config", "show"],
    "missing argument": ["run", "show"],
    "missing option value": ["spec", "validate", "--set"],
    "bad choice": ["spec", "render", "-f", "nope"],
    "bad number": ["register", "r", "p", "--wait-timeout", "abc"],
    "unknown command": ["releas"],
    "extra argument": ["config", "show", "extra"],
}


def usage_document(stderr: str) -> dict:
    """The one JSON document of a failed command's stderr: nothing before or after it."""
    document = json.loads(stderr)
    assert set(document) == {"error"}
    return document["error"]


@pytest.mark.parametrize("argv", list(CLICK_USAGE.values()), ids=list(CLICK_USAGE))
def test_click_usage_errors_are_one_json_document_under_output_json(lamp, argv) -> None:
    result = lamp("-o", "json", *argv)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    error = usage_document(result.stderr)
    assert error["type"] == "usage" and error["exit_code"] == 2
    assert error["message"] and "\n" not in error["message"]
    assert re.search(r"lamp( [a-z-]+)* --help", error["hint"]), error["hint"]


@pytest.mark.parametrize("argv", list(CLICK_USAGE.values()), ids=list(CLICK_USAGE))
def test_lamp_output_json_from_the_environment_covers_usage_errors_too(lamp, argv) -> None:
    result = lamp(*argv, env={"LAMP_OUTPUT": "json"})
    assert result.exit_code == 2
    assert usage_document(result.stderr)["type"] == "usage"


def test_output_json_after_the_sub_command_covers_its_usage_error(lamp) -> None:
    result = lamp("version", "list", "p", "--bogus", "-o", "json")
    assert result.exit_code == 2
    error = usage_document(result.stderr)
    assert error["message"] == "No such option: --bogus"
    assert error["hint"] == "see `lamp version list --help`"


def test_the_human_form_of_a_usage_error_is_clicks(lamp) -> None:
    result = lamp("version", "list", "p", "--bogus")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Usage: lamp version list [OPTIONS] [LAMP_PROJECT_ID]",
        "Try 'lamp version list -h' for help.",
        "",
        "Error: No such option: --bogus",
    ]


def test_a_usage_error_in_actions_is_one_json_document_and_an_annotation(lamp) -> None:
    result = lamp("-o", "json", "run", "show", env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert json.loads(lines[0])["error"]["type"] == "usage"
    assert len(lines) == 2 and lines[1].startswith("::error ")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["register", "r", "p", "--wait-timeout", "abc"], "must be a number (got 'abc')"),
        (["register", "r", "p", "--wait-timeout", "-5"], "must be at least 0 (got '-5')"),
        (["version", "list", "p", "--max", "0"], "must be at least 1 (got '0')"),
        (["version", "list", "p", "--max", "x"], "must be an integer (got 'x')"),
        (["-o", "xml", "config", "show"], "must be one of human, json, quiet (got 'xml')"),
        (
            ["spec", "render", "-f", "nope"],
            "must be one of values, application, both, manifests, all (got 'nope')",
        ),
        (
            ["version", "spec", "p", "1", "--kind", "x"],
            "must be one of model, endpoint, openapi (got 'x')",
        ),
    ],
)
def test_flag_errors_are_in_plain_words(lamp, argv, expected) -> None:
    result = lamp(*argv)
    assert result.exit_code == 2
    assert expected in result.stderr, result.stderr
    for pydantic_words in ("Input should", "Value error", "unable to parse"):
        assert pydantic_words not in result.stderr
    as_json = usage_document(lamp("-o", "json", *argv).stderr)
    assert expected in as_json["message"]


@pytest.mark.parametrize("argv", [[], ["version"], ["spec"], ["version", "alias"], ["config"]])
def test_a_group_without_a_sub_command_prints_its_help_and_exits_0(lamp, argv) -> None:
    result = lamp(*argv)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"Usage: lamp {' '.join(argv)}".rstrip() + " [OPTIONS]")
    assert "Commands:" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("which", ["model", "endpoint"])
def test_a_missing_spec_file_is_exit_4(lamp, which) -> None:
    model = "nope.yaml" if which == "model" else str(MODEL_EXAMPLE)
    endpoint = "nope.yaml" if which == "endpoint" else str(ENDPOINT_EXAMPLE)
    for argv in (
        ["spec", "validate", model, endpoint],
        ["spec", "render", "--model-spec", model, "--endpoint-spec", endpoint],
    ):
        result = lamp("-o", "json", *argv)
        assert result.exit_code == 4, result.stderr
        error = usage_document(result.stderr)
        assert error["type"] == "not_found"
        assert error["problems"][0]["file"] == "nope.yaml"
        assert error["problems"][0]["message"] == "no such file"


def test_an_unreadable_or_invalid_spec_file_stays_exit_3(lamp, isolated_env) -> None:
    (isolated_env / "broken.yaml").write_text("kind: [", encoding="utf-8")
    (isolated_env / "folder.yaml").mkdir()
    for name in ("broken.yaml", "folder.yaml"):
        result = lamp("spec", "validate", name)
        assert result.exit_code == 3, result.stderr
    # A missing file among invalid ones: what is not there is the first thing to fix.
    mixed = lamp("spec", "validate", "broken.yaml", "nope.yaml")
    assert mixed.exit_code == 4
    assert "broken.yaml" in mixed.stderr and "nope.yaml: no such file" in mixed.stderr


def test_a_bad_lamp_output_is_a_usage_error_in_plain_words(lamp) -> None:
    result = lamp("config", "show", env={"LAMP_OUTPUT": "xml"})
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "LAMP_OUTPUT must be one of human, json, quiet (got 'xml')" in result.stderr
    # The flag wins over the variable, as everywhere.
    assert lamp("-o", "json", "config", "show", env={"LAMP_OUTPUT": "xml"}).exit_code == 0
