"""MLflow runs: create, show, list, and log the two serving specs as one all-or-nothing step."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lamp_cli.errors import Conflict, LampError, NotFound, Subject, UsageError
from lamp_cli.gateway import Gateway
from lamp_cli.layout import ARTIFACT_DIR, TAG_ENDPOINT_SHA, TAG_ERROR, TAG_IMAGE, TAG_MODEL_SHA
from lamp_cli.records import RunRecord, iso_time
from lamp_cli.services import artifacts, experiments
from lamp_cli.services.names import check_run_id

if TYPE_CHECKING:
    from lamp_cli.services.pairs import Prepared
    from lamp_cli.settings import Settings
    from lamp_cli.specs import SpecPair


def _subject(run_id: str) -> Subject:
    return Subject(
        f"run {run_id}",
        hint_not_found="list the latest runs with `lamp run list`",
    )


def get(gateway: Gateway, run_id: str, *, with_artifacts: bool = False) -> RunRecord:
    """A live run by id; with its lamp artifacts listed when asked."""
    run = gateway.run(run_id, _subject(run_id))
    if run.lifecycle_stage == "deleted":
        raise NotFound(
            f"run {run_id} not found (it is deleted)",
            hint="list the latest runs with `lamp run list`",
        )
    if with_artifacts:
        run.artifacts = spec_artifacts(gateway, run)
    return run


def spec_artifacts(gateway: Gateway, run: RunRecord) -> list[str]:
    """The lamp artifacts of a run, as paths relative to the run's artifact root."""
    return gateway.run_files(run, ARTIFACT_DIR, Subject(f"artifacts of run {run.run_id}"))


def create(
    gateway: Gateway,
    experiment: str,
    *,
    name: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> RunRecord:
    """A new run in the existing experiment ``experiment`` (name or id), left RUNNING."""
    exp = experiments.get(gateway, experiment)
    return create_in(gateway, exp.experiment_id, exp.name, name=name, tags=tags)


def create_in(
    gateway: Gateway,
    experiment_id: str,
    experiment_name: str,
    *,
    name: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> RunRecord:
    """A new RUNNING run in the experiment ``experiment_id``, created exactly once."""
    subject = Subject(f"run in experiment '{experiment_name}'")
    return gateway.create_run(experiment_id, subject, name=name, tags=tags)


def latest(gateway: Gateway, experiment: str | None, *, limit: int) -> list[RunRecord]:
    """The ``limit`` latest runs of ``experiment``, or of every live experiment."""
    if experiment:
        ids = [experiments.get(gateway, experiment).experiment_id]
    else:
        ids = [e.experiment_id for e in experiments.list_all(gateway)]
    if not ids:
        return []
    return gateway.latest_runs(ids, Subject("the latest runs"), limit=limit)


def lamp_status(run: RunRecord) -> str:
    """What a run holds for lamp: ``specs`` (both, complete), ``failed``, ``partial`` or ``-``."""
    if TAG_ERROR in run.tags or run.status == "FAILED":
        return "failed"
    has_specs = TAG_MODEL_SHA in run.tags and TAG_ENDPOINT_SHA in run.tags
    if has_specs and run.status == "FINISHED":
        return "specs"
    return "partial" if has_specs else "-"


@dataclass
class LogResult:
    run: RunRecord
    created_run: bool  # a new run was made for these specs
    unchanged: bool  # the run already carried exactly these specs; nothing was written
    pair: SpecPair

    def to_dict(self) -> dict[str, Any]:
        """The ``-o json`` document of ``lamp run log-spec``."""
        return {
            **self.run.to_dict(),
            "created_run": self.created_run,
            "unchanged": self.unchanged,
            "image": self.run.tags.get(TAG_IMAGE),
            "specs": {"model": self.pair.model.sha256, "endpoint": self.pair.endpoint.sha256},
        }


def log_spec_files(
    connect: Callable[[], Gateway],
    settings: Settings,
    model_path: Path,
    endpoint_path: Path,
    *,
    overrides: Sequence[str] = (),
    image: str | None = None,
    verify_image: bool | None = None,
    run_id: str | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
    strict: bool = False,
    notice: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> LogResult:
    """Validate the spec files, pin the image when asked (:func:`pairs.prepare`) and log them
    (:func:`log_specs`) with the checkout's provenance. ``connect`` is called only once the
    specs are valid: bad input writes nothing, the local store included."""
    from lamp_cli.services import pairs, provenance

    if run_id is not None:
        check_run_id(run_id)
    prepared = pairs.prepare(
        settings,
        model_path,
        endpoint_path,
        overrides=overrides,
        image=image,
        verify_image=verify_image,
        look_up_by_default=False,
        strict=strict,
        notice=notice,
        warn=warn,
    )
    origin = provenance.collect(settings.cwd)
    if run_id is None and not experiment:
        raise UsageError(
            "give a RUN_ID or --experiment NAME",
            hint="or set `experiment` under [tool.lamp] in pyproject.toml",
        )
    name = run_name or origin.run_name(settings.project or prepared.pair.model_spec.metadata.name)
    return log_specs(
        connect(),
        prepared,
        run_id=run_id,
        experiment=experiment,
        run_name=name,
        extra_tags={**origin.tags(release_key=False), **origin.mlflow_tags()},
    )


def log_specs(
    gateway: Gateway,
    prepared: Prepared,
    *,
    run_id: str | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
) -> LogResult:
    """Log both validated specs to ``run_id``, or to a new run in ``experiment``.

    A new run carries every tag from its creation on; the files are uploaded next, and the run
    ends FINISHED last, so a FINISHED run carries its files. To an existing run the tags are
    written after the files. A failure midway marks the run FAILED and says so.
    """
    pair = prepared.pair
    tags = {**artifacts.spec_tags(pair, prepared.api), **dict(extra_tags or {})}
    created = False
    if run_id is not None:
        run = get(gateway, run_id)
        if _carries_specs(run, pair):
            if run.status == "FINISHED":
                return LogResult(run=run, created_run=False, unchanged=True, pair=pair)
        elif run.tags.get(TAG_MODEL_SHA) or run.tags.get(TAG_ENDPOINT_SHA):
            raise Conflict(
                f"run {run_id} already carries different specs "
                f"(model sha256 {run.tags.get(TAG_MODEL_SHA, '-')[:12]}, "
                f"endpoint sha256 {run.tags.get(TAG_ENDPOINT_SHA, '-')[:12]})",
                hint="log them to a new run: omit RUN_ID and pass --experiment",
            )
        write_tags: Mapping[str, str] = tags
    else:
        assert experiment is not None
        exp = experiments.get(gateway, experiment)
        run = create_in(gateway, exp.experiment_id, exp.name, name=run_name, tags=tags)
        created, write_tags = True, {}
    finish(gateway, run, prepared, write_tags)
    return LogResult(run=run, created_run=created, unchanged=False, pair=pair)


def _carries_specs(run: RunRecord, pair: SpecPair) -> bool:
    return (
        run.tags.get(TAG_MODEL_SHA) == pair.model.sha256
        and run.tags.get(TAG_ENDPOINT_SHA) == pair.endpoint.sha256
    )


def finish(
    gateway: Gateway, run: RunRecord, prepared: Prepared, tags: Mapping[str, str]
) -> RunRecord:
    """Upload the ``lamp/`` folder, write ``tags`` (when any), end the run FINISHED; ``run``
    updated to what was written (nothing is read back)."""
    run_id = run.run_id
    subject = Subject(f"logging specs to run {run_id}")
    try:
        with tempfile.TemporaryDirectory(prefix="lamp-") as tmp:
            folder = artifacts.write_folder(
                Path(tmp), prepared.pair, run_id, api=prepared.api, signature=prepared.signature
            )
            gateway.upload(run, folder, ARTIFACT_DIR, subject)
        if tags:
            gateway.set_run_tags(run_id, tags, subject)
        ended_ms = int(time.time() * 1000)
        gateway.end_run(run_id, "FINISHED", subject, end_ms=ended_ms)
    except LampError as err:
        mark_failed(gateway, run_id, err)
        raise
    run.tags = {**run.tags, **tags}
    run.status = "FINISHED"
    run.ended_at = iso_time(ended_ms)
    run.artifacts = artifacts.written_files(with_api=prepared.api is not None)
    return run


def mark_failed(gateway: Gateway, run_id: str, err: LampError) -> None:
    """End ``run_id`` FAILED with ``err``'s message as ``lamp.error``; ``err`` says so."""
    subject = Subject(f"marking run {run_id} FAILED")
    try:
        gateway.set_run_tags(run_id, {TAG_ERROR: err.message[:500]}, subject)
        gateway.end_run(run_id, "FAILED", subject)
        err.message = f"{err.message}; run {run_id} was marked FAILED"
    except LampError:
        err.message = f"{err.message}; run {run_id} could not be marked FAILED either"
