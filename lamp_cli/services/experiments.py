"""MLflow experiments: create (idempotently with ``exist_ok``), list, show."""

from __future__ import annotations

from collections.abc import Mapping

from lamp_cli.errors import Conflict, InvalidInput, NotFound, Subject
from lamp_cli.gateway import Gateway, databricks
from lamp_cli.records import ExperimentRecord
from lamp_cli.services import suggest

MAX_NAME = 500


def _subject(name: str) -> Subject:
    return Subject(
        f"experiment '{name}'",
        hint_not_found=f"create it with: lamp experiment create {name}",
        hint_conflict=f"pass --exist-ok to reuse it: lamp experiment create {name} --exist-ok",
    )


def check_name(name: str, gateway: Gateway | None = None) -> str:
    """``name`` stripped; refused when empty, too long, or (on Databricks) not a workspace path.

    The same message on every MLflow version: 3.18 refuses a name of whitespace itself, earlier
    versions create it.
    """
    name = name.strip()
    if not name:
        raise InvalidInput("experiment name must not be empty")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"experiment name is longer than {MAX_NAME} characters")
    if gateway is not None and gateway.on_databricks:
        databricks.check_experiment_name(name)
    return name


def find(gateway: Gateway, name: str) -> ExperimentRecord | None:
    """The experiment called ``name`` (live or deleted), or None."""
    return gateway.experiment_by_name(name, _subject(name))


def create(
    gateway: Gateway,
    name: str,
    *,
    tags: Mapping[str, str] | None = None,
    artifact_location: str | None = None,
    exist_ok: bool = False,
) -> tuple[ExperimentRecord, bool]:
    """Create the experiment; return it and whether it was created.

    With ``exist_ok`` a live experiment of that name is returned as it is. A deleted one is a
    conflict either way: MLflow keeps the name reserved until it is restored or purged.
    """
    name = check_name(name, gateway)
    try:
        experiment_id = gateway.create_experiment(
            name, _subject(name), tags=tags, artifact_location=artifact_location
        )
    except Conflict:
        # It exists already (or a racing creator was first): say how, or return it.
        existing = find(gateway, name)
        if existing is None:
            raise
        return _existing(existing, exist_ok), False
    # The server decides the artifact location and the creation time that the output shows.
    return gateway.experiment(experiment_id, _subject(name)), True


def ensure(gateway: Gateway, name: str) -> tuple[ExperimentRecord, bool]:
    """The live experiment ``name``, created when missing; and whether this call created it.

    A created one is returned as far as this process knows it (id and name): its server-side
    fields are not read back.
    """
    name = check_name(name, gateway)
    existing = find(gateway, name)
    if existing is not None:
        return _existing(existing, exist_ok=True), False
    try:
        experiment_id = gateway.create_experiment(name, _subject(name))
    except Conflict:
        existing = find(gateway, name)  # a racer created it in between
        if existing is None:
            raise
        return _existing(existing, exist_ok=True), False
    record = ExperimentRecord(
        str(experiment_id), name, artifact_location="", lifecycle_stage="active"
    )
    return record, True


def _existing(exp: ExperimentRecord, exist_ok: bool) -> ExperimentRecord:
    if exp.lifecycle_stage == "deleted":
        raise Conflict(
            f"experiment '{exp.name}' exists but is deleted (id {exp.experiment_id})",
            hint=f"restore it with `mlflow experiments restore --experiment-id "
            f"{exp.experiment_id}` or choose another name",
        )
    if not exist_ok:
        raise Conflict(
            f"experiment '{exp.name}' already exists (id {exp.experiment_id})",
            hint=f"pass --exist-ok to reuse it: lamp experiment create {exp.name} --exist-ok",
        )
    return exp


def get(gateway: Gateway, name_or_id: str) -> ExperimentRecord:
    """A live experiment by name, else by id."""
    name_or_id = check_name(name_or_id, gateway)
    exp = find(gateway, name_or_id)
    if exp is None and name_or_id.isdigit():
        try:
            exp = gateway.experiment(name_or_id, Subject(f"experiment with id {name_or_id}"))
        except NotFound:
            exp = None
    if exp is None or exp.lifecycle_stage == "deleted":
        state = " (it is deleted)" if exp is not None else ""
        close = suggest.did_you_mean(name_or_id, lambda: [e.name for e in list_all(gateway)])
        raise NotFound(
            f"experiment '{name_or_id}' not found{state}",
            hint=f"{close}`lamp experiment list` shows them all"
            if close
            else "`lamp experiment list` shows the experiments; create this one with "
            f"lamp experiment create {name_or_id}",
        )
    return exp


def list_all(gateway: Gateway) -> list[ExperimentRecord]:
    """Every live experiment, oldest first."""
    records = gateway.experiments()
    records.sort(key=lambda e: int(e.experiment_id) if e.experiment_id.isdigit() else 0)
    return records
