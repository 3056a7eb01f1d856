"""The serving specs: pydantic models, the YAML loader with positions, JSON Schema and render.

Everything here works offline and never imports mlflow or boto3.
"""

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
