"""Printing shared by several commands: a model version, rendered Helm values and Argo CD
Applications."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lamp_cli.errors import SpecInvalid
from lamp_cli.output import Output, key_value_table

if TYPE_CHECKING:
    from rich.console import Console

    from lamp_cli.records import VersionRecord
    from lamp_cli.specs import SpecPair


class RenderFormat(str, Enum):
    values = "values"
    application = "application"
    both = "both"


RenderFormatOption = Annotated[
    RenderFormat, typer.Option("--format", "-f", help="What to print.", case_sensitive=False)
]
ChartSchemaOption = Annotated[
    Path | None,
    typer.Option(
        "--chart-schema",
        help="The chart's values.schema.json; the values must satisfy it (exit 3).",
        show_default=False,
    ),
]


def emit_render(
    out: Output, pair: SpecPair, format_: RenderFormat, chart_schema: Path | None
) -> None:
    """Print what the operator applies for ``pair``: values, Application, or both."""
    from lamp_cli.specs.render import (
        check_chart_values,
        render_application,
        render_values,
        to_yaml,
    )

    values = render_values(pair)
    if chart_schema is not None:
        problems = check_chart_values(values, chart_schema)
        if problems:
            raise SpecInvalid(problems)
    application = render_application(pair, values)
    if format_ is RenderFormat.values:
        data: dict[str, Any] = values
        text = to_yaml(values)
    elif format_ is RenderFormat.application:
        data = application
        text = to_yaml(application)
    else:
        data = {"values": values, "application": application}
        text = (
            "# Helm values\n"
            + to_yaml(values)
            + "---\n# Argo CD Application\n"
            + to_yaml(application)
        )
    if out.mode.value == "json":
        out.emit(data)
    else:
        out.write_text(text)


def render_version(version: VersionRecord) -> Callable[[Console], None]:
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
