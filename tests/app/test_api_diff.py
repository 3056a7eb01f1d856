"""Changes between two versions of the app's API, and which of them break clients."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from lamp_cli.specs.api import api_document, parse_text
from lamp_cli.specs.api_diff import changes_to_dict, diff_api

pytestmark = pytest.mark.offline


def second_version(serving_app: Path, lamp, edits: dict[str, tuple[str, str]]) -> str:
    """The serving app's document after replacing text in its modules."""
    for relative, (old, new) in edits.items():
        module = serving_app / relative
        text = module.read_text()
        assert old in text
        module.write_text(text.replace(old, new))
    result = lamp("spec", "openapi")
    assert result.exit_code == 0, result.stderr
    return result.stdout


def summary(changes) -> list[tuple[str, str, str | None, bool]]:
    return [(c.change, c.operation, c.field, c.breaking) for c in changes]


def test_a_breaking_second_version(serving_app: Path, serving_openapi: str, lamp) -> None:
    new = second_version(
        serving_app,
        lamp,
        {
            "src/dataclasses/responses.py": ("    reasons: list[str]\n", ""),
            "src/dataclasses/requests.py": ("    threshold:", "    country: str\n    threshold:"),
        },
    )
    changes = diff_api(parse_text(serving_openapi, "v1"), parse_text(new, "v2"))
    assert summary(changes) == [
        ("request_field_added", "POST /v1/predict", "country", True),
        ("response_field_removed", "POST /v1/predict", "reasons", True),
    ]
    assert changes[0].message == "POST /v1/predict: request field country added (required)"
    assert changes_to_dict(changes)["breaking"] is True


def test_a_compatible_second_version(serving_app: Path, serving_openapi: str, lamp) -> None:
    new = second_version(
        serving_app,
        lamp,
        {
            "src/dataclasses/requests.py": (
                "    note: str | None = None\n",
                "    note: str | None = None\n    channel: str | None = None\n",
            ),
            "src/dataclasses/responses.py": (
                "    model_version: str\n",
                "    model_version: str\n    explanation: str | None = None\n",
            ),
        },
    )
    changes = diff_api(parse_text(serving_openapi, "v1"), parse_text(new, "v2"))
    assert summary(changes) == [
        ("request_field_added", "POST /v1/predict", "channel", False),
        ("response_field_added", "POST /v1/predict", "explanation", False),
    ]
    assert changes_to_dict(changes)["breaking"] is False
    assert diff_api(parse_text(new, "a"), parse_text(new, "b")) == []


def _document(request: dict[str, Any], response: dict[str, Any], path: str = "/p/{id}") -> Any:
    return {
        "openapi": "3.1.0",
        "paths": {
            path: {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": request}}},
                    "responses": {"200": {"content": {"application/json": {"schema": response}}}},
                }
            },
            "/health": {"get": {"responses": {"200": {"description": "ok"}}}},
        },
    }


REQUEST = {
    "type": "object",
    "required": ["kind"],
    "properties": {
        "kind": {"type": "string", "enum": ["a", "b"]},
        "size": {"type": "integer"},
        "meta": {"type": "object", "properties": {"x": {"type": "number"}}},
    },
}
RESPONSE = {
    "type": "object",
    "required": ["score", "items"],
    "properties": {
        "score": {"type": "number"},
        "items": {"type": "array", "items": {"type": "object", "properties": {"v": {}}}},
    },
}


def _diff(new_request: Any = None, new_response: Any = None, path: str = "/p/{id}") -> list[Any]:
    old = api_document(_document(REQUEST, RESPONSE), "old")
    new = api_document(
        _document(new_request or REQUEST, new_response or RESPONSE, path=path), "new"
    )
    return summary(diff_api(old, new))


def test_a_renamed_path_parameter_is_the_same_operation() -> None:
    assert _diff(path="/p/{item_id}") == []


def test_a_removed_operation_breaks_and_an_added_one_does_not() -> None:
    assert _diff(path="/q/{id}") == [
        ("operation_removed", "POST /p/{id}", None, True),
        ("operation_added", "POST /q/{id}", None, False),
    ]


def test_request_rules() -> None:
    request = copy.deepcopy(REQUEST)
    request["required"] = ["kind", "size"]
    request["properties"]["kind"]["enum"] = ["a", "c"]
    del request["properties"]["meta"]["properties"]["x"]
    request["properties"]["meta"]["properties"]["y"] = {"type": "boolean"}
    request["properties"]["extra"] = {"type": "string"}
    assert _diff(new_request=request) == [
        ("enum_value_removed", "POST /p/{id}", "kind", True),
        ("enum_value_added", "POST /p/{id}", "kind", False),
        ("request_field_removed", "POST /p/{id}", "meta.x", False),
        ("request_field_required", "POST /p/{id}", "size", True),
        ("request_field_added", "POST /p/{id}", "extra", False),
        ("request_field_added", "POST /p/{id}", "meta.y", False),
    ]
    retyped = copy.deepcopy(REQUEST)
    retyped["properties"]["size"] = {"type": "string"}
    retyped["properties"]["meta"] = {"type": "string"}
    assert _diff(new_request=retyped) == [
        ("request_field_type_changed", "POST /p/{id}", "meta", True),
        ("request_field_type_changed", "POST /p/{id}", "size", True),
    ]


def test_response_rules() -> None:
    response = copy.deepcopy(RESPONSE)
    response["properties"]["score"] = {"type": "integer"}
    response["properties"]["items"]["items"]["properties"] = {"w": {"type": "string"}}
    response["properties"]["label"] = {"type": "string"}
    assert _diff(new_response=response) == [
        ("response_field_removed", "POST /p/{id}", "items[].v", True),
        ("response_field_type_changed", "POST /p/{id}", "score", True),
        ("response_field_added", "POST /p/{id}", "items[].w", False),
        ("response_field_added", "POST /p/{id}", "label", False),
    ]
    # A body that stops being an object: its fields are gone, a whole body appears.
    assert _diff(new_response={"type": "array", "items": {"type": "number"}}) == [
        ("response_field_removed", "POST /p/{id}", "items", True),
        ("response_field_removed", "POST /p/{id}", "score", True),
        ("response_field_added", "POST /p/{id}", "(body)", False),
    ]


def test_the_json_shape_of_a_change() -> None:
    request = copy.deepcopy(REQUEST)
    request["properties"]["kind"]["enum"] = ["a"]
    old = api_document(_document(REQUEST, RESPONSE), "old")
    document = changes_to_dict(diff_api(old, api_document(_document(request, RESPONSE), "new")))
    assert json.loads(json.dumps(document)) == {
        "breaking": True,
        "changes": [
            {
                "change": "enum_value_removed",
                "operation": "POST /p/{id}",
                "field": "kind",
                "required": None,
                "old": "b",
                "new": None,
                "breaking": True,
                "message": "POST /p/{id}: request field kind no longer allows 'b'",
            }
        ],
    }
