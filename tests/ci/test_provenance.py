"""Provenance from real git repositories and from a GitHub Actions environment."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lamp_cli.services import provenance
from lamp_cli.services.provenance import Provenance, collect, normalize_repo_url

pytestmark = pytest.mark.offline

SHA = "0123456789abcdef0123456789abcdef01234567"
LOCAL = {"PATH": os.environ.get("PATH", "")}  # not in Actions


def test_branch_commit_with_a_credential_remote(git_in: Callable[..., Any], repo: Path) -> None:
    git = git_in(repo)
    git("remote", "add", "origin", "https://user:ghp_SeCrEt@github.com/acme/app.git")
    head = git("rev-parse", "HEAD")
    found = collect(repo, LOCAL)
    assert found == Provenance(
        commit=head,
        ref="refs/heads/main",
        ref_name="main",
        is_tag=False,
        repo="https://github.com/acme/app",
        run_url=None,
        actor=None,
        dirty=False,
        in_actions=False,
        subject="first",
    )
    assert found.release_key == head
    assert found.tags() == {
        "lamp.git.commit": head,
        "lamp.git.ref": "refs/heads/main",
        "lamp.git.repo": "https://github.com/acme/app",
        "lamp.release.key": head,
    }
    assert "ghp_SeCrEt" not in repr(found)


def test_annotated_tag_on_head_is_the_release_key(git_in: Callable[..., Any], repo: Path) -> None:
    git = git_in(repo)
    git("tag", "-a", "v1.2.0", "-m", "release 1.2.0")
    found = collect(repo, LOCAL)
    assert (found.ref, found.ref_name, found.is_tag) == ("refs/tags/v1.2.0", "v1.2.0", True)
    assert found.release_key == "v1.2.0"
    assert found.tags()["lamp.release.key"] == "v1.2.0"
    assert found.tags()["lamp.git.commit"] == git("rev-parse", "HEAD")


def test_lightweight_tag_counts_and_an_older_tag_does_not(
    git_in: Callable[..., Any], repo: Path
) -> None:
    git = git_in(repo)
    git("tag", "v0.9.0")
    assert collect(repo, LOCAL).release_key == "v0.9.0"
    (repo / "app.txt").write_text("v2\n")
    git("commit", "-q", "-am", "second")
    found = collect(repo, LOCAL)
    assert not found.is_tag
    assert found.release_key == git("rev-parse", "HEAD")


def test_dirty_tracked_file_is_noted_untracked_files_are_not(repo: Path) -> None:
    (repo / "mlflow.db").write_text("untracked store")
    assert collect(repo, LOCAL).dirty is False
    (repo / "app.txt").write_text("changed\n")
    found = collect(repo, LOCAL)
    assert found.dirty is True
    assert found.tags()["lamp.git.dirty"] == "true"


def test_detached_head_and_a_subdirectory(git_in: Callable[..., Any], repo: Path) -> None:
    git = git_in(repo)
    head = git("rev-parse", "HEAD")
    git("checkout", "-q", "--detach")
    sub = repo / "deploy"
    sub.mkdir()
    found = collect(sub, LOCAL)
    assert (found.commit, found.ref, found.is_tag) == (head, None, False)
    assert found.release_key == head
    assert "lamp.git.ref" not in found.tags()


def test_scp_remote_and_upstream_remote_preferred(git_in: Callable[..., Any], repo: Path) -> None:
    git = git_in(repo)
    git("remote", "add", "origin", "git@github.com:someone/fork.git")
    git("remote", "add", "upstream", "ssh://git@github.example.com:2222/acme/app.git")
    assert collect(repo, LOCAL).repo == "https://github.com/someone/fork"
    git("config", "branch.main.remote", "upstream")
    assert collect(repo, LOCAL).repo == "https://github.example.com/acme/app"


def test_outside_a_repository_everything_is_unknown(isolated_git: None, tmp_path: Path) -> None:
    found = collect(tmp_path, LOCAL)
    assert found == Provenance()
    assert found.release_key is None
    assert found.tags() == {}


def test_repository_without_commits(
    git_in: Callable[..., Any], isolated_git: None, tmp_path: Path
) -> None:
    git_in(tmp_path)("init", "-q")
    assert collect(tmp_path, LOCAL) == Provenance()


def test_without_git_on_path(repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert collect(repo, LOCAL) == Provenance()


def test_a_hanging_git_does_not_hang_lamp(
    repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "slow-bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(provenance, "_GIT_TIMEOUT_S", 0.5)
    started = time.monotonic()
    assert collect(repo, LOCAL) == Provenance()
    assert time.monotonic() - started < 5


# GitHub Actions: the runner's variables, never git.

ACTIONS_TAG = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SHA": SHA,
    "GITHUB_REF": "refs/tags/v1.2.0",
    "GITHUB_REF_NAME": "v1.2.0",
    "GITHUB_REF_TYPE": "tag",
    "GITHUB_REPOSITORY": "acme/fraud-model",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_RUN_ID": "987654321",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_ACTOR": "octocat",
}


def test_actions_tag_release(repo: Path) -> None:
    # cwd is a git repository on main: in Actions the environment wins.
    found = collect(repo, ACTIONS_TAG)
    assert found.in_actions and found.is_tag
    assert found.release_key == "v1.2.0"
    assert found.tags() == {
        "lamp.git.commit": SHA,
        "lamp.git.ref": "refs/tags/v1.2.0",
        "lamp.git.repo": "https://github.com/acme/fraud-model",
        "lamp.ci.run_url": "https://github.com/acme/fraud-model/actions/runs/987654321",
        "lamp.release.key": "v1.2.0",
        "lamp.ci.actor": "octocat",
    }


def test_actions_branch_rerun_on_enterprise_server() -> None:
    env = {
        **ACTIONS_TAG,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REF_NAME": "main",
        "GITHUB_REF_TYPE": "branch",
        "GITHUB_SERVER_URL": "https://ghe.example.com/",
        "GITHUB_RUN_ATTEMPT": "3",
    }
    found = collect(None, env)
    assert not found.is_tag
    assert found.release_key == SHA
    assert found.repo == "https://ghe.example.com/acme/fraud-model"
    assert (
        found.run_url
        == "https://ghe.example.com/acme/fraud-model/actions/runs/987654321/attempts/3"
    )


def test_actions_with_missing_variables_omits_unknown_tags() -> None:
    found = collect(
        None, {"GITHUB_ACTIONS": "true", "GITHUB_SHA": SHA, "GITHUB_REF": "refs/tags/v2"}
    )
    assert found.is_tag and found.ref_name == "v2"
    assert found.tags() == {
        "lamp.git.commit": SHA,
        "lamp.git.ref": "refs/tags/v2",
        "lamp.release.key": "v2",
    }


def test_github_actions_must_be_exactly_true(isolated_git: None, tmp_path: Path) -> None:
    assert not collect(tmp_path, {**ACTIONS_TAG, "GITHUB_ACTIONS": "false"}).in_actions


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/app.git", "https://github.com/acme/app"),
        ("https://x-access-token:ghs_abc@github.com/acme/app.git", "https://github.com/acme/app"),
        (
            "https://oauth2:glpat-xyz@gitlab.example.com/a/b/c.git/",
            "https://gitlab.example.com/a/b/c",
        ),
        ("git@github.com:acme/app.git", "https://github.com/acme/app"),
        ("ssh://git@github.com/acme/app", "https://github.com/acme/app"),
        ("git+ssh://git@github.com:22/acme/app.git", "https://github.com/acme/app"),
        ("/srv/git/app.git", "/srv/git/app.git"),
        ("file:///srv/git/app.git", "file:///srv/git/app.git"),
    ],
)
def test_normalize_repo_url(url: str, expected: str) -> None:
    assert normalize_repo_url(url) == expected
