"""Whatever bytes or YAML arrive, `lamp spec validate` ends in exit 0 or 3, never a traceback."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.offline

MODEL_EXAMPLE = (
    Path(__file__).resolve().parents[2] / "specs" / "examples" / "serving-model-spec.yaml"
)
_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


def _check(lamp, path: Path) -> None:
    result = lamp("-o", "json", "spec", "validate", path)
    assert result.exit_code in (0, 3), (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    if result.exit_code == 3:
        error = json.loads(result.stderr)["error"]
        assert error["problems"], error


@_SETTINGS
@given(raw=st.binary(max_size=400))
def test_random_bytes(raw: bytes, tmp_path: Path, lamp) -> None:
    path = tmp_path / "random.yaml"
    path.write_bytes(raw)
    _check(lamp, path)


@_SETTINGS
@given(text=st.text(alphabet=string.printable + "{}[]:-&*!|>'\"%@`\u00e9\u2028", max_size=300))
def test_random_yaml_text(text: str, tmp_path: Path, lamp) -> None:
    path = tmp_path / "random.yaml"
    path.write_text(text, encoding="utf-8")
    _check(lamp, path)


@_SETTINGS
@given(document=documents)
def test_random_structures(document, tmp_path: Path, lamp) -> None:
    path = tmp_path / "random.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    _check(lamp, path)


@_SETTINGS
@given(
    patch=st.dictionaries(
        st.sampled_from(
            ["server", "image", "health", "routes", "env", "hardware", "model", "requiredSecrets"]
        ),
        documents,
        max_size=3,
    )
)
def test_random_spec_sections(patch, tmp_path: Path, lamp) -> None:
    data = yaml.safe_load(MODEL_EXAMPLE.read_text(encoding="utf-8"))
    data["spec"].update(patch)
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    _check(lamp, path)


def test_deep_nesting(tmp_path: Path, lamp) -> None:
    for depth in (70, 999, 5000):
        path = tmp_path / f"deep{depth}.yaml"
        path.write_text("a: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
        result = lamp("spec", "validate", path)
        assert result.exit_code == 3, result.stderr
        block = "".join(" " * i + "k:\n" for i in range(depth if depth < 1000 else 990))
        path.write_text(block, encoding="utf-8")
        assert lamp("spec", "validate", path).exit_code == 3


def test_huge_documents(tmp_path: Path, lamp) -> None:
    wide = tmp_path / "wide.yaml"
    wide.write_text("".join(f"k{i}: {i}\n" for i in range(70_000)), encoding="utf-8")
    assert wide.stat().st_size < 1024 * 1024
    result = lamp("spec", "validate", wide)
    assert result.exit_code == 3
    too_big = tmp_path / "big.yaml"
    too_big.write_text("".join(f"k{i}: {i}\n" for i in range(120_000)), encoding="utf-8")
    result = lamp("spec", "validate", too_big)
    assert result.exit_code == 3
    assert "1 MiB" in result.stderr


def test_huge_valid_endpoint_values(tmp_path: Path, lamp) -> None:
    endpoint = MODEL_EXAMPLE.with_name("serving-endpoint-spec.yaml").read_text(encoding="utf-8")
    extra = "".join(f"    key{i}: value-{i}\n" for i in range(30_000))
    path = tmp_path / "endpoint.yaml"
    path.write_text(endpoint + "    bulk:\n" + extra.replace("    ", "      "), encoding="utf-8")
    result = lamp("-o", "json", "spec", "validate", path)
    assert result.exit_code == 0, result.stderr[:500]
