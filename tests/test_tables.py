"""Human output as a reader sees it: tables keep their columns at 80 and 120 columns and in
pipes (ids, digests and images whole, free text wrapped inside its column), booleans read
yes/no, and `-o quiet config show` prints the tracking URI."""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import ENDPOINT_EXAMPLE, MODEL_EXAMPLE

DIGEST = "sha256:" + "ab12" * 16
PROJECT = "tables-prj"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A local store with one registered version whose image is pinned by digest."""
    from lamp_cli.main import app

    base = tmp_path_factory.mktemp("tables")
    uri = f"sqlite:///{base / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("MLFLOW_", "LAMP_", "GITHUB_", "DATABRICKS_")):
                patch.delenv(name)
        patch.chdir(base)
        patch.setenv("MLFLOW_TRACKING_URI", uri)

        def lamp(*args: str) -> dict:
            result = CliRunner().invoke(app, ["-o", "json", *args], catch_exceptions=False)
            assert result.exit_code == 0, result.stderr
            return json.loads(result.stdout)

        lamp("project", "create", PROJECT)
        lamp("experiment", "create", "tables")
        run = lamp(
            "run", "log-spec", "-e", "tables", "--model-spec", str(MODEL_EXAMPLE),
            "--endpoint-spec", str(ENDPOINT_EXAMPLE), "--set", f"model.spec.image.digest={DIGEST}",
        )  # fmt: skip
        version = lamp("register", run["run_id"], PROJECT, "--alias", "staging")
    yield {"uri": uri, "run_id": run["run_id"], "image": version["tags"]["lamp_image"]}


def columns_of(header: str, names: list[str]) -> list[int]:
    """Where each column starts, from the header line (the names in their order)."""
    starts = [header.index(name) for name in names]
    assert starts == sorted(starts) and starts[0] == 0, header
    return starts


def assert_table(text: str, names: list[str], width: int, *, ids: list[str]) -> list[int]:
    """``text`` is one table: a header with every column, each later line's cells starting at
    the columns' starts, no ``key: value`` folding, every id in ``ids`` whole on one line, and
    lines within ``width`` unless no column could be narrower without cutting a word."""
    lines = text.splitlines()
    starts = columns_of(lines[0], names)
    for line in lines[1:]:
        assert not re.match(r"^[a-z_]+: ", line), f"folded: {line!r}"
        cells = [m.start() for m in re.finditer(r"(?<!\S)\S", line)]
        # A cell starts at a column's start; a word inside a cell follows a single space.
        for pos in cells:
            assert pos in starts or line[pos - 2] != " ", f"misaligned at {pos}: {line!r}"
    for value in ids:
        assert any(value in line for line in lines), f"{value} cut or missing"
    if max(len(line) for line in lines) > width:
        # Wider than asked: then every column but the last is as narrow as its longest word.
        for i, (start, end) in enumerate(itertools.pairwise(starts)):
            words = [w for line in lines for w in line[start:end].split()]
            assert max(map(len, words)) == end - start - 2, f"column {names[i]} could wrap"
    return starts


@pytest.mark.parametrize("width", [80, 120])
def test_version_list_stays_a_table(lamp, store, width) -> None:
    env = {"COLUMNS": str(width)}
    result = lamp("--tracking-uri", store["uri"], "version", "list", PROJECT, env=env)
    assert result.exit_code == 0, result.stderr
    names = ["VERSION", "STATUS", "ALIASES", "RUN", "IMAGE", "CREATED"]
    ids = [store["run_id"], store["image"]]
    assert_table(result.stdout, names, width, ids=ids)
    row = result.stdout.splitlines()[1]
    assert row.startswith("1 ") and store["run_id"] in row and store["image"] in row
    assert "staging" in row


@pytest.mark.parametrize("width", [80, 120])
def test_doctor_stays_a_table_with_its_details_wrapped_in_their_column(lamp, store, width):
    env = {"COLUMNS": str(width), "LAMP_PROJECT_ID": PROJECT}
    result = lamp("--tracking-uri", store["uri"], "doctor", "--no-verify-image", env=env)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    starts = assert_table(result.stdout, ["CHECK", "STATUS", "DETAIL"], width, ids=[])
    checks = [line.split()[0] for line in lines[1:] if not line.startswith(" ")]
    names = [
        "settings", "specs", "tracking", "registry", "experiment", "project", "image", "manifests",
    ]  # fmt: skip
    assert checks == names
    for line in lines[1:]:
        if line.startswith(" "):  # a detail's next line: under DETAIL, never under CHECK
            assert line[: starts[2]].strip() == "", line
        else:
            assert line[starts[1] :].split()[0] in ("OK", "SKIPPED", "FAILED"), line


@pytest.mark.parametrize("width", [80, 120])
def test_config_show_stays_a_table(lamp, store, width) -> None:
    env = {"COLUMNS": str(width)}
    result = lamp("--tracking-uri", store["uri"], "config", "show", env=env)
    assert result.exit_code == 0
    assert_table(result.stdout, ["SETTING", "VALUE", "SOURCE"], width, ids=[store["uri"]])
    first = result.stdout.splitlines()[1].split()
    assert first[:3] == ["tracking-uri", store["uri"], "flag"]


def test_long_free_text_wraps_inside_its_column(isolated_env: Path) -> None:
    from rich.console import Console

    from lamp_cli.output import list_table

    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1.2.0@" + DIGEST
    detail = "a long explanation " * 8
    console = Console(width=80, record=True, soft_wrap=True)
    console.print(list_table(["NAME", "IMAGE", "DETAIL"], [("app", image, detail.strip())]))
    lines = console.export_text().splitlines()
    starts = columns_of(lines[0], ["NAME", "IMAGE", "DETAIL"])
    assert image in lines[1]
    assert len(lines) > 3  # the detail wrapped to several lines, in its column
    assert all(line[: starts[2]].strip() == "" for line in lines[2:])
    assert " ".join(" ".join(line[starts[2] :].split()) for line in lines[1:]) == detail.strip()


def test_booleans_read_yes_and_no_and_stay_booleans_in_json(lamp, store) -> None:
    at = ("--tracking-uri", store["uri"], "version", "alias")
    deleted = lamp(*at, "delete", PROJECT, "staging")
    assert deleted.exit_code == 0, deleted.stderr
    assert re.search(r"^deleted\s+yes$", deleted.stdout, re.MULTILINE), deleted.stdout
    assert "True" not in deleted.stdout
    assert lamp(*at, "set", PROJECT, "staging", "1").exit_code == 0
    again = lamp("-o", "json", *at, "delete", PROJECT, "staging")
    assert json.loads(again.stdout)["deleted"] is True

    from rich.console import Console

    from lamp_cli.output import key_value_table

    console = Console(width=80, record=True)
    console.print(key_value_table([("reused", False), ("created", True)]))
    assert console.export_text().split() == ["reused", "no", "created", "yes"]


def test_quiet_config_show_prints_the_tracking_uri(lamp, store) -> None:
    shown = lamp("-o", "quiet", "--tracking-uri", store["uri"], "config", "show")
    assert shown.exit_code == 0
    assert shown.stdout == store["uri"] + "\n"
    uri = "https://user:s3cret@mlflow.example.com"
    secret = lamp("-o", "quiet", "config", "show", env={"MLFLOW_TRACKING_URI": uri})
    assert secret.stdout == "https://***@mlflow.example.com\n"
