"""The gateway to MLflow: the only code that calls MLflow's client, imported only when a command
needs it.

Each method is one operation in lamp's words. It runs MLflow's call with MLflow's prints kept off
stdout, returns lamp's records (:mod:`lamp_cli.records`), and raises lamp's errors
(:mod:`lamp_cli.translate`), each naming the ``subject`` the caller gave. Creates happen exactly
once (:mod:`lamp_cli.gateway.creates`). What a registry cannot do is said here too: Unity
Catalog searches take one condition and no ``order_by``, and its search results carry neither
tags nor aliases.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lamp_cli.errors import InvalidInput, LampError, NotFound, Subject, TransientFailure
from lamp_cli.gateway import creates, environment
from lamp_cli.gateway import databricks as databricks_rules
from lamp_cli.layout import ARTIFACT_DIR
from lamp_cli.records import (
    ExperimentRecord,
    ProjectRecord,
    RunRecord,
    VersionRecord,
    iso_time,
)
from lamp_cli.secrets import redact
from lamp_cli.settings import Settings, check_uri, is_databricks_uri
from lamp_cli.translate import translate_backend_error

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

T = TypeVar("T")

#: mlflow.entities.ViewType.ACTIVE_ONLY, without importing mlflow.entities for it.
_ACTIVE_ONLY = 1
_PAGE = 1000


class Gateway:
    """MLflow's tracking and registry, for the resolved settings of one lamp invocation."""

    def __init__(self, client: MlflowClient, settings: Settings, uris: tuple[str, str]) -> None:
        self._client = client
        self.settings = settings
        #: The URIs as lamp may show them: credentials redacted.
        self.tracking_uri = redact(settings.tracking_uri)
        self.registry_uri = redact(settings.effective_registry_uri)
        #: The tracking and registry URIs the client was made with (a SQLite path absolute).
        self._uris = uris
        self._process_uris_set = environment.uses_databricks(settings)  # see connect

    @property
    def registry_kind(self) -> str:
        """``unity-catalog``, ``workspace`` (Databricks' legacy registry) or ``mlflow``."""
        return self.settings.registry_kind

    @property
    def on_databricks(self) -> bool:
        return is_databricks_uri(self.settings.tracking_uri)

    # --- mechanics -------------------------------------------------------------------------

    def _use_process_uris(self) -> None:
        """Make the client's URIs MLflow's process-wide ones, once, before an operation that
        reads those: ``mlflow.artifacts``' functions, and the artifact repositories of
        ``models:/`` and ``mlflow-artifacts:`` URIs (every supported version).

        Not done when connecting: setting the tracking URI resets MLflow's tracer, which imports
        its tracing processors (about 20 ms in 3.18), and most commands never need it.
        """
        if not self._process_uris_set:
            _set_process_uris(*self._uris)
            self._process_uris_set = True

    def _call(self, subject: Subject, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        subject.url = subject.url or self.tracking_uri
        with contextlib.redirect_stdout(sys.stderr):
            try:
                return fn(*args, **kwargs)
            except LampError:
                raise
            except Exception as exc:
                raise translate_backend_error(exc, subject) from exc

    def _pages(
        self, subject: Subject, fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> list[Any]:
        results: list[Any] = []
        token = None
        while True:
            page = self._call(subject, fn, *args, max_results=_PAGE, page_token=token, **kwargs)
            results.extend(page)
            token = getattr(page, "token", None)
            if not token:
                return results

    def _once(self, subject: Subject, send: Callable[[], T], find: Callable[[], T | None]) -> T:
        return creates.exactly_once(
            lambda: self._call(subject, send), lambda: self._call(subject, find)
        )

    # --- health ----------------------------------------------------------------------------

    def ping_tracking(self) -> None:
        """One cheap read of the tracking store: it answers and lets lamp read experiments."""
        self._call(Subject("listing experiments"), self._client.search_experiments, max_results=1)

    def ping_registry(self) -> None:
        """One cheap read of the registry: it answers and lets lamp read projects."""
        subject = Subject("listing registered models")
        self._call(subject, self._client.search_registered_models, max_results=1)

    # --- experiments -----------------------------------------------------------------------

    def experiment_by_name(self, name: str, subject: Subject) -> ExperimentRecord | None:
        """The experiment called ``name``, live or deleted, or None."""
        found = self._call(subject, self._client.get_experiment_by_name, name)
        return _experiment(found) if found is not None else None

    def experiment(self, experiment_id: str, subject: Subject) -> ExperimentRecord:
        return _experiment(self._call(subject, self._client.get_experiment, experiment_id))

    def experiments(self) -> list[ExperimentRecord]:
        """Every live experiment."""
        found = self._pages(
            Subject("experiments"), self._client.search_experiments, view_type=_ACTIVE_ONLY
        )
        return [_experiment(e) for e in found]

    def create_experiment(
        self,
        name: str,
        subject: Subject,
        *,
        tags: Mapping[str, str] | None = None,
        artifact_location: str | None = None,
    ) -> str:
        """The id of a new experiment ``name``. After a lost answer the experiment of that name
        is this create's (names are unique; a racer creating the same name wins either way)."""

        def send() -> str:
            return str(
                self._client.create_experiment(
                    name, artifact_location=artifact_location, tags=dict(tags or {})
                )
            )

        def find() -> str | None:
            found = self._client.get_experiment_by_name(name)
            return str(found.experiment_id) if found is not None else None

        return self._once(subject, send, find)

    # --- runs ------------------------------------------------------------------------------

    def run(self, run_id: str, subject: Subject) -> RunRecord:
        """A run by id, live or deleted (``lifecycle_stage`` says)."""
        return _run(self._call(subject, self._client.get_run, run_id))

    def create_run(
        self,
        experiment_id: str,
        subject: Subject,
        *,
        name: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RunRecord:
        """A new RUNNING run. After a lost answer the run is found by what lamp gave it: its
        start time (to the millisecond), its name and its tags."""
        start_ms = int(time.time() * 1000)
        wanted = dict(tags or {})

        def send() -> RunRecord:
            run = self._client.create_run(
                experiment_id, start_time=start_ms, tags=wanted, run_name=name
            )
            return _run(run)

        def find() -> RunRecord | None:
            clauses = [f"attributes.start_time = {start_ms}"]
            if name is not None and (quoted := _quoted(name)) is not None:
                clauses.append(f"attributes.run_name = {quoted}")
            found = self._client.search_runs(
                [experiment_id],
                filter_string=" and ".join(clauses),
                run_view_type=_ACTIVE_ONLY,
                max_results=_PAGE,
            )
            mine = [_run(r) for r in found if _carries(dict(r.data.tags or {}), wanted)]
            return min(mine, key=lambda r: r.run_id) if mine else None

        return self._once(subject, send, find)

    def runs(
        self, experiment_ids: Sequence[str], subject: Subject, *, tags: Mapping[str, str]
    ) -> list[RunRecord]:
        """The live runs of the experiments that carry every one of ``tags``."""
        clauses = [
            f"tags.`{key}` = {quoted}"
            for key, value in tags.items()
            if (quoted := _quoted(value)) is not None
        ]
        found = self._pages(
            subject,
            self._client.search_runs,
            list(experiment_ids),
            filter_string=" and ".join(clauses),
            run_view_type=_ACTIVE_ONLY,
        )
        return [record for r in found if _carries((record := _run(r)).tags, tags)]

    def latest_runs(
        self, experiment_ids: Sequence[str], subject: Subject, *, limit: int
    ) -> list[RunRecord]:
        """The ``limit`` most recently started live runs of the experiments."""
        found = self._call(
            subject,
            self._client.search_runs,
            list(experiment_ids),
            run_view_type=_ACTIVE_ONLY,
            max_results=limit,
            order_by=["attributes.start_time DESC"],
        )
        return [_run(r) for r in found]

    def set_run_tags(self, run_id: str, tags: Mapping[str, str], subject: Subject) -> None:
        """Write all ``tags`` on a run in one request."""
        from mlflow.entities import RunTag

        batch = [RunTag(key, value) for key, value in tags.items()]
        self._call(subject, self._client.log_batch, run_id, tags=batch)

    def end_run(
        self, run_id: str, status: str, subject: Subject, *, end_ms: int | None = None
    ) -> None:
        self._call(subject, self._client.set_terminated, run_id, status, end_ms)

    def run_files(self, run: RunRecord, path: str, subject: Subject) -> list[str]:
        """The files (not folders) under ``path`` of a run's artifacts, relative to its root.

        With the run's artifact URI known they are listed in one call; MLflow's client would
        read the run again first. On Databricks the client adds the profile to the URI, so the
        listing goes through it.
        """
        self._use_process_uris()
        if run.artifact_uri and not self.on_databricks:
            import mlflow.artifacts

            uri = f"{run.artifact_uri.rstrip('/')}/{path}"
            found = self._call(subject, mlflow.artifacts.list_artifacts, artifact_uri=uri)
        else:
            found = self._call(subject, self._client.list_artifacts, run.run_id, path)
        return sorted(f.path for f in found if not f.is_dir)

    def upload(self, run: RunRecord, folder: Path, path: str, subject: Subject) -> None:
        """Upload the folder ``folder`` to ``path`` under a run's artifacts.

        With the run's artifact URI known the artifact store is written directly: MLflow's
        client would read the run again only to learn the URI (every supported version).
        On Databricks the client adds the profile to the URI, so it goes through the client.
        """
        if not run.artifact_uri or self.on_databricks:
            self._use_process_uris()
            self._call(subject, self._client.log_artifacts, run.run_id, str(folder), path)
            return
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        tracking_uri = self._uris[0]

        def upload() -> None:
            repo = get_artifact_repository(run.artifact_uri, tracking_uri=tracking_uri)
            repo.log_artifacts(str(folder), path)  # type: ignore[no-untyped-call]

        self._call(subject, upload)

    # --- projects (registered models) ------------------------------------------------------

    def project(self, name: str, subject: Subject) -> ProjectRecord:
        return _project(self._call(subject, self._client.get_registered_model, name))

    def projects(self) -> list[ProjectRecord]:
        found = self._pages(Subject("projects"), self._client.search_registered_models)
        return [_project(m) for m in found]

    def create_project(
        self,
        name: str,
        subject: Subject,
        *,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> ProjectRecord:
        """A new registered model ``name``. After a lost answer the model of that name is this
        create's (names are unique)."""

        def send() -> ProjectRecord:
            model = self._client.create_registered_model(
                name, tags=dict(tags or {}), description=description
            )
            return _project(model)

        def find() -> ProjectRecord | None:
            try:
                return _project(self._client.get_registered_model(name))
            except Exception as exc:
                if isinstance(translate_backend_error(exc, subject), NotFound):
                    return None
                raise

        return self._once(subject, send, find)

    # --- versions --------------------------------------------------------------------------

    def versions(
        self, name: str, subject: Subject, *, run_id: str | None = None
    ) -> list[VersionRecord]:
        """The versions of the registered model ``name`` (of ``run_id`` only, when given).

        One condition, no ``order_by``: the only search Unity Catalog takes. Its results carry
        no tags (:meth:`version` has them).
        """
        query = f"run_id = '{_escaped(run_id)}'" if run_id else f"name = '{_escaped(name)}'"
        found = self._pages(subject, self._client.search_model_versions, query)
        # Unity Catalog stores names lower-case; a run may be a version of several projects.
        return [v for r in found if (v := _version(r)).project.lower() == name.lower()]

    def versions_tagged(
        self, name: str, key: str, value: str, subject: Subject
    ) -> list[VersionRecord] | None:
        """The versions of ``name`` tagged ``key=value`` in one request, or None where the
        registry cannot filter on version tags (Unity Catalog, Databricks' workspace registry)."""
        quoted = _quoted(value)
        if self.registry_kind != "mlflow" or quoted is None:
            return None
        query = f"name = '{_escaped(name)}' and tags.`{key}` = {quoted}"
        found = self._pages(subject, self._client.search_model_versions, query)
        return [_version(r) for r in found]

    def version(self, name: str, number: int | str, subject: Subject) -> VersionRecord:
        return _version(self._call(subject, self._client.get_model_version, name, str(number)))

    def version_by_alias(self, name: str, alias: str, subject: Subject) -> VersionRecord:
        found = self._call(subject, self._client.get_model_version_by_alias, name, alias)
        return _version(found)

    def create_version(
        self,
        name: str,
        run_id: str,
        subject: Subject,
        *,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> VersionRecord:
        """A new version of ``name`` from the run's ``lamp/`` folder. After a lost answer the
        lowest version of the run is this create's: racing registrations of one run settle on
        it anyway (:func:`lamp_cli.services.registry.settle`)."""

        def send() -> VersionRecord:
            mv = self._client.create_model_version(
                name,
                f"runs:/{run_id}/{ARTIFACT_DIR}",
                run_id=run_id,
                tags=dict(tags or {}),
                description=description,
                await_creation_for=0,
            )
            return _version(mv)

        def find() -> VersionRecord | None:
            query = f"run_id = '{_escaped(run_id)}'"
            found = [_version(mv) for mv in self._client.search_model_versions(query)]
            mine = [v for v in found if v.project.lower() == name.lower()]
            return min(mine, key=lambda v: v.version) if mine else None

        return self._once(subject, send, find)

    def delete_version(self, name: str, number: int, subject: Subject) -> None:
        self._call(subject, self._client.delete_model_version, name, str(number))

    def set_alias(self, name: str, alias: str, number: int, subject: Subject) -> None:
        self._call(subject, self._client.set_registered_model_alias, name, alias, str(number))

    def delete_alias(self, name: str, alias: str, subject: Subject) -> None:
        self._call(subject, self._client.delete_registered_model_alias, name, alias)

    def version_files(
        self,
        name: str,
        number: int,
        files: Sequence[str],
        subject: Subject,
        *,
        optional: Sequence[str] = (),
    ) -> dict[str, str]:
        """The text of files of a version, read through ``models:/`` as the operator reads
        them: each of ``files`` (a missing one is exit 4), and those of ``optional`` it has."""
        import mlflow.artifacts

        self._use_process_uris()

        def read() -> dict[str, str]:
            with tempfile.TemporaryDirectory(prefix="lamp-") as tmp:
                if len(files) == 1 and not optional:
                    local = mlflow.artifacts.download_artifacts(
                        artifact_uri=f"models:/{name}/{number}/{files[0]}", dst_path=tmp
                    )
                    return {files[0]: Path(local).read_text(encoding="utf-8")}
                root = Path(
                    mlflow.artifacts.download_artifacts(
                        artifact_uri=f"models:/{name}/{number}", dst_path=tmp
                    )
                )
                missing = [f for f in files if not (root / f).is_file()]
                if missing:
                    raise NotFound(f"{subject.what}: no {', '.join(missing)}")
                present = [*files, *(f for f in optional if (root / f).is_file())]
                return {f: (root / f).read_text(encoding="utf-8") for f in present}

        return self._call(subject, read)


# --- MLflow's entities as lamp's records -----------------------------------------------------


def _listed(value: Any) -> Any:
    """A collection field of an MLflow entity, or None where the entity does not carry it
    (Unity Catalog's search results turn ``tags`` and ``aliases`` into methods that raise)."""
    return None if callable(value) else value


def _experiment(exp: Any) -> ExperimentRecord:
    return ExperimentRecord(
        experiment_id=str(exp.experiment_id),
        name=exp.name,
        artifact_location=exp.artifact_location,
        lifecycle_stage=exp.lifecycle_stage,
        tags=dict(exp.tags or {}),
        created_at=iso_time(getattr(exp, "creation_time", None)),
    )


def _run(run: Any) -> RunRecord:
    info = run.info
    return RunRecord(
        run_id=info.run_id,
        experiment_id=str(info.experiment_id),
        name=getattr(info, "run_name", None),
        status=info.status,
        artifact_uri=info.artifact_uri,
        lifecycle_stage=info.lifecycle_stage,
        tags=dict(run.data.tags or {}),
        started_at=iso_time(info.start_time),
        ended_at=iso_time(info.end_time),
    )


def _project(model: Any) -> ProjectRecord:
    return ProjectRecord(
        project=model.name,
        description=model.description or None,
        tags=dict(_listed(getattr(model, "tags", None)) or {}),
        aliases={k: str(v) for k, v in (_listed(getattr(model, "aliases", None)) or {}).items()},
        created_at=iso_time(model.creation_timestamp),
    )


def _version(mv: Any) -> VersionRecord:
    return VersionRecord(
        project=mv.name,
        version=int(mv.version),
        run_id=mv.run_id or None,
        source=mv.source,
        status=mv.status,
        aliases=sorted(_listed(getattr(mv, "aliases", None)) or []),
        tags=dict(_listed(getattr(mv, "tags", None)) or {}),
        created_at=iso_time(mv.creation_timestamp),
        description=mv.description or None,
    )


def _carries(tags: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(tags.get(key) == value for key, value in wanted.items())


def _quoted(value: str) -> str | None:
    """A literal of MLflow's search syntax, which takes '...' or "..." without escapes; None
    when ``value`` holds both quotes (the caller then filters on the client)."""
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    return None


def _escaped(value: str) -> str:
    # Model-version searches take backslash escapes inside '...'.
    return value.replace("'", "\\'")


# --- connecting ------------------------------------------------------------------------------


def connect(
    settings: Settings,
    *,
    writes: bool = False,
    announce: Callable[[str], None] | None = None,
) -> Gateway:
    """The gateway for ``settings``; imports mlflow on first use.

    A local SQLite store is opened only when it exists, or when the command ``writes``: a
    read-only command never leaves an empty ``mlflow.db`` behind. The embedded default store is
    announced once, when this command creates it.
    """
    tracking_uri = settings.tracking_uri
    registry_uri = settings.effective_registry_uri
    check_uri(tracking_uri, "tracking URI")
    check_uri(registry_uri, "registry URI")
    databricks = environment.uses_databricks(settings)
    if databricks:
        databricks_rules.check_client_packages()
    store = environment.sqlite_path(tracking_uri, settings)
    if store is not None:
        _check_store(store, settings, writes=writes, announce=announce)
    environment.prepare(settings)
    profile = databricks_rules.profile_of(tracking_uri)
    if profile:
        # MLflow's run-artifact client builds its SDK client without the URI's profile (every
        # supported version); the SDK's own variable makes every client of this process use it.
        os.environ.setdefault("DATABRICKS_CONFIG_PROFILE", profile)
    subject = Subject("connecting to MLflow", url=redact(tracking_uri))
    tracking = environment.absolute_sqlite_uri(tracking_uri, settings)
    registry = environment.absolute_sqlite_uri(registry_uri, settings)
    root = store.parent if store is not None and store.parent.is_dir() else Path.cwd()
    # What is alive when MLflow is imported, and MLflow's modules once they are, lives until lamp
    # exits: frozen, the garbage collector stops walking it again in every full collection while
    # MLflow's import allocates and while the command runs (about 5% of a release's CPU time).
    # Only a process's first connection does it, so code that connects again and again (tests)
    # freezes nothing more.
    first = gc.get_freeze_count() == 0
    if first:
        gc.freeze()
    with contextlib.redirect_stdout(sys.stderr), environment.working_directory(root):
        try:
            from mlflow.tracking import MlflowClient

            environment.quiet_loggers()
            if databricks:
                # MLflow's Databricks and Unity Catalog clients read the process-wide URIs in
                # places of their own: there they are set from the start.
                _set_process_uris(tracking, registry)
                databricks_rules.share_one_configuration()
            client = MlflowClient(tracking_uri=tracking, registry_uri=registry)
            gateway = Gateway(client, settings, (tracking, registry))
            if first:
                gc.freeze()
        except ImportError as exc:
            raise translate_backend_error(
                environment.missing_driver(exc, tracking_uri), subject
            ) from exc
        except Exception as exc:
            raise _store_error(exc, store, subject) from exc
    return gateway


def _set_process_uris(tracking: str, registry: str) -> None:
    """MLflow's process-wide tracking and registry URIs, the environment left as it was."""
    import mlflow

    with environment.kept("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        mlflow.set_tracking_uri(tracking)
        mlflow.set_registry_uri(registry)


def _check_store(
    store: Path, settings: Settings, *, writes: bool, announce: Callable[[str], None] | None
) -> None:
    if store.exists():
        return
    if not writes:
        raise NotFound(
            f"no MLflow store at {store} yet",
            hint="lamp experiment create NAME or lamp project create ID creates it; "
            "or set MLFLOW_TRACKING_URI to a server",
        )
    if settings.uses_embedded_default and announce is not None:
        announce(
            f"creating the local store {store} with artifacts in {store.parent / 'mlruns'} "
            "(set MLFLOW_TRACKING_URI or --tracking-uri for a server)"
        )
        legacy = settings.legacy_file_store()
        if legacy is not None:
            announce(
                f"a legacy MLflow file store exists at {legacy} and is NOT used; "
                f"pass --tracking-uri file://{legacy} to use it"
            )


def _store_error(exc: Exception, store: Path | None, subject: Subject) -> LampError:
    """An SQLite store that cannot be opened, named by its path with SQLite's own reason."""
    error = translate_backend_error(exc, subject)
    if store is None:
        return error
    reason = _sqlite_reason(exc)
    if reason is None:
        return error
    if "locked" in reason:
        return TransientFailure(
            f"the local store {store} is locked by another process ({reason})",
            hint="retry when the other lamp or mlflow process is done, or use a tracking "
            "server for concurrent writers",
        )
    return InvalidInput(
        f"the local store {store} cannot be opened: {reason}",
        hint=f"move it aside (mv {store} {store}.broken); lamp experiment create NAME or lamp "
        "project create ID then starts a new one; or set MLFLOW_TRACKING_URI to another store",
    )


def _sqlite_reason(exc: BaseException) -> str | None:
    for error in _chain(exc):
        if type(error).__module__.startswith("sqlite3") or type(error).__name__ in (
            "DatabaseError",
            "OperationalError",
        ):
            text = str(getattr(error, "orig", None) or error).strip().splitlines()
            return text[0] if text else type(error).__name__
    return None


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not e for e in seen):
        seen.append(current)
        yield current
        current = current.__cause__ or current.__context__
