"""``lamp register``: a run's specs become a model version of a project."""

from __future__ import annotations

from typing import Annotated

import typer

from lamp_cli.commands._common import (
    ProjectArgument,
    ProjectOption,
    TagOption,
    gateway,
    parse_tags,
    project_of,
    state,
)
from lamp_cli.commands._render import render_version
from lamp_cli.layout import TAG_IMAGE, read_version_tag
from lamp_cli.services import registry
from lamp_cli.services.names import check_run_id

REST_CALL_BUDGET = {"register": 8}  # most REST calls allowed; see tests/budget


app = typer.Typer(rich_markup_mode=None, add_completion=False)


@app.command("register")
def register(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run carrying both specs.", metavar="RUN_ID")],
    project: ProjectArgument = None,
    project_option: ProjectOption = None,
    alias: Annotated[
        list[str] | None,
        typer.Option("--alias", "-a", help="Point this alias at the version; repeatable."),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option(
            "--description",
            "-d",
            help="Description of a new version. Default: the commit, its subject and the CI "
            "run, as known.",
            show_default=False,
        ),
    ] = None,
    tag: TagOption = None,
    wait_timeout: Annotated[
        float,
        typer.Option(
            "--wait-timeout",
            min=0,
            metavar="SECONDS",
            help="Seconds to wait for the version to be READY.",
        ),
    ] = 300.0,
) -> None:
    """Register a run's specs as a new model version of the project.

    The run must be FINISHED and carry both specs; the project must exist. The version's source
    is runs:/RUN_ID/lamp and it carries the run's lamp.* tags (git commit, ref, repository; where
    the run has none, those of this checkout or GitHub Actions run). Registering a run that
    already is a version of the project returns that version (exit 0), also when registrations
    race. An alias already on an older version moves to this one; moving it back to an older
    version is refused (exit 5). In GitHub Actions, run_id, model_version and project are step
    outputs.

    Examples:

        lamp register "$RUN_ID" fraud-detector-prj --alias staging

        VERSION=$(lamp -o quiet register "$RUN_ID" --project "$PROJECT")
    """
    from lamp_cli import gha
    from lamp_cli.services import provenance

    tags = parse_tags(tag)
    run_id = check_run_id(run_id)
    project = project_of(ctx, project, project_option)
    app_state = state(ctx)
    out = app_state.out
    origin = provenance.collect(app_state.settings.cwd)
    result = registry.register(
        gateway(ctx),
        run_id,
        project,
        aliases=alias or (),
        description=description or origin.description(),
        tags=tags,
        wait_timeout=wait_timeout,
        on_wait=out.notice,
        provenance=origin.tags(release_key=False),
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
        "image": read_version_tag(version.tags, TAG_IMAGE) or "",
        "created": str(result.created).lower(),
    }
    gha.publish(f"lamp register: {project} version {version.version}", outputs)
    out.emit(data, human=render_version(version), quiet=str(version.version))
