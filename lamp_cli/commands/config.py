"""``lamp config``: the resolved settings and where each came from."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from lamp_cli.commands._common import state
from lamp_cli.output import list_table

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    help="Show lamp's resolved settings.", no_args_is_help=True, rich_markup_mode=None
)


@app.command("show")
def show(ctx: typer.Context) -> None:
    """Show each setting, its value and its source (flag, env:VAR, pyproject, default).

    Credentials in URIs are redacted. Does not contact MLflow. With -o quiet, prints the
    tracking URI alone.

    Example:

        lamp config show

        MLFLOW_TRACKING_URI=$(lamp -o quiet config show) mlflow ui
    """
    rows = state(ctx).settings.describe()

    def render(console: Console) -> None:
        console.print(
            list_table(
                ["SETTING", "VALUE", "SOURCE"], [(r["name"], r["value"], r["source"]) for r in rows]
            )
        )

    # -o quiet: the primary identifier of lamp's settings, as shown (credentials redacted).
    tracking_uri = next(r["value"] for r in rows if r["name"] == "tracking-uri")
    state(ctx).out.emit(rows, human=render, quiet=tracking_uri)
