"""A loopback stand-in for a Databricks workspace whose model registry is Unity Catalog.

MLflow's real client (`MLFLOW_TRACKING_URI=databricks`) and the real Databricks SDK talk to it
as to a workspace: JSON in Databricks' shape, bearer tokens (a PAT, or OAuth tokens it issues:
standin_auth.py), tracking calls checked against Databricks' rules and forwarded to a real
`mlflow server`, run artifacts and model-version files moved the way MLflow 3.17 moves them
(Files API and signed URLs: standin_files.py, or S3 temporary credentials against a
`moto_server`), and the Unity Catalog registry in memory (standin_uc.py). Every request is
logged for the tests with a hash of the token presented, never the token.
"""

from __future__ import annotations

import collections
import json
import posixpath
import re
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from standin_auth import WORKSPACE_ID, Identities, token_hash
from standin_files import (
    SIGNED_PREFIX,
    ApiError,
    FilesApi,
    FileStore,
    Reply,
    Signer,
    StorageError,
    json_reply,
)
from standin_uc import UnityCatalog

RUNS_ROOT = "/WorkspaceInternal/Mlflow/Artifacts"
TRACKING = "/api/2.0/mlflow/"
LEGACY_REGISTRY = re.compile(
    r"^/api/2\.0/mlflow/((databricks/)?(registered-models|model-versions)"
    r"|transition-requests|comments|registry-webhooks)/"
)
LEGACY_DISABLED = (
    "The legacy workspace model registry is disabled for the current Databricks workspace"
)


class Workspace:
    """State of the stand-in: identities, folders, log, faults, and the stores behind the API."""

    def __init__(self, root: Path, backend_url: str, s3_client, bucket: str) -> None:
        self.backend_url = backend_url.rstrip("/")
        self.url = ""  # set once the server listens
        self.auth = Identities()
        self.legacy_registry = False
        self.lock = threading.Lock()
        self.log: list[dict] = []
        self.counts: collections.Counter[str] = collections.Counter()
        self.faults: list[dict] = []
        self.tree: dict[str, tuple[str, int]] = {}
        home = ("/", "/Users", "/Shared", f"/Users/{self.auth.user}")
        for path in (*home, f"/Users/{self.auth.client_id}"):
            self._add_node(path, "DIRECTORY")
        self.files = FileStore(root)
        self.uc = UnityCatalog(self.files, s3_client, bucket)
        self.signer: Signer | None = None
        self.api: FilesApi | None = None
        self._run_experiments: dict[str, str] = {}

    def listening_at(self, url: str) -> None:
        self.url = self.auth.url = url
        self.signer = Signer(url)
        self.api = FilesApi(self.files, self.signer, self.uc.files_access, self.run_root)

    # -- test controls -------------------------------------------------------------------------

    def reset_log(self) -> None:
        with self.lock:
            self.log.clear()
            self.counts.clear()

    def inject(self, status: int, count: int, path_prefix: str) -> None:
        """The next `count` requests whose path starts with `path_prefix` answer `status`."""
        with self.lock:
            self.faults.append({"status": status, "left": count, "prefix": path_prefix})

    def secrets(self) -> list[str]:
        """Every credential value the stand-in knows, for canaries on logs and URLs."""
        s3 = self.uc.issued_s3_credentials
        keys = [c[k] for c in s3 for k in ("secret_access_key", "session_token")]
        auth = self.auth
        return [auth.pat, auth.client_secret, auth.github_request_token, *auth.issued(), *keys]

    def take_fault(self, path: str) -> int | None:
        with self.lock:
            for fault in self.faults:
                if fault["left"] > 0 and path.startswith(fault["prefix"]):
                    fault["left"] -= 1
                    return fault["status"]
        return None

    def record(self, entry: dict) -> None:
        with self.lock:
            self.log.append(entry)
            self.counts[entry["path"]] += 1

    # -- workspace folders ---------------------------------------------------------------------

    def _add_node(self, path: str, kind: str, object_id: int | None = None) -> None:
        self.tree[path] = (kind, object_id or len(self.tree) + 1000)

    def mkdirs(self, path: str) -> dict:
        if not path.startswith("/"):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Path ({path}) doesn't start with '/'")
        path = posixpath.normpath(path)
        with self.lock:
            if path not in self.tree and posixpath.dirname(path) == "/Users":
                raise ApiError(400, "DIRECTORY_PROTECTED", "Folder Users is protected")
            parts = path.strip("/").split("/")
            for i in range(1, len(parts) + 1):
                sub = "/" + "/".join(parts[:i])
                if sub in self.tree and self.tree[sub][0] != "DIRECTORY":
                    raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"Path ({sub}) already exists.")
                if sub not in self.tree:
                    self._add_node(sub, "DIRECTORY")
        return {}

    def get_status(self, path: str) -> dict:
        with self.lock:
            node = self.tree.get(posixpath.normpath(path or "?"))
        if node is None:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
        return {"object_type": node[0], "path": path, "object_id": node[1]}

    def check_experiment_name(self, name: str | None) -> None:
        """Databricks' rules: an experiment is an absolute path in an existing folder."""
        if not name or not name.startswith("/"):
            raise ApiError(
                400,
                "INVALID_PARAMETER_VALUE",
                f"Got an invalid experiment name '{name}'. An experiment name must be an "
                "absolute path within the Databricks workspace, e.g. "
                "'/Users/<some-username>/my-experiment'.",
            )
        path = posixpath.normpath(name)
        parent = posixpath.dirname(path)
        with self.lock:
            node, folder = self.tree.get(path), self.tree.get(parent)
        if folder is None or folder[0] != "DIRECTORY":
            raise ApiError(
                404, "RESOURCE_DOES_NOT_EXIST", f"Parent directory {parent} does not exist."
            )
        if node is not None and node[0] == "DIRECTORY":
            base = posixpath.basename(path)
            raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"Node named '{base}' already exists")

    # -- tracking backend ----------------------------------------------------------------------

    def forward(self, method: str, path: str, query: str, body: bytes) -> tuple[int, bytes]:
        url = f"{self.backend_url}{path}" + (f"?{query}" if query else "")
        headers = {"Content-Type": "application/json"} if body else {}
        resp = requests.request(method, url, data=body or None, headers=headers, timeout=60)
        return resp.status_code, resp.content

    def run_root(self, run_id: str) -> str:
        """Where a run's artifacts live in the Files API tree, as the SDK repository derives it."""
        with self.lock:
            experiment = self._run_experiments.get(run_id)
        if experiment is None:
            query = urllib.parse.urlencode({"run_id": run_id})
            status, body = self.forward("GET", f"{TRACKING}runs/get", query, b"")
            if status != 200:
                raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Run '{run_id}' not found.")
            experiment = json.loads(body)["run"]["info"]["experiment_id"]
            with self.lock:
                self._run_experiments[run_id] = experiment
        return f"{RUNS_ROOT}/{experiment}/Runs/{run_id}/artifacts"

    @staticmethod
    def rewrite(obj):
        """Artifact locations as a workspace reports them, so MLflow picks its Databricks repos."""
        if isinstance(obj, list):
            return [Workspace.rewrite(o) for o in obj]
        if not isinstance(obj, dict):
            return obj
        out = {k: Workspace.rewrite(v) for k, v in obj.items()}
        exp = out.get("experiment_id")
        root = f"dbfs:/databricks/mlflow-tracking/{exp}"
        if exp is not None and "artifact_location" in out:
            out["artifact_location"] = root
        run = out.get("run_id") or out.get("run_uuid")
        if exp is not None and "artifact_uri" in out and run:
            out["artifact_uri"] = f"{root}/{run}/artifacts"
        elif exp is not None and "artifact_uri" in out and out.get("model_id"):
            out["artifact_uri"] = f"{root}/logged_models/{out['model_id']}/artifacts"
        return out

    def tracking(self, method: str, op: str, raw_query: str, params: dict, body: bytes, user: str):
        if op == "experiments/create":
            self.check_experiment_name(params.get("name"))
        elif op == "experiments/update" and params.get("new_name"):
            self.check_experiment_name(params["new_name"])
        elif op == "runs/create":
            params["user_id"] = user  # the token's identity, not the client's claim
            body = json.dumps(params).encode()
        status, content = self.forward(method, TRACKING + op, raw_query, body)
        try:
            payload = json.loads(content) if content else {}
        except ValueError:
            return status, content, {}
        with self.lock:
            if status == 200 and op == "experiments/create":
                name = posixpath.normpath(params["name"])
                self._add_node(name, "MLFLOW_EXPERIMENT", int(payload["experiment_id"]))
            if status == 200 and op == "experiments/delete":
                gone = str(params.get("experiment_id"))
                for path, (kind, oid) in list(self.tree.items()):
                    if kind == "MLFLOW_EXPERIMENT" and str(oid) == gone:
                        del self.tree[path]
        return json_reply(status, Workspace.rewrite(payload))

    # -- routing -------------------------------------------------------------------------------

    def route(self, method: str, url: urllib.parse.SplitResult, body: bytes, headers) -> Reply:
        path, auth = url.path, headers.get("Authorization")
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        if path == "/.well-known/databricks-config":
            return json_reply(200, self.auth.host_metadata())
        if path == "/oidc/.well-known/oauth-authorization-server":
            return json_reply(200, self.auth.oidc_discovery())
        if path == "/oidc/v1/token" and method == "POST":
            form = dict(urllib.parse.parse_qsl(body.decode()))
            return json_reply(*self.auth.token_endpoint(form, auth))
        if path == "/github-actions/idtoken" and method == "GET":
            return json_reply(*self.auth.github_id_token(auth, query.get("audience", "")))
        if path.startswith(SIGNED_PREFIX):
            return self.api.signed(method, path, query, body, headers)
        if not path.startswith("/api/"):
            raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")
        user = self.auth.authenticate(auth)
        params = dict(query)
        if body and not path.startswith("/api/2.0/fs/files/"):
            try:
                params.update(json.loads(body))
            except ValueError:
                raise ApiError(
                    400, "MALFORMED_REQUEST", "Invalid JSON in the request body"
                ) from None
        if path.startswith("/api/2.0/preview/mlflow/"):
            path = TRACKING + path[len("/api/2.0/preview/mlflow/") :]
        if path == "/api/2.0/preview/scim/v2/Me":
            return json_reply(200, self.auth.me(user))
        if path == "/api/2.0/workspace/mkdirs" and method == "POST":
            return json_reply(200, self.mkdirs(params.get("path", "")))
        if path == "/api/2.0/workspace/get-status" and method == "GET":
            return json_reply(200, self.get_status(params.get("path", "")))
        if path.startswith("/api/2.0/fs/"):
            return self.api.fs(method, path, params, body)
        if not path.startswith(TRACKING):
            raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")
        op = path[len(TRACKING) :]
        if op.startswith("unity-catalog/"):
            return json_reply(
                200, self.uc.handle(method, op[len("unity-catalog/") :], params, user)
            )
        if op.startswith("artifacts/"):
            return self.api.run_artifacts(method, op[len("artifacts/") :], params)
        if LEGACY_REGISTRY.match(path) and not self.legacy_registry:
            raise ApiError(403, "PERMISSION_DENIED", LEGACY_DISABLED)
        return self.tracking(method, op, url.query, params, body, user)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandinServer

    def log_message(self, format, *args) -> None:
        pass  # the structured request log replaces the stderr lines

    def do_GET(self) -> None:
        ws = self.server.workspace
        url = urllib.parse.urlsplit(self.path)
        auth = self.headers.get("Authorization")
        token = auth.split(" ", 1)[1] if auth and " " in auth else None
        self._entry = {
            "method": self.command,
            "path": url.path,
            "query": url.query,
            "url": self.path,
            "status": 0,
            "token_sha256": token_hash(token) if token else None,
            "auth_scheme": auth.split(" ", 1)[0] if auth else None,
            "time": time.time(),
        }
        try:
            body = self._body()
            fault = ws.take_fault(url.path)
            if fault is not None:
                code = "REQUEST_LIMIT_EXCEEDED" if fault == 429 else "TEMPORARILY_UNAVAILABLE"
                message = "Too many requests. Please wait a moment and try again."
                raise ApiError(fault, code, message, {"Retry-After": "1"})
            self._send(*ws.route(self.command, url, body, self.headers))
        except ApiError as e:
            error = {"error_code": e.error_code, "message": e.message}
            self._send(*json_reply(e.status, error, e.headers))
        except StorageError as e:
            self._send(e.status, e.body, {"Content-Type": "application/xml"})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away mid-answer
        except Exception as e:  # a bug of the stand-in must reach the test, not hang the client
            if self._entry is None:
                raise
            self._send(*json_reply(500, {"error_code": "INTERNAL_ERROR", "message": repr(e)}))
        finally:
            if self._entry is not None:  # nothing was answered
                ws.record(self._entry)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data = b""
        while size := int(self.rfile.readline().split(b";")[0], 16):
            data += self.rfile.read(size)
            self.rfile.readline()
        self.rfile.readline()
        return data

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        # Logged before the answer leaves: a client must never see a response its log lacks.
        self._entry["status"] = status
        self.server.workspace.record(self._entry)
        self._entry = None
        self.send_response(status)
        headers = {
            "x-databricks-org-id": WORKSPACE_ID,
            "x-request-id": str(uuid.uuid4()),
            **(headers or {}),
        }
        headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.workspace = workspace
        workspace.listening_at(f"http://127.0.0.1:{self.server_address[1]}")
        self.thread = threading.Thread(target=self.serve_forever, name="databricks-standin")
        self.thread.daemon = True

    def start(self) -> StandinServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=10)
