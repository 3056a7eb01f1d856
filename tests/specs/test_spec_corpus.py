"""Every file under invalid/ must fail `lamp spec validate` with exit 3, naming its field.

Each file starts with `# expect-field:` and `# expect-message:` lines; `# with: endpoint-example`
validates it together with the example endpoint spec, for the rules across the pair.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.offline

HERE = Path(__file__).resolve().parent
CORPUS = sorted((HERE / "invalid").glob("*.yaml"))
ENDPOINT_EXAMPLE = HERE.parents[1] / "specs" / "examples" / "serving-endpoint-spec.yaml"


def _header(path: Path) -> dict[str, str]:
    header = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# "):
            break
        key, _, value = line[2:].partition(": ")
        header[key] = value
    return header


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_invalid_document(path: Path, lamp) -> None:
    header = _header(path)
    args = [path, ENDPOINT_EXAMPLE] if header.get("with") == "endpoint-example" else [path]
    result = lamp("-o", "json", "spec", "validate", *args)
    assert result.exit_code == 3, result.stdout + result.stderr
    assert result.stdout == ""
    problems = json.loads(result.stderr)["error"]["problems"]
    matching = [p for p in problems if p["field"] == header["expect-field"]]
    assert matching, f"no problem for {header['expect-field']}: {problems}"
    assert any(header["expect-message"] in p["message"] for p in matching), matching
    for problem in matching:
        assert problem["file"], problem
        assert problem["line"] and problem["column"], problem


def test_human_form_one_problem_per_line(lamp) -> None:
    path = HERE / "invalid" / "model-port-too-low.yaml"
    result = lamp("spec", "validate", path)
    assert result.exit_code == 3
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert any(
        line.endswith("spec.server.port: must be between 1024 and 65535 (got 80)")
        and line.startswith(f"{path}:")
        for line in lines
    ), result.stderr


def test_github_actions_annotations(lamp) -> None:
    path = HERE / "invalid" / "model-tag-latest.yaml"
    result = lamp("spec", "validate", path, env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 3
    annotations = [line for line in result.stderr.splitlines() if line.startswith("::error ")]
    assert annotations and f"file={path}" in annotations[0] and ",line=" in annotations[0]
    assert "spec.image.tag" in annotations[0]
