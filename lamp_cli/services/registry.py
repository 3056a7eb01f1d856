"""Registration: a run's specs become a model version of a project, exactly once.

A version's source is ``runs:/<run_id>/lamp``, a model directory (``MLmodel`` beside the two specs
and ``lamp.json``) that every registry accepts, Unity Catalog included. Registration is
idempotent per (project, run), also under races. The run's ``lamp.*`` tags are copied to the
version under the keys of :mod:`lamp_cli.services.names` (valid on Unity Catalog).

Races are settled by the registry's own order (:func:`settle`): the version numbers of a
registered model only grow, so among the versions that stand for the same thing (the same run, or
the same release) the lowest number is the one every racer agrees on, as long as each looks after
its own version exists. The others delete their own version at once. No client clock decides.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from lamp_cli.errors import BackendUnavailable, Conflict, LampError, NotFound, Subject
from lamp_cli.gateway import Gateway
from lamp_cli.layout import (
    ARTIFACT_DIR,
    MLMODEL_FILE,
    RUN_ONLY_TAGS,
    SPEC_FILES,
    TAG_ENDPOINT_SHA,
    TAG_MODEL_SHA,
    version_tags,
)
from lamp_cli.records import RunRecord, VersionRecord
from lamp_cli.services import names, projects, runs, versions

POLL_SECONDS = 0.5
ALIAS_ATTEMPTS = 3


@dataclass
class Registration:
    version: VersionRecord
    created: bool
    moved_aliases: dict[str, int]  # alias -> version it pointed at before
    kept_aliases: dict[str, int] = field(default_factory=dict)  # alias -> newer version kept


def register(
    gateway: Gateway,
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
    name = projects.registered_name(gateway, project)
    aliases = [names.check_alias(a) for a in aliases]
    names.check_aliases_supported(gateway.settings, aliases)
    names.check_tag_keys(tags or {}, gateway.settings, "version")
    run = runs.get(gateway, run_id, with_artifacts=True)
    _check_run_carries_specs(run, needs_model_dir=gateway.registry_kind == "unity-catalog")
    record = projects.get_project(gateway, name)
    existing = versions.search(gateway, record.project, run_id=run_id)
    if existing:
        version, created = whole(gateway, min(existing, key=lambda v: v.version)), False
    else:
        mine = create_version(
            gateway, record.project, run, provenance=provenance, tags=tags, description=description
        )
        version = settle(
            gateway, mine, lambda: versions.search(gateway, record.project, run_id=run_id)
        )
        created = version.version == mine.version
    return finish(
        gateway,
        version,
        created=created,
        aliases=aliases,
        current_aliases=record.aliases,
        keep_newer_aliases=keep_newer_aliases,
        wait_timeout=wait_timeout,
        on_wait=on_wait,
    )


def finish(
    gateway: Gateway,
    version: VersionRecord,
    *,
    created: bool,
    aliases: Sequence[str],
    current_aliases: Mapping[str, str],
    keep_newer_aliases: bool,
    wait_timeout: float,
    on_wait: Callable[[str], None] | None,
) -> Registration:
    """Wait for ``version`` to be READY, then point ``aliases`` at it (``current_aliases``: where
    they pointed when the project was read)."""
    version = _wait_ready(gateway, version, wait_timeout, on_wait)
    moved, kept = _set_aliases(
        gateway, version, aliases, keep_newer=keep_newer_aliases, current=current_aliases
    )
    pointed = [a for a in aliases if a not in kept]
    # Search results carry no aliases; the project read before knows where each one points.
    already = {a for a, v in current_aliases.items() if v == str(version.version)}
    version.aliases = sorted(set(version.aliases) | already | set(pointed))
    return Registration(version=version, created=created, moved_aliases=moved, kept_aliases=kept)


def _check_run_carries_specs(run: RunRecord, *, needs_model_dir: bool) -> None:
    expected = {f"{ARTIFACT_DIR}/{name}" for name in SPEC_FILES}
    missing = sorted(expected - set(run.artifacts))
    model_file = f"{ARTIFACT_DIR}/{MLMODEL_FILE}"
    if needs_model_dir and not missing and model_file not in run.artifacts:
        raise NotFound(
            f"run {run.run_id} has no {model_file}, which Unity Catalog needs: it was logged by "
            "a lamp release older than 0.2",
            hint="log the specs again to a new run: lamp run log-spec --experiment ... "
            "--model-spec ... --endpoint-spec ...",
        )
    tags_missing = [t for t in (TAG_MODEL_SHA, TAG_ENDPOINT_SHA) if t not in run.tags]
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


def create_version(
    gateway: Gateway,
    project: str,
    run: RunRecord,
    *,
    provenance: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
) -> VersionRecord:
    """A new version of ``project`` from ``run``, created exactly once, carrying the run's
    ``lamp.*`` tags (under the version keys of :mod:`lamp_cli.layout`)."""
    copied = {k: v for k, v in run.tags.items() if k.startswith("lamp.") and k not in RUN_ONLY_TAGS}
    version_tagged = {**version_tags({**dict(provenance or {}), **copied}), **dict(tags or {})}
    subject = Subject(
        f"new version of project '{project}' from run {run.run_id}",
        hint_not_found=f"the platform creates projects; locally: lamp project create {project}",
    )
    return gateway.create_version(
        project, run.run_id, subject, tags=version_tagged, description=description
    )


def settle(
    gateway: Gateway, mine: VersionRecord, rivals: Callable[[], list[VersionRecord]]
) -> VersionRecord:
    """The version that stands once racers are done: the lowest-numbered of ``mine`` and its
    ``rivals`` (the versions that stand for the same thing, looked up after ``mine`` exists).

    A racer's version created after ``mine`` has a higher number and its racer sees ``mine``
    when it looks, so every racer picks the same one. A losing ``mine`` is deleted at once: the
    duplicate lives for one look-up and one delete. A racer that may not delete versions leaves
    its duplicate behind but still reports the winner, like every other racer.
    """
    lower = [v for v in rivals() if v.version < mine.version]
    if not lower:
        return mine
    with contextlib.suppress(LampError):
        subject = Subject(f"duplicate version {mine.version} of '{mine.project}'")
        gateway.delete_version(mine.project, mine.version, subject)
    return whole(gateway, min(lower, key=lambda v: v.version))


def whole(gateway: Gateway, version: VersionRecord) -> VersionRecord:
    """``version`` with its tags: Unity Catalog's search results carry none."""
    if version.tags:
        return version
    return versions.get_version(gateway, version.project, str(version.version))


def _wait_ready(
    gateway: Gateway,
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
        version = gateway.version(version.project, version.version, subject)
    if version.status != "READY":
        raise LampError(
            f"version {version.version} of '{version.project}' ended {version.status}",
            hint="see the registry for the reason; register the run again after fixing it",
        )
    return version


def _set_aliases(
    gateway: Gateway,
    version: VersionRecord,
    aliases: Sequence[str],
    *,
    keep_newer: bool,
    current: Mapping[str, str] | None = None,
) -> tuple[dict[str, int], dict[str, int]]:
    """Point each alias at ``version``; moving an alias back to an older version is a conflict
    (or, with ``keep_newer``, left alone). Returns the aliases moved and those kept.

    ``current`` is where the aliases pointed when the project was read (one look-up for all of
    them); without it, and after a racing write, each alias is looked up again.
    """
    project = version.project
    moved: dict[str, int] = {}
    kept: dict[str, int] = {}
    for alias in aliases:
        subject = Subject(f"alias '@{alias}' of project '{project}'")
        for attempt in range(ALIAS_ATTEMPTS):
            current_version: int | None
            if current is not None and attempt == 0:
                known = current.get(alias)
                current_version = int(known) if known is not None else None
            else:
                try:
                    found = gateway.version_by_alias(project, alias, subject)
                    current_version = found.version
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
                gateway.set_alias(project, alias, version.version, subject)
            except (Conflict, BackendUnavailable) as err:
                # A racer set the same alias at the same moment and the store's unique index
                # refused the second write (or the server failed): look again and decide again.
                if attempt == ALIAS_ATTEMPTS - 1 or not (
                    err.retryable or isinstance(err, Conflict)
                ):
                    raise
                time.sleep(POLL_SECONDS)
                continue
            if current_version is not None:
                moved[alias] = current_version
            break
    return moved, kept
