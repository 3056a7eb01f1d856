"""Real temporary git repositories, isolated from the machine's git configuration."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

Git = Callable[..., str]


@pytest.fixture
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # No repository above tmp_path may be found by accident.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.com")


@pytest.fixture
def git_in() -> Callable[[Path], Git]:
    """``git_in(path)(*args)`` runs git in ``path`` and returns its stdout."""
    return _git_in


@pytest.fixture
def repo(isolated_git: None, tmp_path: Path) -> Path:
    """A repository on branch main with one commit of ``app.txt``."""
    path = tmp_path / "app"
    path.mkdir()
    run = _git_in(path)
    run("init", "-q", "-b", "main")
    (path / "app.txt").write_text("v1\n")
    run("add", "app.txt")
    run("commit", "-q", "-m", "first")
    return path


def _git_in(path: Path) -> Git:
    def run(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=path, capture_output=True, text=True, check=True, timeout=30
        )
        return done.stdout.strip()

    return run
