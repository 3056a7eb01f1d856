"""The files of a run's ``lamp/`` folder: an MLflow model directory the operator reads.

``serving-model-spec.yaml`` and ``serving-endpoint-spec.yaml`` (the normalized specs),
``lamp.json`` (lamp's version, the spec apiVersion and each file's sha256), ``MLmodel`` (a ``lamp``
flavor naming the files, and a signature) and, when the app's API is known, ``openapi.json``.
Every registry accepts the folder as a model, Unity Catalog included, which registers only models
whose signature has inputs and outputs.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lamp_cli import __version__
from lamp_cli.layout import (
    ARTIFACT_DIR,
    ENDPOINT_FILE,
    FLAVOR,
    MANIFEST_FILE,
    MLMODEL_FILE,
    MODEL_FILE,
    OPENAPI_FILE,
    TAG_API_SHA,
    TAG_ENDPOINT_SHA,
    TAG_IMAGE,
    TAG_MODEL_SHA,
)

if TYPE_CHECKING:
    from lamp_cli.specs import SpecPair
    from lamp_cli.specs.api import ApiDocument
    from lamp_cli.specs.signature import Signature


def image_ref(pair: SpecPair) -> str:
    """``repository:tag``, with ``@digest`` when pinned."""
    image = pair.model_spec.spec.image
    ref = f"{image.repository}:{image.tag}"
    return f"{ref}@{image.digest}" if image.digest else ref


def spec_tags(pair: SpecPair, api: ApiDocument | None = None) -> dict[str, str]:
    """The run tags that say what a run records."""
    tags = {
        TAG_MODEL_SHA: pair.model.sha256,
        TAG_ENDPOINT_SHA: pair.endpoint.sha256,
        TAG_IMAGE: image_ref(pair),
    }
    if api is not None:
        tags[TAG_API_SHA] = api.sha256
    return tags


def manifest(pair: SpecPair, api: ApiDocument | None = None) -> dict[str, Any]:
    """The ``lamp.json`` document."""
    from lamp_cli.specs import API_VERSION

    document: dict[str, Any] = {
        "lamp_version": __version__,
        "api_version": API_VERSION,
        "image": image_ref(pair),
        "specs": {
            "model": {"file": MODEL_FILE, "sha256": pair.model.sha256},
            "endpoint": {"file": ENDPOINT_FILE, "sha256": pair.endpoint.sha256},
        },
    }
    if api is not None:
        document["api"] = {"file": OPENAPI_FILE, "sha256": api.sha256}
    return document


def mlmodel(
    pair: SpecPair, run_id: str, signature: Signature | None = None, *, with_api: bool = False
) -> str:
    """The ``MLmodel`` file, written as MLflow's ``Model.to_yaml`` does without importing
    MLflow's model code (which needs numpy). ``signature``: the primary route's request and
    answer; without an app, an HTTP exchange with one of the spec's routes (its request and
    answer as JSON text)."""
    import yaml

    from lamp_cli.specs import API_VERSION
    from lamp_cli.specs.signature import PLACEHOLDER

    spec = pair.model_spec.spec
    routes = [
        {"name": r.name, "path": r.path, "methods": [str(m) for m in r.methods]}
        for r in spec.routes
    ]
    flavor: dict[str, Any] = {
        "lamp_version": __version__,
        "api_version": API_VERSION,
        "model_spec": MODEL_FILE,
        "endpoint_spec": ENDPOINT_FILE,
        "manifest": MANIFEST_FILE,
        "image": image_ref(pair),
        "protocol": str(spec.server.protocol),
        "port": spec.server.port,
        "routes": routes,
    }
    if with_api:
        flavor["openapi"] = OPENAPI_FILE
    document = {
        "artifact_path": ARTIFACT_DIR,
        "flavors": {FLAVOR: flavor},
        "model_uuid": uuid.uuid4().hex,
        "run_id": run_id,
        "signature": (signature or PLACEHOLDER).to_dict(),
        "utc_time_created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
    }
    return yaml.safe_dump(document, sort_keys=True, default_flow_style=False)


def write_folder(
    root: Path,
    pair: SpecPair,
    run_id: str,
    *,
    api: ApiDocument | None = None,
    signature: Signature | None = None,
) -> Path:
    """Write the ``lamp/`` folder under ``root``; its path."""
    folder = root / ARTIFACT_DIR
    folder.mkdir()
    (folder / MODEL_FILE).write_text(pair.model.text, encoding="utf-8")
    (folder / ENDPOINT_FILE).write_text(pair.endpoint.text, encoding="utf-8")
    text = json.dumps(manifest(pair, api), indent=2, sort_keys=True) + "\n"
    (folder / MANIFEST_FILE).write_text(text, encoding="utf-8")
    (folder / MLMODEL_FILE).write_text(
        mlmodel(pair, run_id, signature, with_api=api is not None), encoding="utf-8"
    )
    if api is not None:
        (folder / OPENAPI_FILE).write_text(api.text, encoding="utf-8")
    return folder


def written_files(*, with_api: bool) -> list[str]:
    """The paths, relative to the run's artifact root, that :func:`write_folder` writes."""
    names = [MODEL_FILE, ENDPOINT_FILE, MANIFEST_FILE, MLMODEL_FILE]
    if with_api:
        names.append(OPENAPI_FILE)
    return sorted(f"{ARTIFACT_DIR}/{name}" for name in names)
