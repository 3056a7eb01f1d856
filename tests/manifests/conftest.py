"""Fixtures of the manifest tests: the real helm, the serving chart and its broken variants.

helm is LAMP_HELM when set, else the pinned static build scripts/get_helm.py puts in .tools/bin
(fetched here when missing), else helm on PATH. Only where none of them can run are the tests
that need helm skipped, with the reason.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "tests" / "charts" / "lamp-serving"
DIGEST = "sha256:" + "a1" * 32
#: What the example specs render: release fraud-detector, in namespace risk-serving.
WORKLOAD = "Deployment/fraud-detector"


def _get_helm() -> ModuleType:
    spec = importlib.util.spec_from_file_location("get_helm", ROOT / "scripts" / "get_helm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def helm_binary() -> str:
    configured = os.environ.get("LAMP_HELM")
    if configured:
        return configured
    get_helm = _get_helm()
    reason = get_helm.unsupported_reason()
    if reason is None:
        return str(get_helm.ensure())
    on_path = shutil.which("helm")
    if on_path is not None:
        return on_path
    pytest.skip(reason)


@pytest.fixture
def helm(helm_binary: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The real helm, as LAMP_HELM for the test (the autouse isolation clears LAMP_*)."""
    monkeypatch.setenv("LAMP_HELM", helm_binary)
    return helm_binary


@pytest.fixture
def chart_copy(tmp_path: Path) -> Callable[..., Path]:
    """A copy of the serving chart with edits: ``(file, old, new)`` each, ``old`` present."""

    def _copy(*edits: tuple[str, str, str], name: str = "chart") -> Path:
        target = tmp_path / name
        shutil.copytree(CHART, target)
        for file, old, new in edits:
            path = target / file
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            assert old in text, f"{old!r} is not in {file}: the edit would change nothing"
            path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return target

    return _copy


@pytest.fixture
def package_chart(helm: str, tmp_path: Path) -> Callable[[Path], Path]:
    """``helm package`` of a chart directory: the .tgz a chart repository serves."""

    def _package(chart: Path) -> Path:
        out = tmp_path / "packaged"
        out.mkdir(exist_ok=True)
        done = subprocess.run(
            [helm, "package", str(chart), "--destination", str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        [packaged] = out.glob("*.tgz")
        return packaged

    return _package
