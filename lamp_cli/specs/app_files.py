"""The app's own files that ``lamp spec init`` completes: ``[tool.lamp]`` in pyproject.toml and
the local store in ``.gitignore``.

Each is added only where it is missing, appended after the file's bytes, which stay as they
were; nothing is ever rewritten. A ``[tool.lamp]`` table anchors the app: every command run
anywhere in it finds the same specs and the same local store, instead of making a second
``mlflow.db`` in whatever subdirectory it runs from.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

PYPROJECT = "pyproject.toml"
GITIGNORE = ".gitignore"
#: What lamp's local store leaves in the app: the SQLite file and the artifacts beside it.
STORE_PATTERNS = ("mlflow.db", "mlruns/")


@dataclass(frozen=True)
class Change:
    """What happened to one file: ``created``, ``added`` (appended), ``unchanged`` or
    ``refused`` (left alone because the addition would break it), said in ``message``."""

    path: Path
    action: str
    message: str

    @property
    def written(self) -> bool:
        return self.action in ("created", "added")


def _toml_string(text: str) -> str:
    # A JSON string is a TOML basic string: the same quotes and escapes.
    return json.dumps(text, ensure_ascii=False)


def tool_lamp_table(name: str, model_spec: str, endpoint_spec: str) -> str:
    """The ``[tool.lamp]`` table for an app whose specs are named ``name``."""
    return (
        "[tool.lamp]\n"
        "# lamp's settings for this app (`lamp config show`); paths are relative to this file.\n"
        f"experiment = {_toml_string(name)}\n"
        "# The LAMP project id the platform created for this app; correct it if it differs.\n"
        f"project = {_toml_string(name)}\n"
        f"model-spec = {_toml_string(model_spec)}\n"
        f"endpoint-spec = {_toml_string(endpoint_spec)}\n"
    )


def _relative(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def add_tool_lamp(root: Path, name: str, model_spec: Path, endpoint_spec: Path) -> Change:
    """Append ``[tool.lamp]`` to ``root/pyproject.toml`` (created when there is none)."""
    path = root / PYPROJECT
    table = tool_lamp_table(name, _relative(model_spec, root), _relative(endpoint_spec, root))
    if not path.exists():
        path.write_text(table, encoding="utf-8")
        return Change(path, "created", f"created {PYPROJECT} with [tool.lamp]")
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return Change(path, "refused", f"cannot add [tool.lamp] to {PYPROJECT}: not valid TOML")
    tool = data.get("tool")
    if isinstance(tool, dict) and "lamp" in tool:
        return Change(path, "unchanged", f"{PYPROJECT} already has [tool.lamp]; left as it is")
    newline = b"\r\n" if b"\r\n" in raw else b"\n"
    separator = b"" if not raw else (b"\n" if raw.endswith(b"\n") else b"\n\n")
    addition = table.encode("utf-8").replace(b"\n", newline)
    combined = raw + separator.replace(b"\n", newline) + addition
    try:
        tomllib.loads(combined.decode("utf-8"))
    except tomllib.TOMLDecodeError:
        # e.g. `tool = {...}` as an inline table, which a [tool.lamp] header cannot extend.
        return Change(
            path,
            "refused",
            f"cannot add [tool.lamp] to {PYPROJECT} without changing its tool table; "
            f"add it by hand:\n{table}",
        )
    with path.open("ab") as file:
        file.write(combined[len(raw) :])
    keys = "experiment, project, model-spec, endpoint-spec"
    return Change(path, "added", f"added [tool.lamp] to {PYPROJECT} ({keys})")


def _ignored(line: str) -> str:
    """A .gitignore line as the pattern it names, for comparison: no slashes around it."""
    return line.strip().strip("/")


def ignore_store(root: Path) -> Change:
    """Add the local store's files to ``root/.gitignore`` (created when there is none)."""
    path = root / GITIGNORE
    existed = path.exists()
    raw = path.read_bytes() if existed else b""
    present = {_ignored(line) for line in raw.decode("utf-8", "replace").splitlines()}
    missing = [p for p in STORE_PATTERNS if _ignored(p) not in present]
    if not missing:
        return Change(path, "unchanged", f"{GITIGNORE} already ignores the local store")
    newline = "\r\n" if b"\r\n" in raw else "\n"
    lines = ["# lamp's local MLflow store", *missing]
    text = ("" if not raw or raw.endswith(b"\n") else newline) + newline.join(lines) + newline
    with path.open("ab") as file:
        file.write(text.encode("utf-8"))
    patterns = ", ".join(missing)
    if existed:
        return Change(path, "added", f"added {patterns} to {GITIGNORE}")
    return Change(path, "created", f"created {GITIGNORE} with {patterns}")
