"""The format's rules one by one: quantities, names, images, pair rules, overrides, paths."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lamp_cli.specs import (
    QuantityError,
    ServingEndpointSpec,
    ServingModelSpec,
    ecr_location,
    load_pair,
    parse_quantity,
)
from lamp_cli.specs.interpolate import interpolate
from lamp_cli.specs.paths import format_path, parse_path

pytestmark = pytest.mark.offline


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("1.5", Decimal("1.5")),
        ("2Gi", Decimal(2 * 2**30)),
        ("1500Mi", Decimal(1500 * 2**20)),
        ("1k", Decimal(1000)),
        ("1e3", Decimal(1000)),
        ("128974848", Decimal(128974848)),
        ("129M", Decimal(129_000_000)),
    ],
)
def test_quantities_parse_to_exact_values(text: str, value: Decimal) -> None:
    assert parse_quantity(text).value == value


def test_quantities_compare_by_value() -> None:
    assert parse_quantity("2Gi") > parse_quantity("1500Mi")
    assert parse_quantity("1") == parse_quantity("1") and parse_quantity("1000m") <= parse_quantity(
        "1"
    )
    assert parse_quantity("1G") < parse_quantity("1Gi")


@pytest.mark.parametrize("text", ["2 GB", "2GB", "1.5.2", "Gi", "", "1gi", "--1", "1 "])
def test_not_quantities(text: str) -> None:
    with pytest.raises(QuantityError) as caught:
        parse_quantity(text)
    assert "not a Kubernetes quantity" in str(caught.value)


def test_gb_suggests_gi() -> None:
    with pytest.raises(QuantityError, match="write 2Gi"):
        parse_quantity("2 GB")


def test_ecr_location() -> None:
    assert ecr_location("123456789012.dkr.ecr.eu-west-1.amazonaws.com/a/b") == (
        "123456789012",
        "eu-west-1",
    )
    assert ecr_location("ghcr.io/org/app") is None


def test_models_are_strict_and_work_without_files(model_data, endpoint_data) -> None:
    model = ServingModelSpec.model_validate(model_data)
    assert model.spec.server.port == 8000
    assert model.spec.image.ecr == ("123456789012", "eu-west-1")
    endpoint_data["spec"]["replicas"] = "3"
    with pytest.raises(ValueError):
        ServingEndpointSpec.model_validate(endpoint_data)
    model_data["spec"]["server"]["port"] = 8000.0
    with pytest.raises(ValueError):
        ServingModelSpec.model_validate(model_data)


def test_snake_case_keys_are_unknown(model_data, write, problems_of) -> None:
    from lamp_cli.specs import load_spec

    model_data["spec"]["required_secrets"] = model_data["spec"].pop("requiredSecrets")
    [problem] = problems_of(lambda: load_spec(write("m.yaml", model_data)))
    assert problem.field == "spec.required_secrets"
    assert "requiredSecrets" in problem.message


def test_numbers_are_accepted_as_quantities_and_normalized_to_text(endpoint_data, write) -> None:
    from lamp_cli.specs import load_spec

    endpoint_data["spec"]["resources"]["requests"]["cpu"] = 1
    endpoint_data["spec"]["resources"]["limits"]["cpu"] = 1.5
    loaded = load_spec(write("e.yaml", endpoint_data))
    assert loaded.document.spec.resources.requests.cpu == "1"
    assert loaded.document.spec.resources.limits.cpu == "1.5"


def test_pair_rules_report_in_the_right_file(model_data, endpoint_data, write, problems_of):
    model_data["spec"]["requiredSecrets"].append({"name": "DB_PASSWORD"})
    model_data["spec"]["hardware"]["minMemory"] = "4Gi"
    model_path, endpoint_path = write("m.yaml", model_data), write("e.yaml", endpoint_data)
    problems = problems_of(lambda: load_pair(model_path, endpoint_path))
    found = {(p.file, p.field) for p in problems}
    assert found == {
        (str(model_path), "spec.requiredSecrets[1].name"),
        (str(endpoint_path), "spec.resources.requests.memory"),
    }
    assert all(p.line for p in problems)


def test_pair_needs_the_prefix_and_the_right_kinds(problems_of, write, model_data) -> None:
    model_path = write("m.yaml", model_data)
    [problem] = problems_of(lambda: load_pair(model_path, model_path))
    assert "--endpoint-spec" in problem.message


@pytest.mark.parametrize(
    "path",
    [("spec", "routes", 1, "path"), ("spec", "resources", "requests", "nvidia.com/gpu"), ("a",)],
)
def test_paths_round_trip(path) -> None:
    assert parse_path(format_path(path)) == path


def test_interpolation_forms() -> None:
    text, errors = interpolate("${A}-${B:-b}-${C:-}-$${D}", {"A": "a", "C": ""})
    assert (text, errors) == ("a-b--${D}", [])
    _, errors = interpolate("${MISSING} ${1bad} ${", {})
    assert len(errors) == 3
    assert "MISSING is not set" in errors[0]
