"""Printing shared by several commands: a model version, rendered Helm values and Argo CD
Applications."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lamp_cli.errors import SpecInvalid, UsageError
from lamp_cli.output import Output, key_value_table

if TYPE_CHECKING:
    from rich.console import Console

    from lamp_cli.records import VersionRecord
    from lamp_cli.services.manifests import Options as ManifestOptions
    from lamp_cli.settings import Settings
    from lamp_cli.specs import SpecPair


class RenderFormat(str, Enum):
    values = "values"
    application = "application"
    both = "both"
    manifests = "manifests"
    all = "all"

    @property
    def needs_helm(self) -> bool:
        return self in (RenderFormat.manifests, RenderFormat.all)


RenderFormatOption = Annotated[
    RenderFormat,
    typer.Option(
        "--format",
        "-f",
        help="What to print: the Helm values, the Argo CD Application, both, the chart's "
        "manifests rendered by helm and checked, or all of them.",
        case_sensitive=False,
    ),
]
ChartOption = Annotated[
    Path | None,
    typer.Option(
        "--chart",
        help="Render this chart directory or packaged .tgz instead of pulling the endpoint "
        "spec's chart (-f manifests / all).",
        show_default=False,
    ),
]
HelmOption = Annotated[
    str | None,
    typer.Option(
        "--helm",
        help="The helm binary, 3.8 or newer (-f manifests / all). (env: LAMP_HELM; pyproject: "
        "helm; default: helm on PATH)",
        metavar="PATH",
        show_default=False,
    ),
]
KubeVersionOption = Annotated[
    str | None,
    typer.Option(
        "--kube-version",
        help="Kubernetes version the manifests are rendered and checked for (-f manifests / "
        "all). (env: LAMP_KUBE_VERSION; pyproject: kube-version; default: 1.35)",
        metavar="X.Y",
        show_default=False,
    ),
]
ChartSchemaOption = Annotated[
    Path | None,
    typer.Option(
        "--chart-schema",
        help="The chart's values.schema.json; the values must satisfy it (exit 3).",
        show_default=False,
    ),
]


def check_render_options(format_: RenderFormat, *helm_options: object) -> None:
    """A usage error (exit 2) for helm's options on a format that does not run helm."""
    if not format_.needs_helm and any(helm_options):
        raise UsageError("--chart, --helm and --kube-version apply to -f manifests and -f all")


def emit_render(
    out: Output,
    pair: SpecPair,
    format_: RenderFormat,
    chart_schema: Path | None,
    settings: Settings,
    *,
    chart: Path | None = None,
    helm: str | None = None,
    kube_version: str | None = None,
) -> None:
    """Print what the operator applies for ``pair``: values, Application, both, the chart's
    checked manifests, or all of them."""
    from lamp_cli.specs.render import (
        check_chart_values,
        render_application,
        render_values,
        to_yaml,
    )

    check_render_options(format_, chart, helm, kube_version)
    values = render_values(pair)
    if chart_schema is not None:
        problems = check_chart_values(values, chart_schema)
        if problems:
            raise SpecInvalid(problems)
    application = render_application(pair, values)
    if format_.needs_helm:
        from lamp_cli.services.manifests import Options

        options = Options(chart=chart, helm=helm, kube_version=kube_version)
        _emit_manifests(out, pair, format_, settings, options, values)
        return
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


def _emit_manifests(
    out: Output,
    pair: SpecPair,
    format_: RenderFormat,
    settings: Settings,
    options: ManifestOptions,
    values: dict[str, Any],
) -> None:
    from lamp_cli.services import manifests
    from lamp_cli.specs.manifests import manifests_yaml
    from lamp_cli.specs.render import to_yaml

    rendered = manifests.check(
        pair, settings, options, values=values, notice=lambda msg: out.notice(msg, once=msg)
    )
    bodies = [m.body for m in rendered.manifests]
    if format_ is RenderFormat.manifests:
        data: Any = bodies
        text = manifests_yaml(rendered.manifests)
    else:
        data = {"values": values, "application": rendered.application, "manifests": bodies}
        text = (
            "# Helm values\n"
            + to_yaml(values)
            + "---\n# Argo CD Application\n"
            + to_yaml(rendered.application)
            + manifests_yaml(rendered.manifests)
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
