"""``lamp run``: create runs, show them, and log the serving specs to them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from lamp_cli.commands._common import (
    EndpointSpecOption,
    ExperimentOption,
    ImageOption,
    ModelSpecOption,
    SetOption,
    TagOption,
    VerifyImageOption,
    backend,
    parse_tags,
    require,
    spec_paths,
    state,
)
from lamp_cli.output import key_value_table
from lamp_cli.services import runs
from lamp_cli.services.names import check_run_id
from lamp_cli.services.records import RunRecord

if TYPE_CHECKING:
    from rich.console import Console

REST_CALL_BUDGET = {"run create": 2, "run log-spec": 8}  # most REST calls allowed; see tests/budget

app = typer.Typer(
    help="Create runs, show them, and log serving specs.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def render_run(run: RunRecord) -> Callable[[Console], None]:
    def render(console: Console) -> None:
        rows = [
            ("run_id", run.run_id),
            ("name", run.name),
            ("experiment_id", run.experiment_id),
            ("status", run.status),
            ("started_at", run.started_at),
            ("ended_at", run.ended_at),
            ("artifact_uri", run.artifact_uri),
            ("tags", {k: v for k, v in run.tags.items() if not k.startswith("mlflow.")}),
        ]
        if run.artifacts:
            rows.append(("artifacts", "\n".join(run.artifacts)))
        console.print(key_value_table(rows))

    return render


@app.command("create")
def create(
    ctx: typer.Context,
    experiment: ExperimentOption = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Run name.")] = None,
    tag: TagOption = None,
) -> None:
    """Create a run in an existing experiment; prints its id. The run stays RUNNING until
    `lamp run log-spec RUN_ID` logs the specs to it.

    Examples:

        lamp run create --experiment fraud-detector --name release-1.4.0

        RUN_ID=$(lamp -o quiet run create -e fraud-detector)
    """
    tags = parse_tags(tag)
    settings = state(ctx).settings
    experiment = experiment or settings.experiment
    require({"--experiment": experiment}, setting="experiment", env="LAMP_EXPERIMENT")
    assert experiment is not None
    run = runs.create(backend(ctx), experiment, name=name, tags=tags)
    state(ctx).out.emit(run.to_dict(), human=render_run(run), quiet=run.run_id)


@app.command("show")
def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id.", metavar="RUN_ID")],
) -> None:
    """Show a run, its tags and its lamp artifacts.

    Example:

        lamp run show 3f2a9c0d5e8b4b1c9a7d6e5f4a3b2c1d
    """
    run = runs.get(backend(ctx), check_run_id(run_id), with_artifacts=True)
    state(ctx).out.emit(run.to_dict(), human=render_run(run), quiet=run.run_id)


@app.command("log-spec")
def log_spec(
    ctx: typer.Context,
    run_id: Annotated[
        str | None,
        typer.Argument(
            help="Run to log to; omitted: a new run in --experiment.",
            metavar="RUN_ID",
            show_default=False,
        ),
    ] = None,
    model_spec: ModelSpecOption = None,
    endpoint_spec: EndpointSpecOption = None,
    experiment: ExperimentOption = None,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Name of the new run (without RUN_ID).")
    ] = None,
    set_: SetOption = None,
    image: ImageOption = None,
    verify_image: VerifyImageOption = None,
) -> None:
    """Validate both specs, then log them to RUN_ID (or to a new run in --experiment).

    Nothing is written when either spec is invalid (exit 3) or the --image tag is not on ECR
    (exit 4). The run ends FINISHED only when both specs, lamp.json and the hash tags were all
    written; a failure midway marks it FAILED. Logging the same specs again to the same run
    changes nothing. The run is tagged with its git commit, ref and repository (or the GitHub
    Actions run). AWS credentials come from boto3's standard chain.

    Examples:

        lamp run log-spec -e fraud-detector

        lamp run log-spec -e fraud-detector --model-spec deploy/model.yaml \\
            --endpoint-spec deploy/endpoint.yaml

        lamp run log-spec "$RUN_ID" --image "$REGISTRY/fraud-detector:1.4.1"
    """
    app_state = state(ctx)
    settings = app_state.settings
    model_path, endpoint_path = spec_paths(settings, model_spec, endpoint_spec)
    result = runs.log_spec_files(
        lambda: backend(ctx),
        settings,
        model_path,
        endpoint_path,
        overrides=set_ or (),
        image=image,
        verify_image=verify_image,
        run_id=run_id,
        experiment=experiment or settings.experiment,
        run_name=name,
    )
    if result.unchanged:
        app_state.out.notice(
            f"run {result.run.run_id} already carries these specs; nothing written"
        )
    data = result.to_dict()
    app_state.out.emit(data, human=render_run(result.run), quiet=result.run.run_id)
