"""The serving container against lamp's values: image, probes, resources, env.

:class:`ContainerChecks` holds what every check of :mod:`lamp_cli.specs.chart_use` shares: the
values lamp passed, the rendered objects, and the problems found so far.
"""

from __future__ import annotations

from typing import Any

from lamp_cli.errors import Problem
from lamp_cli.specs.manifests import Manifest
from lamp_cli.specs.paths import format_path
from lamp_cli.specs.quantity import QuantityError, parse_quantity

#: Kubernetes' defaults of a Probe's timings, in the order lamp's values list them.
PROBE_DEFAULTS = {
    "periodSeconds": 10,
    "timeoutSeconds": 1,
    "failureThreshold": 3,
    "initialDelaySeconds": 0,
}


def dig(node: Any, *keys: str | int) -> Any:
    """``node[k1][k2]...``, or ``None`` where a key is missing or a level has another type
    (a chart may render anything; its schema problems are reported elsewhere)."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                return None
        elif not isinstance(node, dict):
            return None
        node = node[key] if isinstance(key, int) else node.get(key)
    return node


def as_list(node: Any) -> list[Any]:
    return node if isinstance(node, list) else []


def as_dict(node: Any) -> dict[str, Any]:
    return node if isinstance(node, dict) else {}


def same_quantity(a: Any, b: Any) -> bool:
    """``1`` and ``"1000m"`` are the same CPU; the chart may write either."""
    try:
        return parse_quantity(str(a)).value == parse_quantity(str(b)).value
    except QuantityError:
        return str(a) == str(b)


def or_nothing(value: Any) -> str:
    return "nothing" if value is None else str(value)


class ContainerChecks:
    """Checks of the serving container; each miss is added to :attr:`problems`."""

    def __init__(self, values: dict[str, Any], manifests: list[Manifest]) -> None:
        self.values = values
        self.manifests = manifests
        self.port = values.get("containerPort")
        self.problems: list[Problem] = []

    def miss(self, where: Manifest | None, path: list[str | int], message: str) -> None:
        self.problems.append(
            Problem(
                message,
                file=where.source if where else None,
                field=format_path(path) or None,
                object=where.ref if where else None,
            )
        )

    def check_container(self, workload: Manifest, index: int) -> None:
        at: list[str | int] = ["spec", "template", "spec", "containers", index]
        container = as_dict(dig(workload.body, *at))
        self.check_image(workload, at, container)
        self.check_probes(workload, at, container)
        self.check_resources(workload, at, container)
        self.check_env(workload, at, container)

    def check_image(
        self, workload: Manifest, at: list[str | int], container: dict[str, Any]
    ) -> None:
        image = as_dict(self.values.get("image"))
        expected, digest = image.get("reference"), image.get("digest")
        actual = container.get("image")
        accepted = {expected}
        if digest:
            accepted.add(f"{image.get('repository')}:{image.get('tag')}@{digest}")
        if actual in accepted:
            return
        if digest and not str(actual or "").endswith(f"@{digest}"):
            message = (
                f"the chart ignores `image.digest`: the container runs {or_nothing(actual)}, "
                f"not the pinned {expected}"
            )
        else:
            message = f"the chart ignores `image.reference` ({expected}): the container runs "
            message += or_nothing(actual)
        self.miss(workload, [*at, "image"], message)

    def port_matches(self, port: Any, container: dict[str, Any]) -> bool:
        if port == self.port:
            return True
        named = {dig(p, "name"): dig(p, "containerPort") for p in as_list(container.get("ports"))}
        return isinstance(port, str) and named.get(port) == self.port

    def check_probes(
        self, workload: Manifest, at: list[str | int], container: dict[str, Any]
    ) -> None:
        for name, probe in as_dict(self.values.get("probes")).items():
            key = f"{name}Probe"
            rendered = container.get(key)
            where = [*at, key]
            if not isinstance(rendered, dict):
                self.miss(workload, where, f"the chart ignores `probes.{name}`: no {key}")
                continue
            path = dig(probe, "httpGet", "path")
            http = rendered.get("httpGet")
            if not isinstance(http, dict):
                kinds = [k for k in ("exec", "tcpSocket", "grpc") if k in rendered] or ["no"]
                self.miss(
                    workload,
                    where,
                    f"the chart ignores `probes.{name}.httpGet` (GET {path} on port "
                    f"{self.port}): it renders a {kinds[0]} probe",
                )
            else:
                if http.get("path") != path:
                    self.miss(
                        workload,
                        [*where, "httpGet", "path"],
                        f"the chart ignores `probes.{name}.httpGet.path` ({path}): it renders "
                        f"{or_nothing(http.get('path'))}",
                    )
                if not self.port_matches(http.get("port"), container):
                    self.miss(
                        workload,
                        [*where, "httpGet", "port"],
                        f"the chart ignores `probes.{name}.httpGet.port` ({self.port}): it "
                        f"renders {or_nothing(http.get('port'))}",
                    )
            for timing, default in PROBE_DEFAULTS.items():
                if timing not in probe:
                    continue
                actual = rendered.get(timing, default)
                if actual != probe[timing]:
                    shown = (
                        actual if timing in rendered else f"none (Kubernetes' default {default})"
                    )
                    self.miss(
                        workload,
                        [*where, timing],
                        f"the chart ignores `probes.{name}.{timing}` ({probe[timing]}): it "
                        f"renders {shown}",
                    )

    def check_resources(
        self, workload: Manifest, at: list[str | int], container: dict[str, Any]
    ) -> None:
        expected = as_dict(self.values.get("resources"))
        actual = as_dict(container.get("resources"))
        for section in ("requests", "limits"):
            want, have = as_dict(expected.get(section)), as_dict(actual.get(section))
            for key, value in want.items():
                where = [*at, "resources", section, key]
                if key not in have:
                    self.miss(
                        workload,
                        where,
                        f"the chart ignores `resources.{section}.{key}` ({value}): not set",
                    )
                elif not same_quantity(have[key], value):
                    self.miss(
                        workload,
                        where,
                        f"the chart ignores `resources.{section}.{key}` ({value}): it renders "
                        f"{have[key]}",
                    )
            for key in have:
                if key not in want:
                    self.miss(
                        workload,
                        [*at, "resources", section, key],
                        f"the chart sets {section}.{key} {have[key]}, which the endpoint spec "
                        "does not (a default of the chart's values?)",
                    )

    def check_env(self, workload: Manifest, at: list[str | int], container: dict[str, Any]) -> None:
        rendered: dict[str, tuple[int, dict[str, Any]]] = {}
        for i, entry in enumerate(as_list(container.get("env"))):
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                rendered[entry["name"]] = (i, entry)  # the last of one name is the one in force
        for entry in as_list(self.values.get("env")):
            name = dig(entry, "name")
            ref = dig(entry, "valueFrom", "secretKeyRef")
            wanted = (
                f"from secret {dig(ref, 'name')} key {dig(ref, 'key')}"
                if ref is not None
                else f"= {dig(entry, 'value')!r}"
            )
            if name not in rendered:
                self.miss(
                    workload,
                    [*at, "env"],
                    f"the chart ignores `env` {name} ({wanted}): the container has no such "
                    "variable",
                )
                continue
            i, actual = rendered[name]
            if ref is not None:
                have = dig(actual, "valueFrom", "secretKeyRef")
                same = dig(have, "name") == dig(ref, "name") and dig(have, "key") == dig(ref, "key")
                shown = (
                    f"secret {dig(have, 'name')} key {dig(have, 'key')}"
                    if have is not None
                    else "a plain value"
                )
            else:
                same = actual.get("value") == dig(entry, "value") and "valueFrom" not in actual
                shown = repr(actual["value"]) if "value" in actual else "a reference"
            if not same:
                self.miss(
                    workload,
                    [*at, "env", i],
                    f"the chart ignores `env` {name} ({wanted}): it renders {shown}",
                )

    # -- the pod and the workload ----------------------------------------------------------
