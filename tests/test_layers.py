"""lamp's imports point one way: main -> commands -> services -> gateway -> specs / settings /
output / translate / gha / records / layout -> errors -> secrets. A command module uses no other
command module; only the gateway imports MLflow and the Databricks SDK, only the ECR service
boto3; no service receives MLflow's client."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.offline

PACKAGE = Path(__file__).resolve().parent.parent / "lamp_cli"

#: Layer of each top-level part of the package; an import may only go to the same or a
#: higher number.
LAYERS = {
    "main": 0,
    "__main__": 0,
    "commands": 1,
    "services": 2,
    "gateway": 3,
    "specs": 4,
    "settings": 4,
    "output": 4,
    "translate": 4,
    "gha": 4,
    "records": 4,
    "layout": 5,
    "errors": 5,
    "__init__": 5,
    "secrets": 6,
}

#: The only modules that import MLflow, the Databricks SDK, boto3 or botocore (all lazily).
BACKEND_MODULES = {
    # databricks.py only to share one SDK configuration per process (see its docstring).
    "mlflow": {"gateway/client.py", "gateway/databricks.py"},
    "databricks": {"gateway/databricks.py"},
    "boto3": {"services/ecr.py"},
    "botocore": {"services/ecr.py"},
}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from lamp_cli import gha` and `from lamp_cli.commands import run` name modules.
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def layer_of(dotted: str) -> str | None:
    parts = dotted.split(".")
    if parts[0] != "lamp_cli":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def part_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    mine = LAYERS[part_of(path)]
    upward = sorted(
        name
        for name in imported(path)
        if (target := layer_of(name)) in LAYERS and LAYERS[target] < mine
    )
    assert upward == []


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if part_of(p) == "commands" and not p.name.startswith("_")],
    ids=lambda p: p.name,
)
def test_a_command_module_uses_no_other_command_module(path: Path) -> None:
    shared = {"lamp_cli.commands", "lamp_cli.commands._common", "lamp_cli.commands._render"}
    others = sorted(
        name
        for name in imported(path)
        if name.startswith("lamp_cli.commands")
        and name not in shared
        # `from lamp_cli.commands._common import X` also lists `..._common.X`.
        and not name.startswith(("lamp_cli.commands._common.", "lamp_cli.commands._render."))
    )
    assert others == []


def test_only_the_wrapping_services_import_mlflow_and_aws() -> None:
    users: dict[str, set[str]] = {root: set() for root in BACKEND_MODULES}
    for path in modules():
        roots = {name.split(".")[0] for name in imported(path)}
        for root in BACKEND_MODULES:
            if root in roots:
                users[root].add(str(path.relative_to(PACKAGE)))
    assert users == BACKEND_MODULES


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if part_of(p) in ("services", "commands")],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_service_or_command_reaches_into_the_gateway(path: Path) -> None:
    """MLflow's client stays inside the gateway: nothing outside names its private parts."""
    text = path.read_text()
    assert "._client" not in text and "MlflowClient" not in text


def test_lamp_never_imports_fastapi() -> None:
    """The app's dependencies are the app's: its own interpreter imports it, in a process of
    its own (services/app.py), never lamp."""
    users = sorted(
        str(path.relative_to(PACKAGE))
        for path in modules()
        if {name.split(".")[0] for name in imported(path)} & {"fastapi", "starlette"}
    )
    assert users == []
