"""The model spec against the app: `spec init` from the app, and every rule of the contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from lamp_cli.errors import SpecInvalid
from lamp_cli.specs import load_pair, load_spec
from lamp_cli.specs.api import parse_text
from lamp_cli.specs.contract import check_against_app, check_contract, primary_operation
from tests.conftest import ENDPOINT_EXAMPLE, MODEL_EXAMPLE

pytestmark = pytest.mark.offline


@pytest.fixture
def saved(isolated_env: Path, serving_openapi: str) -> Path:
    """The serving app's document, saved where `--openapi` reads it."""
    path = isolated_env / "openapi.json"
    path.write_text(serving_openapi)
    return path


@pytest.fixture
def model() -> dict[str, Any]:
    """The example model spec, its routes and probes those of the serving app."""
    data = yaml.safe_load(MODEL_EXAMPLE.read_text())
    data["spec"]["health"] = {
        "liveness": {"path": "/health/live"},
        "readiness": {"path": "/health/ready"},
    }
    data["spec"]["routes"] = [
        {"name": "predict", "path": "/v1/predict", "methods": ["POST"], "primary": True},
        # Another parameter name than the app's {model_id}: templates match by shape.
        {"name": "model-card", "path": "/v1/models/{id}", "methods": ["GET"]},
    ]
    return data


def write(directory: Path, data: dict[str, Any]) -> Path:
    path = directory / "model.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def line_of(path: Path, needle: str, after: str | None = None) -> int:
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and needle in line) + 1


def problems(lamp, *args: str) -> list[dict[str, Any]]:
    result = lamp("-o", "json", "spec", "validate", *args)
    assert result.exit_code == 3, result.stderr
    return json.loads(result.stderr)["error"]["problems"]


def test_init_from_the_app_writes_its_routes_and_probes_and_validate_passes(
    serving_app: Path, lamp
) -> None:
    init = lamp("-o", "json", "spec", "init")
    assert init.exit_code == 0, init.stderr
    assert json.loads(init.stdout)["api"] == "app src.main:app"
    written = yaml.safe_load((serving_app / "specs" / "serving-model-spec.yaml").read_text())
    assert written["metadata"]["name"] == "fraud-detector"
    assert written["spec"]["routes"] == [
        {"name": "predict", "path": "/v1/predict", "methods": ["POST"], "primary": True},
        {"name": "model-card", "path": "/v1/models/{model_id}", "methods": ["GET"]},
    ]
    assert written["spec"]["health"] == {
        "liveness": {"path": "/health/live"},
        "readiness": {"path": "/health/ready"},
    }
    checked = lamp("-o", "json", "spec", "validate")
    assert checked.exit_code == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["api"]["source"] == "app src.main:app" and report["api"]["operations"] == 4
    # The app's every operation is exposed; what is left is the template's example account.
    assert [w["field"] for w in report["warnings"]] == ["spec.image.repository"]


def test_init_without_an_app_writes_the_template(isolated_env: Path, lamp) -> None:
    init = lamp("-o", "json", "spec", "init", "--name", "plain")
    assert init.exit_code == 0, init.stderr
    assert json.loads(init.stdout)["api"] is None
    written = yaml.safe_load((isolated_env / "specs" / "serving-model-spec.yaml").read_text())
    assert written["spec"]["routes"] == [
        {"name": "predict", "path": "/v1/predict", "methods": ["POST"]}
    ]


def test_a_spec_that_matches_the_app_is_valid(saved: Path, model, lamp) -> None:
    path = write(saved.parent, model)
    result = lamp("spec", "validate", str(path), "--openapi", str(saved))
    assert result.exit_code == 0, result.stderr
    assert "valid against" in result.stdout and "no spec route exposes" not in result.stderr


def test_a_route_the_app_does_not_serve(saved: Path, model, lamp) -> None:
    model["spec"]["routes"][0]["path"] = "/v1/predictions"
    path = write(saved.parent, model)
    [problem] = problems(lamp, str(path), "--openapi", str(saved))
    assert problem["field"] == "spec.routes[0].path"
    assert problem["line"] == line_of(path, "/v1/predictions")
    assert "serves no path /v1/predictions (did you mean /v1/predict?)" in problem["message"]


def test_a_method_the_app_does_not_serve(saved: Path, model, lamp) -> None:
    model["spec"]["routes"][0]["methods"] = ["POST", "PUT"]
    path = write(saved.parent, model)
    [problem] = problems(lamp, str(path), "--openapi", str(saved))
    assert problem["field"] == "spec.routes[0].methods[1]"
    assert problem["line"] == line_of(path, "- PUT")
    assert "serves /v1/predict with POST, not PUT" in problem["message"]


def test_a_probe_path_the_app_does_not_serve(saved: Path, model, lamp) -> None:
    model["spec"]["health"]["liveness"]["path"] = "/healthz"
    path = write(saved.parent, model)
    [problem] = problems(lamp, str(path), "--openapi", str(saved))
    assert problem["field"] == "spec.health.liveness.path"
    assert problem["line"] == line_of(path, "/healthz")
    assert "serves no path /healthz" in problem["message"]
    assert "its health routes: /health/live, /health/ready" in problem["message"]


def test_a_probe_that_is_not_a_get(saved: Path, model, lamp) -> None:
    model["spec"]["routes"] = model["spec"]["routes"][1:]
    model["spec"]["health"]["readiness"]["path"] = "/v1/predict"
    model["spec"]["health"]["startup"] = {"path": "/health/live"}
    path = write(saved.parent, model)
    found = problems(lamp, str(path), "--openapi", str(saved), "--strict")
    assert [(p["field"], p["line"]) for p in found] == [
        ("spec.health.readiness.path", line_of(path, "/v1/predict")),
    ]
    assert "readiness probe needs a GET route" in found[0]["message"]
    assert "serves /v1/predict with POST, not GET" in found[0]["message"]


def test_the_primary_route_needs_a_json_body(saved: Path, model, lamp) -> None:
    del model["spec"]["routes"][0]["primary"]
    model["spec"]["routes"][1]["primary"] = True
    path = write(saved.parent, model)
    [problem] = problems(lamp, str(path), "--openapi", str(saved))
    assert problem["field"] == "spec.routes[1].primary"
    assert problem["line"] == line_of(path, "primary", after="model-card")
    assert "must take a JSON request body" in problem["message"]


def test_at_most_one_route_is_primary(tmp_path: Path, model) -> None:
    model["spec"]["routes"][1]["primary"] = True
    path = write(tmp_path, model)
    with pytest.raises(SpecInvalid) as caught:
        load_spec(path)
    [problem] = caught.value.problems
    assert problem.field == "spec.routes[1].primary"
    assert problem.line == line_of(path, "primary", after="model-card")
    assert "only one route may be primary (spec.routes[0] already is)" in problem.message


def test_an_unexposed_operation_warns_and_strict_refuses_it(saved: Path, model, lamp) -> None:
    model["spec"]["routes"] = model["spec"]["routes"][:1]
    path = write(saved.parent, model)
    result = lamp("spec", "validate", str(path), "--openapi", str(saved))
    assert result.exit_code == 0, result.stderr
    assert "warning:" in result.stderr
    assert "GET /v1/models/{model_id}, which no spec route exposes" in result.stderr
    [problem] = problems(lamp, str(path), "--openapi", str(saved), "--strict")
    assert problem["field"] == "spec.routes"
    assert "GET /v1/models/{model_id}" in problem["message"]


def test_app_problems_come_with_the_other_spec_problems(saved: Path, model, lamp) -> None:
    model["spec"]["routes"][0]["path"] = "/v2/predict"
    path = write(saved.parent, model)
    endpoint = yaml.safe_load(ENDPOINT_EXAMPLE.read_text())
    endpoint["spec"]["env"] = []  # MODEL_API_KEY is no longer supplied
    endpoint_path = saved.parent / "endpoint.yaml"
    endpoint_path.write_text(yaml.safe_dump(endpoint, sort_keys=False))
    found = problems(lamp, str(path), str(endpoint_path), "--openapi", str(saved))
    assert sorted(p["field"] for p in found) == [
        "spec.requiredSecrets[0].name",
        "spec.routes[0].path",
    ]


def test_the_functions_the_release_uses(tmp_path: Path, serving_openapi: str, model) -> None:
    api = parse_text(serving_openapi, "openapi.json")
    model["spec"]["routes"] = model["spec"]["routes"][:1]
    pair = load_pair(write(tmp_path, model), ENDPOINT_EXAMPLE)
    found, warnings = check_against_app(pair, api)
    assert found == [] and [w.field for w in warnings] == ["spec.routes"]
    found, warnings = check_against_app(pair, api, strict=True)
    assert [p.field for p in found] == ["spec.routes"] and warnings == []
    operation, why = primary_operation(pair.model_spec, api)
    assert operation is not None and operation.label == "POST /v1/predict"
    assert why == "POST /v1/predict, the primary route"


def test_without_a_primary_the_first_route_with_a_body_is_taken(
    tmp_path: Path, serving_openapi: str, model
) -> None:
    api = parse_text(serving_openapi, "openapi.json")
    del model["spec"]["routes"][0]["primary"]
    model["spec"]["routes"].reverse()
    spec = load_spec(write(tmp_path, model))
    assert check_contract(spec, api) == ([], [])
    operation, why = primary_operation(spec.document, api)  # type: ignore[arg-type]
    assert operation is not None and why == "POST /v1/predict, the first route with a body"
    model["spec"]["routes"] = model["spec"]["routes"][:1]
    spec = load_spec(write(tmp_path, model))
    assert primary_operation(spec.document, api) == (None, "no spec route takes a JSON body")  # type: ignore[arg-type]


def test_doctor_checks_the_specs_against_the_app(serving_app: Path, lamp) -> None:
    assert lamp("spec", "init").exit_code == 0
    model = serving_app / "specs" / "serving-model-spec.yaml"
    model.write_text(model.read_text().replace("path: /health/ready", "path: /readyz"))
    result = lamp("-o", "json", "doctor", "--no-verify-image")
    assert result.exit_code == 3
    checks = {check["name"]: check for check in json.loads(result.stdout)}
    assert checks["specs"]["status"] == "failed" and checks["specs"]["exit_code"] == 3
    assert "spec.health.readiness.path" in checks["specs"]["detail"]
