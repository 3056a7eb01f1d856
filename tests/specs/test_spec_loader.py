"""The loader: positions, YAML refusals, normalized text, the pair, with_image."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from lamp_cli.errors import SpecInvalid
from lamp_cli.specs import (
    ENDPOINT_KIND,
    MODEL_KIND,
    LoadedSpec,
    ServingModelSpec,
    load_pair,
    load_spec,
)

pytestmark = pytest.mark.offline

EXAMPLES = Path(__file__).resolve().parents[2] / "specs" / "examples"
MODEL_EXAMPLE = EXAMPLES / "serving-model-spec.yaml"
ENDPOINT_EXAMPLE = EXAMPLES / "serving-endpoint-spec.yaml"


def test_examples_load_as_a_pair() -> None:
    pair = load_pair(MODEL_EXAMPLE, ENDPOINT_EXAMPLE)
    assert pair.model.kind == MODEL_KIND
    assert pair.endpoint.kind == ENDPOINT_KIND
    assert isinstance(pair.model.document, ServingModelSpec)
    assert pair.model.document.spec.image.tag == "1.4.0"
    assert pair.model.path == MODEL_EXAMPLE


@pytest.mark.parametrize("example", [MODEL_EXAMPLE, ENDPOINT_EXAMPLE])
def test_normalized_text_round_trips(example: Path, write) -> None:
    first = load_spec(example)
    assert first.sha256 == hashlib.sha256(first.text.encode("utf-8")).hexdigest()
    again = load_spec(write("again.yaml", first.text))
    assert again.document == first.document
    assert again.text == first.text
    assert again.sha256 == first.sha256


def test_normalized_text_fills_defaults_and_drops_comments(model_data, write) -> None:
    del model_data["spec"]["server"]["protocol"]
    loaded = load_spec(write("m.yaml", model_data))
    data = yaml.safe_load(loaded.text)
    assert data["spec"]["server"]["protocol"] == "http"
    assert data["spec"]["health"]["liveness"]["timeoutSeconds"] == 1
    assert "#" not in loaded.text.split("\n", 1)[0]


def test_same_input_same_hash_and_key_order_does_not_matter(model_data, write) -> None:
    reordered = {key: model_data[key] for key in reversed(list(model_data))}
    assert (
        load_spec(write("a.yaml", model_data)).sha256
        == load_spec(write("b.yaml", reordered)).sha256
    )


def test_error_position_points_at_the_value(write, problems_of) -> None:
    text = MODEL_EXAMPLE.read_text(encoding="utf-8").replace("port: 8000", "port: 80")
    target = write("model.yaml", text)
    [problem] = problems_of(lambda: load_spec(target))
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "port: 80" in row)
    column = text.splitlines()[line - 1].index("80") + 1
    assert (problem.line, problem.column, problem.field) == (line, column, "spec.server.port")
    assert str(problem) == (
        f"{target}:{line}:{column}: spec.server.port: must be between 1024 and 65535 (got 80)"
    )


def test_unknown_key_names_the_allowed_ones(model_data, write, problems_of) -> None:
    model_data["spec"]["replicas"] = 3
    [problem] = problems_of(lambda: load_spec(write("m.yaml", model_data)))
    assert problem.field == "spec.replicas"
    assert problem.message.startswith("unknown field (allowed: image, server, health, routes")


def test_missing_field_points_at_nearest_parent(write, problems_of) -> None:
    text = MODEL_EXAMPLE.read_text(encoding="utf-8").replace("      path: /health/ready\n", "")
    [problem] = problems_of(lambda: load_spec(write("m.yaml", text)))
    assert problem.field == "spec.health.readiness.path"
    assert problem.message == "required field missing"
    readiness_line = next(i for i, r in enumerate(text.splitlines(), 1) if "readiness:" in r)
    assert problem.line == readiness_line


def test_all_problems_of_both_files_are_reported(
    model_data, endpoint_data, write, problems_of
) -> None:
    model_data["spec"]["server"]["port"] = 22
    model_data["spec"]["image"]["tag"] = "latest"
    endpoint_data["spec"]["chart"]["version"] = "^1.2"
    endpoint_data["spec"]["image"] = {"repository": "x"}
    problems = problems_of(
        lambda: load_pair(write("m.yaml", model_data), write("e.yaml", endpoint_data))
    )
    fields = {(Path(p.file or "").name, p.field) for p in problems}
    assert fields == {
        ("m.yaml", "spec.server.port"),
        ("m.yaml", "spec.image.tag"),
        ("e.yaml", "spec.chart.version"),
        ("e.yaml", "spec.image"),
    }
    assert (
        "comes from spec.image of the model spec"
        in {p.field: p for p in problems}["spec.image"].message
    )


def test_duplicate_keys_name_both_lines(write, problems_of) -> None:
    text = MODEL_EXAMPLE.read_text(encoding="utf-8").replace(
        "    port: 8000\n", "    port: 8000\n    port: 8001\n"
    )
    [problem] = problems_of(lambda: load_spec(write("m.yaml", text)))
    first = next(i for i, r in enumerate(text.splitlines(), 1) if "port: 8000" in r)
    assert problem.field == "spec.server.port"
    assert problem.line == first + 1
    assert f"first at line {first}" in problem.message


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "empty"),
        ("# only a comment\n", "empty"),
        ("- a\n- b\n", "is a list"),
        ("just text\n", "single value"),
        ("a: 1\n---\nb: 2\n", "2 YAML documents"),
        ("a: [1, 2\n", "invalid YAML"),
        ("a: !!python/object:os.system x\n", "unsupported YAML tag"),
        ("a: &x [*x]\n", "refers to itself"),
        ("a: .nan\n", "not a finite number"),
        ("? [a]\n: 1\n", "key must be a plain string"),
        ("8000: port\n", "quote it"),
        (
            "kind: ServingModelSpec\nname: ${UNSET_LAMP_TEST_VAR}\n",
            "UNSET_LAMP_TEST_VAR is not set",
        ),
    ],
)
def test_yaml_refusals(content: str, needle: str, write, problems_of) -> None:
    problems = problems_of(lambda: load_spec(write("x.yaml", content)))
    assert any(needle in p.message for p in problems), problems


def test_alias_bomb_is_bounded(write, problems_of) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    problems = problems_of(lambda: load_spec(write("bomb.yaml", "\n".join(lines) + "\n")))
    assert "expands to more than" in problems[0].message


def test_large_file_refused(write, problems_of) -> None:
    target = write("big.yaml", "a: " + "x" * (1024 * 1024) + "\n")
    [problem] = problems_of(lambda: load_spec(target))
    assert "1 MiB" in problem.message


def test_non_utf8_refused_with_position(write, problems_of) -> None:
    target = write("latin.yaml", b"apiVersion: lamp/v1alpha1\nkind: caf\xe9\n")
    [problem] = problems_of(lambda: load_spec(target))
    assert (problem.line, problem.column) == (2, 10)
    assert "UTF-8" in problem.message


def test_missing_file_and_directory(tmp_path: Path, problems_of) -> None:
    from lamp_cli.errors import SpecFileNotFound

    with pytest.raises(SpecFileNotFound) as missing:
        load_spec(tmp_path / "nope.yaml")
    assert missing.value.exit_code == 4
    assert "no such file" in missing.value.problems[0].message
    assert "directory" in problems_of(lambda: load_spec(tmp_path))[0].message


def test_kind_problems(model_data, write, problems_of) -> None:
    del model_data["kind"]
    assert (
        "kind is missing" in problems_of(lambda: load_spec(write("a.yaml", model_data)))[0].message
    )
    model_data["kind"] = "Deployment"
    [problem] = problems_of(lambda: load_spec(write("b.yaml", model_data)))
    assert problem.field == "kind"
    assert "ServingModelSpec, ServingEndpointSpec" in problem.message
    [problem] = problems_of(lambda: load_spec(ENDPOINT_EXAMPLE, expected_kind=MODEL_KIND))
    assert "--model-spec" in problem.message


def test_wrong_api_version(model_data, write, problems_of) -> None:
    model_data["apiVersion"] = "lamp/v1"
    [problem] = problems_of(lambda: load_spec(write("m.yaml", model_data)))
    assert problem.field == "apiVersion"
    assert problem.message == "must be lamp/v1alpha1 (got 'lamp/v1')"


def test_with_image_pins_digest_and_rehashes() -> None:
    loaded = load_spec(MODEL_EXAMPLE)
    digest = "sha256:" + "a" * 64
    pinned = loaded.with_image(loaded.document.spec.image.repository, "1.4.0", digest)
    assert isinstance(pinned, LoadedSpec)
    assert pinned.document.spec.image.digest == digest
    assert f"digest: {digest}" in pinned.text
    assert pinned.sha256 != loaded.sha256
    assert pinned.sha256 == hashlib.sha256(pinned.text.encode()).hexdigest()
    with pytest.raises(SpecInvalid) as caught:
        loaded.with_image("repo", "latest")
    assert {p.field for p in caught.value.problems} == {"spec.image.repository", "spec.image.tag"}
    with pytest.raises(TypeError):
        load_spec(ENDPOINT_EXAMPLE).with_image("a.io/b", "1")


def test_interpolation_types_unquoted_values(write, monkeypatch, problems_of) -> None:
    text = MODEL_EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("port: 8000", "port: ${LAMP_TEST_PORT:-8000}")
    text = text.replace("tag: 1.4.0", 'tag: "${LAMP_TEST_TAG}"')
    monkeypatch.setenv("LAMP_TEST_TAG", "2.0.1")
    monkeypatch.delenv("LAMP_TEST_PORT", raising=False)
    loaded = load_spec(write("m.yaml", text))
    assert loaded.document.spec.server.port == 8000
    assert loaded.document.spec.image.tag == "2.0.1"
    monkeypatch.setenv("LAMP_TEST_PORT", "9000")
    assert load_spec(write("m.yaml", text)).document.spec.server.port == 9000
    monkeypatch.delenv("LAMP_TEST_TAG")
    [problem] = problems_of(lambda: load_spec(write("m.yaml", text)))
    assert problem.field == "spec.image.tag"
    assert "LAMP_TEST_TAG is not set" in problem.message
