"""The Unity Catalog model registry of the stand-in, in memory, with UC's rules.

Endpoints and payloads are those of MLflow's `UcModelRegistryService`
(`/api/2.0/mlflow/unity-catalog/...`, protos in mlflow/protos/databricks_uc_registry_*.proto),
the service MLflow 3.17's `databricks-uc` store calls unless MLFLOW_ENABLE_UC_NATIVE_MODEL_REGISTRY
is set. Error codes and messages follow what a workspace answers where it is known; the report
of this helper lists the few worded here without a public reference.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import uuid

import yaml
from standin_files import ApiError, FileStore

# UC refuses these in tag keys; MLflow's own client does not check them.
RESERVED_TAG_CHARS = ".-/=:,"
STORAGE_MODES = ("s3", "default_storage", "sdk")
_FILTER = re.compile(r"^\s*(name|run_id)\s*=\s*'([^']*)'\s*$")
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)


def _now() -> int:
    return int(time.time() * 1000)


def _not_found(name: str) -> ApiError:
    return ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Routine or Model '{name}' does not exist.")


def _check_tag_key(key: str) -> None:
    if not key or len(key) > 255 or any(c in RESERVED_TAG_CHARS for c in key):
        raise ApiError(
            400,
            "INVALID_PARAMETER_VALUE",
            f"Tag name {key} is either not between 1-255 characters long or contains one or "
            "more of the reserved characters: . , - = / or :",
        )


class UnityCatalog:
    """Registered models and versions, keyed by their lower-case three-level name."""

    def __init__(self, files: FileStore, s3_client, bucket: str) -> None:
        self.files = files
        self.s3 = s3_client
        self.bucket = bucket
        self.lock = threading.RLock()
        self.schemas = {("main", "default")}
        self.models: dict[str, dict] = {}
        self.storage_mode = "s3"
        self.issued_s3_credentials: list[dict] = []

    # -- names ---------------------------------------------------------------------------------

    def create_catalog_schema(self, catalog: str, schema: str) -> None:
        with self.lock:
            self.schemas.add((catalog.lower(), schema.lower()))

    def _full_name(self, name: str | None) -> str:
        parts = (name or "").lower().split(".")
        if len(parts) != 3 or not all(parts) or any(re.search(r"[\s/]", p) for p in parts):
            raise ApiError(
                400,
                "INVALID_PARAMETER_VALUE",
                f"Bad model name: please specify all three levels of the model in the form of "
                f"catalog_name.schema_name.model_name, got '{name}'.",
            )
        catalog, schema, _ = parts
        if catalog not in {c for c, _ in self.schemas}:
            raise ApiError(404, "CATALOG_DOES_NOT_EXIST", f"Catalog '{catalog}' does not exist.")
        if (catalog, schema) not in self.schemas:
            raise ApiError(
                404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{catalog}.{schema}' does not exist."
            )
        return ".".join(parts)

    def _model(self, name: str | None) -> dict:
        full = self._full_name(name)
        if full not in self.models:
            raise _not_found(full)
        return self.models[full]

    def _version(self, name: str | None, version) -> tuple[dict, dict]:
        model = self._model(name)
        try:
            found = model["versions"].get(int(str(version)))
        except ValueError:
            found = None
        if found is None:
            raise ApiError(
                404,
                "RESOURCE_DOES_NOT_EXIST",
                f"Model Version '{model['name']}' with version {version} does not exist.",
            )
        return model, found

    # -- JSON shapes ---------------------------------------------------------------------------

    @staticmethod
    def _model_json(model: dict, full: bool = True) -> dict:
        out = {k: model[k] for k in ("name", "creation_timestamp", "last_updated_timestamp")}
        out.update(user_id=model["user_id"], description=model["description"])
        if full:
            out["aliases"] = [{"alias": a, "version": str(v)} for a, v in model["aliases"].items()]
            out["tags"] = [{"key": k, "value": v} for k, v in model["tags"].items()]
        return out

    @staticmethod
    def _version_json(model: dict, mv: dict, full: bool = True) -> dict:
        out = {"name": model["name"], "version": str(mv["version"])}
        for key in (
            "creation_timestamp",
            "last_updated_timestamp",
            "user_id",
            "description",
            "source",
            "run_id",
            "status",
            "status_message",
            "storage_location",
            "model_id",
        ):
            if mv.get(key) not in (None, ""):
                out[key] = mv[key]
        if full:
            # Search answers carry neither, so MLflow's client maps them to ModelVersionSearch.
            aliases = [a for a, v in model["aliases"].items() if v == mv["version"]]
            out["aliases"] = [{"alias": a, "version": str(mv["version"])} for a in aliases]
            out["tags"] = [{"key": k, "value": v} for k, v in mv["tags"].items()]
        return out

    # -- dispatch ------------------------------------------------------------------------------

    def handle(self, method: str, op: str, params: dict, user: str) -> dict:
        route = _ROUTES.get((method, op))
        if route is None:
            raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {op}'")
        with self.lock:
            return route(self, params, user)

    def create_model(self, p: dict, user: str) -> dict:
        full = self._full_name(p.get("name"))
        tags = {t["key"]: t.get("value", "") for t in p.get("tags", [])}
        for key in tags:
            _check_tag_key(key)
        if full in self.models:
            raise ApiError(
                400, "RESOURCE_ALREADY_EXISTS", f"Routine or Model '{full}' already exists."
            )
        now = _now()
        self.models[full] = {
            "name": full,
            "id": uuid.uuid4().hex,
            "creation_timestamp": now,
            "last_updated_timestamp": now,
            "user_id": user,
            "description": p.get("description", ""),
            "tags": tags,
            "aliases": {},
            "versions": {},
            "next_version": 1,
        }
        return {"registered_model": self._model_json(self.models[full])}

    def get_model(self, p: dict, user: str) -> dict:
        return {"registered_model": self._model_json(self._model(p.get("name")))}

    def update_model(self, p: dict, user: str) -> dict:
        model = self._model(p.get("name"))
        if p.get("new_name"):
            new = self._full_name(p["new_name"])
            if new in self.models:
                raise ApiError(
                    400, "RESOURCE_ALREADY_EXISTS", f"Routine or Model '{new}' already exists."
                )
            del self.models[model["name"]]
            # Files of default-storage versions are addressed by name, so they move along.
            old_root, new_root = (f"/Models/{n.replace('.', '/')}" for n in (model["name"], new))
            self.files.move(old_root, new_root)
            for mv in model["versions"].values():
                if mv["storage"] == "files":
                    mv["storage_location"] = f"{new_root}/{mv['version']}"
            model["name"] = new
            self.models[new] = model
        if "description" in p:
            model["description"] = p["description"]
        model["last_updated_timestamp"] = _now()
        return {"registered_model": self._model_json(model)}

    def delete_model(self, p: dict, user: str) -> dict:
        del self.models[self._model(p.get("name"))["name"]]
        return {}

    def search_models(self, p: dict, user: str) -> dict:
        models = [self._model_json(self.models[n], full=False) for n in sorted(self.models)]
        return self._page(models, p, "registered_models")

    @staticmethod
    def _page(items: list, p: dict, key: str) -> dict:
        start = int(p.get("page_token") or 0)
        size = int(p.get("max_results") or 1000)
        out = {key: items[start : start + size]}
        if start + size < len(items):
            out["next_page_token"] = str(start + size)
        return out

    def set_model_tag(self, p: dict, user: str) -> dict:
        model = self._model(p.get("name"))
        _check_tag_key(p.get("key", ""))
        model["tags"][p["key"]] = p.get("value", "")
        return {}

    def delete_model_tag(self, p: dict, user: str) -> dict:
        self._model(p.get("name"))["tags"].pop(p.get("key"), None)
        return {}

    def create_version(self, p: dict, user: str) -> dict:
        model = self._model(p.get("name"))
        tags = {t["key"]: t.get("value", "") for t in p.get("tags", [])}
        for key in tags:
            _check_tag_key(key)
        number = model["next_version"]
        model["next_version"] += 1
        now = _now()
        mode = "s3" if self.storage_mode == "s3" else "files"
        if mode == "s3":
            location = f"s3://{self.bucket}/models/{model['id']}/versions/{uuid.uuid4().hex}"
        else:
            location = "/Models/" + model["name"].replace(".", "/") + f"/{number}"
        mv = {
            "version": number,
            "creation_timestamp": now,
            "last_updated_timestamp": now,
            "user_id": user,
            "description": p.get("description", ""),
            "source": p.get("source", ""),
            "run_id": p.get("run_id", ""),
            "model_id": p.get("model_id", ""),
            "status": "PENDING_REGISTRATION",
            "status_message": "",
            "storage_location": location,
            "storage": mode,
            "tags": tags,
        }
        model["versions"][number] = mv
        return {"model_version": self._version_json(model, mv)}

    def get_version(self, p: dict, user: str) -> dict:
        model, mv = self._version(p.get("name"), p.get("version"))
        return {"model_version": self._version_json(model, mv)}

    def update_version(self, p: dict, user: str) -> dict:
        model, mv = self._version(p.get("name"), p.get("version"))
        if "description" in p:
            mv["description"] = p["description"]
        mv["last_updated_timestamp"] = _now()
        return {"model_version": self._version_json(model, mv)}

    def delete_version(self, p: dict, user: str) -> dict:
        model, mv = self._version(p.get("name"), p.get("version"))
        del model["versions"][mv["version"]]
        model["aliases"] = {a: v for a, v in model["aliases"].items() if v != mv["version"]}
        return {}

    def search_versions(self, p: dict, user: str) -> dict:
        if "order_by" in p:
            raise ApiError(
                400,
                "INVALID_PARAMETER_VALUE",
                "order_by is not supported for model version search in Unity Catalog.",
            )
        match = _FILTER.match(p.get("filter") or "")
        if match is None:
            raise ApiError(
                400,
                "INVALID_PARAMETER_VALUE",
                f"Unsupported filter query: {p.get('filter')!r}. Model version search in Unity "
                "Catalog supports exactly one condition, name='<catalog.schema.model>' or "
                "run_id='<run id>'.",
            )
        field, value = match.groups()
        if field == "name":
            model = self._model(value)
            found = [(model, mv) for mv in model["versions"].values()]
        else:
            found = [
                (m, mv)
                for m in self.models.values()
                for mv in m["versions"].values()
                if mv["run_id"] == value
            ]
        found.sort(key=lambda pair: (pair[0]["name"], -pair[1]["version"]))
        versions = [self._version_json(m, mv, full=False) for m, mv in found]
        return self._page(versions, p, "model_versions")

    def set_version_tag(self, p: dict, user: str) -> dict:
        _, mv = self._version(p.get("name"), p.get("version"))
        _check_tag_key(p.get("key", ""))
        mv["tags"][p["key"]] = p.get("value", "")
        return {}

    def delete_version_tag(self, p: dict, user: str) -> dict:
        self._version(p.get("name"), p.get("version"))[1]["tags"].pop(p.get("key"), None)
        return {}

    def set_alias(self, p: dict, user: str) -> dict:
        model, mv = self._version(p.get("name"), p.get("version"))
        alias = (p.get("alias") or "").lower()
        if not alias or _RESERVED_ALIAS.match(alias):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Invalid alias name '{alias}'.")
        model["aliases"][alias] = mv["version"]
        return {}

    def delete_alias(self, p: dict, user: str) -> dict:
        self._model(p.get("name"))["aliases"].pop((p.get("alias") or "").lower(), None)
        return {}

    def get_by_alias(self, p: dict, user: str) -> dict:
        model = self._model(p.get("name"))
        alias = (p.get("alias") or "").lower()
        if alias not in model["aliases"]:
            raise ApiError(
                404,
                "RESOURCE_DOES_NOT_EXIST",
                f"Alias '{alias}' does not exist on Routine or Model '{model['name']}'.",
            )
        mv = model["versions"][model["aliases"][alias]]
        return {"model_version": self._version_json(model, mv)}

    def download_uri(self, p: dict, user: str) -> dict:
        _, mv = self._version(p.get("name"), p.get("version"))
        return {"artifact_uri": mv["storage_location"]}

    def credentials(self, p: dict, user: str) -> dict:
        model, mv = self._version(p.get("name"), p.get("version"))
        write = p.get("operation") == "MODEL_VERSION_OPERATION_READ_WRITE"
        wanted = "PENDING_REGISTRATION" if write else "READY"
        if mv["status"] != wanted:
            raise ApiError(
                400,
                "INVALID_PARAMETER_VALUE",
                f"Model version {model['name']}/{mv['version']} is {mv['status']}: "
                f"{'write' if write else 'read'} credentials need {wanted}.",
            )
        creds = {"expiration_time": _now() + 3600 * 1000}
        if mv["storage"] == "files":
            creds["storage_mode"] = "DEFAULT_STORAGE"
        else:
            aws = {
                "access_key_id": "ASIA" + secrets.token_hex(8).upper(),
                "secret_access_key": secrets.token_urlsafe(30),
                "session_token": secrets.token_urlsafe(60),
            }
            self.issued_s3_credentials.append(aws)
            creds.update(storage_mode="CUSTOMER_HOSTED", aws_temp_credentials=aws)
        return {"credentials": creds}

    def finalize(self, p: dict, user: str) -> dict:
        model, mv = self._version(p.get("name"), p.get("version"))
        if mv["status"] != "PENDING_REGISTRATION":
            raise ApiError(
                400,
                "INVALID_PARAMETER_VALUE",
                f"Model version {model['name']}/{mv['version']} is already {mv['status']}.",
            )
        problem = self._signature_problem(mv)
        if problem:
            mv.update(status="FAILED_REGISTRATION", status_message=problem)
            raise ApiError(400, "INVALID_PARAMETER_VALUE", problem)
        mv.update(status="READY", last_updated_timestamp=_now())
        return {"model_version": self._version_json(model, mv)}

    def _read_version_file(self, mv: dict, name: str) -> bytes | None:
        if mv["storage"] == "files":
            path = f"{mv['storage_location']}/{name}"
            return self.files.read(path) if self.files.is_file(path) else None
        key = mv["storage_location"].split(f"s3://{self.bucket}/", 1)[1] + f"/{name}"
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None

    def _signature_problem(self, mv: dict) -> str | None:
        raw = self._read_version_file(mv, "MLmodel")
        if raw is None:
            return "Model version files do not include an MLmodel file."
        try:
            signature = (yaml.safe_load(raw) or {}).get("signature") or {}
            inputs = json.loads(signature.get("inputs") or "null")
            outputs = json.loads(signature.get("outputs") or "null")
        except (yaml.YAMLError, ValueError, AttributeError):
            return "The MLmodel file of the model version cannot be parsed."
        if not inputs or not outputs:
            return (
                "Model versions in Unity Catalog need a signature with both inputs and outputs; "
                "the MLmodel file has none."
            )
        return None

    def files_access(self, path: str, write: bool) -> None:
        """May a Files API or presigned request touch this path under /Models?"""
        parts = path.split("/")
        if len(parts) < 6:
            raise ApiError(403, "PERMISSION_DENIED", f"Path {path} is not accessible.")
        with self.lock:
            model, mv = self._version(".".join(parts[2:5]), parts[5])
            if mv["storage"] != "files":
                raise ApiError(404, "NOT_FOUND", "The file being accessed is not found.")
            if write and mv["status"] != "PENDING_REGISTRATION":
                raise ApiError(
                    403,
                    "PERMISSION_DENIED",
                    f"Model version {model['name']}/{mv['version']} is {mv['status']} "
                    "and no longer writable.",
                )


_ROUTES = {
    ("POST", "registered-models/create"): UnityCatalog.create_model,
    ("GET", "registered-models/get"): UnityCatalog.get_model,
    ("PATCH", "registered-models/update"): UnityCatalog.update_model,
    ("DELETE", "registered-models/delete"): UnityCatalog.delete_model,
    ("GET", "registered-models/search"): UnityCatalog.search_models,
    ("POST", "registered-models/set-tag"): UnityCatalog.set_model_tag,
    ("DELETE", "registered-models/delete-tag"): UnityCatalog.delete_model_tag,
    ("POST", "registered-models/alias"): UnityCatalog.set_alias,
    ("DELETE", "registered-models/alias"): UnityCatalog.delete_alias,
    ("GET", "registered-models/alias"): UnityCatalog.get_by_alias,
    ("POST", "model-versions/create"): UnityCatalog.create_version,
    ("GET", "model-versions/get"): UnityCatalog.get_version,
    ("PATCH", "model-versions/update"): UnityCatalog.update_version,
    ("DELETE", "model-versions/delete"): UnityCatalog.delete_version,
    ("GET", "model-versions/search"): UnityCatalog.search_versions,
    ("POST", "model-versions/set-tag"): UnityCatalog.set_version_tag,
    ("DELETE", "model-versions/delete-tag"): UnityCatalog.delete_version_tag,
    ("GET", "model-versions/get-download-uri"): UnityCatalog.download_uri,
    ("POST", "model-versions/generate-temporary-credentials"): UnityCatalog.credentials,
    ("POST", "model-versions/finalize"): UnityCatalog.finalize,
    ("POST", "model-versions/emit-lineage"): lambda self, p, user: {},
    ("GET", "registered-models:is-databricks-sdk-models-artifact-repository-enabled"): (
        lambda self, p, user: {
            "is_databricks_sdk_models_artifact_repository_enabled": self.storage_mode == "sdk"
        }
    ),
}
