"""The serving specs: pydantic models, the YAML loader with positions, JSON Schema and render.

Everything here works offline and never imports mlflow or boto3. The names below are loaded on
first use: importing one submodule (``lamp_cli.specs.image``) does not build every model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lamp_cli.specs.common import API_VERSION, ENDPOINT_KIND, KINDS, MODEL_KIND
    from lamp_cli.specs.endpoint_spec import ServingEndpointSpec
    from lamp_cli.specs.image import ecr_location
    from lamp_cli.specs.loader import (
        LoadedSpec,
        SpecPair,
        load_spec,
        load_spec_text,
        normalized_text,
    )
    from lamp_cli.specs.model_spec import ServingModelSpec
    from lamp_cli.specs.pair import load_pair
    from lamp_cli.specs.quantity import Quantity, QuantityError, parse_quantity

#: Each exported name -> the submodule that defines it.
_HOMES = {
    "API_VERSION": "common",
    "ENDPOINT_KIND": "common",
    "KINDS": "common",
    "MODEL_KIND": "common",
    "ServingEndpointSpec": "endpoint_spec",
    "ecr_location": "image",
    "LoadedSpec": "loader",
    "SpecPair": "loader",
    "load_spec": "loader",
    "load_spec_text": "loader",
    "normalized_text": "loader",
    "ServingModelSpec": "model_spec",
    "load_pair": "pair",
    "Quantity": "quantity",
    "QuantityError": "quantity",
    "parse_quantity": "quantity",
}

__all__ = [
    "API_VERSION",
    "ENDPOINT_KIND",
    "KINDS",
    "MODEL_KIND",
    "LoadedSpec",
    "Quantity",
    "QuantityError",
    "ServingEndpointSpec",
    "ServingModelSpec",
    "SpecPair",
    "ecr_location",
    "load_pair",
    "load_spec",
    "load_spec_text",
    "normalized_text",
    "parse_quantity",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        # Not an export: ``from lamp_cli.specs import image`` goes on to import the submodule.
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
