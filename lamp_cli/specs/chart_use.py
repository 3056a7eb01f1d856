"""Does the chart use what the specs say? The rendered workload against lamp's values.

Helm, Argo CD and the API server all accept a chart that ignores a value: a misspelt key renders
nothing and nobody complains. These checks find the serving workload (the Deployment or
StatefulSet whose container has the model's port) and compare what reached it with the values
lamp passed: image, port, probes, resources, env, replicas or the HorizontalPodAutoscaler,
scheduling and rollout; and that a Service sends traffic to the port. Each miss is a problem
naming the value and what the chart rendered instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lamp_cli.errors import Problem
from lamp_cli.specs.manifests import Manifest
from lamp_cli.specs.paths import format_path
from lamp_cli.specs.quantity import QuantityError, parse_quantity

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
#: Kubernetes' defaults of a Probe's timings, in the order lamp's values list them.
PROBE_DEFAULTS = {
    "periodSeconds": 10,
    "timeoutSeconds": 1,
    "failureThreshold": 3,
    "initialDelaySeconds": 0,
}
ROLLING_DEFAULT = "25%"


@dataclass
class ChartUse:
    """The serving workload found (``Kind/name``, ``None`` when there is none) and each value
    the chart did not carry to it."""

    workload: str | None = None
    hpa: str | None = None
    service: str | None = None
    problems: list[Problem] = field(default_factory=list)


def _dig(node: Any, *keys: str | int) -> Any:
    for key in keys:
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                return None
        elif not isinstance(node, dict):
            return None
        node = node[key] if isinstance(key, int) else node.get(key)
    return node


def _list(node: Any) -> list[Any]:
    return node if isinstance(node, list) else []


def _dict(node: Any) -> dict[str, Any]:
    return node if isinstance(node, dict) else {}


def _same_quantity(a: Any, b: Any) -> bool:
    try:
        return parse_quantity(str(a)).value == parse_quantity(str(b)).value
    except QuantityError:
        return str(a) == str(b)


def _shown(value: Any) -> str:
    return "nothing" if value is None else str(value)


class _Checker:
    def __init__(self, values: dict[str, Any], manifests: list[Manifest]) -> None:
        self.values = values
        self.manifests = manifests
        self.port = values.get("containerPort")
        self.result = ChartUse()

    def miss(self, where: Manifest | None, path: list[str | int], message: str) -> None:
        self.result.problems.append(
            Problem(
                message,
                file=where.source if where else None,
                field=format_path(path) or None,
                object=where.ref if where else None,
            )
        )

    # -- the serving workload ------------------------------------------------------------

    def find_workload(self) -> tuple[Manifest, int] | None:
        workloads = [
            m for m in self.manifests if m.kind in WORKLOAD_KINDS and m.api_version == "apps/v1"
        ]
        found = [
            (m, i)
            for m in workloads
            for i, c in enumerate(_list(_dig(m.body, "spec", "template", "spec", "containers")))
            if any(_dig(p, "containerPort") == self.port for p in _list(_dig(c, "ports")))
        ]
        name = self.values.get("fullnameOverride")
        found.sort(key=lambda hit: hit[0].name != name)
        if found:
            return found[0]
        image = _dig(self.values, "image", "reference")
        containers = [
            (m, i, c)
            for m in workloads
            for i, c in enumerate(_list(_dig(m.body, "spec", "template", "spec", "containers")))
        ]
        by_image = [(m, i, c) for m, i, c in containers if _dig(c, "image") == image]
        hits = by_image or (containers if len(containers) == 1 else [])
        if hits:
            m, i, c = hits[0]
            ports = [str(_dig(p, "containerPort")) for p in _list(_dig(c, "ports"))]
            self.miss(
                m,
                ["spec", "template", "spec", "containers", i, "ports"],
                f"the chart ignores `containerPort` ({self.port}): the container exposes "
                f"{', '.join(ports) or 'no port'}",
            )
            return None
        self.miss(
            None,
            [],
            f"the chart ignores `containerPort` ({self.port}): no "
            f"{' or '.join(WORKLOAD_KINDS)} has a container with that port "
            f"(rendered: {', '.join(m.ref for m in self.manifests) or 'nothing'})",
        )
        return None

    # -- the container -------------------------------------------------------------------

    def check_container(self, workload: Manifest, index: int) -> None:
        at: list[str | int] = ["spec", "template", "spec", "containers", index]
        container = _dict(_dig(workload.body, *at))
        self.check_image(workload, at, container)
        self.check_probes(workload, at, container)
        self.check_resources(workload, at, container)
        self.check_env(workload, at, container)

    def check_image(
        self, workload: Manifest, at: list[str | int], container: dict[str, Any]
    ) -> None:
        image = _dict(self.values.get("image"))
        expected, digest = image.get("reference"), image.get("digest")
        actual = container.get("image")
        accepted = {expected}
        if digest:
            accepted.add(f"{image.get('repository')}:{image.get('tag')}@{digest}")
        if actual in accepted:
            return
        if digest and not str(actual or "").endswith(f"@{digest}"):
            message = (
                f"the chart ignores `image.digest`: the container runs {_shown(actual)}, "
                f"not the pinned {expected}"
            )
        else:
            message = f"the chart ignores `image.reference` ({expected}): the container runs "
            message += _shown(actual)
        self.miss(workload, [*at, "image"], message)

    def _port_matches(self, port: Any, container: dict[str, Any]) -> bool:
        if port == self.port:
            return True
        named = {_dig(p, "name"): _dig(p, "containerPort") for p in _list(container.get("ports"))}
        return isinstance(port, str) and named.get(port) == self.port

    def check_probes(
        self, workload: Manifest, at: list[str | int], container: dict[str, Any]
    ) -> None:
        for name, probe in _dict(self.values.get("probes")).items():
            key = f"{name}Probe"
            rendered = container.get(key)
            where = [*at, key]
            if not isinstance(rendered, dict):
                self.miss(workload, where, f"the chart ignores `probes.{name}`: no {key}")
                continue
            path = _dig(probe, "httpGet", "path")
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
                        f"{_shown(http.get('path'))}",
                    )
                if not self._port_matches(http.get("port"), container):
                    self.miss(
                        workload,
                        [*where, "httpGet", "port"],
                        f"the chart ignores `probes.{name}.httpGet.port` ({self.port}): it "
                        f"renders {_shown(http.get('port'))}",
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
        expected = _dict(self.values.get("resources"))
        actual = _dict(container.get("resources"))
        for section in ("requests", "limits"):
            want, have = _dict(expected.get(section)), _dict(actual.get(section))
            for key, value in want.items():
                where = [*at, "resources", section, key]
                if key not in have:
                    self.miss(
                        workload,
                        where,
                        f"the chart ignores `resources.{section}.{key}` ({value}): not set",
                    )
                elif not _same_quantity(have[key], value):
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
        for i, entry in enumerate(_list(container.get("env"))):
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                rendered[entry["name"]] = (i, entry)  # the last of one name is the one in force
        for entry in _list(self.values.get("env")):
            name = _dig(entry, "name")
            ref = _dig(entry, "valueFrom", "secretKeyRef")
            wanted = (
                f"from secret {_dig(ref, 'name')} key {_dig(ref, 'key')}"
                if ref is not None
                else f"= {_dig(entry, 'value')!r}"
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
                have = _dig(actual, "valueFrom", "secretKeyRef")
                same = _dig(have, "name") == _dig(ref, "name") and _dig(have, "key") == _dig(
                    ref, "key"
                )
                shown = (
                    f"secret {_dig(have, 'name')} key {_dig(have, 'key')}"
                    if have is not None
                    else "a plain value"
                )
            else:
                same = actual.get("value") == _dig(entry, "value") and "valueFrom" not in actual
                shown = repr(actual["value"]) if "value" in actual else "a reference"
            if not same:
                self.miss(
                    workload,
                    [*at, "env", i],
                    f"the chart ignores `env` {name} ({wanted}): it renders {shown}",
                )

    # -- the pod and the workload ----------------------------------------------------------

    def check_scheduling(self, workload: Manifest) -> None:
        pod = _dict(_dig(workload.body, "spec", "template", "spec"))
        have = _dict(pod.get("nodeSelector"))
        for key, value in _dict(self.values.get("nodeSelector")).items():
            if have.get(key) != value:
                shown = f"{key}={have[key]}" if key in have else "no such label"
                self.miss(
                    workload,
                    ["spec", "template", "spec", "nodeSelector", key],
                    f"the chart ignores `nodeSelector` {key}={value}: it renders {shown}",
                )
        tolerations = [_toleration(t) for t in _list(pod.get("tolerations"))]
        for wanted in _list(self.values.get("tolerations")):
            if _toleration(wanted) not in tolerations:
                described = ", ".join(f"{k}={v}" for k, v in _dict(wanted).items())
                self.miss(
                    workload,
                    ["spec", "template", "spec", "tolerations"],
                    f"the chart ignores `tolerations` ({described}): the pods do not tolerate it",
                )

    def check_strategy(self, workload: Manifest) -> None:
        strategy = _dict(self.values.get("strategy"))
        if workload.kind != "Deployment" or not strategy:
            return  # a StatefulSet's updateStrategy has no Recreate and no maxSurge to compare
        have = _dict(_dig(workload.body, "spec", "strategy"))
        wanted_type = strategy.get("type", "RollingUpdate")
        have_type = have.get("type", "RollingUpdate")
        if have_type != wanted_type:
            self.miss(
                workload,
                ["spec", "strategy", "type"],
                f"the chart ignores `strategy.type` ({wanted_type}): it renders {have_type}",
            )
            return
        rolling = _dict(have.get("rollingUpdate"))
        for key, value in _dict(strategy.get("rollingUpdate")).items():
            actual = rolling.get(key, ROLLING_DEFAULT)
            if str(actual) != str(value):
                self.miss(
                    workload,
                    ["spec", "strategy", "rollingUpdate", key],
                    f"the chart ignores `strategy.rollingUpdate.{key}` ({value}): it renders "
                    f"{actual}",
                )

    def check_scale(self, workload: Manifest) -> None:
        autoscaling = _dict(self.values.get("autoscaling"))
        hpas = [
            m
            for m in self.manifests
            if m.kind == "HorizontalPodAutoscaler"
            and _dig(m.body, "spec", "scaleTargetRef", "kind") == workload.kind
            and _dig(m.body, "spec", "scaleTargetRef", "name") == workload.name
        ]
        replicas = _dig(workload.body, "spec", "replicas")
        if not autoscaling.get("enabled"):
            wanted = self.values.get("replicaCount")
            if (1 if replicas is None else replicas) != wanted:
                shown = "no replicas (Kubernetes' default 1)" if replicas is None else replicas
                self.miss(
                    workload,
                    ["spec", "replicas"],
                    f"the chart ignores `replicaCount` ({wanted}): it renders {shown}",
                )
            for hpa in hpas:
                self.miss(
                    hpa,
                    [],
                    f"the chart scales {workload.ref} although `autoscaling.enabled` is false",
                )
            return
        if not hpas:
            self.miss(
                workload,
                [],
                "the chart ignores `autoscaling.enabled`: no HorizontalPodAutoscaler scales "
                f"{workload.ref}",
            )
            return
        hpa = hpas[0]
        self.result.hpa = hpa.ref
        if replicas is not None:
            self.miss(
                workload,
                ["spec", "replicas"],
                f"sets replicas {replicas} although {hpa.ref} owns the scale "
                "(`autoscaling.enabled`): every sync would reset it",
            )
        spec = _dict(hpa.body.get("spec"))
        for key in ("minReplicas", "maxReplicas"):
            actual = spec.get(key, 1 if key == "minReplicas" else None)
            if actual != autoscaling.get(key):
                self.miss(
                    hpa,
                    ["spec", key],
                    f"the chart ignores `autoscaling.{key}` ({autoscaling.get(key)}): it "
                    f"renders {_shown(actual)}",
                )
        self.check_metric(hpa, spec, autoscaling)

    def check_metric(
        self, hpa: Manifest, spec: dict[str, Any], autoscaling: dict[str, Any]
    ) -> None:
        metric, target = autoscaling.get("metric"), autoscaling.get("target")
        if hpa.api_version == "autoscaling/v1":
            actual = spec.get("targetCPUUtilizationPercentage")
            if metric == "cpu" and actual == target:
                return
            self.miss(
                hpa,
                ["spec"],
                f"the chart ignores `autoscaling.metric` {metric} / `autoscaling.target` "
                f"{target}: autoscaling/v1 scales on cpu {_shown(actual)}%",
            )
            return
        metrics = [_dict(m) for m in _list(spec.get("metrics"))]
        for found in metrics:
            if metric in ("cpu", "memory"):
                resource = _dict(found.get("resource"))
                if (
                    found.get("type") == "Resource"
                    and resource.get("name") == metric
                    and _dig(resource, "target", "type") == "Utilization"
                    and _dig(resource, "target", "averageUtilization") == target
                ):
                    return
            else:
                # Requests in flight or per second are custom metrics whose name is the
                # chart's to choose; their target must be the spec's.
                kind = str(found.get("type") or "")
                goal = _dict(_dig(found, kind[:1].lower() + kind[1:], "target"))
                value = goal.get("averageValue", goal.get("value"))
                if (
                    kind in ("Pods", "Object", "External")
                    and value is not None
                    and _same_quantity(value, target)
                ):
                    return
        described = "; ".join(_describe_metric(m) for m in metrics) or "no metric"
        self.miss(
            hpa,
            ["spec", "metrics"],
            f"the chart ignores `autoscaling.metric` {metric} / `autoscaling.target` {target}: "
            f"it scales on {described}",
        )

    def check_service(self, workload: Manifest, container: dict[str, Any]) -> None:
        labels = _dict(_dig(workload.body, "spec", "template", "metadata", "labels"))
        selecting = [
            m
            for m in self.manifests
            if m.kind == "Service"
            and _dict(_dig(m.body, "spec", "selector"))
            and all(labels.get(k) == v for k, v in _dict(_dig(m.body, "spec", "selector")).items())
        ]
        for service in selecting:
            for port in _list(_dig(service.body, "spec", "ports")):
                target = _dig(port, "targetPort")
                if self._port_matches(_dig(port, "port") if target is None else target, container):
                    self.result.service = service.ref
                    return
        if not selecting:
            self.miss(
                workload,
                ["spec", "template", "metadata", "labels"],
                f"no Service selects the pods of {workload.ref}: nothing sends them traffic",
            )
            return
        names = ", ".join(s.ref for s in selecting)
        self.miss(
            selecting[0],
            ["spec", "ports"],
            f"the chart ignores `containerPort` ({self.port}): {names} targets no port "
            f"{self.port} of {workload.ref}",
        )


def _toleration(item: Any) -> tuple[Any, ...]:
    t = _dict(item)
    return (
        t.get("key"),
        t.get("operator") or "Equal",
        t.get("value") or None,
        t.get("effect") or None,
        t.get("tolerationSeconds"),
    )


def _describe_metric(metric: dict[str, Any]) -> str:
    kind = str(metric.get("type") or "?")
    body = _dict(metric.get(kind[:1].lower() + kind[1:]))
    name = body.get("name") or _dig(body, "metric", "name") or "?"
    goal = _dict(body.get("target"))
    value = next(
        (goal[k] for k in ("averageUtilization", "averageValue", "value") if k in goal), "?"
    )
    return f"{kind} {name} target {value}"


def check_chart_use(values: dict[str, Any], manifests: list[Manifest]) -> ChartUse:
    """Each value of ``values`` that the rendered ``manifests`` do not carry, as a problem."""
    checker = _Checker(values, manifests)
    found = checker.find_workload()
    if found is not None:
        workload, index = found
        checker.result.workload = workload.ref
        container = _dict(_dig(workload.body, "spec", "template", "spec", "containers", index))
        checker.check_container(workload, index)
        checker.check_scale(workload)
        checker.check_scheduling(workload)
        checker.check_strategy(workload)
        checker.check_service(workload, container)
    return checker.result
