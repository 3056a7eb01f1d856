"""MLflow runs: create, show, and log the two serving specs as one all-or-nothing step."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lamp_cli import __version__
from lamp_cli.errors import Conflict, LampError, NotFound, Subject, UsageError
from lamp_cli.services import experiments
from lamp_cli.services.client import ACTIVE_ONLY, REQUEST_ID_TAG, Backend, new_request_id
from lamp_cli.services.names import check_run_id
from lamp_cli.services.records import RunRecord, iso_time
from lamp_cli.specs.signature import PLACEHOLDER_INPUTS as SIGNATURE_INPUTS
from lamp_cli.specs.signature import PLACEHOLDER_OUTPUTS as SIGNATURE_OUTPUTS

if TYPE_CHECKING:
    from lamp_cli.settings import Settings
    from lamp_cli.specs import SpecPair

ARTIFACT_DIR = "lamp"
MODEL_FILE = "serving-model-spec.yaml"
ENDPOINT_FILE = "serving-endpoint-spec.yaml"
MANIFEST_FILE = "lamp.json"
MLMODEL_FILE = "MLmodel"
SPEC_FILES = (MODEL_FILE, ENDPOINT_FILE, MANIFEST_FILE)
FLAVOR = "lamp"


TAG_MODEL_SHA = "lamp.spec.model.sha256"
TAG_ENDPOINT_SHA = "lamp.spec.endpoint.sha256"
TAG_IMAGE = "lamp.image"
TAG_ERROR = "lamp.error"


def _run_subject(run_id: str) -> Subject:
    return Subject(f"run {run_id}", hint_not_found="check the id with `lamp run show RUN_ID`")


def get(backend: Backend, run_id: str, *, with_artifacts: bool = False) -> RunRecord:
    """A live run by id."""
    subject = _run_subject(run_id)
    run = backend.call(subject, backend.client.get_run, run_id)
    if run.info.lifecycle_stage == "deleted":
        raise NotFound(f"run {run_id} not found (it is deleted)")
    artifacts = (
        spec_artifacts(backend, run_id, artifact_uri=run.info.artifact_uri)
        if with_artifacts
        else None
    )
    return RunRecord.from_mlflow(run, artifacts)


def spec_artifacts(backend: Backend, run_id: str, *, artifact_uri: str | None = None) -> list[str]:
    """The lamp artifacts of a run, as paths relative to the run's artifact root.

    With the run's ``artifact_uri`` already known, its ``lamp/`` folder is listed in one call;
    by run id, MLflow first reads the run again and searches its logged models.
    """
    subject = Subject(f"artifacts of run {run_id}")
    files = backend.list_artifacts(subject, run_id, artifact_uri, ARTIFACT_DIR)
    return sorted(f.path for f in files if not f.is_dir)


def create(
    backend: Backend,
    experiment: str,
    *,
    name: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> RunRecord:
    """A new run in the existing experiment ``experiment`` (name or id), left RUNNING."""
    exp = experiments.get(backend, experiment)
    return create_in(backend, exp.experiment_id, exp.name, name=name, tags=tags)


def create_in(
    backend: Backend,
    experiment_id: str,
    experiment_name: str,
    *,
    name: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> RunRecord:
    """A new RUNNING run in the experiment ``experiment_id``, created exactly once.

    The run carries a request id from its creation on; a retry after a lost answer finds the
    run by it instead of creating a second one.
    """
    request_id = new_request_id()
    subject = Subject(f"run in experiment '{experiment_name}'")

    def mine() -> Any:
        found = backend.client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{REQUEST_ID_TAG}` = '{request_id}'",
            run_view_type=ACTIVE_ONLY,
            max_results=1,
        )
        return found[0] if found else None

    run = backend.create(
        subject,
        backend.client.create_run,
        experiment_id,
        tags={**dict(tags or {}), REQUEST_ID_TAG: request_id},
        run_name=name,
        find=mine,
    )
    return RunRecord.from_mlflow(run)


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


def manifest(pair: SpecPair) -> dict[str, Any]:
    """The ``lamp.json`` document logged beside the specs."""
    from lamp_cli.specs import API_VERSION

    return {
        "lamp_version": __version__,
        "api_version": API_VERSION,
        "image": image_ref(pair),
        "specs": {
            "model": {"file": MODEL_FILE, "sha256": pair.model.sha256},
            "endpoint": {"file": ENDPOINT_FILE, "sha256": pair.endpoint.sha256},
        },
    }


def mlmodel(pair: SpecPair, run_id: str) -> str:
    """The ``MLmodel`` file that makes ``lamp/`` an MLflow model directory.

    Written as MLflow's ``Model.to_yaml`` does, without importing MLflow's model code (which
    needs numpy): a ``lamp`` flavor naming both spec files, and the signature.
    """
    import uuid
    from datetime import UTC, datetime

    import yaml

    from lamp_cli.specs import API_VERSION

    spec = pair.model_spec.spec
    routes = [
        {"name": r.name, "path": r.path, "methods": [str(m) for m in r.methods]}
        for r in spec.routes
    ]
    document = {
        "artifact_path": ARTIFACT_DIR,
        "flavors": {
            FLAVOR: {
                "lamp_version": __version__,
                "api_version": API_VERSION,
                "model_spec": MODEL_FILE,
                "endpoint_spec": ENDPOINT_FILE,
                "manifest": MANIFEST_FILE,
                "image": image_ref(pair),
                "protocol": str(getattr(spec.server.protocol, "value", spec.server.protocol)),
                "port": spec.server.port,
                "routes": routes,
            }
        },
        "model_uuid": uuid.uuid4().hex,
        "run_id": run_id,
        "signature": {
            "inputs": json.dumps(SIGNATURE_INPUTS),
            "outputs": json.dumps(SIGNATURE_OUTPUTS),
            "params": None,
        },
        "utc_time_created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
    }
    return yaml.safe_dump(document, sort_keys=True, default_flow_style=False)


def image_ref(pair: SpecPair) -> str:
    image = pair.model_spec.spec.image
    ref = f"{image.repository}:{image.tag}"
    return f"{ref}@{image.digest}" if getattr(image, "digest", None) else ref


def spec_tags(pair: SpecPair) -> dict[str, str]:
    return {
        TAG_MODEL_SHA: pair.model.sha256,
        TAG_ENDPOINT_SHA: pair.endpoint.sha256,
        TAG_IMAGE: image_ref(pair),
    }


def log_spec_files(
    connect: Callable[[], Backend],
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
) -> LogResult:
    """Validate the spec files, pin the image when asked (:func:`pairs.prepare`) and log them
    (:func:`log_specs`) with the checkout's provenance tags. ``connect`` is called only once
    the specs are valid: bad input writes nothing, the local store included."""
    from lamp_cli.services import pairs, provenance

    if run_id is not None:
        check_run_id(run_id)
    pair = pairs.prepare(
        model_path,
        endpoint_path,
        overrides=overrides,
        image=image,
        verify_image=verify_image,
        look_up_by_default=False,
    )
    origin = provenance.collect(settings.cwd).tags(release_key=False)
    return log_specs(
        connect(),
        pair,
        run_id=run_id,
        experiment=experiment,
        run_name=run_name,
        extra_tags=origin,
    )


def log_specs(
    backend: Backend,
    pair: SpecPair,
    *,
    run_id: str | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
    run: RunRecord | None = None,
) -> LogResult:
    """Log both validated specs to ``run_id``, or to a new run in ``experiment``.

    The specs and ``lamp.json`` are uploaded first and the hash tags written last, so a run that
    carries the tags carries the files. The run ends FINISHED only when everything was written; a
    failure midway marks it FAILED and says so. ``run`` is a run the caller has just created
    and already knows.
    """
    tags = {**spec_tags(pair), **dict(extra_tags or {})}
    created = False
    if run is None and run_id is not None:
        run = get(backend, run_id)
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
    elif run is None:
        if not experiment:
            raise UsageError(
                "give a RUN_ID or --experiment NAME",
                hint="or set `experiment` under [tool.lamp] in pyproject.toml",
            )
        run = create(backend, experiment, name=run_name, tags=None)
        created = True
    ended_ms = _write(backend, run, pair, tags)
    # What this process just wrote is not read back.
    run.tags = {**run.tags, **tags}
    run.status = "FINISHED"
    run.ended_at = iso_time(ended_ms)
    run.artifacts = sorted(f"{ARTIFACT_DIR}/{name}" for name in (*SPEC_FILES, MLMODEL_FILE))
    return LogResult(run=run, created_run=created, unchanged=False, pair=pair)


def _carries_specs(run: RunRecord, pair: SpecPair) -> bool:
    return (
        run.tags.get(TAG_MODEL_SHA) == pair.model.sha256
        and run.tags.get(TAG_ENDPOINT_SHA) == pair.endpoint.sha256
    )


def _write(backend: Backend, run: RunRecord, pair: SpecPair, tags: Mapping[str, str]) -> int:
    """Upload the files, then the tags, then end the run FINISHED; the end time, in ms."""
    client = backend.client
    run_id = run.run_id
    subject = Subject(f"logging specs to run {run_id}")
    try:
        with tempfile.TemporaryDirectory(prefix="lamp-") as tmp:
            folder = Path(tmp) / ARTIFACT_DIR
            folder.mkdir()
            (folder / MODEL_FILE).write_text(pair.model.text, encoding="utf-8")
            (folder / ENDPOINT_FILE).write_text(pair.endpoint.text, encoding="utf-8")
            (folder / MANIFEST_FILE).write_text(
                json.dumps(manifest(pair), indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
            (folder / MLMODEL_FILE).write_text(mlmodel(pair, run_id), encoding="utf-8")
            backend.upload(subject, run_id, run.artifact_uri, str(folder), ARTIFACT_DIR)
        backend.set_run_tags(subject, run_id, tags)
        ended_ms = int(time.time() * 1000)
        backend.call(subject, client.set_terminated, run_id, "FINISHED", ended_ms)
    except LampError as err:
        mark_failed(backend, run_id, err)
        raise
    return ended_ms


def mark_failed(backend: Backend, run_id: str, err: LampError) -> None:
    """End ``run_id`` FAILED with ``err``'s message as ``lamp.error``; ``err`` says so."""
    client = backend.client
    subject = Subject(f"marking run {run_id} FAILED")
    try:
        backend.call(subject, client.set_tag, run_id, TAG_ERROR, err.message[:500])
        backend.call(subject, client.set_terminated, run_id, "FAILED")
        err.message = f"{err.message}; run {run_id} was marked FAILED"
    except LampError:
        err.message = f"{err.message}; run {run_id} could not be marked FAILED either"
