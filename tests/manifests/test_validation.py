"""The schema checks themselves: Argo CD's CRD as lamp ships it, kubernetes-validate optional
and loaded only by the commands that render manifests, Helm's output parsed faithfully."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lamp_cli.errors import InvalidInput
from lamp_cli.specs import load_pair
from lamp_cli.specs.kube import (
    _APPLICATION_SCHEMA,
    DEFAULT_KUBE_VERSION,
    check_application,
    parse_kube_version,
)
from lamp_cli.specs.manifests import parse_manifests
from lamp_cli.specs.render import render_application
from tests.conftest import ENDPOINT_EXAMPLE, MODEL_EXAMPLE, imported_by
from tests.manifests.conftest import CHART

pytestmark = pytest.mark.offline

CRD = Path(__file__).resolve().parents[1] / "specs" / "argocd" / "application-crd.yaml"
SPECS = ["--model-spec", str(MODEL_EXAMPLE), "--endpoint-spec", str(ENDPOINT_EXAMPLE)]


def _without_descriptions(node):
    if isinstance(node, dict):
        return {
            key: {name: _without_descriptions(sub) for name, sub in value.items()}
            if key == "properties"
            else _without_descriptions(value)
            for key, value in node.items()
            if key != "description"
        }
    if isinstance(node, list):
        return [_without_descriptions(item) for item in node]
    return node


def test_the_shipped_application_schema_is_argo_cds() -> None:
    crd = yaml.load(CRD.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    expected = _without_descriptions(version["schema"]["openAPIV3Schema"])
    assert json.loads(_APPLICATION_SCHEMA.read_text(encoding="utf-8")) == expected


def test_the_rendered_application_is_valid_and_unknown_fields_are_not() -> None:
    application = render_application(load_pair(MODEL_EXAMPLE, ENDPOINT_EXAMPLE))
    assert check_application(application) == []
    application["spec"]["source"]["helm"]["releaseNme"] = "x"
    application["spec"]["destination"]["namespace"] = 7
    found = {(p.object, p.field): p.message for p in check_application(application)}
    assert found == {
        ("Application/fraud-detector", "spec.destination.namespace"): "7 is not of type 'string'",
        ("Application/fraud-detector", "spec.source.helm.releaseNme"): (
            "unknown field (not in the CRD)"
        ),
    }
    # valuesObject keeps unknown fields: it is the chart's values, free-form.
    application["spec"]["source"]["helm"].pop("releaseNme")
    application["spec"]["destination"]["namespace"] = "ns"
    application["spec"]["source"]["helm"]["valuesObject"]["anything"] = {"goes": 1}
    assert check_application(application) == []


@pytest.mark.parametrize(
    ("text", "expected"), [("1.35", "1.35.0"), ("v1.34", "1.34.0"), ("1.33.7", "1.33.7")]
)
def test_kube_versions(text: str, expected: str) -> None:
    assert str(parse_kube_version(text)) == expected


@pytest.mark.parametrize("text", ["", "2.0", "1", "1.35.0.1", "latest"])
def test_not_kube_versions(text: str) -> None:
    with pytest.raises(InvalidInput, match="is not a Kubernetes version"):
        parse_kube_version(text)


def test_helm_output_is_parsed_with_each_objects_template() -> None:
    text = (
        "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\n"
        "metadata:\n  name: a\ndata:\n  day: 2024-01-01\n"
        "---\n# Source: c/templates/empty.yaml\n"
        "---\n# Source: c/templates/b.yaml\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n"
    )
    first, second = parse_manifests(text)
    assert (first.ref, first.source) == ("ConfigMap/a", "c/templates/a.yaml")
    # The API server's YAML makes no timestamps: an unquoted date is a string.
    assert first.body["data"]["day"] == "2024-01-01"
    assert (second.ref, second.source) == ("Service/b", "c/templates/b.yaml")
    with pytest.raises(InvalidInput, match="not a Kubernetes object"):
        parse_manifests("---\n# Source: c/templates/x.yaml\n- a list\n")


def test_the_default_kube_version_is_in_the_help(lamp) -> None:
    result = lamp("spec", "render", "--help", env={"COLUMNS": "200"})
    assert f"default: {DEFAULT_KUBE_VERSION})" in result.stdout


def test_only_the_commands_that_render_manifests_import_the_validator(
    helm, isolated_env: Path
) -> None:
    _, modules = imported_by(["spec", "render", *SPECS, "-f", "both"], isolated_env)
    assert "kubernetes_validate" not in modules
    assert "lamp_cli.services.helm" not in modules
    _, modules = imported_by(["--help"], isolated_env)
    assert "kubernetes_validate" not in modules
    stdout, modules = imported_by(
        ["spec", "render", *SPECS, "-f", "manifests", "--chart", str(CHART)], isolated_env
    )
    assert "kubernetes_validate" in modules
    assert "kind: Deployment" in stdout


def test_without_the_k8s_extra_manifests_render_and_lamp_says_so_once(
    helm, isolated_env: Path, chart_copy
) -> None:
    # An unknown field passes only because nothing checks it: the notice must say so.
    chart = chart_copy(("templates/service.yaml", "  type: ClusterIP", "  type: ClusterIP\n  x: 1"))
    args = ["spec", "render", *SPECS, "-f", "manifests", "--chart", str(chart)]
    code = (
        "import sys\n"
        "sys.modules['kubernetes_validate'] = None  # as when lamp-cli[k8s] is not installed\n"
        "from lamp_cli.main import app\n"
        f"app({args!r})\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=isolated_env,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LAMP_HELM": helm},
    )
    assert result.returncode == 0, result.stderr
    assert "kind: Deployment" in result.stdout
    assert result.stderr.count("pip install 'lamp-cli[k8s]' adds that check") == 1
    assert "not checked against Kubernetes' schemas" in result.stderr
    # The chart is still checked against the specs without it.
    assert "Deployment/fraud-detector uses the specs" in result.stderr
