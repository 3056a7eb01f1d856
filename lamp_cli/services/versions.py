"""Reading model versions: list, show, and the specs exactly as the operator reads them.

Searches use one condition (``name = '...'`` or ``run_id = '...'``) and no ``order_by``, the
only form Unity Catalog accepts, and sort on the client. Unity Catalog's search results carry
neither tags nor aliases: aliases come from the registered model, tags from ``get``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lamp_cli.errors import InvalidInput, NotFound, SpecInvalid, Subject
from lamp_cli.gateway import Gateway
from lamp_cli.layout import ARTIFACT_DIR, ENDPOINT_FILE, MODEL_FILE, OPENAPI_FILE
from lamp_cli.records import VersionRecord
from lamp_cli.services import artifacts, projects, runs, suggest

if TYPE_CHECKING:
    from lamp_cli.specs import SpecPair
    from lamp_cli.specs.api import ApiDocument
    from lamp_cli.specs.api_diff import ApiChange

_NOT_BY_LAMP = "this version was not registered by lamp, or its artifacts were removed"


def search(gateway: Gateway, name: str, *, run_id: str | None = None) -> list[VersionRecord]:
    """Versions of the registered model ``name`` (of ``run_id`` only, when given)."""
    what = f"versions of run {run_id}" if run_id else f"versions of project '{name}'"
    return gateway.versions(name, Subject(what), run_id=run_id)


def list_versions(gateway: Gateway, project: str, limit: int | None = None) -> list[VersionRecord]:
    """The versions of ``project``, newest first, with their aliases; all of them, or the
    ``limit`` newest."""
    record = projects.get_project(gateway, project)
    versions = sorted(search(gateway, record.project), key=lambda v: v.version, reverse=True)
    if limit is not None:
        versions = versions[:limit]
    for version in versions:
        version.aliases = sorted(a for a, v in record.aliases.items() if v == str(version.version))
    return versions


def get_version(gateway: Gateway, project: str, ref: str) -> VersionRecord:
    """A version by number, or by alias when ``ref`` starts with ``@``."""
    name = projects.registered_name(gateway, project)
    if ref.startswith("@"):
        from lamp_cli.services.names import check_alias, check_aliases_supported

        alias = check_alias(ref[1:])
        check_aliases_supported(gateway.settings, [alias])
        subject = Subject(
            f"alias '@{alias}' of project '{name}'",
            hint_not_found=f"list versions with: lamp version list {name}",
        )
        fetch: Callable[[str, str, Subject], VersionRecord] = gateway.version_by_alias
        key = alias
    else:
        if not ref.isdigit():
            raise InvalidInput(f"'{ref}' is neither a version number nor an @alias")
        subject = Subject(
            f"version {ref} of project '{name}'",
            hint_not_found=f"list versions with: lamp version list {name}",
        )
        fetch, key = gateway.version, ref
    try:
        return fetch(name, key, subject)
    except NotFound as err:
        # Say which is missing: the project itself, or only the version.
        record = projects.get_project(gateway, name)
        if ref.startswith("@"):
            close = suggest.did_you_mean(key, lambda: record.aliases, form="'@{}'")
            err.hint = (
                f"{close}`lamp version list {name}` shows where each alias points; "
                f"`lamp version alias set {name} {key} VERSION` sets this one"
            )
        raise


#: The files ``lamp version spec --kind`` prints.
SPEC_KINDS = {"model": MODEL_FILE, "endpoint": ENDPOINT_FILE, "openapi": OPENAPI_FILE}


_NO_API = (
    "this version was registered without the app's API (no app was found, or by a lamp before 0.3)"
)


def read_spec(gateway: Gateway, project: str, ref: str, kind: str) -> tuple[VersionRecord, str]:
    """A spec (or the OpenAPI document) of a version exactly as the operator reads it through
    ``models:/``."""
    version = get_version(gateway, project, ref)
    name = SPEC_KINDS[kind]
    try:
        return version, _read_files(gateway, version, [name])[name]
    except NotFound as err:
        if name == OPENAPI_FILE:
            err.hint = _NO_API
        raise


def read_api(gateway: Gateway, project: str, ref: str) -> tuple[VersionRecord, ApiDocument | None]:
    """The OpenAPI document a version carries, or None when it carries none."""
    from lamp_cli.specs.api import parse_text

    version = get_version(gateway, project, ref)
    texts = _read_files(gateway, version, [MODEL_FILE], optional=[OPENAPI_FILE])
    text = texts.get(OPENAPI_FILE)
    uri = f"models:/{version.project}/{version.version}/{OPENAPI_FILE}"
    return version, parse_text(text, uri) if text is not None else None


def read_pair(gateway: Gateway, project: str, ref: str) -> tuple[VersionRecord, SpecPair]:
    """Both specs of a version as the operator reads them, validated again, as one pair."""
    version, pair, _ = read_release(gateway, project, ref)
    return version, pair


def read_release(
    gateway: Gateway, project: str, ref: str
) -> tuple[VersionRecord, SpecPair, ApiDocument | None]:
    """Both specs of a version as the operator reads them, validated again as one pair, and
    the OpenAPI document when the version carries one."""
    from lamp_cli.specs import ENDPOINT_KIND, MODEL_KIND, SpecPair, load_spec_text
    from lamp_cli.specs.api import parse_text
    from lamp_cli.specs.pair import check_pair

    version = get_version(gateway, project, ref)
    texts = _read_files(gateway, version, [MODEL_FILE, ENDPOINT_FILE], optional=[OPENAPI_FILE])
    uri = f"models:/{version.project}/{version.version}"
    model = load_spec_text(texts[MODEL_FILE], name=f"{uri}/{MODEL_FILE}", expected_kind=MODEL_KIND)
    endpoint = load_spec_text(
        texts[ENDPOINT_FILE], name=f"{uri}/{ENDPOINT_FILE}", expected_kind=ENDPOINT_KIND
    )
    problems = check_pair(model, endpoint)
    if problems:
        raise SpecInvalid(problems)
    api_text = texts.get(OPENAPI_FILE)
    api = parse_text(api_text, f"{uri}/{OPENAPI_FILE}") if api_text is not None else None
    return version, SpecPair(model=model, endpoint=endpoint), api


def _read_files(
    gateway: Gateway, version: VersionRecord, files: list[str], *, optional: Sequence[str] = ()
) -> dict[str, str]:
    name = version.project
    subject = Subject(
        f"{', '.join(files)} of version {version.version} of project '{name}'",
        hint_not_found=_NOT_BY_LAMP,
    )
    try:
        return gateway.version_files(name, version.version, files, subject, optional=optional)
    except NotFound:
        # MLflow's models:/ download says "ensure that the path is correct" whatever failed;
        # listing the run's artifacts surfaces the real cause (bucket, credentials, endpoint).
        if version.run_id and gateway.registry_kind != "unity-catalog":
            listed = runs.spec_artifacts(gateway, runs.get(gateway, version.run_id))
            missing = [f for f in files if f"{ARTIFACT_DIR}/{f}" not in listed]
            if missing:
                raise NotFound(
                    f"{missing[0]} of version {version.version} of project '{name}' not found: "
                    f"run {version.run_id} has no {ARTIFACT_DIR}/{missing[0]}",
                    hint=_NOT_BY_LAMP,
                ) from None
        raise


_ABSENT = object()


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat or {prefix: {}}
    if isinstance(value, list) and value:
        flat = {}
        for index, item in enumerate(value):
            flat.update(_flatten(item, f"{prefix}[{index}]"))
        return flat
    return {prefix: value}


@dataclass
class VersionDiff:
    old: VersionRecord
    new: VersionRecord
    old_image: str
    new_image: str
    changes: list[dict[str, Any]]  # {spec, path, old, new}; a missing side is None
    #: The API's changes when both versions carry the app's OpenAPI document, else None.
    api_changes: list[ApiChange] | None = None
    #: Why there is no API section, when there is none.
    api_missing: str | None = None

    @property
    def breaking(self) -> list[ApiChange]:
        return [c for c in self.api_changes or [] if c.breaking]


def diff(gateway: Gateway, project: str, old_ref: str, new_ref: str) -> VersionDiff:
    """The fields that differ between the specs of two versions (as the operator reads them),
    and the changes of the app's API when both carry it."""
    import yaml

    from lamp_cli.specs.api_diff import diff_api

    old, old_pair, old_api = read_release(gateway, project, old_ref)
    new, new_pair, new_api = read_release(gateway, project, new_ref)
    changes: list[dict[str, Any]] = []
    for kind, before, after in (
        ("model", old_pair.model, new_pair.model),
        ("endpoint", old_pair.endpoint, new_pair.endpoint),
    ):
        flat_before = _flatten(yaml.safe_load(before.text))
        flat_after = _flatten(yaml.safe_load(after.text))
        for path in sorted(set(flat_before) | set(flat_after)):
            a, b = flat_before.get(path, _ABSENT), flat_after.get(path, _ABSENT)
            if a != b:
                changes.append(
                    {
                        "spec": kind,
                        "path": path,
                        "old": None if a is _ABSENT else a,
                        "new": None if b is _ABSENT else b,
                    }
                )
    without = [f"version {v.version}" for v, api in ((old, old_api), (new, new_api)) if not api]
    return VersionDiff(
        old=old,
        new=new,
        old_image=artifacts.image_ref(old_pair),
        new_image=artifacts.image_ref(new_pair),
        changes=changes,
        api_changes=diff_api(old_api, new_api) if old_api and new_api else None,
        api_missing=f"{' and '.join(without)} carry no API document" if without else None,
    )
