"""``lamp release``: one idempotent step from two spec files to a registered, aliased version.

A release is identified by its key (the git tag, else the commit) within a project. Its record is
one FINISHED run in the experiment tagged ``lamp.release.key`` and ``lamp.project``, and the
version registered from it; rerunning the release finds that run and returns it and its version
instead of writing anything new.

Racing releases of one key each create a run, because none sees the other's yet, and each
registers its own. They are settled like racing registrations (:func:`registry.settle`): the
lowest version number among the versions of the key's live runs wins, whatever any clock says.
A losing racer deletes its version at once, and marks its run superseded (KILLED, tagged
``lamp.release.superseded_by``) or, when the winner recorded other specs, FAILED with the conflict.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lamp_cli.errors import Conflict, InvalidInput, LampError, NotFound, Subject, UsageError
from lamp_cli.services import (
    experiments,
    names,
    pairs,
    projects,
    provenance,
    registry,
    runs,
    versions,
)
from lamp_cli.services.client import ACTIVE_ONLY, Backend
from lamp_cli.services.provenance import TAG_RELEASE_KEY
from lamp_cli.services.records import ExperimentRecord, RunRecord, VersionRecord
from lamp_cli.settings import is_databricks_uri

if TYPE_CHECKING:
    from pathlib import Path

    from lamp_cli.services import manifests
    from lamp_cli.settings import Settings
    from lamp_cli.specs import SpecPair

TAG_PROJECT = "lamp.project"
#: ``<model sha256>:<endpoint sha256>`` from the run's creation on, while the hash tags of
#: DESIGN.md are written only once the files are: a run's specs are known while it is written.
TAG_SPECS = "lamp.release.specs"
TAG_SUPERSEDED_BY = "lamp.release.superseded_by"
TAG_ABANDONED = "lamp.release.abandoned"
#: The release key as a version tag (see :func:`names.version_tags`).
VERSION_TAG_KEY = "lamp_release_key"

#: A run of a release takes seconds to write; one RUNNING for this long was left by a dead
#: process and is marked FAILED on sight. (The age is the server's start time against this
#: machine's clock; ten minutes leave room for skew.)
STALE_AFTER_S = 600.0


@dataclass
class ReleaseResult:
    experiment: ExperimentRecord
    run: RunRecord
    version: VersionRecord
    release_key: str
    reused: bool  # the run existed before this invocation
    created_run: bool  # this invocation created the run it reports
    created_version: bool
    pair: SpecPair  # the specs as recorded: overrides applied, image pinned
    moved_aliases: dict[str, int] = field(default_factory=dict)
    kept_aliases: dict[str, int] = field(default_factory=dict)  # left on a newer version

    @property
    def project(self) -> str:
        """The registered model: on Unity Catalog, the three-level name."""
        return self.version.project

    @property
    def image(self) -> str:
        return self.run.tags.get(runs.TAG_IMAGE, "")

    def to_dict(self) -> dict[str, Any]:
        """The ``-o json`` document of ``lamp release``."""
        specs = {"model": self.pair.model.sha256, "endpoint": self.pair.endpoint.sha256}
        return {
            "run_id": self.run.run_id,
            "experiment_id": self.experiment.experiment_id,
            "experiment": self.experiment.name,
            "project": self.project,
            "model_version": self.version.version,
            "version": self.version.to_dict(),
            "image": self.image,
            "specs": specs,
            "release_key": self.release_key,
            "reused": self.reused,
            "created_run": self.created_run,
        }

    def step_outputs(self) -> dict[str, str]:
        """The GitHub Actions step outputs."""
        return {
            "run_id": self.run.run_id,
            "experiment_id": self.experiment.experiment_id,
            "project": self.project,
            "model_version": str(self.version.version),
            "image": self.image,
            "release_key": self.release_key,
            "reused": str(self.reused).lower(),
        }


@dataclass(frozen=True)
class Request:
    """A ``lamp release`` as given: spec files and options, before anything is resolved."""

    project: str
    model_path: Path
    endpoint_path: Path
    experiment: str | None = None
    overrides: Sequence[str] = ()
    image: str | None = None
    verify_image: bool | None = None
    release_key: str | None = None
    aliases: Sequence[str] = ()
    new_release: bool = False
    wait_timeout: float = 300.0
    #: Render the chart and check its manifests before anything is written (``None``: don't).
    check_manifests: manifests.Options | None = None


def default_experiment(settings: Settings, project: str) -> str:
    """The experiment of a release when none is configured: the project id, or on Databricks
    (where experiments are workspace paths) ``/Shared/<project>``."""
    if is_databricks_uri(settings.tracking_uri):
        from lamp_cli.services import databricks

        return databricks.default_experiment(project)
    return project


def release_files(
    connect: Callable[[], Backend],
    settings: Settings,
    request: Request,
    *,
    notice: Callable[[str], None] | None = None,
) -> ReleaseResult:
    """Validate the spec files, pin the image and record the release (:func:`release`).

    The release key defaults to the checkout's (the git tag, else the commit); the experiment
    to :func:`default_experiment`. ``connect`` is called only once the specs are valid and the
    image is pinned: bad input writes nothing, the local store included.
    """
    say = notice or (lambda _msg: None)
    experiment = request.experiment
    if not experiment:
        experiment = default_experiment(settings, request.project)
        say(f"no experiment configured; using '{experiment}'")
    origin = provenance.collect(settings.cwd)
    key = request.release_key or origin.release_key
    if not key:
        raise UsageError(
            "cannot tell which release this is: not a git checkout and not in GitHub Actions",
            hint="run it in the app's git checkout, or pass --release-key",
        )
    pair = pairs.prepare(
        request.model_path,
        request.endpoint_path,
        overrides=request.overrides,
        image=request.image,
        verify_image=request.verify_image,
        look_up_by_default=True,
    )
    if request.check_manifests is not None:
        from lamp_cli.services import manifests

        manifests.check(pair, settings, request.check_manifests, notice=say)
    return release(
        connect(),
        pair,
        experiment=experiment,
        project=request.project,
        release_key=key,
        provenance=origin.tags(release_key=False),
        aliases=request.aliases,
        new_release=request.new_release,
        wait_timeout=request.wait_timeout,
        notice=say,
    )


@dataclass(frozen=True)
class _Candidate:
    """A run of the release key."""

    run: RunRecord
    start_time: int

    @classmethod
    def from_mlflow(cls, run: Any) -> _Candidate:
        return cls(RunRecord.from_mlflow(run), run.info.start_time or 0)

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def status(self) -> str:
        return self.run.status

    @property
    def tags(self) -> Mapping[str, str]:
        return self.run.tags

    @property
    def specs(self) -> str | None:
        return _specs_of(self.tags)

    @property
    def live(self) -> bool:
        dropped = TAG_SUPERSEDED_BY in self.tags or TAG_ABANDONED in self.tags
        return self.status in ("RUNNING", "FINISHED") and not dropped


def _specs_of(tags: Mapping[str, str]) -> str | None:
    model, endpoint = tags.get(runs.TAG_MODEL_SHA), tags.get(runs.TAG_ENDPOINT_SHA)
    return f"{model}:{endpoint}" if model and endpoint else tags.get(TAG_SPECS)


def _version_specs(version: VersionRecord) -> str | None:
    model = version.tags.get(names.version_tag_key(runs.TAG_MODEL_SHA))
    endpoint = version.tags.get(names.version_tag_key(runs.TAG_ENDPOINT_SHA))
    return f"{model}:{endpoint}" if model and endpoint else None


def release(
    backend: Backend,
    pair: SpecPair,
    *,
    experiment: str,
    project: str,
    release_key: str,
    provenance: Mapping[str, str] | None = None,
    aliases: Sequence[str] = (),
    new_release: bool = False,
    wait_timeout: float = 300.0,
    notice: Callable[[str], None] | None = None,
) -> ReleaseResult:
    """Record ``pair`` as the release ``release_key`` of ``project``, or return that record.

    The project must exist. Same key and same specs: the existing run and version (aliases are
    still set). Same key and other specs: a conflict, unless ``new_release``.
    """
    say = notice or (lambda _msg: None)
    name = projects.registered_name(backend, project)
    aliases = [names.check_alias(a) for a in aliases]
    names.check_aliases_supported(backend.settings, aliases)
    if not release_key.strip():
        raise InvalidInput("the release key is empty")
    # One read says the project exists and where its aliases point.
    record = projects.get_project(backend, name)
    name = record.project
    exp, exp_created = experiments.ensure(backend, experiment)
    specs = f"{pair.model.sha256}:{pair.endpoint.sha256}"
    lineage = {k: v for k, v in (provenance or {}).items() if k != TAG_RELEASE_KEY}

    # An experiment this call created holds no run of the key: a racer's run created since is
    # found when the versions are settled.
    found = [] if exp_created else _candidates(backend, exp.experiment_id, name, release_key)
    _reap_stale(backend, found, say)
    done = [c for c in found if c.live and c.status == "FINISHED"]
    same = sorted((c for c in done if c.specs == specs), key=lambda c: c.run_id)
    version: VersionRecord | None = None
    if same:
        run, reused = same[0].run, True
        say(f"release '{release_key}' is already recorded by run {run.run_id}; reusing it")
        existing = versions.search(backend, name, run_id=run.run_id)
        if existing:
            version = registry.whole(backend, min(existing, key=lambda v: v.version))
    else:
        if done and not new_release:
            raise _conflict(release_key, name, done[0], pair)
        run, reused = _create_run(backend, exp, name, release_key, pair, specs, provenance), False
    created_version = False
    if version is None:
        mine = registry.create_version(backend, name, run, provenance=lineage)
        version = registry.settle(
            backend,
            mine,
            lambda: _key_versions(
                backend, exp.experiment_id, name, release_key, specs, new_release, run.run_id
            ),
        )
        created_version = version.version == mine.version
        if not created_version:
            run = _step_back(backend, run, version, release_key, name, specs, pair, reused, say)
    registration = registry.finish(
        backend,
        version,
        created=created_version,
        aliases=aliases,
        current_aliases=record.aliases,
        # A rerun of an older release leaves an alias that a newer release took where it is.
        keep_newer_aliases=reused or not created_version,
        wait_timeout=wait_timeout,
        on_wait=say,
    )
    created_run = not reused and run.run_id == version.run_id and created_version
    return ReleaseResult(
        experiment=exp,
        run=run,
        version=registration.version,
        release_key=release_key,
        reused=not created_run,
        created_run=created_run,
        created_version=registration.created,
        pair=pair,
        moved_aliases=registration.moved_aliases,
        kept_aliases=registration.kept_aliases,
    )


def _quoted(value: str) -> str | None:
    # MLflow's run search takes '...' or "..." literals without escapes.
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    return None


def _candidates(backend: Backend, experiment_id: str, project: str, key: str) -> list[_Candidate]:
    clauses = [f"tags.`{TAG_PROJECT}` = {_quoted(project)}"]
    if (quoted_key := _quoted(key)) is not None:
        clauses.append(f"tags.`{TAG_RELEASE_KEY}` = {quoted_key}")
    subject = Subject(f"runs of release '{key}' of project '{project}'")
    found = [
        _Candidate.from_mlflow(r)
        for r in backend.search_all(
            subject,
            backend.client.search_runs,
            [experiment_id],
            filter_string=" and ".join(clauses),
            run_view_type=ACTIVE_ONLY,
        )
    ]
    return [c for c in found if c.tags.get(TAG_RELEASE_KEY) == key]


def _key_versions(
    backend: Backend,
    experiment_id: str,
    project: str,
    key: str,
    specs: str,
    new_release: bool,
    own_run_id: str,
) -> list[VersionRecord]:
    """The versions that stand for the release ``key``: those of its live runs (of the same
    specs with ``new_release``), looked up once this racer's own version exists."""
    quoted = _quoted(key)
    if backend.registry_kind == "mlflow" and quoted is not None:
        # MLflow's registry filters on version tags: one request for all racers' versions.
        subject = Subject(f"versions of release '{key}' of project '{project}'")
        query = f"name = {_quoted(project)} and tags.`{VERSION_TAG_KEY}` = {quoted}"
        found = [
            VersionRecord.from_mlflow(mv)
            for mv in backend.search_all(subject, backend.client.search_model_versions, query)
        ]
        found = [v for v in found if not new_release or _version_specs(v) == specs]
        return _of_live_runs(backend, found, own_run_id)
    # Unity Catalog searches one condition and returns no tags: the key's runs, then theirs.
    live = [
        c
        for c in _candidates(backend, experiment_id, project, key)
        if c.live and (not new_release or c.specs == specs)
    ]
    found = []
    for c in live:
        found += versions.search(backend, project, run_id=c.run_id)
    return found


def _of_live_runs(
    backend: Backend, found: list[VersionRecord], own_run_id: str
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
            run = _Candidate(runs.get(backend, version.run_id), 0)
        except NotFound:
            continue
        if run.live and run.status == "FINISHED":
            return kept[index:]
    return []


def _step_back(
    backend: Backend,
    mine: RunRecord,
    winner: VersionRecord,
    key: str,
    project: str,
    specs: str,
    pair: SpecPair,
    reused: bool,
    say: Callable[[str], None],
) -> RunRecord:
    """The run of the winning ``winner``; a run this call created steps back."""
    if winner.run_id == mine.run_id:
        return mine
    assert winner.run_id is not None
    run = runs.get(backend, winner.run_id)
    if _specs_of(run.tags) != specs:
        error = _conflict(key, project, _Candidate(run, 0), pair)
        if not reused:
            runs.mark_failed(backend, mine.run_id, error)
        raise error
    if not reused:
        _supersede(backend, mine.run_id, run.run_id)
    say(f"a concurrent release '{key}' recorded run {run.run_id} first; using it")
    return run


def _reap_stale(backend: Backend, found: list[_Candidate], say: Callable[[str], None]) -> None:
    now_ms = time.time() * 1000
    for c in found:
        if c.status == "RUNNING" and c.live and now_ms - c.start_time > STALE_AFTER_S * 1000:
            _abandon(backend, c.run_id, f"still RUNNING {STALE_AFTER_S / 60:g} min after it began")
            say(f"run {c.run_id} of an earlier, interrupted attempt was marked FAILED")


def _abandon(backend: Backend, run_id: str, why: str) -> None:
    subject = Subject(f"marking the abandoned run {run_id} FAILED")
    backend.set_run_tags(subject, run_id, {TAG_ABANDONED: why})
    backend.call(subject, backend.client.set_terminated, run_id, "FAILED")


def _create_run(
    backend: Backend,
    exp: ExperimentRecord,
    project: str,
    key: str,
    pair: SpecPair,
    specs: str,
    provenance: Mapping[str, str] | None,
) -> RunRecord:
    tags = {**dict(provenance or {}), TAG_RELEASE_KEY: key, TAG_PROJECT: project, TAG_SPECS: specs}
    run = runs.create_in(
        backend, exp.experiment_id, exp.name, name=f"release-{key}"[:250], tags=tags
    )
    return runs.log_specs(backend, pair, run=run).run


def _supersede(backend: Backend, mine: str, winner: str) -> None:
    # The tag first: a run seen KILLED always says why.
    subject = Subject(f"marking run {mine} superseded by run {winner}")
    backend.set_run_tags(subject, mine, {TAG_SUPERSEDED_BY: winner})
    # The tag alone already takes the run out of every later look-up.
    with contextlib.suppress(LampError):
        backend.call(subject, backend.client.set_terminated, mine, "KILLED")


def _conflict(key: str, project: str, existing: _Candidate, pair: SpecPair) -> Conflict:
    changed = []
    old_model, _, old_endpoint = (existing.specs or ":").partition(":")
    if old_model != pair.model.sha256:
        changed.append("model spec")
    if old_endpoint != pair.endpoint.sha256:
        changed.append("endpoint spec")
    old_image, new_image = existing.tags.get(runs.TAG_IMAGE), runs.image_ref(pair)
    detail = f"image {old_image}, now {new_image}" if old_image != new_image else ""
    return Conflict(
        f"release '{key}' of project '{project}' is already recorded by run {existing.run_id} "
        f"with a different {' and '.join(changed) or 'spec'}" + (f" ({detail})" if detail else ""),
        hint="make a new git tag for new specs, or pass --new-release to record them as another "
        "version under the same key",
    )
