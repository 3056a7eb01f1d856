"""``lamp register`` and ``lamp version``: the model versions of a project."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer
from rich.console import Console

from lamp_cli.commands._common import ProjectArgument, TagOption, backend, parse_tags, state
from lamp_cli.commands._render import (
    ChartSchemaOption,
    RenderFormat,
    RenderFormatOption,
    emit_render,
)
from lamp_cli.errors import UsageError
from lamp_cli.output import key_value_table, list_table
from lamp_cli.services import registry, versions
from lamp_cli.services.names import read_version_tag
from lamp_cli.services.records import VersionRecord

app = typer.Typer(help="List and show the model versions of a project.", no_args_is_help=True)

VersionArgument = Annotated[
    str, typer.Argument(help="Version number, or @ALIAS.", metavar="VERSION_OR_@ALIAS")
]


class SpecKind(str, Enum):
    model = "model"
    endpoint = "endpoint"


def render_version(version: VersionRecord):
    def render(console: Console) -> None:
        console.print(
            key_value_table(
                [
                    ("project", version.project),
                    ("version", version.version),
                    ("status", version.status),
                    ("aliases", version.aliases),
                    ("run_id", version.run_id),
                    ("source", version.source),
                    ("created_at", version.created_at),
                    ("description", version.description),
                    ("tags", version.tags),
                ]
            )
        )

    return render


def register(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run carrying both specs.", metavar="RUN_ID")],
    project: ProjectArgument,
    alias: Annotated[
        list[str] | None,
        typer.Option("--alias", "-a", help="Point this alias at the version; repeatable."),
    ] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    tag: TagOption = None,
    wait_timeout: Annotated[
        float,
        typer.Option("--wait-timeout", min=0, help="Seconds to wait for the version to be READY."),
    ] = 300.0,
) -> None:
    """Register a run's specs as a new model version of the project LAMP_PROJECT_ID.

    The run must be FINISHED and carry both specs; the project must exist. The version's source
    is runs:/RUN_ID/lamp and it carries the run's lamp.* tags (git commit, ref, repository; where
    the run has none, those of this checkout or GitHub Actions run). Registering a run that
    already is a version of the project returns that version (exit 0), also when registrations
    race. An alias already on an older version moves to this one; moving it back to an older
    version is refused (exit 5). In GitHub Actions, run_id, model_version and project are step
    outputs.

    Examples:

        lamp register "$RUN_ID" fraud-detector-prj --alias staging

        VERSION=$(lamp -o quiet register "$RUN_ID" "$LAMP_PROJECT_ID")
    """
    from lamp_cli import gha
    from lamp_cli.services import provenance

    tags = parse_tags(tag)
    app_state = state(ctx)
    out = app_state.out
    origin = provenance.collect(app_state.settings.cwd).tags(release_key=False)
    result = registry.register(
        backend(ctx),
        run_id,
        project,
        aliases=alias or (),
        description=description,
        tags=tags,
        wait_timeout=wait_timeout,
        on_wait=out.notice,
        provenance=origin,
    )
    version = result.version
    project = version.project  # on Unity Catalog, the three-level name
    if not result.created:
        out.notice(f"run {run_id} already is version {version.version} of '{project}'")
    for name, previous in result.moved_aliases.items():
        out.notice(f"alias @{name} moved from version {previous} to {version.version}")
    data = {**version.to_dict(), "created": result.created}
    outputs = {
        "run_id": run_id,
        "project": project,
        "model_version": str(version.version),
        "image": read_version_tag(version.tags, "lamp.image") or "",
        "created": str(result.created).lower(),
    }
    gha.publish(f"lamp register: {project} version {version.version}", outputs)
    out.emit(data, human=render_version(version), quiet=str(version.version))


@app.command("list")
def list_(ctx: typer.Context, project: ProjectArgument) -> None:
    """List the versions of a project, newest first.

    Example:

        lamp version list fraud-detector-prj
    """
    found = versions.list_versions(backend(ctx), project)

    def render(console: Console) -> None:
        rows = [
            (
                v.version,
                v.status,
                v.aliases,
                v.run_id,
                read_version_tag(v.tags, "lamp.image"),
                v.created_at,
            )
            for v in found
        ]
        console.print(list_table(["VERSION", "STATUS", "ALIASES", "RUN", "IMAGE", "CREATED"], rows))

    state(ctx).out.emit(
        [v.to_dict() for v in found], human=render, quiet=[str(v.version) for v in found]
    )


@app.command("show")
def show(ctx: typer.Context, project: ProjectArgument, version: VersionArgument) -> None:
    """Describe one version, by number or @alias.

    Examples:

        lamp version show fraud-detector-prj 3

        lamp version show fraud-detector-prj @production
    """
    record = versions.get_version(backend(ctx), project, _ref(version))
    state(ctx).out.emit(record.to_dict(), human=render_version(record), quiet=str(record.version))


@app.command("spec")
def spec(
    ctx: typer.Context,
    project: ProjectArgument,
    version: VersionArgument,
    kind: Annotated[
        SpecKind, typer.Option("--kind", "-k", help="Which spec to print.")
    ] = SpecKind.endpoint,
) -> None:
    """Print a version's spec exactly as the operator reads it (through models:/).

    Example:

        lamp version spec fraud-detector-prj @production --kind endpoint
    """
    record, text = versions.read_spec(backend(ctx), project, _ref(version), kind.value)
    out = state(ctx).out
    if out.mode.value == "json":
        import yaml

        out.emit(
            {
                "project": record.project,
                "version": record.version,
                "kind": kind.value,
                "document": yaml.safe_load(text),
            }
        )
    else:
        out.write_text(text)


@app.command("render")
def render(
    ctx: typer.Context,
    project: ProjectArgument,
    version: VersionArgument,
    format_: RenderFormatOption = RenderFormat.both,
    chart_schema: ChartSchemaOption = None,
) -> None:
    """Print the Helm values and the Argo CD Application the operator applies for a version.

    The specs are read through models:/ exactly as the operator reads them, validated again as a
    pair, and rendered like `lamp spec render`.

    Examples:

        lamp version render fraud-detector-prj @production --format application

        lamp -o json version render fraud-detector-prj 3 --format values
    """
    _, pair = versions.read_pair(backend(ctx), project, _ref(version))
    emit_render(state(ctx).out, pair, format_, chart_schema)


def _ref(value: str) -> str:
    if value.startswith("@") or value.isdigit():
        return value
    raise UsageError(f"'{value}' is neither a version number nor an @alias")
