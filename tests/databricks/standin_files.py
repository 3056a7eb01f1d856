"""Bytes of the stand-in workspace: the Files API namespace on disk and its signed URLs.

One tree serves every way a client reaches a file, as in a workspace: the Files API
(`/api/2.0/fs/...`), the URLs of `fs/create-upload-url` / `fs/create-download-url`, and the
signed URLs of `mlflow/artifacts/credentials-for-write|read`. A run's artifacts therefore live
under `/WorkspaceInternal/Mlflow/Artifacts/<experiment>/Runs/<run>/artifacts`, the root the
Databricks SDK repository of MLflow derives from a `dbfs:/databricks/mlflow-tracking/...` URI,
and a Unity Catalog model version under `/Models/<catalog>/<schema>/<model>/<version>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import posixpath
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path

ROOTS = ("/WorkspaceInternal/Mlflow/Artifacts/", "/Models/", "/Volumes/")
SIGNED_PREFIX = "/signed/"
Reply = tuple[int, bytes, dict]


def json_reply(status: int, payload: dict, headers: dict | None = None) -> Reply:
    return (
        status,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )


class ApiError(Exception):
    """An error answer in Databricks' JSON shape: {"error_code": ..., "message": ...}."""

    def __init__(self, status: int, error_code: str, message: str, headers=None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.headers = headers or {}


def clean(path: str) -> str:
    """The absolute path without empty or `.` segments, or 400 for anything that escapes it."""
    if not path.startswith("/") or "\\" in path or "\x00" in path:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Path must be absolute: {path!r}")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Path must not contain '..': {path!r}")
    return "/" + "/".join(parts)


def normalize(path: str) -> str:
    """The canonical path a file is stored under, inside the roots a client may reach."""
    canonical = clean(path)
    if canonical.startswith("/Models/"):
        # Unity Catalog names are case-insensitive; the client spells them as its user did.
        head = canonical.split("/")
        canonical = "/".join(head[:2] + [p.lower() for p in head[2:5]] + head[5:])
    if not any((canonical + "/").startswith(root) for root in ROOTS):
        raise ApiError(403, "PERMISSION_DENIED", f"Path {canonical} is not accessible.")
    return canonical


class FileStore:
    """Thread-safe files on disk, addressed by their workspace path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.Lock()

    def _disk(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def write(self, path: str, data: bytes, overwrite: bool = True) -> None:
        disk = self._disk(path)
        with self.lock:
            if disk.is_dir():
                raise ApiError(409, "ALREADY_EXISTS", f"{path} is a directory.")
            if disk.exists() and not overwrite:
                raise ApiError(409, "ALREADY_EXISTS", "The file being created already exists.")
            disk.parent.mkdir(parents=True, exist_ok=True)
            # A reader never sees half a file: the bytes land under a temporary name first.
            tmp = disk.with_name(f".{disk.name}.{secrets.token_hex(4)}.part")
            tmp.write_bytes(data)
            tmp.replace(disk)

    def read(self, path: str) -> bytes:
        disk = self._disk(path)
        if not disk.is_file():
            raise ApiError(404, "NOT_FOUND", "The file being accessed is not found.")
        return disk.read_bytes()

    def is_file(self, path: str) -> bool:
        return self._disk(path).is_file()

    def is_dir(self, path: str) -> bool:
        return self._disk(path).is_dir()

    def mkdirs(self, path: str) -> None:
        self._disk(path).mkdir(parents=True, exist_ok=True)

    def move(self, old: str, new: str) -> None:
        with self.lock:
            if self._disk(old).exists():
                self._disk(new).parent.mkdir(parents=True, exist_ok=True)
                self._disk(old).rename(self._disk(new))

    def delete(self, path: str) -> None:
        disk = self._disk(path)
        if not disk.is_file():
            raise ApiError(404, "NOT_FOUND", "The file being accessed is not found.")
        disk.unlink()

    def metadata(self, path: str) -> dict[str, str]:
        stat = self._disk(path).stat()
        return {
            "Content-Length": str(stat.st_size),
            "Content-Type": "application/octet-stream",
            "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
        }

    def listdir(self, path: str, shown: str | None = None) -> list[dict]:
        """Directory entries as the Files API lists them, sorted, under the caller's spelling.

        A workspace answers with the path as asked: MLflow computes relative paths from the
        model name its user typed, which Unity Catalog matches case-insensitively.
        """
        disk = self._disk(path)
        if not disk.is_dir():
            raise ApiError(404, "NOT_FOUND", "The directory being accessed is not found.")
        entries = []
        for child in sorted(disk.iterdir()):
            if child.name.endswith(".part") and child.name.startswith("."):
                continue
            entry = {"path": posixpath.join(shown or path, child.name), "name": child.name}
            if child.is_dir():
                entry["is_directory"] = True
            else:
                stat = child.stat()
                entry.update(
                    is_directory=False,
                    file_size=stat.st_size,
                    last_modified=int(stat.st_mtime * 1000),
                )
            entries.append(entry)
        return entries


class Signer:
    """HMAC-signed, expiring URLs on the stand-in itself, standing in for presigned S3 URLs."""

    def __init__(self, base_url: str, ttl: float = 900.0) -> None:
        self.base_url = base_url
        self.ttl = ttl
        self._key = secrets.token_bytes(32)

    def _mac(self, op: str, path: str, expires: int) -> str:
        message = f"{op}\n{path}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def sign(self, op: str, path: str) -> str:
        expires = int(time.time() + self.ttl)
        quoted = urllib.parse.quote(path, safe="/")
        query = urllib.parse.urlencode(
            {"op": op, "expires": expires, "sig": self._mac(op, path, expires)}
        )
        return f"{self.base_url}{SIGNED_PREFIX.rstrip('/')}{quoted}?{query}"

    def verify(
        self, method: str, raw_path: str, query: dict[str, str], authorization: str | None
    ) -> str:
        """The workspace path a signed request may touch; S3-shaped XML errors otherwise."""
        if authorization:
            # A presigned URL carries its own authority: a client sending the workspace token
            # along would leak it to the storage host, and S3 refuses such requests outright.
            raise StorageError(400, "InvalidArgument", "Only one auth mechanism allowed")
        if set(query) != {"op", "expires", "sig"}:
            raise StorageError(400, "InvalidArgument", "Unexpected query parameters")
        op = query["op"]
        if (op, method) not in {("get", "GET"), ("get", "HEAD"), ("put", "PUT")}:
            raise StorageError(403, "AccessDenied", f"URL not signed for {method}")
        path = urllib.parse.unquote(raw_path[len(SIGNED_PREFIX) - 1 :])
        try:
            expires = int(query["expires"])
        except ValueError:
            raise StorageError(403, "AccessDenied", "Invalid expiry") from None
        if not hmac.compare_digest(self._mac(op, path, expires), query["sig"]):
            raise StorageError(403, "SignatureDoesNotMatch", "The signature does not match.")
        if time.time() > expires:
            # The exact body the Databricks SDK recognises as an expired AWS URL.
            raise StorageError(403, "AccessDenied", "Request has expired")
        return path


class StorageError(Exception):
    """An error answer in S3's XML shape, for requests to signed URLs."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>"
        ).encode()


class FilesApi:
    """The HTTP side: Files API, `fs/create-*-url`, signed URLs and run-artifact credentials.

    `guard(path, write)` lets the registry refuse paths of model versions that are not in a
    state to be written or read; `run_root(run_id)` gives a run's artifact root in this tree.
    """

    def __init__(
        self,
        files: FileStore,
        signer: Signer,
        guard: Callable[[str, bool], None],
        run_root: Callable[[str], str],
    ) -> None:
        self.files, self.signer, self.guard, self.run_root = files, signer, guard, run_root

    def _target(self, path: str, write: bool) -> str:
        target = normalize(path)
        if target.startswith("/Models/"):
            self.guard(target, write)
        return target

    def fs(self, method: str, path: str, params: dict, body: bytes) -> Reply:
        if path in ("/api/2.0/fs/create-upload-url", "/api/2.0/fs/create-download-url"):
            write = path.endswith("upload-url")
            target = self._target(params.get("path", ""), write)
            if not write and not self.files.is_file(target):
                raise ApiError(404, "NOT_FOUND", "The file being accessed is not found.")
            url = self.signer.sign("put" if write else "get", target)
            return json_reply(200, {"url": url, "headers": []})
        if path.startswith("/api/2.0/fs/directories/"):
            asked = urllib.parse.unquote(path[len("/api/2.0/fs/directories") :])
            target = self._target(asked, method == "PUT")
            if method == "PUT":
                self.files.mkdirs(target)
                return 204, b"", {}
            if not self.files.is_dir(target):
                raise ApiError(404, "NOT_FOUND", "The directory being accessed is not found.")
            if method == "HEAD":
                return 200, b"", {}
            entries = self.files.listdir(target, shown=clean(asked))
            start, size = int(params.get("page_token") or 0), int(params.get("page_size") or 1000)
            page = {"contents": entries[start : start + size]}
            if start + size < len(entries):
                page["next_page_token"] = str(start + size)
            return json_reply(200, page)
        if not path.startswith("/api/2.0/fs/files/"):
            raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")
        asked = urllib.parse.unquote(path[len("/api/2.0/fs/files") :])
        target = self._target(asked, method in ("PUT", "POST", "DELETE"))
        if method == "PUT":
            # Unset means overwrite, as the Files API documents.
            self.files.write(target, body, overwrite=params.get("overwrite") != "false")
            return 204, b"", {}
        if method == "POST":
            # The SDK starts multipart sessions only above 50 MiB (Config.files_ext_multipart_*).
            raise ApiError(501, "NOT_IMPLEMENTED", "Multipart uploads are not supported here.")
        if method == "DELETE":
            self.files.delete(target)
            return 204, b"", {}
        return 200, self.files.read(target), self.files.metadata(target)

    def signed(self, method: str, path: str, query: dict, body: bytes, headers: dict) -> Reply:
        target = normalize(self.signer.verify(method, path, query, headers.get("Authorization")))
        if method == "PUT":
            self._target(target, True)
            self.files.write(target, body)
            return 200, b"", {"ETag": f'"{hashlib.md5(body).hexdigest()}"'}
        if not self.files.is_file(target):
            raise StorageError(404, "NoSuchKey", "The specified key does not exist.")
        data, meta = self.files.read(target), self.files.metadata(target)
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", headers.get("Range") or "")
        if match is None:
            return 200, data, meta
        start = int(match.group(1))
        part = data[start : int(match.group(2)) + 1 if match.group(2) else len(data)]
        meta.update(
            {
                "Content-Length": str(len(part)),
                "Content-Range": f"bytes {start}-{start + len(part) - 1}/{len(data)}",
            }
        )
        return 206, part, meta

    def run_artifacts(self, method: str, op: str, params: dict) -> Reply:
        """`mlflow/artifacts/credentials-for-write|read` and `list`, on the same tree."""
        run_id = params.get("run_id", "")
        if op in ("credentials-for-write", "credentials-for-read") and method == "POST":
            root, kind = self.run_root(run_id), "put" if op.endswith("write") else "get"
            infos = []
            for rel in params.get("path", []):
                target = normalize(f"{root}/{rel}")
                if kind == "get" and not self.files.is_file(target):
                    raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Artifact {rel} not found.")
                infos.append(
                    {
                        "run_id": run_id,
                        "path": rel,
                        "signed_uri": self.signer.sign(kind, target),
                        "type": "AWS_PRESIGNED_URL",
                        "headers": [],
                    }
                )
            return json_reply(200, {"credential_infos": infos})
        if op == "list" and method == "GET":
            root = self.run_root(run_id)
            rel = (params.get("path") or "").strip("/")
            target = normalize(f"{root}/{rel}") if rel else root
            files = []
            if self.files.is_file(target):
                size = int(self.files.metadata(target)["Content-Length"])
                files = [{"path": rel, "is_dir": False, "file_size": size}]
            elif self.files.is_dir(target):
                for entry in self.files.listdir(target):
                    item = {"path": posixpath.relpath(entry["path"], root)}
                    item["is_dir"] = entry["is_directory"]
                    if not entry["is_directory"]:
                        item["file_size"] = entry["file_size"]
                    files.append(item)
            experiment = root.split("/")[4]
            uri = f"dbfs:/databricks/mlflow-tracking/{experiment}/{run_id}/artifacts"
            return json_reply(200, {"root_uri": uri, "files": files})
        raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {op}'")
