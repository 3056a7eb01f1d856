"""The signature from the app's primary route, read back by the real MLflow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from lamp_cli.specs.api import ApiDocument, api_document, parse_text
from lamp_cli.specs.signature import (
    PLACEHOLDER,
    PLACEHOLDER_INPUTS,
    operation_signature,
    signature_for,
)

#: An app whose models use what MLflow's signature can and cannot express.
EDGE_APP = """\
from datetime import datetime
from typing import Literal

from fastapi import Body, FastAPI
from pydantic import BaseModel


class Node(BaseModel):
    name: str
    children: list["Node"] = []


class Item(BaseModel):
    sku: str
    price: float | None = None


class Order(BaseModel):
    items: dict[str, Item]
    tree: Node
    code: int | str
    pair: tuple[int, str]
    priority: Literal[1, 2, 3] = 1
    when: datetime | None
    raw: bytes = b""
    flags: list[bool]


app = FastAPI()


@app.post("/orders", status_code=201)
def orders(order: Order) -> Order:
    return order


@app.post("/batch")
def batch(items: list[Item]) -> list[float]:
    return []


@app.post("/text")
def text(body: str = Body(...)) -> str:
    return body


@app.post("/fire", status_code=202)
def fire(item: Item) -> None:
    return None
"""

ITEM = {
    "type": "object",
    "properties": {
        "price": {"type": "double", "required": False},
        "sku": {"type": "string", "required": True},
    },
}


@pytest.fixture(scope="module")
def edge_api(app_python: Path, tmp_path_factory: pytest.TempPathFactory) -> ApiDocument:
    import subprocess
    import sys

    work = tmp_path_factory.mktemp("edge-app")
    (work / "main.py").write_text(EDGE_APP)
    result = subprocess.run(
        [sys.executable, "-m", "lamp_cli", "spec", "openapi", "--app-python", str(app_python)],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return parse_text(result.stdout, "edge")


def _mlflow_reads(signature: dict[str, Any], directory: Path) -> Any:
    """``ModelInfo`` of a model directory whose MLmodel carries ``signature``."""
    from mlflow.models import get_model_info

    directory.mkdir()
    mlmodel = {
        "artifact_path": "lamp",
        "flavors": {"lamp": {"model_spec": "serving-model-spec.yaml"}},
        "model_uuid": "0" * 32,
        "signature": signature,
        "utc_time_created": "2026-01-01 00:00:00.000000",
    }
    (directory / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    return get_model_info(str(directory))


def test_the_primary_route_of_the_template_app(serving_openapi: str, tmp_path: Path) -> None:
    api = parse_text(serving_openapi, "openapi.json")
    operation = api.find("/v1/predict", "POST")
    assert operation is not None
    signature = signature_for(api, operation)
    assert signature.notices == [] and signature.source == "POST /v1/predict"
    # Columns by name: the same from the app as from the document saved with sorted keys.
    assert signature.inputs == [
        {
            "type": "object",
            "properties": {
                "id": {"type": "long", "required": True},
                "segment": {"type": "string", "required": False},
            },
            "name": "customer",
            "required": True,
        },
        {"type": "string", "name": "note", "required": False},
        {"type": "map", "values": {"type": "string"}, "name": "tags", "required": False},
        {"type": "double", "name": "threshold", "required": False},
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "amount": {"type": "double", "required": True},
                    "at": {"type": "datetime", "required": True},
                    "currency": {"type": "string", "required": True},
                },
            },
            "name": "transactions",
            "required": True,
        },
    ]
    assert signature.outputs == [
        {"type": "string", "name": "label", "required": True},
        {"type": "string", "name": "model_version", "required": True},
        {"type": "array", "items": {"type": "string"}, "name": "reasons", "required": True},
        {"type": "double", "name": "score", "required": True},
    ]

    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import Array, DataType, Map, Object

    # MLflow's own reading writes back exactly what lamp wrote: the same JSON text.
    read = ModelSignature.from_dict(signature.to_dict())
    assert read.to_dict() == signature.to_dict()
    info = _mlflow_reads(signature.to_dict(), tmp_path / "model")
    from mlflow.models import Model

    assert Model.load(str(tmp_path / "model" / "MLmodel")).signature == read
    inputs = info.signature.inputs.input_dict()
    assert info.signature.inputs.input_names() == [
        "customer", "note", "tags", "threshold", "transactions",
    ]  # fmt: skip
    assert isinstance(inputs["customer"].type, Object) and inputs["customer"].required is True
    assert isinstance(inputs["transactions"].type, Array)
    at = {p.name: p for p in inputs["transactions"].type.dtype.properties}["at"]
    assert at.dtype == DataType.datetime and at.required is True
    assert inputs["tags"].type == Map(DataType.string) and inputs["tags"].required is False
    assert inputs["threshold"].type == DataType.double and inputs["note"].required is False
    assert info.signature.outputs.input_names() == ["label", "model_version", "reasons", "score"]


def test_what_mlflow_cannot_express_becomes_any_with_a_notice(edge_api: ApiDocument) -> None:
    operation = edge_api.find("/orders", "POST")
    assert operation is not None and operation.response_status == "201"
    signature = operation_signature(edge_api.document, operation)
    columns = {column["name"]: column for column in signature.inputs}
    assert columns["items"] == {"type": "map", "values": ITEM, "name": "items", "required": True}
    # A recursive model is expanded once; where it refers to itself, MLflow gets any.
    assert columns["tree"]["properties"]["children"] == {
        "type": "array",
        "items": {"type": "any"},
        "required": False,
    }
    assert columns["code"] == {"type": "any", "name": "code", "required": True}
    assert columns["pair"] == {
        "type": "array",
        "items": {"type": "any"},
        "name": "pair",
        "required": True,
    }
    assert columns["priority"] == {"type": "long", "name": "priority", "required": False}
    # In `required` but admitting null: MLflow's required means "never missing".
    assert columns["when"] == {"type": "datetime", "name": "when", "required": False}
    assert columns["raw"] == {"type": "binary", "name": "raw", "required": False}
    assert columns["flags"]["items"] == {"type": "boolean"}
    assert signature.outputs == signature.inputs  # Order-Output has the same shape
    assert sorted(n.split(": ", 1)[0] for n in signature.notices) == [
        "request of POST /orders code",
        "request of POST /orders pair[]",
        "request of POST /orders tree.children[]",
        "response of POST /orders code",
        "response of POST /orders pair[]",
        "response of POST /orders tree.children[]",
    ]
    assert any("Node-Input refers to itself" in n for n in signature.notices)
    assert all(n.endswith("written as any") for n in signature.notices)


@pytest.mark.parametrize(
    "path,inputs,outputs",
    [
        ("/batch", [{"type": "array", "items": ITEM, "required": True}],
         [{"type": "array", "items": {"type": "double"}, "required": True}]),
        ("/text", [{"type": "string", "required": True}], [{"type": "string", "required": True}]),
    ],
)  # fmt: skip
def test_a_list_or_scalar_body_is_one_unnamed_column(
    edge_api: ApiDocument, path: str, inputs: list[Any], outputs: list[Any]
) -> None:
    operation = edge_api.find(path, "POST")
    assert operation is not None
    signature = operation_signature(edge_api.document, operation)
    assert (signature.inputs, signature.outputs, signature.notices) == (inputs, outputs, [])


def test_every_edge_signature_is_read_by_mlflow(edge_api: ApiDocument, tmp_path: Path) -> None:
    from mlflow.models.signature import ModelSignature

    for index, operation in enumerate(edge_api.operations):
        signature = operation_signature(edge_api.document, operation).to_dict()
        assert ModelSignature.from_dict(signature).to_dict() == signature, operation.label
        info = _mlflow_reads(signature, tmp_path / str(index))
        assert info.signature.to_dict() == signature


def test_no_json_answer_is_any_with_a_notice(edge_api: ApiDocument) -> None:
    operation = edge_api.find("/fire", "POST")
    assert operation is not None and operation.response is None
    signature = operation_signature(edge_api.document, operation)
    assert signature.outputs == [{"type": "any", "required": True}]
    assert signature.notices == ["POST /fire declares no JSON answer for 200 or 201; output is any"]


def test_without_an_app_or_a_body_the_placeholder_stays(edge_api: ApiDocument) -> None:
    assert signature_for(None, None) is PLACEHOLDER
    assert PLACEHOLDER.inputs == PLACEHOLDER_INPUTS
    assert signature_for(edge_api, None) is PLACEHOLDER
    document = {
        "openapi": "3.1.0",
        "paths": {"/ping": {"get": {"responses": {"200": {"description": "ok"}}}}},
    }
    api = api_document(document, "doc")
    assert signature_for(api, api.operations[0]) is PLACEHOLDER
    assert json.loads(PLACEHOLDER.to_dict()["inputs"])[0]["name"] == "route"


def test_openapi_3_1_type_lists_enums_and_single_allof() -> None:
    schema = {
        "type": "object",
        "required": ["a", "b", "c", "d"],
        "properties": {
            "a": {"type": ["string", "null"]},
            "b": {"enum": ["x", "y"]},
            "c": {"allOf": [{"$ref": "#/components/schemas/Leaf"}]},
            "d": {"type": "object", "additionalProperties": False},
        },
    }
    document = {
        "openapi": "3.1.0",
        "paths": {
            "/p": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": schema}}},
                    "responses": {"200": {"content": {"application/problem+json": {"schema": {}}}}},
                }
            }
        },
        "components": {"schemas": {"Leaf": {"type": "integer"}}},
    }
    api = api_document(document, "doc")
    signature = operation_signature(document, api.operations[0])
    assert signature.inputs == [
        {"type": "string", "name": "a", "required": False},
        {"type": "string", "name": "b", "required": True},
        {"type": "long", "name": "c", "required": True},
        {"type": "any", "name": "d", "required": True},
    ]
    assert signature.outputs == [{"type": "any", "required": True}]
    assert signature.notices == [
        "request of POST /p d: an object without properties; written as any"
    ]


def test_the_app_and_its_saved_document_give_the_same_signature(
    serving_app: Path, serving_openapi: str, app_python: Path
) -> None:
    from lamp_cli.services.app import AppRef, import_openapi

    live = import_openapi(AppRef("src.main", "app", serving_app, "test"), app_python)
    saved = parse_text(serving_openapi, "openapi.json")
    # The app lists its paths in its own order; the saved document sorts them.
    assert list(live.document["paths"]) != list(saved.document["paths"])
    assert live.text == serving_openapi and live.sha256 == saved.sha256
    signatures = [
        signature_for(api, api.find("/v1/predict", "POST")).to_dict() for api in (live, saved)
    ]
    assert signatures[0] == signatures[1]
