"""The deployment as Kubernetes will see it: the chart rendered by Helm with lamp's values,
every object checked against Kubernetes' schemas, and the workload checked to use the specs.

The release name, namespace and chart are those of the Argo CD ``Application`` lamp renders for
the same specs; the Kubernetes version is ``--kube-version``, ``[tool.lamp] kube-version`` /
``LAMP_KUBE_VERSION``, else :data:`~lamp_cli.specs.kube.DEFAULT_KUBE_VERSION`.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lamp_cli.errors import InvalidInput, Problem
from lamp_cli.services import helm as helm_binary
from lamp_cli.settings import Settings
from lamp_cli.specs.chart_use import ChartUse, check_chart_use
from lamp_cli.specs.kube import (
    DEFAULT_KUBE_VERSION,
    KubeVersion,
    Validation,
    check_application,
    check_supported,
    missing_validator_notice,
    parse_kube_version,
    validate_manifests,
)
from lamp_cli.specs.loader import SpecPair
from lamp_cli.specs.manifests import Manifest, parse_manifests
from lamp_cli.specs.render import render_application, render_values

Notice = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    """How to render: a local chart instead of the spec's, a helm, a Kubernetes version (each
    ``None``: from the settings)."""

    chart: Path | None = None
    helm: str | None = None
    kube_version: str | None = None


@dataclass
class Rendered:
    values: dict[str, Any]
    application: dict[str, Any]
    manifests: list[Manifest]
    chart: str  # what was rendered, in words
    helm: helm_binary.Helm
    kube_version: KubeVersion
    validation: Validation
    use: ChartUse
    application_problems: list[Problem]

    @property
    def problems(self) -> list[Problem]:
        # A field the schema refuses (replicas: "2") is not also reported as a value the chart
        # ignores: one problem, the schema's, says what is wrong there.
        refused = {(p.object, p.field) for p in self.validation.problems}
        use = [p for p in self.use.problems if (p.object, p.field) not in refused]
        return [*self.application_problems, *self.validation.problems, *use]

    def summary(self) -> str:
        """One line: what rendered, whether it is valid, and which workload uses the specs."""
        checked = (
            f"valid for Kubernetes {self.kube_version.minor_text} (strict, "
            f"{self.validation.validator})"
            if self.validation.validator
            else "not checked against Kubernetes' schemas"
        )
        serving = self.use.workload or "no serving workload"
        return (
            f"{self.chart}: {len(self.manifests)} objects by helm {self.helm.version}, {checked}; "
            f"{serving} uses the specs"
        )


def kube_version(options: Options, settings: Settings) -> KubeVersion:
    if options.kube_version:
        return parse_kube_version(options.kube_version, "--kube-version")
    if settings.kube_version:
        return parse_kube_version(settings.kube_version, settings.source("kube-version"))
    return parse_kube_version(DEFAULT_KUBE_VERSION)


def render(
    pair: SpecPair,
    settings: Settings,
    options: Options,
    *,
    values: dict[str, Any] | None = None,
    notice: Notice | None = None,
) -> Rendered:
    """Render the chart of ``pair`` (or ``options.chart``) with its values and check it all.

    Raises when Helm is missing (exit 4) or fails (exit 3, Helm's message); the problems of the
    rendered objects are returned, for :func:`check` or a report to decide.
    """
    say = notice or (lambda _msg: None)
    values = render_values(pair) if values is None else values
    application = render_application(pair, values)
    version = kube_version(options, settings)
    validator = check_supported(version)
    helm = helm_binary.find_helm(options.helm, settings)
    chart, what = _chart(helm, pair, options.chart, say)
    source = application["spec"]["source"]
    text = helm_binary.template(
        helm,
        chart,
        release=source["helm"]["releaseName"],
        namespace=application["spec"]["destination"]["namespace"],
        kube_version=str(version),
        values=values,
        what=what,
        notice=say,
    )
    manifests = parse_manifests(text)
    if validator is None:
        say(missing_validator_notice())
    return Rendered(
        values=values,
        application=application,
        manifests=manifests,
        chart=what,
        helm=helm,
        kube_version=version,
        validation=validate_manifests(manifests, version),
        use=check_chart_use(values, manifests),
        application_problems=check_application(application),
    )


def check(
    pair: SpecPair,
    settings: Settings,
    options: Options,
    *,
    values: dict[str, Any] | None = None,
    notice: Notice | None = None,
) -> Rendered:
    """:func:`render`, then every problem found at once as invalid input (exit 3)."""
    rendered = render(pair, settings, options, values=values, notice=notice)
    if rendered.problems:
        count = len(rendered.problems)
        raise InvalidInput(
            f"{rendered.chart} rendered for Kubernetes {rendered.kube_version.minor_text}: "
            f"{count} problem{'s' if count != 1 else ''}",
            problems=rendered.problems,
            hint="fix the chart's templates (or the specs); "
            "`lamp spec render -f values` shows the values the chart receives",
        )
    if notice is not None:
        notice(rendered.summary())
        if rendered.validation.unchecked:
            notice(f"not checked (no schema): {', '.join(rendered.validation.unchecked)}")
    return rendered


def _chart(
    helm: helm_binary.Helm, pair: SpecPair, local: Path | None, say: Notice
) -> tuple[Path, str]:
    chart = pair.endpoint_spec.spec.chart
    if local is None:
        path = helm_binary.pull(helm, chart.repository, chart.name, chart.version)
        return path, f"chart {chart.name} {chart.version}"
    if not local.exists():
        raise InvalidInput(f"--chart {local}: no such file or directory")
    meta = _chart_metadata(local)
    name, version = meta.get("name"), meta.get("version")
    if (name, str(version)) != (chart.name, chart.version):
        say(
            f"rendering {local} ({name} {version}) instead of the endpoint spec's chart "
            f"{chart.name} {chart.version}"
        )
    return local, f"chart {name} {version} ({local})"


def _chart_metadata(path: Path) -> dict[str, Any]:
    """Chart.yaml of a chart directory or packaged chart (``.tgz``)."""
    try:
        if path.is_dir():
            text = (path / "Chart.yaml").read_text(encoding="utf-8")
        else:
            with tarfile.open(path, "r:*") as archive:
                member = next(
                    (
                        m
                        for m in archive
                        if m.name.count("/") == 1 and m.name.endswith("/Chart.yaml")
                    ),
                    None,
                )
                handle = archive.extractfile(member) if member is not None else None
                if handle is None:
                    raise FileNotFoundError("Chart.yaml")
                text = handle.read().decode("utf-8")
        data = yaml.safe_load(text)
    except (OSError, tarfile.TarError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(
            f"--chart {path}: not a chart directory or packaged chart (.tgz): {exc}"
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput(f"--chart {path}: Chart.yaml is not a mapping")
    return data
