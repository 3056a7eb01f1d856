"""``lamp register`` and ``lamp version``: the model versions of a project."""

from __future__ import annotations

import json
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from lamp_cli.commands._common import (
    ProjectArgument,
    ProjectOption,
    gateway,
    project_of,
    split_project,
    state,
)
from lamp_cli.commands._render import (
    ChartOption,
    ChartSchemaOption,
    HelmOption,
    KubeVersionOption,
    RenderFormat,
    RenderFormatOption,
    check_render_options,
    emit_render,
    render_version,
)
from lamp_cli.errors import UsageError
from lamp_cli.layout import TAG_IMAGE, read_version_tag
from lamp_cli.output import list_table
from lamp_cli.services import versions

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    help="List and show the model versions of a project.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

DiffArguments = Annotated[
    list[str],
    typer.Argument(
        help="The project (omitted: --project, LAMP_PROJECT_ID or [tool.lamp]), then the two "
        "versions to compare, numbers or @ALIAS.",
        metavar="[LAMP_PROJECT_ID] OLD NEW",
        show_default=False,
    ),
]
VersionArguments = Annotated[
    list[str],
    typer.Argument(
        help="The project (omitted: --project, LAMP_PROJECT_ID or [tool.lamp]), then a version "
        "number or @ALIAS.",
        metavar="[LAMP_PROJECT_ID] VERSION",
        show_default=False,
    ),
]


class SpecKind(str, Enum):
    model = "model"
    endpoint = "endpoint"
    openapi = "openapi"


@app.command("list")
def list_(
    ctx: typer.Context,
    project: ProjectArgument = None,
    project_option: ProjectOption = None,
    max_: Annotated[
        int | None,
        typer.Option("--max", min=1, help="Show only the N newest versions.", show_default=False),
    ] = None,
) -> None:
    """List the versions of a project, newest first (every version, or the --max newest).

    Examples:

        lamp version list fraud-detector-prj

        LAMP_PROJECT_ID=fraud-detector-prj lamp version list --max 5
    """
    name = project_of(ctx, project, project_option)
    found = versions.list_versions(gateway(ctx), name, limit=max_)

    def render(console: Console) -> None:
        rows = [
            (
                v.version,
                v.status,
                v.aliases,
                v.run_id,
                read_version_tag(v.tags, TAG_IMAGE),
                v.created_at,
            )
            for v in found
        ]
        console.print(list_table(["VERSION", "STATUS", "ALIASES", "RUN", "IMAGE", "CREATED"], rows))

    state(ctx).out.emit(
        [v.to_dict() for v in found], human=render, quiet=[str(v.version) for v in found]
    )


@app.command("show")
def show(ctx: typer.Context, args: VersionArguments, project_option: ProjectOption = None) -> None:
    """Describe one version, by number or @alias.

    Examples:

        lamp version show fraud-detector-prj 3

        LAMP_PROJECT_ID=fraud-detector-prj lamp version show @production
    """
    project, (version,) = split_project(ctx, args, ("VERSION",), project_option)
    record = versions.get_version(gateway(ctx), project, _ref(version))
    state(ctx).out.emit(record.to_dict(), human=render_version(record), quiet=str(record.version))


@app.command("spec")
def spec(
    ctx: typer.Context,
    args: VersionArguments,
    project_option: ProjectOption = None,
    kind: Annotated[
        SpecKind,
        typer.Option(
            "--kind", "-k", help="Which spec to print; openapi: the app's API the version carries."
        ),
    ] = SpecKind.endpoint,
) -> None:
    """Print a version's spec exactly as the operator reads it (through models:/).

    --kind openapi prints the app's OpenAPI document logged with the version (exit 4 when the
    version was registered without one).

    Examples:

        lamp version spec fraud-detector-prj @production --kind endpoint

        lamp version spec fraud-detector-prj 3 --kind openapi > openapi-v3.json
    """
    project, (version,) = split_project(ctx, args, ("VERSION",), project_option)
    record, text = versions.read_spec(gateway(ctx), project, _ref(version), kind.value)
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
    args: VersionArguments,
    project_option: ProjectOption = None,
    format_: RenderFormatOption = RenderFormat.both,
    chart_schema: ChartSchemaOption = None,
    chart: ChartOption = None,
    helm: HelmOption = None,
    kube_version: KubeVersionOption = None,
) -> None:
    """Print the Helm values and the Argo CD Application the operator applies for a version,
    or (-f manifests) the Kubernetes manifests its chart renders.

    The specs are read through models:/ exactly as the operator reads them, validated again as a
    pair, and rendered and checked like `lamp spec render`.

    Examples:

        lamp version render fraud-detector-prj @production --format application

        lamp version render fraud-detector-prj @candidate -f manifests \\
            --chart deploy/chart
    """
    project, (version,) = split_project(ctx, args, ("VERSION",), project_option)
    app_state = state(ctx)
    check_render_options(format_, chart, helm, kube_version)
    _, pair = versions.read_pair(gateway(ctx), project, _ref(version))
    emit_render(
        app_state.out,
        pair,
        format_,
        chart_schema,
        app_state.settings,
        chart=chart,
        helm=helm,
        kube_version=kube_version,
    )


@app.command("diff")
def diff(
    ctx: typer.Context,
    args: DiffArguments,
    project_option: ProjectOption = None,
    fail_on_breaking: Annotated[
        bool,
        typer.Option(
            "--fail-on-breaking",
            help="Exit 5 when a change of the API breaks existing clients (0 otherwise).",
        ),
    ] = False,
) -> None:
    """Compare two versions: each spec field that differs, and the changes of the app's API.

    Reads both versions as the operator reads them (models:/) and prints the fields that differ
    in either spec, nothing unchanged; the image is named first. When both versions carry the
    app's OpenAPI document, the API section lists operations added and removed, request and
    response fields added, removed, retyped or newly required, and enum values removed, each
    marked when it breaks existing clients (a removed operation, a removed or retyped response
    field, a new required or retyped request field, a removed enum value). Exit 0 whether or
    not they differ; with --fail-on-breaking, exit 5 when a change breaks.

    Examples:

        lamp version diff fraud-detector-prj @production @candidate

        lamp -o json version diff fraud-detector-prj 3 4 --fail-on-breaking
    """
    from lamp_cli.specs.api_diff import breaking_error, changes_to_dict

    project, (old, new) = split_project(ctx, args, ("OLD", "NEW"), project_option)
    result = versions.diff(gateway(ctx), project, _ref(old), _ref(new))
    out = state(ctx).out
    if result.api_missing:
        out.notice(f"{result.api_missing}: no API comparison")
    data = {
        "project": result.old.project,
        "old": {
            "version": result.old.version,
            "run_id": result.old.run_id,
            "image": result.old_image,
        },
        "new": {
            "version": result.new.version,
            "run_id": result.new.run_id,
            "image": result.new_image,
        },
        "image_changed": result.old_image != result.new_image,
        "changes": result.changes,
        "api": changes_to_dict(result.api_changes) if result.api_changes is not None else None,
    }

    def render(console: Console) -> None:
        console.print(
            f"{result.old.project}: version {result.old.version} -> version {result.new.version}"
        )
        if result.old_image != result.new_image:
            console.print(f"image: {result.old_image} -> {result.new_image}")
        if not result.changes:
            console.print("no differences in the specs")
        else:
            rows = [
                (c["spec"], c["path"], _shown(c["old"]), _shown(c["new"])) for c in result.changes
            ]
            console.print(list_table(["SPEC", "FIELD", "OLD", "NEW"], rows))
        if result.api_changes is None:
            return
        if not result.api_changes:
            console.print("no changes of the API")
            return
        console.print(f"API: {len(result.breaking)} of {len(result.api_changes)} changes break")
        api_rows = [("yes" if c.breaking else "no", c.message) for c in result.api_changes]
        console.print(list_table(["BREAKING", "CHANGE"], api_rows))

    quiet = [f"{c['spec']}.{c['path']}" for c in result.changes]
    out.emit(data, human=render, quiet=quiet)
    if fail_on_breaking and result.breaking:
        raise breaking_error(result.breaking, f"version {result.old.version}")


def _shown(value: object) -> str:
    return "-" if value is None else json.dumps(value) if not isinstance(value, str) else value


def _ref(value: str) -> str:
    if value.startswith("@") or value.isdigit():
        return value
    raise UsageError(f"'{value}' is neither a version number nor an @alias")
