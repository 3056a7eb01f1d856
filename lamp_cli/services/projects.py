"""Projects: the registered model named after a LAMP project id (on Unity Catalog, its
three-level name)."""

from __future__ import annotations

from collections.abc import Mapping

from lamp_cli.errors import Conflict, NotFound, Subject
from lamp_cli.gateway import Gateway
from lamp_cli.records import ProjectRecord
from lamp_cli.services import names, suggest


def registered_name(gateway: Gateway, project: str) -> str:
    """The registered model name of ``project`` in the gateway's registry, checked locally."""
    return names.project_name(project, gateway.settings)


def subject(name: str) -> Subject:
    return Subject(
        f"project '{name}'",
        hint_not_found=f"the platform creates projects; locally: lamp project create {name}",
        hint_conflict=f"pass --exist-ok to reuse it: lamp project create {name} --exist-ok",
    )


def get_project(gateway: Gateway, project: str) -> ProjectRecord:
    """The project; a missing one is exit 4 naming the closest existing projects."""
    name = registered_name(gateway, project)
    try:
        return gateway.project(name, subject(name))
    except NotFound as err:
        close = suggest.did_you_mean(name, lambda: [p.project for p in gateway.projects()])
        err.hint = (
            f"{close}`lamp project list` shows them all"
            if close
            else f"`lamp project list` shows the projects; the platform creates them "
            f"(locally: lamp project create {name})"
        )
        raise


def create_project(
    gateway: Gateway,
    project: str,
    *,
    exist_ok: bool = False,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> tuple[ProjectRecord, bool]:
    """Create the registered model of ``project``; return it and whether it was created."""
    name = registered_name(gateway, project)
    names.check_tag_keys(tags or {}, gateway.settings, "project")
    try:
        record = gateway.create_project(name, subject(name), tags=tags, description=description)
    except Conflict:
        if not exist_ok:
            raise
        return get_project(gateway, name), False
    return record, True


def list_projects(gateway: Gateway) -> list[ProjectRecord]:
    """Every project the registry shows, by name; on Unity Catalog those under the configured
    catalog and schema when both are set (the registry's search takes no filter there)."""
    records = gateway.projects()
    settings = gateway.settings
    if gateway.registry_kind == "unity-catalog" and settings.uc_catalog and settings.uc_schema:
        prefix = f"{settings.uc_catalog}.{settings.uc_schema}.".lower()
        records = [r for r in records if r.project.lower().startswith(prefix)]
    return sorted(records, key=lambda r: r.project)
