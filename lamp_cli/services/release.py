"""``lamp release``: one idempotent step from two spec files to a registered, aliased version.

A release is identified by its key (the git tag, else the commit) within a project. Its record is
one FINISHED run in the experiment tagged ``lamp.release.key`` and ``lamp.project``; rerunning the
release finds that run and returns it and its version instead of writing anything new.

Racing releases of one key each create a run, because none sees the other's yet. Once its own run
is complete, each racer elects the earliest started live run of the key (waiting for an earlier
one still being written); the others mark their own run superseded (KILLED, tagged
``lamp.release.superseded_by``) and report the winner. Runs only ever become visible in start
order to a racer that looks after its own run exists, so every racer elects the same run.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lamp_cli.errors import Conflict, InvalidInput, LampError, Subject
from lamp_cli.services import ecr, experiments, names, projects, registry, runs
from lamp_cli.services.client import ACTIVE_ONLY, Backend
from lamp_cli.services.provenance import TAG_RELEASE_KEY
from lamp_cli.services.records import ExperimentRecord, RunRecord, VersionRecord

if TYPE_CHECKING:
    from lamp_cli.specs import SpecPair

TAG_PROJECT = "lamp.project"
#: ``<model sha256>:<endpoint sha256>`` from the run's creation on, while the hash tags of
#: DESIGN.md are written only once the files are: racers compare specs before those exist.
TAG_SPECS = "lamp.release.specs"
TAG_SUPERSEDED_BY = "lamp.release.superseded_by"
TAG_ABANDONED = "lamp.release.abandoned"

#: A run of a release takes seconds to write; one RUNNING for this long was left by a dead
#: process and is marked FAILED on sight.
STALE_AFTER_S = 600.0
#: How long a racer waits for an earlier racer's run to be complete.
PEER_WAIT_S = 90.0
POLL_S = 0.3


def apply_image(
    pair: SpecPair, image: str | None, verify: bool | None, *, look_up_by_default: bool
) -> SpecPair:
    """The pair with ``image`` (``HOST/REPO:TAG[@DIGEST]``) in the model spec, digest pinned.

    ``image`` replaces the repository and tag and drops the digest the file had. An ECR image
    without digest gets the one its tag points to now (``verify`` is the tri-state of
    ``--verify-image``). Without ``image`` the spec's own image is looked up only when
    ``look_up_by_default`` or ``verify`` asks for it. Nothing is written anywhere.
    """
    from lamp_cli.specs import SpecPair

    current = pair.model.document.spec.image
    if image is not None:
        ref = ecr.parse_image_ref(image)
        if ref.tag is None:
            raise InvalidInput(
                f"--image {image!r} has no tag; the model spec records repository and tag",
                hint="pass HOST/REPOSITORY:TAG (optionally @sha256:DIGEST)",
            )
        repository, tag, digest = ref.repository, ref.tag, ref.digest
    else:
        if verify is False or (verify is None and not look_up_by_default):
            return pair
        repository, tag, digest = current.repository, current.tag, current.digest
    pinned = ecr.pin_image(repository, tag, digest, verify=verify)
    if (repository, tag, pinned) == (current.repository, current.tag, current.digest):
        return pair
    return SpecPair(model=pair.model.with_image(repository, tag, pinned), endpoint=pair.endpoint)


@dataclass
class ReleaseResult:
    experiment: ExperimentRecord
    run: RunRecord
    version: VersionRecord
    release_key: str
    reused: bool  # the run existed before this invocation
    created_run: bool  # this invocation created the run it reports
    created_version: bool
    moved_aliases: dict[str, int] = field(default_factory=dict)
    kept_aliases: dict[str, int] = field(default_factory=dict)  # left on a newer version


@dataclass(frozen=True)
class _Candidate:
    """A run of the release key, with the fields the election orders and compares on."""

    run_id: str
    status: str
    start_time: int
    tags: Mapping[str, str]

    @classmethod
    def from_mlflow(cls, run: Any) -> _Candidate:
        info = run.info
        return cls(info.run_id, info.status, info.start_time or 0, dict(run.data.tags or {}))

    @property
    def specs(self) -> str | None:
        model, endpoint = self.tags.get(runs.TAG_MODEL_SHA), self.tags.get(runs.TAG_ENDPOINT_SHA)
        return f"{model}:{endpoint}" if model and endpoint else self.tags.get(TAG_SPECS)

    @property
    def live(self) -> bool:
        dropped = TAG_SUPERSEDED_BY in self.tags or TAG_ABANDONED in self.tags
        return self.status in ("RUNNING", "FINISHED") and not dropped

    @property
    def order(self) -> tuple[int, str]:
        return (self.start_time, self.run_id)


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
    project = projects.registered_name(backend, project)
    aliases = [names.check_alias(a) for a in aliases]
    names.check_aliases_supported(backend.settings, aliases)
    if not release_key.strip():
        raise InvalidInput("the release key is empty")
    projects.get_project(backend, project)
    exp, _ = experiments.create(backend, experiment, exist_ok=True)
    specs = f"{pair.model.sha256}:{pair.endpoint.sha256}"

    found = _candidates(backend, exp.experiment_id, project, release_key)
    _reap_stale(backend, found, say)
    done = sorted((c for c in found if c.live and c.status == "FINISHED"), key=lambda c: c.order)
    same = [c for c in done if c.specs == specs]
    created_run = False
    if same:
        winner_id = same[0].run_id
        say(f"release '{release_key}' is already recorded by run {winner_id}; reusing it")
    else:
        if done and not new_release:
            raise _conflict(release_key, project, done[0], pair)
        mine = _create_run(backend, exp, project, release_key, pair, specs, provenance)
        winner_id = _elect(
            backend, exp.experiment_id, project, release_key, mine, specs, new_release, pair, say
        )
        created_run = winner_id == mine
    registration = registry.register(
        backend,
        winner_id,
        project,
        aliases=aliases,
        # A rerun of an older release leaves an alias that a newer release took where it is.
        keep_newer_aliases=not created_run,
        wait_timeout=wait_timeout,
        on_wait=say,
        provenance={k: v for k, v in (provenance or {}).items() if k != TAG_RELEASE_KEY},
    )
    return ReleaseResult(
        experiment=exp,
        run=runs.get(backend, winner_id, with_artifacts=True),
        version=registration.version,
        release_key=release_key,
        reused=not created_run,
        created_run=created_run,
        created_version=registration.created,
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
) -> str:
    tags = {**dict(provenance or {}), TAG_RELEASE_KEY: key, TAG_PROJECT: project, TAG_SPECS: specs}
    subject = Subject(f"run for release '{key}' in experiment '{exp.name}'")
    raw = backend.call(
        subject,
        backend.client.create_run,
        exp.experiment_id,
        tags=tags,
        run_name=f"release-{key}"[:250],
    )
    run_id: str = raw.info.run_id
    runs.log_specs(backend, pair, run_id=run_id)
    return run_id


def _elect(
    backend: Backend,
    experiment_id: str,
    project: str,
    key: str,
    mine: str,
    specs: str,
    new_release: bool,
    pair: SpecPair,
    say: Callable[[str], None],
) -> str:
    """The run that records the release once ``mine`` is complete; ``mine`` steps back if needed.

    Candidates are the live runs of the key (with ``new_release``, those of the same specs); the
    earliest started one wins, an earlier one still RUNNING is waited for. A run created after
    this look-up started after ``mine`` was complete, so (with clocks in sync) it cannot win.
    """
    waited_since: dict[str, float] = {}
    while True:
        found = _candidates(backend, experiment_id, project, key)
        live = [c for c in found if c.live and (c.specs == specs or not new_release)]
        me = next((c for c in found if c.run_id == mine), None)
        if me is not None and not me.live:
            # A racer gave up waiting for this run and marked it abandoned: step back.
            finished = sorted((c for c in live if c.status == "FINISHED"), key=lambda c: c.order)
            if finished and finished[0].specs == specs:
                _supersede(backend, mine, finished[0].run_id)
                return finished[0].run_id
            raise LampError(
                f"run {mine} of release '{key}' was marked abandoned by a concurrent release",
                hint="run `lamp release` again",
            )
        winner = min(live, key=lambda c: c.order, default=None)
        if winner is None or winner.run_id == mine:
            return mine
        if winner.status == "RUNNING":
            if winner.run_id not in waited_since:
                waited_since[winner.run_id] = time.monotonic()
                say(f"waiting for run {winner.run_id} of a concurrent release '{key}'")
            elif time.monotonic() - waited_since[winner.run_id] > PEER_WAIT_S:
                _abandon(backend, winner.run_id, f"not complete after {PEER_WAIT_S:g} s")
            time.sleep(POLL_S)
            continue
        if winner.specs == specs:
            _supersede(backend, mine, winner.run_id)
            say(f"a concurrent release '{key}' recorded run {winner.run_id} first; using it")
            return winner.run_id
        error = _conflict(key, project, winner, pair)
        runs.mark_failed(backend, mine, error)
        raise error


def _supersede(backend: Backend, mine: str, winner: str) -> None:
    # The tag first: a run seen KILLED always says why.
    subject = Subject(f"marking run {mine} superseded by run {winner}")
    backend.set_run_tags(subject, mine, {TAG_SUPERSEDED_BY: winner})
    # The tag alone already takes the run out of every election.
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
