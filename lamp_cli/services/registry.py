"""The model registry in the platform's words: projects (registered models) and their versions.

A version's source is ``runs:/<run_id>/lamp``, so ``models:/<project>/<version>`` downloads exactly
the two specs and ``lamp.json``. Registration is idempotent per (project, run), also under races.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lamp_cli.errors import (
    BackendUnavailable,
    Conflict,
    InvalidInput,
    LampError,
    NotFound,
    SpecInvalid,
    Subject,
    UnexpectedError,
)
from lamp_cli.services import runs
from lamp_cli.services.client import Backend
from lamp_cli.services.records import ProjectRecord, VersionRecord

if TYPE_CHECKING:
    from lamp_cli.specs import SpecPair

PROJECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
ALIAS_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
COPIED_TAG_PREFIXES = ("lamp.",)
#: Bookkeeping of a run that says nothing about the version made from it.
NOT_COPIED_TAGS = frozenset(
    {
        runs.TAG_ERROR,
        "lamp.release.specs",
        "lamp.release.superseded_by",
        "lamp.release.abandoned",
    }
)
POLL_SECONDS = 0.5
ALIAS_ATTEMPTS = 3
CREATE_ATTEMPTS = 3


def check_project(project: str) -> str:
    if not PROJECT_RE.match(project or ""):
        raise InvalidInput(
            f"invalid project id '{project}': use letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return project


def check_alias(alias: str) -> str:
    alias = alias.lstrip("@")
    if not ALIAS_RE.match(alias) or alias.lower() == "latest" or re.match(r"^v\d+$", alias):
        raise InvalidInput(
            f"invalid alias '{alias}': use letters, digits, '_' or '-'; "
            "'latest' and 'v<number>' are reserved by MLflow"
        )
    return alias


def _project_subject(project: str) -> Subject:
    return Subject(
        f"project '{project}'",
        hint_not_found=f"the platform creates projects; locally: lamp project create {project}",
        hint_conflict=f"pass --exist-ok to reuse it: lamp project create {project} --exist-ok",
    )


def get_project(backend: Backend, project: str) -> ProjectRecord:
    check_project(project)
    subject = _project_subject(project)
    model = backend.call(subject, backend.client.get_registered_model, project)
    return ProjectRecord.from_mlflow(model)


def create_project(
    backend: Backend,
    project: str,
    *,
    exist_ok: bool = False,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> tuple[ProjectRecord, bool]:
    """Create the registered model named ``project``; return it and whether it was created."""
    check_project(project)
    subject = _project_subject(project)
    try:
        model = backend.call(
            subject,
            backend.client.create_registered_model,
            project,
            tags=dict(tags or {}),
            description=description,
        )
    except Conflict:
        if not exist_ok:
            raise
        return get_project(backend, project), False
    return ProjectRecord.from_mlflow(model), True


def list_versions(backend: Backend, project: str) -> list[VersionRecord]:
    """Every version of ``project``, newest first, with its aliases."""
    aliases = get_project(backend, project).aliases
    versions = sorted(_search(backend, project), key=lambda v: v.version, reverse=True)
    # search_model_versions leaves aliases out; the registered model knows them.
    for version in versions:
        version.aliases = sorted(a for a, v in aliases.items() if v == str(version.version))
    return versions


def _search(backend: Backend, project: str, run_id: str | None = None) -> list[VersionRecord]:
    query = f"name = '{_quote(project)}'"
    if run_id:
        query += f" and run_id = '{_quote(run_id)}'"
    subject = Subject(f"versions of project '{project}'")
    found = backend.search_all(subject, backend.client.search_model_versions, query)
    return [VersionRecord.from_mlflow(mv) for mv in found]


def _quote(value: str) -> str:
    return value.replace("'", "\\'")


def get_version(backend: Backend, project: str, ref: str) -> VersionRecord:
    """A version by number, or by alias when ``ref`` starts with ``@``."""
    check_project(project)
    client = backend.client
    if ref.startswith("@"):
        alias = ref[1:]
        subject = Subject(
            f"alias '@{alias}' of project '{project}'",
            hint_not_found=f"list versions with: lamp version list {project}",
        )
        get_project(backend, project)
        mv = backend.call(subject, client.get_model_version_by_alias, project, alias)
    else:
        if not ref.isdigit():
            raise InvalidInput(f"'{ref}' is neither a version number nor an @alias")
        subject = Subject(
            f"version {ref} of project '{project}'",
            hint_not_found=f"list versions with: lamp version list {project}",
        )
        get_project(backend, project)
        mv = backend.call(subject, client.get_model_version, project, ref)
    return VersionRecord.from_mlflow(mv)


@dataclass
class Registration:
    version: VersionRecord
    created: bool
    moved_aliases: dict[str, int]  # alias -> version it pointed at before
    kept_aliases: dict[str, int] = field(default_factory=dict)  # alias -> newer version kept


def register(
    backend: Backend,
    run_id: str,
    project: str,
    *,
    aliases: Sequence[str] = (),
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    wait_timeout: float = 300.0,
    on_wait: Callable[[str], None] | None = None,
    provenance: Mapping[str, str] | None = None,
    keep_newer_aliases: bool = False,
) -> Registration:
    """Register ``run_id``'s specs as a version of ``project``, or return the version it already is.

    Everything is checked before anything is written: the run exists, finished, and carries both
    specs; the project exists; the aliases are valid. A new version carries the run's ``lamp.*``
    tags; ``provenance`` (where this registration runs) fills in what the run does not record.
    An alias on a newer version is a conflict, or left there with ``keep_newer_aliases``.
    """
    check_project(project)
    aliases = [check_alias(a) for a in aliases]
    run = runs.get(backend, run_id, with_artifacts=True)
    _check_run_carries_specs(run)
    get_project(backend, project)

    existing = _search(backend, project, run_id)
    created = False
    if existing:
        version = min(existing, key=lambda v: v.version)
    else:
        copied = {
            k: v
            for k, v in run.tags.items()
            if k.startswith(COPIED_TAG_PREFIXES) and k not in NOT_COPIED_TAGS
        }
        version = _create_version(
            backend,
            project,
            run_id,
            {**dict(provenance or {}), **copied, **dict(tags or {})},
            description,
        )
        created = True
    version = _wait_ready(backend, version, wait_timeout, on_wait)
    moved, kept = _set_aliases(backend, version, aliases, keep_newer=keep_newer_aliases)
    if aliases:
        version = get_version(backend, project, str(version.version))
    return Registration(version=version, created=created, moved_aliases=moved, kept_aliases=kept)


def _check_run_carries_specs(run: runs.RunRecord) -> None:
    expected = {f"{runs.ARTIFACT_DIR}/{name}" for name in runs.SPEC_FILES}
    missing = sorted(expected - set(run.artifacts))
    tags_missing = [t for t in (runs.TAG_MODEL_SHA, runs.TAG_ENDPOINT_SHA) if t not in run.tags]
    if missing or tags_missing:
        what = ", ".join(missing + tags_missing)
        raise NotFound(
            f"run {run.run_id} carries no complete lamp specs (missing: {what})",
            hint=f"log them first: lamp run log-spec {run.run_id} --model-spec ... "
            "--endpoint-spec ...",
        )
    if run.status != "FINISHED":
        raise Conflict(
            f"run {run.run_id} is {run.status}; only a FINISHED run with both specs is registered",
            hint=f"log the specs again: lamp run log-spec {run.run_id} ...",
        )


def _create_version(
    backend: Backend,
    project: str,
    run_id: str,
    tags: Mapping[str, str],
    description: str | None,
) -> VersionRecord:
    subject = Subject(
        f"new version of project '{project}' from run {run_id}",
        hint_not_found=f"the platform creates projects; locally: lamp project create {project}",
    )
    for attempt in range(CREATE_ATTEMPTS):
        try:
            mv = backend.call(
                subject,
                backend.client.create_model_version,
                project,
                f"runs:/{run_id}/{runs.ARTIFACT_DIR}",
                run_id=run_id,
                tags=dict(tags),
                description=description,
                await_creation_for=0,
            )
            break
        except (Conflict, UnexpectedError):
            # Under a burst of registrations the store can give up allocating the next version
            # number; a racer registering this same run may have succeeded meanwhile.
            same_run = _search(backend, project, run_id)
            if same_run:
                return min(same_run, key=lambda v: v.version)
            if attempt == CREATE_ATTEMPTS - 1:
                raise
            time.sleep(POLL_SECONDS * (attempt + 1))
    mine = VersionRecord.from_mlflow(mv)
    # Racing registrations of one run (or an HTTP retry of the create) can leave more than one
    # version; all racers agree on the lowest, and each removes its own extra version.
    same_run = _search(backend, project, run_id)
    winner = min(same_run, key=lambda v: v.version) if same_run else mine
    if winner.version != mine.version:
        # A racer that may not delete versions leaves its duplicate behind but still reports
        # the winner, like every other racer.
        with contextlib.suppress(LampError):
            backend.call(
                Subject(f"duplicate version {mine.version} of '{project}'"),
                backend.client.delete_model_version,
                project,
                str(mine.version),
            )
        return winner
    return mine


def _wait_ready(
    backend: Backend,
    version: VersionRecord,
    timeout: float,
    on_wait: Callable[[str], None] | None,
) -> VersionRecord:
    deadline = time.monotonic() + timeout
    announced = False
    subject = Subject(f"version {version.version} of project '{version.project}'")
    while version.status == "PENDING_REGISTRATION":
        if time.monotonic() >= deadline:
            raise BackendUnavailable(
                f"version {version.version} of '{version.project}' is still "
                f"PENDING_REGISTRATION after {timeout:g} s",
                hint="raise --wait-timeout, or check the registry's status later with "
                f"`lamp version show {version.project} {version.version}`",
            )
        if on_wait and not announced:
            on_wait(f"waiting for version {version.version} to become READY")
            announced = True
        time.sleep(POLL_SECONDS)
        mv = backend.call(
            subject, backend.client.get_model_version, version.project, str(version.version)
        )
        version = VersionRecord.from_mlflow(mv)
    if version.status != "READY":
        raise LampError(
            f"version {version.version} of '{version.project}' ended {version.status}",
            hint="see the registry for the reason; register the run again after fixing it",
        )
    return version


def _set_aliases(
    backend: Backend, version: VersionRecord, aliases: Sequence[str], *, keep_newer: bool
) -> tuple[dict[str, int], dict[str, int]]:
    """Point each alias at ``version``; moving an alias back to an older version is a conflict
    (or, with ``keep_newer``, left alone). Returns the aliases moved and those kept."""
    client = backend.client
    project = version.project
    moved: dict[str, int] = {}
    kept: dict[str, int] = {}
    for alias in aliases:
        subject = Subject(f"alias '@{alias}' of project '{project}'")
        for attempt in range(ALIAS_ATTEMPTS):
            try:
                current = backend.call(subject, client.get_model_version_by_alias, project, alias)
                current_version: int | None = int(current.version)
            except NotFound:
                current_version = None
            if current_version == version.version:
                break
            if current_version is not None and current_version > version.version:
                if keep_newer:
                    kept[alias] = current_version
                    break
                raise Conflict(
                    f"alias '@{alias}' points at the newer version {current_version}; "
                    f"moving it back to version {version.version} would roll back",
                    hint=f"move it deliberately in the platform UI, or drop --alias {alias}",
                )
            try:
                backend.call(
                    subject, client.set_registered_model_alias, project, alias, str(version.version)
                )
            except LampError:
                # A racer set the same alias at the same moment and the store's unique index
                # refused the second write: look at where it points now and decide again.
                if attempt == ALIAS_ATTEMPTS - 1:
                    raise
                time.sleep(POLL_SECONDS)
                continue
            if current_version is not None:
                moved[alias] = current_version
            break
    return moved, kept


def read_spec(backend: Backend, project: str, ref: str, kind: str) -> tuple[VersionRecord, str]:
    """The spec text of a version exactly as the operator reads it through ``models:/``."""
    version = get_version(backend, project, ref)
    name = runs.MODEL_FILE if kind == "model" else runs.ENDPOINT_FILE
    return version, _read_file(backend, version, name)


_NOT_BY_LAMP = "this version was not registered by lamp, or its artifacts were removed"


def _read_file(backend: Backend, version: VersionRecord, name: str) -> str:
    project = version.project
    subject = Subject(
        f"{name} of version {version.version} of project '{project}'",
        hint_not_found=_NOT_BY_LAMP,
    )
    try:
        return backend.download_version_file(subject, project, version.version, name)
    except NotFound:
        # MLflow's models:/ download says "ensure that the path is correct" whatever failed;
        # listing the run's artifacts surfaces the real cause (bucket, credentials, endpoint).
        if version.run_id:
            listed = runs.spec_artifacts(backend, version.run_id)
            if f"{runs.ARTIFACT_DIR}/{name}" not in listed:
                raise NotFound(
                    f"{name} of version {version.version} of project '{project}' not found: "
                    f"run {version.run_id} has no {runs.ARTIFACT_DIR}/{name}",
                    hint=_NOT_BY_LAMP,
                ) from None
        raise


def read_pair(backend: Backend, project: str, ref: str) -> tuple[VersionRecord, SpecPair]:
    """Both specs of a version as the operator reads them, validated again, as one pair."""
    from lamp_cli.specs import ENDPOINT_KIND, MODEL_KIND, SpecPair, load_spec_text
    from lamp_cli.specs.pair import check_pair

    version = get_version(backend, project, ref)
    model_text = _read_file(backend, version, runs.MODEL_FILE)
    endpoint_text = _read_file(backend, version, runs.ENDPOINT_FILE)
    uri = f"models:/{project}/{version.version}"
    model = load_spec_text(model_text, name=f"{uri}/{runs.MODEL_FILE}", expected_kind=MODEL_KIND)
    endpoint = load_spec_text(
        endpoint_text, name=f"{uri}/{runs.ENDPOINT_FILE}", expected_kind=ENDPOINT_KIND
    )
    problems = check_pair(model, endpoint)
    if problems:
        raise SpecInvalid(problems)
    return version, SpecPair(model=model, endpoint=endpoint)
