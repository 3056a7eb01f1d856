"""The MLflow versions lamp supports, as pyproject.toml declares them for mlflow-skinny.

Usage: python scripts/mlflow_range.py --lowest | --range | --installed

--lowest prints the lowest version of the range (what CI installs to run the tests on it),
--range the specifier itself, --installed the mlflow-skinny of this interpreter.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def skinny_range() -> str:
    """The specifier of mlflow-skinny in the dependencies, e.g. ``>=3.13,<3.18``."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    for requirement in project["dependencies"]:
        match = re.fullmatch(r"mlflow-skinny\s*(\S+)", requirement)
        if match:
            return match.group(1)
    raise SystemExit("pyproject.toml declares no mlflow-skinny dependency")


def lowest(specifier: str) -> str:
    match = re.search(r">=\s*(\d+(?:\.\d+)*)", specifier)
    if match is None:
        raise SystemExit(f"mlflow-skinny{specifier} has no lower bound")
    parts = match.group(1).split(".")
    return ".".join([*parts, "0", "0"][:3])


def main(argv: list[str]) -> int:
    if argv == ["--lowest"]:
        print(lowest(skinny_range()))
    elif argv == ["--range"]:
        print(skinny_range())
    elif argv == ["--installed"]:
        print(metadata.version("mlflow-skinny"))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
