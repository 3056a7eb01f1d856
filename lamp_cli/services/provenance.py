"""Where a release comes from: commit, ref, repository and CI run.

In GitHub Actions the runner's environment says it all; elsewhere the local ``git`` is asked.
Provenance is information, never a precondition: without git, outside a repository or when git
hangs, every field is ``None`` and the command goes on.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lamp_cli.layout import (
    MLFLOW_GIT_BRANCH,
    MLFLOW_GIT_COMMIT,
    MLFLOW_GIT_REPO_URL,
    MLFLOW_SOURCE_NAME,
    MLFLOW_SOURCE_TYPE,
    MLFLOW_USER,
    TAG_ACTOR,
    TAG_COMMIT,
    TAG_DIRTY,
    TAG_REF,
    TAG_RELEASE_KEY,
    TAG_REPO,
    TAG_RUN_URL,
)
from lamp_cli.secrets import strip_userinfo

_GIT_TIMEOUT_S = 5
# scp-like syntax: git@github.com:org/repo.git
_SCP_RE = re.compile(r"^(?:[^@/:]+@)?(?P<host>[^/:]+):(?!//)(?P<path>.+)$")
_SSH_RE = re.compile(r"^(?:ssh|git\+ssh)://(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?/(?P<path>.+)$")


@dataclass(frozen=True)
class Provenance:
    """The source of a release. Unknown values are ``None``."""

    commit: str | None = None
    ref: str | None = None
    ref_name: str | None = None
    is_tag: bool = False
    repo: str | None = None
    run_url: str | None = None
    actor: str | None = None
    dirty: bool | None = None
    in_actions: bool = False
    #: The first line of the commit's message.
    subject: str | None = None

    @property
    def release_key(self) -> str | None:
        """What makes a release unique: the tag for a tagged ref, else the commit."""
        if self.is_tag and self.ref_name:
            return self.ref_name
        return self.commit

    @property
    def short_commit(self) -> str | None:
        return self.commit[:7] if self.commit else None

    def run_name(self, project: str, release_key: str | None = None) -> str:
        """The name a run gets in MLflow's UI: ``<project>@<tag or short commit>``."""
        label = release_key or (self.ref_name if self.is_tag else None) or self.short_commit
        if label and len(label) == 40 and label == self.commit:
            label = self.short_commit
        return f"{project}@{label}" if label else project

    def description(self, release_key: str | None = None) -> str | None:
        """A model version's description: the release, the commit's subject, the CI run."""
        parts = []
        key = release_key or (self.ref_name if self.is_tag else None)
        if key and key != self.commit:
            parts.append(f"Release {key}")
        if self.short_commit:
            parts.append(
                f"commit {self.short_commit}" + (f": {self.subject}" if self.subject else "")
            )
        if self.run_url:
            parts.append(f"CI run {self.run_url}")
        return "; ".join(parts) or None

    def mlflow_tags(self) -> dict[str, str]:
        """MLflow's own run tags, which its UI shows as the run's creator, source and commit."""
        source_type = "JOB" if self.in_actions else "LOCAL"
        values = {
            MLFLOW_USER: self.actor or _local_user(),
            MLFLOW_SOURCE_NAME: self.repo or self.run_url,
            MLFLOW_SOURCE_TYPE: source_type,
            MLFLOW_GIT_COMMIT: self.commit,
            MLFLOW_GIT_BRANCH: self.ref_name if self.ref_name and not self.is_tag else None,
            MLFLOW_GIT_REPO_URL: self.repo,
        }
        return {key: value for key, value in values.items() if value}

    def tags(self, *, release_key: bool = True) -> dict[str, str]:
        """The provenance tags of DESIGN.md for a run or a model version; unknowns are left out.

        ``release_key=False`` leaves out ``lamp.release.key``: only ``lamp release`` marks a run
        as the record of a release, ``log-spec`` and ``register`` record where it came from.
        """
        values = {
            TAG_COMMIT: self.commit,
            TAG_REF: self.ref,
            TAG_REPO: self.repo,
            TAG_RUN_URL: self.run_url,
            TAG_RELEASE_KEY: self.release_key if release_key else None,
            TAG_DIRTY: "true" if self.dirty else None,
            TAG_ACTOR: self.actor,
        }
        return {key: value for key, value in values.items() if value}


def collect(cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> Provenance:
    """Provenance of ``cwd``: from GitHub Actions' variables in ``environ``, else from git.

    ``environ`` (default ``os.environ``) is only read for the ``GITHUB_*`` variables.
    """
    env = os.environ if environ is None else environ
    git = _git_in(Path.cwd() if cwd is None else cwd)
    found = _from_actions(env) if env.get("GITHUB_ACTIONS") == "true" else _from_git(git)
    if found.commit is None:
        return found
    # The commit's subject, for the version's description; a shallow CI checkout has it too.
    return dataclasses.replace(found, subject=git("log", "-1", "--format=%s", found.commit))


def _from_actions(env: Mapping[str, str]) -> Provenance:
    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    ref = get("GITHUB_REF")
    is_tag = get("GITHUB_REF_TYPE") == "tag" or (ref or "").startswith("refs/tags/")
    ref_name = get("GITHUB_REF_NAME") or (_short_ref(ref) if ref else None)
    server = (get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    repository = get("GITHUB_REPOSITORY")
    repo = strip_userinfo(f"{server}/{repository}") if repository else None
    run_url = None
    run_id = get("GITHUB_RUN_ID")
    if repo and run_id:
        run_url = f"{repo}/actions/runs/{run_id}"
        attempt = get("GITHUB_RUN_ATTEMPT")
        # The first attempt's page is the run's own URL; a re-run gets its attempt's page.
        if attempt and attempt != "1":
            run_url += f"/attempts/{attempt}"
    return Provenance(
        commit=get("GITHUB_SHA"),
        ref=ref,
        ref_name=ref_name,
        is_tag=is_tag,
        repo=repo,
        run_url=run_url,
        actor=get("GITHUB_ACTOR"),
        dirty=None,
        in_actions=True,
    )


def _git_in(cwd: Path) -> Callable[..., str | None]:
    """A runner of ``git ARGS`` in ``cwd``: its stdout, or None when git fails or is missing."""
    # git runs with the process environment (PATH, HOME, GIT_DIR...), whatever ``environ`` says.
    git_env = dict(os.environ)
    # Never prompt for credentials, never take the index lock (a concurrent git in the same
    # tree must not fail because lamp looked), and parse English output.
    git_env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C")

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=cwd,
                env=git_env,
                capture_output=True,
                text=True,
                timeout=_GIT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    return git


def _from_git(git: Callable[..., str | None]) -> Provenance:
    commit = git("rev-parse", "--verify", "-q", "HEAD^{commit}")
    if not commit:
        return Provenance()
    # A tag on HEAD wins over the branch, so that a local release of a tagged commit has the
    # same release key as the CI release of that tag.
    tag = git("describe", "--tags", "--exact-match", "HEAD")
    branch_ref = git("symbolic-ref", "-q", "HEAD")
    if tag:
        ref, ref_name, is_tag = f"refs/tags/{tag}", tag, True
    elif branch_ref:
        ref, ref_name, is_tag = branch_ref, _short_ref(branch_ref), False
    else:
        ref, ref_name, is_tag = None, None, False
    status = git("status", "--porcelain", "--untracked-files=no")
    return Provenance(
        commit=commit,
        ref=ref,
        ref_name=ref_name,
        is_tag=is_tag,
        repo=_remote_url(git, branch_ref),
        dirty=None if status is None else bool(status),
        in_actions=False,
    )


def _remote_url(git: Callable[..., str | None], branch_ref: str | None) -> str | None:
    # The branch's upstream remote first, then origin, then any: forks often name it otherwise.
    remote = git("config", f"branch.{_short_ref(branch_ref)}.remote") if branch_ref else None
    names = (git("remote") or "").split()
    if not remote or remote not in names:
        remote = "origin" if "origin" in names else (names[0] if names else None)
    if not remote:
        return None
    url = git("remote", "get-url", remote)
    return normalize_repo_url(url) if url else None


def _short_ref(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def normalize_repo_url(url: str) -> str:
    """The browsable https URL of a git remote, so local and CI releases record the same value.

    ``git@github.com:org/app.git`` and ``https://tok@github.com/org/app.git`` both become
    ``https://github.com/org/app``; local paths are kept as they are.
    """
    url = url.strip()
    scp_like = "://" not in url and not os.path.isabs(url)
    match = _SSH_RE.match(url) or (_SCP_RE.match(url) if scp_like else None)
    if match:
        url = f"https://{match['host']}/{match['path']}"
    url = strip_userinfo(url)
    if url.startswith(("https://", "http://")):
        url = url.rstrip("/")
        url = url.removesuffix(".git")
    return url


def _local_user() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
