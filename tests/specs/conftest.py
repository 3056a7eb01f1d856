"""Shared fixtures of the spec tests: the example pair, file writers, the CLI and problem lookups.

The test run uses ``--import-mode=importlib``, so helpers are fixtures rather than imports.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from lamp_cli.errors import Problem, SpecInvalid

EXAMPLES = Path(__file__).resolve().parents[2] / "specs" / "examples"
_MODEL = yaml.safe_load((EXAMPLES / "serving-model-spec.yaml").read_text(encoding="utf-8"))
_ENDPOINT = yaml.safe_load((EXAMPLES / "serving-endpoint-spec.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def model_data() -> dict[str, Any]:
    """A fresh, mutable copy of the example model spec."""
    return copy.deepcopy(_MODEL)


@pytest.fixture
def endpoint_data() -> dict[str, Any]:
    """A fresh, mutable copy of the example endpoint spec."""
    return copy.deepcopy(_ENDPOINT)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, Any], Path]:
    """Write text, bytes or a dict (as YAML) to a file in tmp_path and return its path."""

    def _write(name: str, content: str | bytes | dict[str, Any]) -> Path:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        elif isinstance(content, dict):
            target.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
        else:
            target.write_text(content, encoding="utf-8")
        return target

    return _write


@pytest.fixture
def problems_of() -> Callable[[Callable[[], object]], list[Problem]]:
    """Run an action that must raise SpecInvalid; return its problems."""

    def _problems_of(action: Callable[[], object]) -> list[Problem]:
        with pytest.raises(SpecInvalid) as caught:
            action()
        assert caught.value.problems, "SpecInvalid without problems"
        return caught.value.problems

    return _problems_of


@pytest.fixture
def lamp() -> Callable[..., Any]:
    """Invoke the root `lamp` app like a shell would; stdout and stderr stay apart."""
    from lamp_cli.main import app

    runner = CliRunner()

    def _lamp(*args: str, env: dict[str, str] | None = None) -> Any:
        return runner.invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)

    return _lamp
