"""``lamp project``: the registered model named after a LAMP project id."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from lamp_cli.commands._common import (
    ExistOkOption,
    ProjectArgument,
    ProjectOption,
    TagOption,
    gateway,
    parse_tags,
    project_of,
    state,
)
from lamp_cli.output import key_value_table, list_table
from lamp_cli.records import ProjectRecord
from lamp_cli.services import projects

if TYPE_CHECKING:
    from rich.console import Console

REST_CALL_BUDGET = {"project create": 1}  # most REST calls allowed; see tests/budget

app = typer.Typer(
    help="Projects: one registered model per LAMP project id.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _render(project: ProjectRecord) -> Callable[[Console], None]:
    def render(console: Console) -> None:
        console.print(
            key_value_table(
                [
                    ("project", project.project),
                    ("description", project.description),
                    ("created_at", project.created_at),
                    ("aliases", {k: f"version {v}" for k, v in project.aliases.items()}),
                    ("tags", project.tags),
                ]
            )
        )

    return render


@app.command("create")
def create(
    ctx: typer.Context,
    project: ProjectArgument = None,
    project_option: ProjectOption = None,
    description: Annotated[
        str | None,
        typer.Option("--description", "-d", help="Description of the project.", show_default=False),
    ] = None,
    tag: TagOption = None,
    exist_ok: ExistOkOption = False,
) -> None:
    """Create the registered model for a project (the platform UI does this; for local use).

    Example:

        lamp project create fraud-detector-prj --exist-ok
    """
    tags = parse_tags(tag)
    project = project_of(ctx, project, project_option)
    out = state(ctx).out
    record, created = projects.create_project(
        gateway(ctx, writes=True), project, exist_ok=exist_ok, description=description, tags=tags
    )
    if not created:
        out.notice(f"project '{record.project}' already exists")
    out.emit({**record.to_dict(), "created": created}, human=_render(record), quiet=record.project)


@app.command("show")
def show(
    ctx: typer.Context, project: ProjectArgument = None, project_option: ProjectOption = None
) -> None:
    """Describe a project: description, aliases, tags.

    Examples:

        lamp project show fraud-detector-prj

        LAMP_PROJECT_ID=fraud-detector-prj lamp project show
    """
    record = projects.get_project(gateway(ctx), project_of(ctx, project, project_option))
    state(ctx).out.emit(record.to_dict(), human=_render(record), quiet=record.project)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the projects of the registry, by name.

    On Unity Catalog, those under --uc-catalog / --uc-schema when both are set.

    Example:

        lamp project list
    """
    found = projects.list_projects(gateway(ctx))

    def render(console: Console) -> None:
        rows = [
            (p.project, {k: f"version {v}" for k, v in p.aliases.items()}, p.created_at)
            for p in found
        ]
        console.print(list_table(["PROJECT", "ALIASES", "CREATED"], rows))

    state(ctx).out.emit(
        [p.to_dict() for p in found], human=render, quiet=[p.project for p in found]
    )
