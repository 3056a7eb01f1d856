"""The yardstick of bench/run.py: lamp's writes done by hand with `MlflowClient`, nothing more.

What someone would write without lamp: no validation beyond parsing YAML, no retries of its own, no
idempotency, no look-ups it does not need.

    handwritten_release.py release PROJECT EXPERIMENT KEY ALIAS MODEL_SPEC ENDPOINT_SPEC
    handwritten_release.py project-create PROJECT
    handwritten_release.py version-list PROJECT

``release`` is what ``lamp release`` writes: the experiment (looked up, created when missing), a
run tagged with the release key, the four files of ``lamp/`` (both specs, ``lamp.json``,
``MLmodel``), the spec tags, the run ended FINISHED, a model version of ``runs:/<run>/lamp`` and
its alias. ``version-list`` writes a project's versions as JSON page by page, holding one page
at a time. The tracking URI comes from ``MLFLOW_TRACKING_URI``; nothing here imports lamp.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import yaml
from mlflow import MlflowClient
from mlflow.entities import RunTag


def _log_specs(client: MlflowClient, run_id: str, model: Path, endpoint: Path) -> dict[str, str]:
    model_text, endpoint_text = model.read_text(), endpoint.read_text()
    spec = yaml.safe_load(model_text)["spec"]
    image = f"{spec['image']['repository']}:{spec['image']['tag']}"
    sha = {
        "model": hashlib.sha256(model_text.encode()).hexdigest(),
        "endpoint": hashlib.sha256(endpoint_text.encode()).hexdigest(),
    }
    manifest = {
        "image": image,
        "specs": {
            "model": {"file": model.name, "sha256": sha["model"]},
            "endpoint": {"file": endpoint.name, "sha256": sha["endpoint"]},
        },
    }
    mlmodel = {
        "artifact_path": "lamp",
        "flavors": {
            "lamp": {
                "model_spec": model.name,
                "endpoint_spec": endpoint.name,
                "image": image,
                "port": spec["server"]["port"],
                "routes": spec["routes"],
            }
        },
        "model_uuid": uuid.uuid4().hex,
        "run_id": run_id,
        "signature": {
            "inputs": json.dumps([{"type": "string", "name": "body", "required": False}]),
            "outputs": json.dumps([{"type": "string", "name": "body", "required": False}]),
            "params": None,
        },
        "utc_time_created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "lamp"
        folder.mkdir()
        (folder / "serving-model-spec.yaml").write_text(model_text)
        (folder / "serving-endpoint-spec.yaml").write_text(endpoint_text)
        (folder / "lamp.json").write_text(json.dumps(manifest, indent=2))
        (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))
        client.log_artifacts(run_id, str(folder), "lamp")
    tags = {
        "lamp.spec.model.sha256": sha["model"],
        "lamp.spec.endpoint.sha256": sha["endpoint"],
        "lamp.image": image,
    }
    client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
    client.set_terminated(run_id, "FINISHED")
    return tags


def _register(
    client: MlflowClient, run_id: str, project: str, alias: str, tags: dict[str, str]
) -> str:
    version = client.create_model_version(
        project,
        f"runs:/{run_id}/lamp",
        run_id=run_id,
        tags={k.replace(".", "_"): v for k, v in tags.items()},
    ).version
    client.set_registered_model_alias(project, alias, version)
    return str(version)


def _experiment_id(client: MlflowClient, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    return experiment.experiment_id if experiment else client.create_experiment(name)


def release(project: str, experiment: str, key: str, alias: str, model: str, endpoint: str) -> None:
    client = MlflowClient()
    experiment_id = _experiment_id(client, experiment)
    run = client.create_run(
        experiment_id,
        tags={"lamp.release.key": key, "lamp.project": project},
        run_name=f"release-{key}",
    )
    run_id = run.info.run_id
    tags = _log_specs(client, run_id, Path(model), Path(endpoint))
    version = _register(client, run_id, project, alias, tags)
    print(json.dumps({"run_id": run_id, "model_version": version}))


def version_list(project: str) -> None:
    # Streams page by page: the list's memory does not grow with the project.
    client = MlflowClient()
    token = None
    out = sys.stdout
    out.write("[")
    first = True
    while True:
        page = client.search_model_versions(
            f"name = '{project}'", max_results=1000, page_token=token
        )
        for mv in page:
            out.write(("" if first else ",") + json.dumps({"version": mv.version, **mv.tags}))
            first = False
        token = page.token
        if not token:
            break
    out.write("]\n")


def main(argv: list[str]) -> None:
    client_steps = {
        "release": release,
        "project-create": lambda name: print(MlflowClient().create_registered_model(name).name),
        "version-list": version_list,
    }
    if not argv or argv[0] not in client_steps:
        sys.exit(__doc__)
    client_steps[argv[0]](*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
