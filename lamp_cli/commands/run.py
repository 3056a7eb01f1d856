"""``lamp run``: create runs, show them, and log the serving specs to them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from lamp_cli.commands._common import (
    AppDirOption,
    AppOption,
    AppPythonOption,
    EndpointSpecOption,
    ExperimentOption,
    ImageOption,
    ModelSpecOption,
    OpenapiOption,
    SetOption,
    StrictOption,
    TagOption,
    VerifyImageOption,
    app_settings,
    gateway,
    parse_tags,
    require,
    spec_paths,
    state,
)
from lamp_cli.output import key_value_table, list_table
from lamp_cli.records import RunRecord
from lamp_cli.services import runs
from lamp_cli.services.names import check_run_id

if TYPE_CHECKING:
    from rich.console import Console

REST_CALL_BUDGET = {"run create": 2, "run log-spec": 8}  # most REST calls allowed; see tests/budget

app = typer.Typer(
    help="Create, list and show runs, and log serving specs.",
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
    run = runs.create(gateway(ctx), experiment, name=name, tags=tags)
    state(ctx).out.emit(run.to_dict(), human=render_run(run), quiet=run.run_id)


@app.command("list")
def list_(
    ctx: typer.Context,
    experiment: ExperimentOption = None,
    max_: Annotated[
        int, typer.Option("--max", min=1, help="How many of the latest runs to show.")
    ] = 20,
) -> None:
    """List the latest runs, newest first, with what each holds for lamp.

    LAMP is `specs` (both specs logged, run FINISHED: ready to register), `partial` (specs
    being written, or a run that stopped midway), `failed`, or `-` (no lamp specs). Without
    --experiment (or the experiment setting), the runs of every live experiment.

    Examples:

        lamp run list

        lamp -o json run list -e fraud-detector --max 5
    """
    settings = state(ctx).settings
    found = runs.latest(gateway(ctx), experiment or settings.experiment, limit=max_)

    def render(console: Console) -> None:
        rows = [
            (r.run_id, r.name, r.experiment_id, r.status, runs.lamp_status(r), r.started_at)
            for r in found
        ]
        console.print(list_table(["RUN", "NAME", "EXPERIMENT", "STATUS", "LAMP", "STARTED"], rows))

    data = [{**r.to_dict(), "lamp_status": runs.lamp_status(r)} for r in found]
    state(ctx).out.emit(data, human=render, quiet=[r.run_id for r in found])


@app.command("show")
def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id.", metavar="RUN_ID")],
) -> None:
    """Show a run, its tags and its lamp artifacts.

    Example:

        lamp run show 3f2a9c0d5e8b4b1c9a7d6e5f4a3b2c1d
    """
    run = runs.get(gateway(ctx), check_run_id(run_id), with_artifacts=True)
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
        str | None,
        typer.Option(
            "--run-name",
            "--name",
            "-n",
            help="Name of the new run (without RUN_ID). Default: PROJECT@TAG, the git tag or "
            "short commit (the model spec's name without a project).",
            show_default=False,
        ),
    ] = None,
    set_: SetOption = None,
    image: ImageOption = None,
    verify_image: VerifyImageOption = None,
    app: AppOption = None,
    app_dir: AppDirOption = None,
    app_python: AppPythonOption = None,
    openapi: OpenapiOption = None,
    strict: StrictOption = False,
) -> None:
    """Validate both specs, then log them to RUN_ID (or to a new run in --experiment).

    Nothing is written when either spec is invalid (exit 3), the model spec names a route or
    probe the app does not serve (exit 3; see `lamp spec validate`), or the --image tag is not
    on ECR (exit 4). With the app's API known, lamp/openapi.json is logged too and the model's
    signature is the primary route's request and answer. The run ends FINISHED only when all
    its files were written; a failure midway marks it FAILED. Logging the same specs again to
    the same run changes nothing. The run is named PROJECT@TAG and tagged with its git commit,
    ref and repository (or the GitHub Actions run). AWS credentials come from boto3's standard
    chain.

    Examples:

        lamp run log-spec -e fraud-detector

        lamp run log-spec -e fraud-detector --model-spec deploy/model.yaml \\
            --endpoint-spec deploy/endpoint.yaml

        lamp run log-spec "$RUN_ID" --image "$REGISTRY/fraud-detector:1.4.1"
    """
    app_state = state(ctx)
    settings = app_settings(ctx, app, app_dir, app_python, openapi)
    model_path, endpoint_path = spec_paths(settings, model_spec, endpoint_spec)
    result = runs.log_spec_files(
        lambda: gateway(ctx),
        settings,
        model_path,
        endpoint_path,
        overrides=set_ or (),
        image=image,
        verify_image=verify_image,
        run_id=run_id,
        experiment=experiment or settings.experiment,
        run_name=name,
        strict=strict,
        notice=app_state.out.notice,
        warn=app_state.out.warn,
    )
    if result.unchanged:
        app_state.out.notice(
            f"run {result.run.run_id} already carries these specs; nothing written"
        )
    data = result.to_dict()
    app_state.out.emit(data, human=render_run(result.run), quiet=result.run.run_id)
