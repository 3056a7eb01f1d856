"""The locked versions scripts/test.sh installs stay in step with pyproject.toml."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.offline

ROOT = Path(__file__).resolve().parent.parent


def locked(name: str, lock: str) -> str:
    text = (ROOT / "requirements" / lock).read_text()
    match = re.search(rf"^{re.escape(name)}==(\S+)$", text, flags=re.MULTILINE)
    assert match, f"{name} is not pinned in requirements/{lock}"
    return match.group(1)


def range_of(flag: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "mlflow_range.py"), flag],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return done.stdout.strip()


def test_the_two_locks_are_the_two_ends_of_the_mlflow_range() -> None:
    from packaging.specifiers import SpecifierSet

    supported = SpecifierSet(range_of("--range"))
    newest, lowest = locked("mlflow-skinny", "test.txt"), locked("mlflow-skinny", "test-lowest.txt")
    assert newest in supported and lowest in supported
    assert lowest == range_of("--lowest")
    upper = next(s.version for s in supported if s.operator == "<")
    assert newest.split(".")[:2] == [upper.split(".")[0], str(int(upper.split(".")[1]) - 1)]


def test_every_dependency_of_the_test_extra_is_locked() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"]) + list(project["optional-dependencies"]["test"])
    for lock in ("test.txt", "test-lowest.txt"):
        for requirement in wanted:
            name = re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower()
            if name != "lamp-cli":
                locked(name, lock)
