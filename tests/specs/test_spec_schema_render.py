"""JSON Schemas stay in step with the models; render is exact, stable and valid for Argo CD."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema
import pytest
import yaml

from lamp_cli.specs import ENDPOINT_KIND, MODEL_KIND, load_pair
from lamp_cli.specs.render import deep_merge, render_application, render_values
from lamp_cli.specs.schema import PACKAGED_SCHEMA_DIR, SCHEMA_FILES, schema_text

pytestmark = pytest.mark.offline

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "specs" / "examples"
MODEL_EXAMPLE = EXAMPLES / "serving-model-spec.yaml"
ENDPOINT_EXAMPLE = EXAMPLES / "serving-endpoint-spec.yaml"
# A copy of the Argo CD project's CRD (see argocd/README.md): tests read nothing outside the repo.
CRD = Path(__file__).resolve().parent / "argocd" / "application-crd.yaml"


@pytest.mark.parametrize("kind", [MODEL_KIND, ENDPOINT_KIND])
@pytest.mark.parametrize("directory", [REPO / "specs" / "schema", PACKAGED_SCHEMA_DIR])
def test_checked_in_schema_matches_the_models(kind: str, directory: Path) -> None:
    checked_in = (directory / SCHEMA_FILES[kind]).read_text(encoding="utf-8")
    assert checked_in == schema_text(kind), (
        f"{directory / SCHEMA_FILES[kind]} is stale: run `lamp spec schema --out {directory}`"
    )


@pytest.mark.parametrize("example", [MODEL_EXAMPLE, ENDPOINT_EXAMPLE])
def test_examples_start_with_a_schema_modeline_and_satisfy_it(example: Path) -> None:
    first = example.read_text(encoding="utf-8").splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    schema_path = (example.parent / first[len(prefix) :]).resolve()
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    document = yaml.safe_load(example.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(document)


def test_schema_command_writes_and_checks(tmp_path: Path, lamp) -> None:
    out = tmp_path / "schema"
    assert lamp("spec", "schema", "--check", "--out", out).exit_code == 3
    result = lamp("-o", "json", "spec", "schema", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["written"]) == 2
    assert lamp("spec", "schema", "--check", "--out", out).exit_code == 0
    (out / SCHEMA_FILES[MODEL_KIND]).write_text("{}", encoding="utf-8")
    assert lamp("spec", "schema", "--check", "--out", out).exit_code == 3


@cache
def _application_schema() -> dict:
    crd = yaml.load(CRD.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")
    return version["schema"]["openAPIV3Schema"]


def test_rendered_application_satisfies_the_argocd_crd() -> None:
    pair = load_pair(MODEL_EXAMPLE, ENDPOINT_EXAMPLE)
    application = render_application(pair)
    jsonschema.Draft7Validator(_application_schema()).validate(application)
    source = application["spec"]["source"]
    endpoint = pair.endpoint.document.spec
    assert source["repoURL"] == endpoint.chart.repository
    assert source["chart"] == endpoint.chart.name
    assert source["targetRevision"] == endpoint.chart.version
    assert source["helm"]["releaseName"] == pair.endpoint.document.metadata.name
    assert source["helm"]["valuesObject"] == render_values(pair)
    assert application["spec"]["destination"] == {
        "name": endpoint.target.cluster,
        "namespace": endpoint.target.namespace,
    }
    assert application["spec"]["project"] == endpoint.target.argocd_project


def test_values_carry_the_model_and_endpoint(model_data, endpoint_data, write) -> None:
    digest = "sha256:" + "b" * 64
    model_data["spec"]["image"]["digest"] = digest
    endpoint_data["spec"]["values"] = {"routing": {"timeoutSeconds": 99}, "extra": [1]}
    pair = load_pair(write("m.yaml", model_data), write("e.yaml", endpoint_data))
    values = render_values(pair)
    assert values["image"]["digest"] == digest
    assert values["image"]["reference"].endswith("@" + digest)
    assert values["containerPort"] == 8000
    assert values["probes"]["readiness"]["httpGet"] == {"path": "/health/ready", "port": 8000}
    assert values["resources"]["requests"] == {"cpu": "1", "memory": "2Gi"}
    assert values["nodeSelector"]["kubernetes.io/arch"] == "amd64"
    env = {entry["name"]: entry for entry in values["env"]}
    assert env["MODEL_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "fraud-detector-secrets",
        "key": "model-api-key",
    }
    assert env["LOG_LEVEL"] == {"name": "LOG_LEVEL", "value": "warning"}  # endpoint wins
    assert [e["name"] for e in values["env"]].count("LOG_LEVEL") == 1
    assert values["routing"]["timeoutSeconds"] == 99  # spec.values merged last
    assert values["routing"]["host"] == "fraud.ml.example.com"  # ... deeply
    assert values["extra"] == [1]


def test_deep_merge_follows_helm() -> None:
    base = {"a": {"b": 1, "c": 2}, "l": [1, 2], "gone": 1}
    assert deep_merge(base, {"a": {"c": 3}, "l": [3], "gone": None}) == {
        "a": {"b": 1, "c": 3},
        "l": [3],
    }
    assert base["a"]["c"] == 2


@pytest.mark.parametrize("fmt", ["values", "application", "both"])
def test_render_output_is_byte_identical_and_parses(fmt: str, lamp) -> None:
    args = ["--model-spec", MODEL_EXAMPLE, "--endpoint-spec", ENDPOINT_EXAMPLE, "--format", fmt]
    first = lamp("spec", "render", *args)
    second = lamp("spec", "render", *args)
    assert first.exit_code == 0, first.stderr
    assert first.stdout == second.stdout
    documents = list(yaml.safe_load_all(first.stdout))
    as_json = lamp("-o", "json", "spec", "render", *args)
    assert as_json.exit_code == 0
    data = json.loads(as_json.stdout)
    if fmt == "both":
        assert documents == [data["values"], data["application"]]
    else:
        assert documents == [data]


def test_render_with_set_and_chart_schema(tmp_path: Path, lamp) -> None:
    chart_schema = tmp_path / "values.schema.json"
    chart_schema.write_text(
        json.dumps(
            {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {"replicaCount": {"type": "integer", "maximum": 5}},
                "required": ["image"],
            }
        ),
        encoding="utf-8",
    )
    base = ["--model-spec", MODEL_EXAMPLE, "--endpoint-spec", ENDPOINT_EXAMPLE]
    ok = lamp("spec", "render", *base, "--format", "values", "--chart-schema", chart_schema)
    assert ok.exit_code == 0, ok.stderr
    bad = lamp(
        "-o",
        "json",
        "spec",
        "render",
        *base,
        "--set",
        "endpoint.spec.replicas=9",
        "--chart-schema",
        chart_schema,
    )
    assert bad.exit_code == 3
    [problem] = json.loads(bad.stderr)["error"]["problems"]
    assert problem["field"] == "values.replicaCount"
    assert "9 is greater than the maximum of 5" in problem["message"]
    tagged = lamp(
        "-o",
        "json",
        "spec",
        "render",
        *base,
        "--format",
        "values",
        "--set",
        "model.spec.image.tag=1.5.0",
    )
    assert json.loads(tagged.stdout)["image"]["tag"] == "1.5.0"
    not_json = tmp_path / "broken.json"
    not_json.write_text("{", encoding="utf-8")
    assert lamp("spec", "render", *base, "--chart-schema", not_json).exit_code == 3


def test_render_needs_both_specs(lamp) -> None:
    result = lamp("spec", "render", "--model-spec", MODEL_EXAMPLE)
    assert result.exit_code == 2
    assert "--endpoint-spec" in result.stderr
