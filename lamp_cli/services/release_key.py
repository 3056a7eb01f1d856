"""The record of one release key: its runs, its versions, and how racing releases settle.

A release is identified by its key (the git tag, else the commit) within a project. Its record is
one FINISHED run in the experiment tagged ``lamp.release.key`` and ``lamp.project``, and the
version registered from it.

Racing releases of one key each create a run, because none sees the other's yet, and each
registers its own. They are settled like racing registrations (:func:`registry.settle`): the
lowest version number among the versions of the key's live runs wins, whatever any clock says.
A losing racer deletes its version at once, and marks its run superseded (KILLED, tagged
``lamp.release.superseded_by``) or, when the winner recorded other specs, FAILED with the conflict.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping

from lamp_cli.errors import Conflict, LampError, NotFound, Subject
from lamp_cli.gateway import Gateway
from lamp_cli.layout import (
    TAG_ABANDONED,
    TAG_ENDPOINT_SHA,
    TAG_IMAGE,
    TAG_MODEL_SHA,
    TAG_PROJECT,
    TAG_RELEASE_KEY,
    TAG_SPECS,
    TAG_SUPERSEDED_BY,
    VERSION_TAG_RELEASE_KEY,
    read_version_tag,
)
from lamp_cli.records import ExperimentRecord, RunRecord, VersionRecord, epoch_seconds
from lamp_cli.services import artifacts, runs, versions
from lamp_cli.specs import SpecPair

#: A run of a release takes seconds to write; one RUNNING for this long was left by a dead
#: process and is marked FAILED on sight. (The age is the server's start time against this
#: machine's clock; ten minutes leave room for skew.)
STALE_AFTER_S = 600.0


def specs_of(tags: Mapping[str, str]) -> str | None:
    """``<model sha256>:<endpoint sha256>`` of a run (its hash tags, or the ``lamp.release.specs``
    tag of runs written by releases that wrote the hash tags last)."""
    model, endpoint = tags.get(TAG_MODEL_SHA), tags.get(TAG_ENDPOINT_SHA)
    return f"{model}:{endpoint}" if model and endpoint else tags.get(TAG_SPECS)


def pair_specs(pair: SpecPair) -> str:
    return f"{pair.model.sha256}:{pair.endpoint.sha256}"


def live(run: RunRecord) -> bool:
    """Still a candidate for the key: not failed, killed, superseded or abandoned."""
    dropped = TAG_SUPERSEDED_BY in run.tags or TAG_ABANDONED in run.tags
    return run.status in ("RUNNING", "FINISHED") and not dropped


def candidates(gateway: Gateway, experiment_id: str, project: str, key: str) -> list[RunRecord]:
    """The live-or-not runs of the release ``key`` of ``project`` in the experiment."""
    subject = Subject(f"runs of release '{key}' of project '{project}'")
    return gateway.runs([experiment_id], subject, tags={TAG_PROJECT: project, TAG_RELEASE_KEY: key})


def create_run(
    gateway: Gateway,
    experiment: ExperimentRecord,
    *,
    project: str,
    key: str,
    name: str,
    tags: Mapping[str, str],
) -> RunRecord:
    """The run of this release, carrying every tag from its creation on."""
    all_tags = {**dict(tags), TAG_RELEASE_KEY: key, TAG_PROJECT: project}
    return runs.create_in(
        gateway, experiment.experiment_id, experiment.name, name=name[:250], tags=all_tags
    )


def key_versions(
    gateway: Gateway,
    experiment_id: str,
    project: str,
    key: str,
    specs: str,
    new_release: bool,
    own_run_id: str,
) -> list[VersionRecord]:
    """The versions that stand for the release ``key``: those of its live runs (of the same
    specs with ``new_release``), looked up once this racer's own version exists."""
    subject = Subject(f"versions of release '{key}' of project '{project}'")
    found = gateway.versions_tagged(project, VERSION_TAG_RELEASE_KEY, key, subject)
    if found is not None:
        found = [v for v in found if not new_release or _version_specs(v) == specs]
        return _of_live_runs(gateway, found, own_run_id)
    # Unity Catalog searches one condition and returns no tags: the key's runs, then theirs.
    own = [
        c
        for c in candidates(gateway, experiment_id, project, key)
        if live(c) and (not new_release or specs_of(c.tags) == specs)
    ]
    found = []
    for run in own:
        found += versions.search(gateway, project, run_id=run.run_id)
    return found


def standing(
    gateway: Gateway,
    experiment_id: str,
    project: str,
    key: str,
    specs: str,
    finished: list[RunRecord],
) -> tuple[VersionRecord, RunRecord] | None:
    """The version that stands for a release already recorded with these ``specs`` (its
    ``finished`` runs, live and of these specs), and its run; None when none is registered yet.

    The lowest version of the key's live runs, as every racer settles on it: a rerun that picked
    one of the finished runs by itself could report a version its racer is about to delete.
    """
    subject = Subject(f"versions of release '{key}' of project '{project}'")
    found = gateway.versions_tagged(project, VERSION_TAG_RELEASE_KEY, key, subject)
    if found is None:
        # Unity Catalog searches one condition: the versions of the runs at hand.
        found = [
            v for run in finished for v in versions.search(gateway, project, run_id=run.run_id)
        ]
    known = {run.run_id: run for run in finished}
    for version in sorted(found, key=lambda v: v.version):
        specs_tagged = _version_specs(version)
        if version.run_id is None or specs_tagged not in (None, specs):
            continue
        run = known.get(version.run_id)
        if run is None:
            # Only in a race: a run that finished after the runs were listed.
            try:
                run = runs.get(gateway, version.run_id)
            except NotFound:
                continue
            if not (live(run) and run.status == "FINISHED" and specs_of(run.tags) == specs):
                continue
        return version, run
    return None


def _version_specs(version: VersionRecord) -> str | None:
    model = read_version_tag(version.tags, TAG_MODEL_SHA)
    endpoint = read_version_tag(version.tags, TAG_ENDPOINT_SHA)
    return f"{model}:{endpoint}" if model and endpoint else None


def _of_live_runs(
    gateway: Gateway, found: list[VersionRecord], own_run_id: str
) -> list[VersionRecord]:
    """``found`` without the lowest versions of runs no longer live (failed, superseded,
    deleted), down to the first live one.

    Only a version lower than the caller's can change the outcome, and only in a race or after
    one: another run is read only then, lowest first, until a live one is found.
    """
    kept = sorted(found, key=lambda v: v.version)
    for index, version in enumerate(kept):
        if version.run_id == own_run_id:
            return kept[index:]
        if version.run_id is None:
            continue
        try:
            run = runs.get(gateway, version.run_id)
        except NotFound:
            continue
        if live(run) and run.status == "FINISHED":
            return kept[index:]
    return []


def step_back(
    gateway: Gateway,
    mine: RunRecord,
    winner: VersionRecord,
    *,
    key: str,
    project: str,
    pair: SpecPair,
    reused: bool,
    say: Callable[[str], None],
) -> RunRecord:
    """The run of the winning ``winner``; a run this call created steps back."""
    if winner.run_id == mine.run_id:
        return mine
    assert winner.run_id is not None
    run = runs.get(gateway, winner.run_id)
    if specs_of(run.tags) != pair_specs(pair):
        error = conflict(key, project, run, pair)
        if not reused:
            runs.mark_failed(gateway, mine.run_id, error)
        raise error
    if not reused:
        _supersede(gateway, mine.run_id, run.run_id)
    say(f"a concurrent release '{key}' recorded run {run.run_id} first; using it")
    return run


def reap_stale(gateway: Gateway, found: list[RunRecord], say: Callable[[str], None]) -> None:
    """Mark FAILED the runs of the key left RUNNING by a process that died."""
    now = time.time()
    for run in found:
        started = epoch_seconds(run.started_at) or now
        if run.status == "RUNNING" and live(run) and now - started > STALE_AFTER_S:
            subject = Subject(f"marking the abandoned run {run.run_id} FAILED")
            why = f"still RUNNING {STALE_AFTER_S / 60:g} min after it began"
            gateway.set_run_tags(run.run_id, {TAG_ABANDONED: why}, subject)
            gateway.end_run(run.run_id, "FAILED", subject)
            run.status = "FAILED"
            say(f"run {run.run_id} of an earlier, interrupted attempt was marked FAILED")


def _supersede(gateway: Gateway, mine: str, winner: str) -> None:
    # The tag first: a run seen KILLED always says why.
    subject = Subject(f"marking run {mine} superseded by run {winner}")
    gateway.set_run_tags(mine, {TAG_SUPERSEDED_BY: winner}, subject)
    # The tag alone already takes the run out of every later look-up.
    with contextlib.suppress(LampError):
        gateway.end_run(mine, "KILLED", subject)


def conflict(key: str, project: str, existing: RunRecord, pair: SpecPair) -> Conflict:
    """The key is recorded with other specs."""
    changed = []
    old_model, _, old_endpoint = (specs_of(existing.tags) or ":").partition(":")
    if old_model != pair.model.sha256:
        changed.append("model spec")
    if old_endpoint != pair.endpoint.sha256:
        changed.append("endpoint spec")
    old_image, new_image = existing.tags.get(TAG_IMAGE), artifacts.image_ref(pair)
    detail = f"image {old_image}, now {new_image}" if old_image != new_image else ""
    return Conflict(
        f"release '{key}' of project '{project}' is already recorded by run {existing.run_id} "
        f"with a different {' and '.join(changed) or 'spec'}" + (f" ({detail})" if detail else ""),
        hint="make a new git tag for new specs, or pass --new-release to record them as another "
        "version under the same key",
    )
