"""Settings resolution: flag > environment > ``[tool.lamp]`` in pyproject.toml > embedded default.

Every resolved value remembers where it came from, so ``lamp config show`` can explain it and the
embedded default can be announced instead of silently used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lamp_cli.errors import InvalidInput, Problem
from lamp_cli.layout import ENDPOINT_FILE, MODEL_FILE
from lamp_cli.secrets import redact

#: The embedded default store's file, in the app's root (see :func:`resolve`).
EMBEDDED_DB_FILE = "mlflow.db"
#: Where every command looks for the spec files when none is configured (under the project).
DEFAULT_SPEC_DIR = "specs"
LEGACY_FILE_STORE = "mlruns"


@dataclass(frozen=True)
class SettingDef:
    name: str  # the pyproject key and the flag name without dashes
    env: tuple[str, ...]
    help: str
    is_path: bool = False
    #: A list: an array of strings in pyproject.toml, comma-separated in the environment.
    is_list: bool = False


SETTINGS: tuple[SettingDef, ...] = (
    SettingDef("tracking-uri", ("MLFLOW_TRACKING_URI",), "MLflow tracking URI"),
    SettingDef("registry-uri", ("MLFLOW_REGISTRY_URI",), "MLflow model registry URI"),
    SettingDef("experiment", ("LAMP_EXPERIMENT",), "default experiment name"),
    SettingDef("project", ("LAMP_PROJECT_ID",), "default LAMP project id"),
    SettingDef("model-spec", ("LAMP_MODEL_SPEC",), "Serving Model Spec path", is_path=True),
    SettingDef(
        "endpoint-spec", ("LAMP_ENDPOINT_SPEC",), "Serving Endpoint Spec path", is_path=True
    ),
    SettingDef("uc-catalog", ("LAMP_UC_CATALOG",), "Unity Catalog catalog of bare project ids"),
    SettingDef("uc-schema", ("LAMP_UC_SCHEMA",), "Unity Catalog schema of bare project ids"),
    SettingDef(
        "interpolate-allow",
        ("LAMP_INTERPOLATE_ALLOW",),
        "credential-looking variables ${...} may expand in specs",
        is_list=True,
    ),
    # A bare name is looked up on PATH; a path under [tool.lamp] is relative to pyproject.toml.
    SettingDef("helm", ("LAMP_HELM",), "helm binary that renders the chart"),
    SettingDef("kube-version", ("LAMP_KUBE_VERSION",), "Kubernetes version the chart renders for"),
    SettingDef("app", ("LAMP_APP",), "the FastAPI app, MODULE:ATTR"),
    SettingDef("app-dir", ("LAMP_APP_DIR",), "directory the app is imported from", is_path=True),
    SettingDef(
        "app-python", ("LAMP_APP_PYTHON",), "interpreter that imports the app", is_path=True
    ),
    SettingDef("openapi", ("LAMP_OPENAPI",), "saved OpenAPI document of the app", is_path=True),
)
_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one lamp invocation."""

    tracking_uri: str
    registry_uri: str | None = None
    experiment: str | None = None
    project: str | None = None
    model_spec: Path | None = None
    endpoint_spec: Path | None = None
    uc_catalog: str | None = None
    uc_schema: str | None = None
    interpolate_allow: tuple[str, ...] = ()
    helm: str | None = None
    kube_version: str | None = None
    app: str | None = None
    app_dir: Path | None = None
    app_python: Path | None = None
    openapi: Path | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    #: The project directory (that of the pyproject.toml holding [tool.lamp]), else the working
    #: directory: where the embedded store lives and provenance is read.
    cwd: Path = field(default_factory=Path.cwd)

    @property
    def uses_embedded_default(self) -> bool:
        return self.sources.get("tracking-uri") == "default"

    @property
    def effective_registry_uri(self) -> str:
        """The registry lamp talks to: as set, else derived from the tracking URI."""
        return self.registry_uri or derived_registry_uri(self.tracking_uri)

    @property
    def registry_reason(self) -> str:
        """Why :attr:`effective_registry_uri` is what it is, in words for ``config show``."""
        if self.registry_uri:
            return f"set ({self.source('registry-uri')})"
        if self.effective_registry_uri != self.tracking_uri:
            return "Unity Catalog, MLflow's default registry for a Databricks tracking URI"
        return "same as the tracking URI"

    @property
    def registry_kind(self) -> str:
        """``unity-catalog``, ``workspace`` (Databricks' legacy registry) or ``mlflow``."""
        return registry_kind(self.effective_registry_uri)

    def source(self, name: str) -> str:
        return self.sources.get(name, "unset")

    def with_flags(self, flags: Mapping[str, str | Path | None]) -> Settings:
        """These settings with a command's own flags (``{"app": ...}``) put above the rest."""
        changes: dict[str, Any] = {}
        sources = dict(self.sources)
        for name, value in flags.items():
            spec = _BY_NAME[name]
            if value in (None, ""):
                continue
            changes[name.replace("-", "_")] = Path(value).expanduser() if spec.is_path else value
            sources[name] = "flag"
        return replace(self, **changes, sources=sources) if changes else self

    def legacy_file_store(self) -> Path | None:
        """The ``./mlruns`` file store that MLflow would silently pick, if there is one."""
        root = self.cwd / LEGACY_FILE_STORE
        try:
            for entry in root.iterdir():
                if entry.is_dir() and entry.name.isdigit() and (entry / "meta.yaml").exists():
                    return root
        except OSError:
            return None
        return None

    def describe(self) -> list[dict[str, Any]]:
        """Each setting with its value and source; credentials in URIs are redacted."""
        rows = []
        for spec in SETTINGS:
            value = getattr(self, spec.name.replace("-", "_"))
            if spec.is_list:
                value = ", ".join(value) or None
            shown = redact(str(value)) if value is not None else None
            rows.append({"name": spec.name, "value": shown, "source": self.source(spec.name)})
            if spec.name == "registry-uri" and value is None:
                rows[-1]["value"] = redact(self.effective_registry_uri)
                rows[-1]["source"] = f"derived: {self.registry_reason}"
        return rows


def _scheme(uri: str) -> str:
    return uri.split(":", 1)[0].lower() if ":" in uri else uri.lower()


#: The stores MLflow's client opens, by URI scheme (a ``+driver`` suffix aside).
KNOWN_SCHEMES = (
    "sqlite", "postgresql", "mysql", "mssql", "http", "https", "file",
    "databricks", "databricks-uc", "uc",
)  # fmt: skip


def env_number(name: str, default: float) -> float:
    """A numeric setting from the environment; ``default`` when unset or not a number."""
    try:
        return float(os.environ[name])
    except (KeyError, ValueError):
        return default


def check_uri(uri: str, what: str) -> str:
    """``uri`` when MLflow can open it; an invalid input (exit 3) naming the forms otherwise."""
    if ":" not in uri:
        return uri  # databricks, databricks-uc, or a local path (MLflow's file store)
    if _scheme(uri).split("+", 1)[0] in KNOWN_SCHEMES:
        return uri
    raise InvalidInput(
        f"unsupported {what} '{redact(uri)}'",
        hint="use sqlite:///PATH, http(s)://HOST:PORT, databricks[://PROFILE], "
        "postgresql://..., mysql://..., mssql://... or file:///PATH",
    )


def is_databricks_uri(uri: str | None) -> bool:
    """``databricks``, ``databricks://PROFILE``, ``databricks-uc`` and ``databricks-uc://...``."""
    return bool(uri) and _scheme(uri or "") in ("databricks", "databricks-uc")


def derived_registry_uri(tracking_uri: str) -> str:
    """MLflow's own default since 3.0: Unity Catalog for a Databricks tracking URI (same
    profile), the tracking URI for everything else."""
    if _scheme(tracking_uri) == "databricks":
        return "databricks-uc" + tracking_uri[len("databricks") :]
    return tracking_uri


def registry_kind(registry_uri: str) -> str:
    scheme = _scheme(registry_uri)
    if scheme == "databricks-uc":
        return "unity-catalog"
    if scheme == "databricks":
        return "workspace"
    return "mlflow"


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` from ``start`` up to the filesystem root."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_pyproject(cwd: Path) -> tuple[dict[str, Any] | None, Path | None]:
    """The ``[tool.lamp]`` table of the nearest ``pyproject.toml`` from ``cwd`` up (None when
    the file has none) and the file's path (None when there is no such file)."""
    path = find_pyproject(cwd)
    if path is None:
        return None, None
    import tomllib  # only where there is a pyproject.toml to read

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's TOMLDecodeError has no line attribute; its message carries the position.
        text = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)", text)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", text) or "invalid TOML"
        raise InvalidInput(
            f"{path.name} is not valid TOML",
            problems=[
                Problem(
                    message,
                    file=path.name,
                    line=int(where.group(1)) if where else None,
                    column=int(where.group(2)) if where else None,
                )
            ],
        ) from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict) or "lamp" not in tool:
        return None, path
    table = tool["lamp"]
    if not isinstance(table, dict):
        raise InvalidInput(
            f"{path.name}: [tool.lamp] must be a table",
            problems=[Problem("must be a table", file=path.name, field="tool.lamp")],
        )
    problems = [
        Problem(
            f"unknown setting (allowed: {', '.join(_BY_NAME)})",
            file=path.name,
            field=f"tool.lamp.{key}",
        )
        for key in table
        if key not in _BY_NAME
    ]
    problems += [
        Problem(
            "must be a list of strings" if _BY_NAME[key].is_list else "must be a string",
            file=path.name,
            field=f"tool.lamp.{key}",
        )
        for key, value in table.items()
        if key in _BY_NAME and not _well_typed(_BY_NAME[key], value)
    ]
    if problems:
        raise InvalidInput(f"{path.name}: invalid [tool.lamp] settings", problems=problems)
    return table, path


def _well_typed(spec: SettingDef, value: Any) -> bool:
    if spec.is_list:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return isinstance(value, str)


def resolve(
    flags: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve every setting from flags, environment, pyproject.toml and the embedded default."""
    flags = flags or {}
    environ = os.environ if environ is None else environ
    cwd = cwd or Path.cwd()
    found, pyproject = read_pyproject(cwd)
    # A project with a [tool.lamp] table (an empty one too) is one place, wherever in it lamp
    # runs: its settings' paths, its default spec files and its embedded store are anchored at
    # that file.
    root = pyproject.parent if pyproject is not None and found is not None else cwd
    table = found or {}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in SETTINGS:
        value, source = _pick(spec, flags, environ, table)
        if value is not None and spec.is_list:
            items = value.split(",") if isinstance(value, str) else value
            values[spec.name.replace("-", "_")] = tuple(i.strip() for i in items if i.strip())
            sources[spec.name] = source
        elif value is not None and spec.is_path:
            path = Path(value).expanduser()
            resolved = path if path.is_absolute() or source != "pyproject" else root / path
            values[spec.name.replace("-", "_")] = resolved
            sources[spec.name] = source
        elif value is not None:
            values[spec.name.replace("-", "_")] = value
            sources[spec.name] = source
    for name, filename in (("model_spec", MODEL_FILE), ("endpoint_spec", ENDPOINT_FILE)):
        default = root / DEFAULT_SPEC_DIR / filename
        if name not in values and default.is_file():
            values[name] = default
            sources[name.replace("_", "-")] = "default"
    if "tracking_uri" not in values:
        values["tracking_uri"] = f"sqlite:///{root.resolve() / EMBEDDED_DB_FILE}"
        sources["tracking-uri"] = "default"
    return Settings(**values, sources=sources, cwd=root)


def _pick(
    spec: SettingDef,
    flags: Mapping[str, str | None],
    environ: Mapping[str, str],
    table: Mapping[str, Any],
) -> tuple[Any, str]:
    flag = flags.get(spec.name)
    if flag not in (None, ""):
        return flag, "flag"
    for var in spec.env:
        if environ.get(var):
            return environ[var], f"env:{var}"
    if table.get(spec.name):
        return table[spec.name], "pyproject"
    return None, "unset"
