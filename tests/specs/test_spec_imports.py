"""What the spec commands build, as structural facts (their speed is measured in bench/): each in
a fresh interpreter, where nothing was imported or built before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "specs" / "examples"
PAIR = [str(EXAMPLES / "serving-model-spec.yaml"), str(EXAMPLES / "serving-endpoint-spec.yaml")]


def fresh(code: str) -> dict[str, object]:
    """The JSON document ``code`` prints, run in a new interpreter (pydantic's plugins left on)."""
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_image_rules_build_no_spec_model() -> None:
    facts = fresh(
        "import json, sys\n"
        "from lamp_cli.specs import image\n"
        "print(json.dumps({'models': 'lamp_cli.specs.model_spec' in sys.modules}))\n"
    )
    assert facts == {"models": False}


def test_validating_builds_the_document_validators_only_and_no_json_schema() -> None:
    """Nested models get no validators of their own, no JSON Schema is generated, and pydantic
    never looks for plugins (common.build_validator)."""
    facts = fresh(
        "import json, os\n"
        "import pydantic.plugin._loader as plugins\n"
        "from lamp_cli.specs import common, endpoint_spec, schema\n"
        "from lamp_cli.specs.validate import validate_paths\n"
        f"report = validate_paths({PAIR!r})\n"
        "nested = (common.Metadata, endpoint_spec.Resources, endpoint_spec.ResourceList)\n"
        "print(json.dumps({\n"
        "    'valid': len(report.specs),\n"
        "    'documents': [m.__pydantic_complete__ for m in schema.MODELS.values()],\n"
        "    'nested': [m.__pydantic_complete__ for m in nested],\n"
        "    'schemas': schema.json_schema.cache_info().currsize,\n"
        "    'plugins looked up': plugins._plugins is not None,\n"
        "    'switch left': os.environ.get('PYDANTIC_DISABLE_PLUGINS'),\n"
        "}))\n"
    )
    assert facts == {
        "valid": 2,
        "documents": [True, True],
        "nested": [False, False, False],
        "schemas": 0,
        "plugins looked up": False,
        "switch left": None,
    }
