"""`lamp spec render -f manifests`: the real helm renders the serving chart with lamp's values,
every object is checked against Kubernetes' schemas, and the workload against the specs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import ENDPOINT_EXAMPLE, MODEL_EXAMPLE
from tests.manifests.conftest import CHART, DIGEST, WORKLOAD

pytestmark = pytest.mark.offline

SPECS = ("--model-spec", str(MODEL_EXAMPLE), "--endpoint-spec", str(ENDPOINT_EXAMPLE))
NO_AUTOSCALING = ("--set", "endpoint.spec.autoscaling.enabled=false")


def render(lamp, *args: str, fmt: str = "manifests"):
    return lamp("spec", "render", *SPECS, "-f", fmt, *args)


def by_kind(documents: list[dict]) -> dict[str, dict]:
    return {doc["kind"]: doc for doc in documents}


def problems(result) -> list[dict]:
    assert result.exit_code == 3, result.stdout + result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    return json.loads(result.stderr)["error"]["problems"]


def test_the_chart_renders_what_the_specs_say(lamp, helm) -> None:
    result = render(lamp, "--chart", str(CHART), "--set", f"model.spec.image.digest={DIGEST}")
    assert result.exit_code == 0, result.stderr
    documents = list(yaml.safe_load_all(result.stdout))
    kinds = by_kind(documents)
    assert sorted(kinds) == ["Deployment", "HorizontalPodAutoscaler", "Ingress", "Service"]
    deployment = kinds["Deployment"]
    assert deployment["metadata"]["name"] == "fraud-detector"
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    repository = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-detector"
    assert container["image"] == f"{repository}@{DIGEST}"
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": 8000}
    assert container["readinessProbe"]["periodSeconds"] == 5
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["startupProbe"]["failureThreshold"] == 30
    assert container["resources"] == {
        "requests": {"cpu": "1", "memory": "2Gi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }
    # Autoscaling is on in the example: the HorizontalPodAutoscaler owns the scale.
    assert "replicas" not in deployment["spec"]
    hpa = kinds["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    # Helm's template names head each document, as in `helm template`.
    assert "# Source: lamp-serving/templates/deployment.yaml" in result.stdout
    assert f"{WORKLOAD} uses the specs" in result.stderr
    assert "valid for Kubernetes 1.35 (strict, kubernetes-validate 1.37" in result.stderr

    as_json = lamp("-o", "json", "spec", "render", *SPECS, "-f", "manifests", "--chart", str(CHART),
                   "--set", f"model.spec.image.digest={DIGEST}")  # fmt: skip
    assert as_json.exit_code == 0, as_json.stderr
    assert json.loads(as_json.stdout) == documents


def test_without_autoscaling_the_deployment_carries_the_replicas(lamp, helm) -> None:
    result = render(lamp, "--chart", str(CHART), *NO_AUTOSCALING)
    assert result.exit_code == 0, result.stderr
    kinds = by_kind(list(yaml.safe_load_all(result.stdout)))
    assert "HorizontalPodAutoscaler" not in kinds
    assert kinds["Deployment"]["spec"]["replicas"] == 2


@pytest.mark.parametrize("metric", ["memory", "rps"])
def test_the_autoscaler_metric_is_checked(lamp, helm, metric: str) -> None:
    args = ["--set", f"endpoint.spec.autoscaling.metric={metric}"]
    args += ["--set", "endpoint.spec.autoscaling.target=40"]
    result = render(lamp, "--chart", str(CHART), *args)
    assert result.exit_code == 0, result.stderr
    hpa = by_kind(list(yaml.safe_load_all(result.stdout)))["HorizontalPodAutoscaler"]
    assert hpa["spec"]["metrics"][0]["type"] == ("Resource" if metric == "memory" else "Pods")


def test_all_prints_values_application_and_manifests(lamp, helm) -> None:
    result = render(lamp, "--chart", str(CHART), fmt="all")
    assert result.exit_code == 0, result.stderr
    values, application, *manifests = yaml.safe_load_all(result.stdout)
    assert values["containerPort"] == 8000
    assert application["kind"] == "Application"
    assert application["spec"]["source"]["helm"]["valuesObject"] == values
    assert [m["kind"] for m in manifests] == ["Service", "Deployment", "HorizontalPodAutoscaler",
                                              "Ingress"]  # fmt: skip
    data = lamp.json("spec", "render", *SPECS, "-f", "all", "--chart", str(CHART))
    assert data == {"values": values, "application": application, "manifests": manifests}


def test_a_packaged_chart_renders_the_same(lamp, helm, package_chart) -> None:
    packaged = package_chart(CHART)
    assert packaged.name == "lamp-serving-1.2.0.tgz"
    from_dir = render(lamp, "--chart", str(CHART))
    from_tgz = render(lamp, "--chart", str(packaged))
    assert from_tgz.exit_code == 0, from_tgz.stderr
    assert from_tgz.stdout == from_dir.stdout


def test_a_chart_that_drops_the_readiness_probe(lamp, helm, chart_copy) -> None:
    chart = chart_copy(
        ("templates/deployment.yaml", ".Values.probes.readiness", ".Values.probes.ready")
    )
    [problem] = problems(lamp("-o", "json", "spec", "render", *SPECS, "-f", "manifests",
                              "--chart", str(chart)))  # fmt: skip
    assert problem["object"] == WORKLOAD
    assert problem["field"] == "spec.template.spec.containers[0].readinessProbe"
    assert problem["message"] == "the chart ignores `probes.readiness`: no readinessProbe"
    assert problem["file"] == "lamp-serving/templates/deployment.yaml"
    human = render(lamp, "--chart", str(chart))
    assert human.exit_code == 3
    assert (
        f"{WORKLOAD}: spec.template.spec.containers[0].readinessProbe: the chart ignores "
        "`probes.readiness`" in human.stderr
    )


def test_a_chart_that_ignores_resources(lamp, helm, chart_copy) -> None:
    chart = chart_copy(
        ("templates/deployment.yaml", "{{- toYaml .Values.resources | nindent 12 }}", "{}")
    )
    found = problems(lamp("-o", "json", "spec", "render", *SPECS, "-f", "manifests",
                          "--chart", str(chart)))  # fmt: skip
    fields = {p["field"]: p["message"] for p in found}
    prefix = "spec.template.spec.containers[0].resources"
    assert fields == {
        f"{prefix}.requests.cpu": "the chart ignores `resources.requests.cpu` (1): not set",
        f"{prefix}.requests.memory": "the chart ignores `resources.requests.memory` (2Gi): not set",
        f"{prefix}.limits.cpu": "the chart ignores `resources.limits.cpu` (2): not set",
        f"{prefix}.limits.memory": "the chart ignores `resources.limits.memory` (2Gi): not set",
    }
    assert {p["object"] for p in found} == {WORKLOAD}


def test_a_chart_that_renders_a_string_for_replicas(lamp, helm, chart_copy) -> None:
    chart = chart_copy(
        (
            "templates/deployment.yaml",
            "replicas: {{ .Values.replicaCount }}",
            "replicas: {{ .Values.replicaCount | quote }}",
        )
    )
    [problem] = problems(lamp("-o", "json", "spec", "render", *SPECS, "-f", "manifests",
                              "--chart", str(chart), *NO_AUTOSCALING))  # fmt: skip
    assert problem["object"] == WORKLOAD
    assert problem["field"] == "spec.replicas"
    assert "'2' is not of type 'integer'" in problem["message"]


def test_a_chart_that_renders_an_unknown_field(lamp, helm, chart_copy) -> None:
    chart = chart_copy(
        ("templates/service.yaml", "  type: ClusterIP", "  type: ClusterIP\n  sessionAfinity: None")
    )
    [problem] = problems(lamp("-o", "json", "spec", "render", *SPECS, "-f", "manifests",
                              "--chart", str(chart)))  # fmt: skip
    assert problem["object"] == "Service/fraud-detector"
    assert problem["field"] == "spec.sessionAfinity"
    assert problem["message"].startswith("unknown field (not in the Kubernetes 1.35 schema")


def test_a_chart_that_fails_in_helm(lamp, helm, chart_copy) -> None:
    chart = chart_copy(
        (
            "templates/deployment.yaml",
            "{{ .Values.image.reference | quote }}",
            '{{ required "image.ref is required" .Values.image.ref | quote }}',
        )
    )
    result = render(lamp, "--chart", str(chart))
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    [first, *_] = result.stderr.splitlines()
    assert first.startswith("error: helm could not render chart lamp-serving 1.2.0")
    assert "deployment.yaml" in first and "image.ref is required" in first


def test_values_against_the_charts_schema_is_helms_check(lamp, helm) -> None:
    result = lamp("-o", "json", "spec", "render", *SPECS, "-f", "manifests", "--chart",
                  str(CHART), "--set", "endpoint.spec.routing.timeoutSeconds=600")  # fmt: skip
    assert result.exit_code == 3
    error = json.loads(result.stderr)["error"]
    said = error["message"] + " ".join(p["message"] for p in error["problems"])
    assert "timeoutSeconds" in said and "300" in said


def test_the_workload_must_scale_as_the_specs_say(lamp, helm, chart_copy) -> None:
    # A chart that keeps replicas while the HorizontalPodAutoscaler owns the scale, and that
    # scales on memory whatever the spec says.
    chart = chart_copy(
        (
            "templates/deployment.yaml",
            "{{- if not .Values.autoscaling.enabled }}",
            "{{- if true }}",
        ),
        ("templates/hpa.yaml", "name: {{ .Values.autoscaling.metric }}", "name: memory"),
    )
    found = problems(lamp("-o", "json", "spec", "render", *SPECS, "-f", "manifests",
                          "--chart", str(chart)))  # fmt: skip
    by_object = {(p["object"], p["field"]): p["message"] for p in found}
    assert (
        "HorizontalPodAutoscaler/fraud-detector owns the scale"
        in by_object[(WORKLOAD, "spec.replicas")]
    )
    assert by_object[("HorizontalPodAutoscaler/fraud-detector", "spec.metrics")].startswith(
        "the chart ignores `autoscaling.metric` cpu / `autoscaling.target` 70: it scales on "
        "Resource memory target 70"
    )


def test_scheduling_rollout_env_and_service_are_checked(lamp, helm, chart_copy) -> None:
    chart = chart_copy(
        ("templates/deployment.yaml", "{{- with .Values.tolerations }}", "{{- with list }}"),
        ("templates/deployment.yaml", "{{- toYaml .Values.strategy | nindent 4 }}",
         "type: Recreate"),
        ("templates/deployment.yaml", "{{- with .Values.env }}", "{{- with rest .Values.env }}"),
        ("templates/service.yaml", "targetPort: http", "targetPort: 8080"),
    )  # fmt: skip
    found = problems(lamp("-o", "json", "spec", "render", *SPECS, "-f", "manifests",
                          "--chart", str(chart)))  # fmt: skip
    messages = [p["message"] for p in found]
    assert any(m.startswith("the chart ignores `tolerations` (key=dedicated") for m in messages)
    assert "the chart ignores `strategy.type` (RollingUpdate): it renders Recreate" in messages
    assert (
        "the chart ignores `env` LOG_LEVEL (= 'warning'): the container has no such variable"
        in messages
    )
    assert (
        "the chart ignores `containerPort` (8000): Service/fraud-detector targets no port 8000 "
        f"of {WORKLOAD}" in messages
    )


def test_the_digest_must_reach_the_container(lamp, helm, chart_copy) -> None:
    chart = chart_copy(
        (
            "templates/deployment.yaml",
            "{{ .Values.image.reference | quote }}",
            '"{{ .Values.image.repository }}:{{ .Values.image.tag }}"',
        )
    )
    [problem] = problems(lamp("-o", "json", "spec", "render", *SPECS, "-f", "manifests",
                              "--chart", str(chart), "--set",
                              f"model.spec.image.digest={DIGEST}"))  # fmt: skip
    assert problem["field"] == "spec.template.spec.containers[0].image"
    assert problem["message"].startswith("the chart ignores `image.digest`: the container runs ")


def test_objects_of_other_custom_resources_are_listed_as_not_checked(
    lamp, helm, chart_copy
) -> None:
    monitor = (
        "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n"
        '  name: {{ include "lamp-serving.fullname" . }}\nspec:\n  endpoints:\n    - port: http\n'
    )
    chart = chart_copy(("templates/servicemonitor.yaml", "", monitor))
    result = render(lamp, "--chart", str(chart))
    assert result.exit_code == 0, result.stderr
    assert (
        "not checked (no schema): ServiceMonitor/fraud-detector (monitoring.coreos.com/v1)"
        in result.stderr
    )


def test_the_kube_version_reaches_helm(lamp, helm, chart_copy, monkeypatch) -> None:
    chart = chart_copy(
        ("Chart.yaml", "type: application", 'type: application\nkubeVersion: ">=1.30"')
    )
    assert render(lamp, "--chart", str(chart)).exit_code == 0
    old = render(lamp, "--chart", str(chart), "--kube-version", "1.29")
    assert old.exit_code == 3
    assert "v1.29.0" in old.stderr and ">=1.30" in old.stderr
    monkeypatch.setenv("LAMP_KUBE_VERSION", "1.28")
    assert "v1.28.0" in render(lamp, "--chart", str(chart)).stderr


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.x", "is not a Kubernetes version"), ("1.20", "has the schemas of Kubernetes 1.25 to")],
)
def test_a_bad_kube_version_is_invalid_input(lamp, helm, version: str, expected: str) -> None:
    result = render(lamp, "--chart", str(CHART), "--kube-version", version)
    assert result.exit_code == 3
    assert expected in result.stderr


def test_helm_options_need_a_format_that_runs_helm(lamp) -> None:
    result = lamp("spec", "render", *SPECS, "-f", "values", "--chart", str(CHART))
    assert result.exit_code == 2
    assert "apply to -f manifests and -f all" in result.stderr


def test_no_helm_is_exit_4_with_how_to_install_it(lamp, tmp_path: Path, monkeypatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = render(lamp, "--chart", str(CHART))
    assert result.exit_code == 4
    assert result.stdout == ""
    assert "error: helm not found on PATH" in result.stderr
    assert "install Helm 3.8 or newer" in result.stderr
    missing = render(lamp, "--chart", str(CHART), "--helm", str(tmp_path / "nope" / "helm"))
    assert missing.exit_code == 4
    assert "(--helm) is not an executable file" in missing.stderr


def test_a_helm_older_than_3_8_is_refused(lamp, tmp_path: Path) -> None:
    # Helm 3.7 cannot run here; a stand-in answers `helm version` as it does.
    old = tmp_path / "helm-3.7"
    old.write_text("#!/bin/sh\necho v3.7.2\n")
    old.chmod(0o755)
    result = render(lamp, "--chart", str(CHART), "--helm", str(old))
    assert result.exit_code == 4
    assert "helm 3.7.2" in result.stderr and "too old" in result.stderr


def test_a_missing_local_chart_is_invalid_input(lamp, helm, tmp_path: Path) -> None:
    result = render(lamp, "--chart", str(tmp_path / "no-chart"))
    assert result.exit_code == 3
    assert "no such file or directory" in result.stderr


def test_the_documented_example_is_what_lamp_prints(lamp, helm) -> None:
    guide = Path(__file__).resolve().parents[2] / "docs" / "guides" / "preview.md"
    readme = guide.read_text(encoding="utf-8")
    head = "# Source: lamp-serving/templates/deployment.yaml\n"
    shown = readme.split(head, 1)[1].split("---\n", 1)[0]
    result = render(lamp, "--chart", str(CHART), "--set", f"model.spec.image.digest={DIGEST}")
    assert result.exit_code == 0, result.stderr
    printed = result.stdout.split(head, 1)[1].split("---\n", 1)[0]
    assert shown == printed


def test_a_statefulset_serves_as_well(lamp, helm, chart_copy) -> None:
    chart = chart_copy(
        ("templates/deployment.yaml", "kind: Deployment", "kind: StatefulSet"),
        ("templates/deployment.yaml", "  strategy:\n", "  serviceName: fraud-detector\n  x:\n"),
        ("templates/hpa.yaml", "    kind: Deployment", "    kind: StatefulSet"),
    )
    # A StatefulSet has no `strategy`: the unknown field stands in for it, and is refused.
    [problem] = problems(lamp("-o", "json", "spec", "render", *SPECS, "-f", "manifests",
                              "--chart", str(chart)))  # fmt: skip
    assert (problem["object"], problem["field"]) == ("StatefulSet/fraud-detector", "spec.x")
    strategy = "  strategy:\n    {{- toYaml .Values.strategy | nindent 4 }}\n"
    chart = chart_copy(
        ("templates/deployment.yaml", "kind: Deployment", "kind: StatefulSet"),
        ("templates/deployment.yaml", strategy, "  serviceName: fraud-detector\n"),
        ("templates/hpa.yaml", "    kind: Deployment", "    kind: StatefulSet"),
        name="statefulset",
    )
    result = render(lamp, "--chart", str(chart))
    assert result.exit_code == 0, result.stderr
    assert "StatefulSet/fraud-detector uses the specs" in result.stderr


def test_a_local_chart_of_another_name_is_said(lamp, helm, chart_copy) -> None:
    chart = chart_copy(("Chart.yaml", "name: lamp-serving", "name: vendored-serving"))
    result = render(lamp, "--chart", str(chart))
    assert result.exit_code == 0, result.stderr
    assert (
        f"rendering {chart} (vendored-serving 1.2.0) instead of the endpoint spec's chart "
        "lamp-serving 1.2.0" in result.stderr
    )


def test_helm_and_kube_version_from_pyproject(
    lamp, helm_binary, isolated_env: Path, monkeypatch
) -> None:
    tools = isolated_env / "tools"
    tools.mkdir()
    (tools / "helm").symlink_to(helm_binary)
    (isolated_env / "pyproject.toml").write_text(
        '[tool.lamp]\nhelm = "tools/helm"\nkube-version = "1.33"\n', encoding="utf-8"
    )
    settings = {row["name"]: row for row in lamp.json("config", "show")}
    assert settings["helm"] == {"name": "helm", "value": "tools/helm", "source": "pyproject"}
    assert settings["kube-version"]["value"] == "1.33"
    nested = isolated_env / "sub"
    nested.mkdir()
    monkeypatch.chdir(nested)  # a relative helm path is relative to pyproject.toml
    result = render(lamp, "--chart", str(CHART))
    assert result.exit_code == 0, result.stderr
    assert "valid for Kubernetes 1.33" in result.stderr
