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
from lamp_cli.specs.chart_container import (
    ContainerChecks,
    as_dict,
    as_list,
    dig,
    or_nothing,
    same_quantity,
)
from lamp_cli.specs.manifests import Manifest

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
ROLLING_DEFAULT = "25%"


@dataclass
class ChartUse:
    """The serving workload found (``Kind/name``, ``None`` when there is none) and each value
    the chart did not carry to it."""

    workload: str | None = None
    hpa: str | None = None
    service: str | None = None
    problems: list[Problem] = field(default_factory=list)


class _Checker(ContainerChecks):
    def __init__(self, values: dict[str, Any], manifests: list[Manifest]) -> None:
        super().__init__(values, manifests)
        self.result = ChartUse(problems=self.problems)

    def find_workload(self) -> tuple[Manifest, int] | None:
        workloads = [
            m for m in self.manifests if m.kind in WORKLOAD_KINDS and m.api_version == "apps/v1"
        ]
        found = [
            (m, i)
            for m in workloads
            for i, c in enumerate(as_list(dig(m.body, "spec", "template", "spec", "containers")))
            if any(dig(p, "containerPort") == self.port for p in as_list(dig(c, "ports")))
        ]
        name = self.values.get("fullnameOverride")
        found.sort(key=lambda hit: hit[0].name != name)
        if found:
            return found[0]
        image = dig(self.values, "image", "reference")
        containers = [
            (m, i, c)
            for m in workloads
            for i, c in enumerate(as_list(dig(m.body, "spec", "template", "spec", "containers")))
        ]
        by_image = [(m, i, c) for m, i, c in containers if dig(c, "image") == image]
        hits = by_image or (containers if len(containers) == 1 else [])
        if hits:
            m, i, c = hits[0]
            ports = [str(dig(p, "containerPort")) for p in as_list(dig(c, "ports"))]
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

    def check_scheduling(self, workload: Manifest) -> None:
        pod = as_dict(dig(workload.body, "spec", "template", "spec"))
        have = as_dict(pod.get("nodeSelector"))
        for key, value in as_dict(self.values.get("nodeSelector")).items():
            if have.get(key) != value:
                shown = f"{key}={have[key]}" if key in have else "no such label"
                self.miss(
                    workload,
                    ["spec", "template", "spec", "nodeSelector", key],
                    f"the chart ignores `nodeSelector` {key}={value}: it renders {shown}",
                )
        tolerations = [_toleration(t) for t in as_list(pod.get("tolerations"))]
        for wanted in as_list(self.values.get("tolerations")):
            if _toleration(wanted) not in tolerations:
                described = ", ".join(f"{k}={v}" for k, v in as_dict(wanted).items())
                self.miss(
                    workload,
                    ["spec", "template", "spec", "tolerations"],
                    f"the chart ignores `tolerations` ({described}): the pods do not tolerate it",
                )

    def check_strategy(self, workload: Manifest) -> None:
        strategy = as_dict(self.values.get("strategy"))
        if workload.kind != "Deployment" or not strategy:
            return  # a StatefulSet's updateStrategy has no Recreate and no maxSurge to compare
        have = as_dict(dig(workload.body, "spec", "strategy"))
        wanted_type = strategy.get("type", "RollingUpdate")
        have_type = have.get("type", "RollingUpdate")
        if have_type != wanted_type:
            self.miss(
                workload,
                ["spec", "strategy", "type"],
                f"the chart ignores `strategy.type` ({wanted_type}): it renders {have_type}",
            )
            return
        rolling = as_dict(have.get("rollingUpdate"))
        for key, value in as_dict(strategy.get("rollingUpdate")).items():
            actual = rolling.get(key, ROLLING_DEFAULT)
            if str(actual) != str(value):
                self.miss(
                    workload,
                    ["spec", "strategy", "rollingUpdate", key],
                    f"the chart ignores `strategy.rollingUpdate.{key}` ({value}): it renders "
                    f"{actual}",
                )

    def check_scale(self, workload: Manifest) -> None:
        autoscaling = as_dict(self.values.get("autoscaling"))
        hpas = [
            m
            for m in self.manifests
            if m.kind == "HorizontalPodAutoscaler"
            and dig(m.body, "spec", "scaleTargetRef", "kind") == workload.kind
            and dig(m.body, "spec", "scaleTargetRef", "name") == workload.name
        ]
        replicas = dig(workload.body, "spec", "replicas")
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
        spec = as_dict(hpa.body.get("spec"))
        for key in ("minReplicas", "maxReplicas"):
            actual = spec.get(key, 1 if key == "minReplicas" else None)
            if actual != autoscaling.get(key):
                self.miss(
                    hpa,
                    ["spec", key],
                    f"the chart ignores `autoscaling.{key}` ({autoscaling.get(key)}): it "
                    f"renders {or_nothing(actual)}",
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
                f"{target}: autoscaling/v1 scales on cpu {or_nothing(actual)}%",
            )
            return
        metrics = [as_dict(m) for m in as_list(spec.get("metrics"))]
        for found in metrics:
            if metric in ("cpu", "memory"):
                resource = as_dict(found.get("resource"))
                if (
                    found.get("type") == "Resource"
                    and resource.get("name") == metric
                    and dig(resource, "target", "type") == "Utilization"
                    and dig(resource, "target", "averageUtilization") == target
                ):
                    return
            else:
                # Requests in flight or per second are custom metrics whose name is the
                # chart's to choose; their target must be the spec's.
                kind = str(found.get("type") or "")
                goal = as_dict(dig(found, kind[:1].lower() + kind[1:], "target"))
                value = goal.get("averageValue", goal.get("value"))
                if (
                    kind in ("Pods", "Object", "External")
                    and value is not None
                    and same_quantity(value, target)
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
        labels = as_dict(dig(workload.body, "spec", "template", "metadata", "labels"))
        selecting = [
            m
            for m in self.manifests
            if m.kind == "Service"
            and as_dict(dig(m.body, "spec", "selector"))
            and all(labels.get(k) == v for k, v in as_dict(dig(m.body, "spec", "selector")).items())
        ]
        for service in selecting:
            for port in as_list(dig(service.body, "spec", "ports")):
                target = dig(port, "targetPort")
                if self.port_matches(dig(port, "port") if target is None else target, container):
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
    t = as_dict(item)
    return (
        t.get("key"),
        t.get("operator") or "Equal",
        t.get("value") or None,
        t.get("effect") or None,
        t.get("tolerationSeconds"),
    )


def _describe_metric(metric: dict[str, Any]) -> str:
    kind = str(metric.get("type") or "?")
    body = as_dict(metric.get(kind[:1].lower() + kind[1:]))
    name = body.get("name") or dig(body, "metric", "name") or "?"
    goal = as_dict(body.get("target"))
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
        container = as_dict(dig(workload.body, "spec", "template", "spec", "containers", index))
        checker.check_container(workload, index)
        checker.check_scale(workload)
        checker.check_scheduling(workload)
        checker.check_strategy(workload)
        checker.check_service(workload, container)
    return checker.result
