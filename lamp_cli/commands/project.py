"""``lamp project``: the registered model named after a LAMP project id."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from lamp_cli.commands._common import (
    ExistOkOption,
    ProjectArgument,
    TagOption,
    backend,
    parse_tags,
    state,
)
from lamp_cli.output import key_value_table, list_table
from lamp_cli.services import projects
from lamp_cli.services.records import ProjectRecord

app = typer.Typer(help="Projects: one registered model per LAMP project id.", no_args_is_help=True)


def _render(project: ProjectRecord):
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
    project: ProjectArgument,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    tag: TagOption = None,
    exist_ok: ExistOkOption = False,
) -> None:
    """Create the registered model for a project (the platform UI does this; for local use).

    Example:

        lamp project create fraud-detector-prj --exist-ok
    """
    tags = parse_tags(tag)
    out = state(ctx).out
    record, created = projects.create_project(
        backend(ctx), project, exist_ok=exist_ok, description=description, tags=tags
    )
    if not created:
        out.notice(f"project '{record.project}' already exists")
    out.emit({**record.to_dict(), "created": created}, human=_render(record), quiet=record.project)


@app.command("show")
def show(ctx: typer.Context, project: ProjectArgument) -> None:
    """Describe a project: description, aliases, tags.

    Example:

        lamp project show fraud-detector-prj
    """
    record = projects.get_project(backend(ctx), project)
    state(ctx).out.emit(record.to_dict(), human=_render(record), quiet=record.project)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the projects of the registry, by name.

    On Unity Catalog, those under --uc-catalog / --uc-schema when both are set.

    Example:

        lamp project list
    """
    found = projects.list_projects(backend(ctx))

    def render(console: Console) -> None:
        rows = [
            (p.project, {k: f"version {v}" for k, v in p.aliases.items()}, p.created_at)
            for p in found
        ]
        console.print(list_table(["PROJECT", "ALIASES", "CREATED"], rows))

    state(ctx).out.emit(
        [p.to_dict() for p in found], human=render, quiet=[p.project for p in found]
    )
