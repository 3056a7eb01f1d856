"""``lamp experiment``: create, list and show MLflow experiments."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from lamp_cli.commands._common import ExistOkOption, TagOption, gateway, parse_tags, state
from lamp_cli.errors import UsageError
from lamp_cli.output import key_value_table, list_table
from lamp_cli.records import ExperimentRecord
from lamp_cli.services import experiments

if TYPE_CHECKING:
    from rich.console import Console

REST_CALL_BUDGET = {"experiment create": 2}  # most REST calls allowed; see tests/budget

app = typer.Typer(
    help="Create, list and show MLflow experiments.", no_args_is_help=True, rich_markup_mode=None
)


def _show(exp: ExperimentRecord) -> Callable[[Console], None]:
    def render(console: Console) -> None:
        console.print(
            key_value_table(
                [
                    ("experiment_id", exp.experiment_id),
                    ("name", exp.name),
                    ("artifact_location", exp.artifact_location),
                    ("created_at", exp.created_at),
                    ("tags", {k: v for k, v in exp.tags.items() if not k.startswith("mlflow.")}),
                ]
            )
        )

    return render


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(
            help="Experiment name; omitted: LAMP_EXPERIMENT or experiment under [tool.lamp].",
            metavar="NAME",
            show_default=False,
        ),
    ] = None,
    tag: TagOption = None,
    artifact_location: Annotated[
        str | None,
        typer.Option("--artifact-location", help="Where the runs' artifacts go (URI)."),
    ] = None,
    exist_ok: ExistOkOption = False,
) -> None:
    """Create an experiment; prints its id.

    Without NAME, the experiment of the settings (LAMP_EXPERIMENT, or experiment under
    [tool.lamp]): the one `run log-spec` and `release` use.

    Examples:

        lamp experiment create fraud-detector

        EXP_ID=$(lamp -o quiet experiment create --exist-ok)
    """
    tags = parse_tags(tag)
    out = state(ctx).out
    chosen = name or state(ctx).settings.experiment
    if not chosen:
        raise UsageError(
            "no experiment name given",
            hint="pass NAME, or set LAMP_EXPERIMENT or experiment under [tool.lamp] in "
            "pyproject.toml",
        )
    exp, created = experiments.create(
        gateway(ctx, writes=True),
        chosen,
        tags=tags,
        artifact_location=artifact_location,
        exist_ok=exist_ok,
    )
    if not created:
        out.notice(f"experiment '{exp.name}' already exists (id {exp.experiment_id})")
    out.emit({**exp.to_dict(), "created": created}, human=_show(exp), quiet=exp.experiment_id)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the live experiments.

    Example:

        lamp -o json experiment list | jq -r '.[].name'
    """
    records = experiments.list_all(gateway(ctx))

    def render(console: Console) -> None:
        rows = [(e.experiment_id, e.name, e.created_at, e.artifact_location) for e in records]
        console.print(list_table(["ID", "NAME", "CREATED", "ARTIFACT LOCATION"], rows))

    state(ctx).out.emit(
        [e.to_dict() for e in records], human=render, quiet=[e.experiment_id for e in records]
    )


@app.command("show")
def show(
    ctx: typer.Context,
    name_or_id: Annotated[str, typer.Argument(help="Experiment name or id.", metavar="NAME_OR_ID")],
) -> None:
    """Describe one experiment.

    Example:

        lamp experiment show fraud-detector
    """
    exp = experiments.get(gateway(ctx), name_or_id)
    state(ctx).out.emit(exp.to_dict(), human=_show(exp), quiet=exp.experiment_id)
