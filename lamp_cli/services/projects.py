"""Projects: the registered model named after a LAMP project id (on Unity Catalog, its
three-level name)."""

from __future__ import annotations

from collections.abc import Mapping

from lamp_cli.errors import Conflict, NotFound, Subject
from lamp_cli.services import names
from lamp_cli.services.client import REQUEST_ID_KEY, Backend, new_request_id
from lamp_cli.services.records import ProjectRecord


def registered_name(backend: Backend, project: str) -> str:
    """The registered model name of ``project`` in the backend's registry, checked locally."""
    return names.project_name(project, backend.settings)


def subject(name: str) -> Subject:
    return Subject(
        f"project '{name}'",
        hint_not_found=f"the platform creates projects; locally: lamp project create {name}",
        hint_conflict=f"pass --exist-ok to reuse it: lamp project create {name} --exist-ok",
    )


def get_project(backend: Backend, project: str) -> ProjectRecord:
    name = registered_name(backend, project)
    model = backend.call(subject(name), backend.client.get_registered_model, name)
    return ProjectRecord.from_mlflow(model)


def create_project(
    backend: Backend,
    project: str,
    *,
    exist_ok: bool = False,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> tuple[ProjectRecord, bool]:
    """Create the registered model of ``project``; return it and whether it was created."""
    name = registered_name(backend, project)
    names.check_tag_keys(tags or {}, backend.settings, "project")
    request_id = new_request_id()

    def mine() -> object | None:
        # A lost answer: the project exists, and carries this request id if it is ours.
        try:
            model = backend.call(subject(name), backend.client.get_registered_model, name)
        except NotFound:
            return None
        return model if (model.tags or {}).get(REQUEST_ID_KEY) == request_id else None

    try:
        model = backend.create(
            subject(name),
            backend.client.create_registered_model,
            name,
            tags={**dict(tags or {}), REQUEST_ID_KEY: request_id},
            description=description,
            find=mine,
        )
    except Conflict:
        if not exist_ok:
            raise
        return get_project(backend, name), False
    return ProjectRecord.from_mlflow(model), True


def list_projects(backend: Backend) -> list[ProjectRecord]:
    """Every project the registry shows, by name; on Unity Catalog those under the configured
    catalog and schema when both are set (the registry's search takes no filter there)."""
    found = backend.search_all(Subject("projects"), backend.client.search_registered_models)
    records = [ProjectRecord.from_mlflow(m) for m in found]
    settings = backend.settings
    if backend.registry_kind == "unity-catalog" and settings.uc_catalog and settings.uc_schema:
        prefix = f"{settings.uc_catalog}.{settings.uc_schema}.".lower()
        records = [r for r in records if r.project.lower().startswith(prefix)]
    return sorted(records, key=lambda r: r.project)
