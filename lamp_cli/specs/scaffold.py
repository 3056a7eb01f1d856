"""``lamp spec init``: a commented, valid pair of specs for the app in the working directory."""

from __future__ import annotations

import re
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lamp_cli.errors import Conflict, SpecInvalid, UsageError
from lamp_cli.layout import ENDPOINT_FILE, MODEL_FILE
from lamp_cli.settings import find_pyproject
from lamp_cli.specs.api import ApiDocument
from lamp_cli.specs.app_files import Change, add_tool_lamp, ignore_store
from lamp_cli.specs.common import ENDPOINT_KIND, MODEL_KIND
from lamp_cli.specs.interpolate import Variables
from lamp_cli.specs.loader import load_text
from lamp_cli.specs.pair import check_pair
from lamp_cli.specs.scaffold_api import ApiScaffold, scaffold_from_api
from lamp_cli.specs.schema import PACKAGED_SCHEMA_DIR, SCHEMA_FILES
from lamp_cli.specs.templates import ENDPOINT_TEMPLATE, MODEL_TEMPLATE

COPIER_ANSWERS = ".copier-answers.yml"
# Keys under which Copier templates commonly record the project's name, most specific first.
COPIER_NAME_KEYS = ("app_name", "service_name", "project_slug", "project_name", "package_name")
_SEMVER_CORE_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+")


@dataclass(frozen=True)
class InitResult:
    name: str
    name_source: str
    written: list[Path]
    #: Where the routes and probes came from: the app's API, or ``None`` for the template's.
    api_source: str | None = None
    notices: list[str] = field(default_factory=list)
    #: What happened to the app's pyproject.toml and .gitignore.
    changes: list[Change] = field(default_factory=list)


def dns_name(raw: str) -> str:
    """``My_Fraud.Detector`` -> ``my-fraud-detector``: a DNS-1123 label of at most 53 chars."""
    text = re.sub(r"[^a-z0-9-]+", "-", raw.strip().lower())
    text = re.sub(r"-{2,}", "-", text).strip("-")
    return text[:53].rstrip("-")


def detect_name(cwd: Path) -> tuple[str, str] | None:
    """The app's name and where it was found: Copier answers first, then pyproject.toml."""
    answers = cwd / COPIER_ANSWERS
    if answers.is_file():
        try:
            data = yaml.safe_load(answers.read_text(encoding="utf-8"))
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            data = None
        if isinstance(data, dict):
            for key in COPIER_NAME_KEYS:
                if isinstance(data.get(key), str) and dns_name(data[key]):
                    return data[key], f"{COPIER_ANSWERS} ({key})"
    project = _pyproject(cwd)
    name = project.get("project", {}).get("name") or project.get("tool", {}).get("poetry", {}).get(
        "name"
    )
    if isinstance(name, str) and dns_name(name):
        return name, "pyproject.toml"
    return None


def detect_version(cwd: Path) -> str:
    """The app's version for the image tag; 0.1.0 when pyproject.toml does not say."""
    project = _pyproject(cwd)
    version = project.get("project", {}).get("version")
    if isinstance(version, str) and _SEMVER_CORE_RE.match(version):
        return version
    return "0.1.0"


def _pyproject(cwd: Path) -> dict[str, Any]:
    try:
        return tomllib.loads((cwd / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def render_templates(
    name: str, version: str, schema_prefix: str, api: ApiScaffold | None = None
) -> tuple[str, str]:
    """The two documents' text, ready to write."""
    blocks = api or ApiScaffold()
    replacements = {
        "@NAME@": name,
        "@VERSION@": version,
        "@SCHEMA@": schema_prefix,
        "@HEALTH@": blocks.health,
        "@ROUTES@": blocks.routes,
    }
    texts = []
    for template in (MODEL_TEMPLATE, ENDPOINT_TEMPLATE):
        for token, value in replacements.items():
            template = template.replace(token, value)
        texts.append(template)
    return texts[0], texts[1]


def init_specs(
    directory: Path,
    *,
    cwd: Path,
    name: str | None = None,
    force: bool = False,
    api: ApiDocument | None = None,
) -> InitResult:
    """Write the model spec, the endpoint spec and the JSON Schemas into ``directory`` (the
    routes and probes from the app's ``api`` when given), then add what the app lacks:
    ``[tool.lamp]`` in pyproject.toml, the local store in .gitignore."""
    if name is not None:
        source = "--name"
        chosen = dns_name(name)
        if chosen != name:
            raise UsageError(
                f"--name {name!r} is not a DNS-1123 label of at most 53 characters",
                hint=f"try --name {chosen}" if chosen else None,
            )
    else:
        found = detect_name(cwd)
        if found is None:
            found = (cwd.name, "the directory name")
        raw, source = found
        chosen = dns_name(raw)
        if not chosen:
            raise UsageError(f"cannot make a spec name from {raw!r}", hint="pass --name NAME")
    directory = directory if directory.is_absolute() else cwd / directory
    schema_dir = directory / "schema"
    blocks = scaffold_from_api(api) if api is not None else None
    model_text, endpoint_text = render_templates(chosen, detect_version(cwd), "schema/", blocks)
    targets = {
        directory / MODEL_FILE: model_text,
        directory / ENDPOINT_FILE: endpoint_text,
    }
    schema_targets = [schema_dir / SCHEMA_FILES[kind] for kind in (MODEL_KIND, ENDPOINT_KIND)]
    existing = [p for p in (*targets, *schema_targets) if p.exists()]
    if existing and not force:
        shown = ", ".join(str(p) for p in existing)
        raise Conflict(f"{shown} already exist(s)", hint="pass --force to overwrite")
    _check_templates(targets)
    directory.mkdir(parents=True, exist_ok=True)
    schema_dir.mkdir(parents=True, exist_ok=True)
    for path, text in targets.items():
        path.write_text(text, encoding="utf-8")
    for target in schema_targets:
        shutil.copyfile(PACKAGED_SCHEMA_DIR / target.name, target)
    written = [_shown_path(p, cwd) for p in (*targets, *schema_targets)]
    # The app's root: that of its pyproject.toml (run from a subdirectory too), else here.
    pyproject = find_pyproject(cwd)
    root = pyproject.parent if pyproject is not None else cwd
    model_path, endpoint_path = targets
    changes = [add_tool_lamp(root, chosen, model_path, endpoint_path), ignore_store(root)]
    return InitResult(
        name=chosen,
        name_source=source,
        written=written,
        api_source=api.source if api is not None else None,
        notices=blocks.notices if blocks is not None else [],
        changes=changes,
    )


def _shown_path(path: Path, cwd: Path) -> Path:
    try:
        return path.relative_to(cwd)
    except ValueError:
        return path


def _check_templates(targets: dict[Path, str]) -> None:
    # What init writes must validate as it stands; a failure here is a bug in lamp, not the user's.
    (model_path, model_text), (endpoint_path, endpoint_text) = targets.items()
    model, problems = load_text(
        model_text, model_path, expected_kind=MODEL_KIND, variables=Variables({})
    )
    endpoint, more = load_text(
        endpoint_text, endpoint_path, expected_kind=ENDPOINT_KIND, variables=Variables({})
    )
    problems += more
    if model is not None and endpoint is not None:
        problems += check_pair(model, endpoint)
    if problems:
        raise SpecInvalid(problems)
