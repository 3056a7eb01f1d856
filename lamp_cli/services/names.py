"""Project ids, aliases, run ids and tag keys, checked before any request.

On Unity Catalog a project is the three-level registered model ``catalog.schema.project``,
stored lower-case; a bare project id is placed under the configured catalog and schema. Model
version tags on Unity Catalog may not contain ``. - / = : ,`` in their keys (lamp's own version
tags follow :mod:`lamp_cli.layout`). Every pattern is matched against the whole value: MLflow 3.18
does the same (``champion\n`` is refused), earlier versions let a trailing newline through.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lamp_cli.errors import InvalidInput, UsageError
from lamp_cli.settings import Settings

PROJECT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
#: Lower-case only: Unity Catalog stores aliases lower-case, so an alias spelled otherwise would
#: be changed without a word there and would differ between registries.
ALIAS_RE = re.compile(r"[a-z0-9_-]{1,255}")
#: Unity Catalog object names: no period, space, slash, control characters or DEL; <= 255.
_UC_PART_RE = re.compile(r"[^.\s/\x00-\x1f\x7f]{1,255}")
UC_TAG_RESERVED = ".-/=:,"
_UC_TAG_KEY_RE = re.compile(r"[^.\-/=:,]{1,255}")


def project_name(project: str, settings: Settings) -> str:
    """The registered model name of ``project`` in the registry ``settings`` point at."""
    if settings.registry_kind != "unity-catalog":
        if not PROJECT_RE.fullmatch(project or ""):
            raise InvalidInput(
                f"invalid project id '{project}': use letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return project
    parts = (project or "").split(".")
    if len(parts) == 1:
        missing = [
            f"--{name} (env {env}, or {name} under [tool.lamp])"
            for name, env, value in (
                ("uc-catalog", "LAMP_UC_CATALOG", settings.uc_catalog),
                ("uc-schema", "LAMP_UC_SCHEMA", settings.uc_schema),
            )
            if not value
        ]
        if missing:
            raise UsageError(
                f"project '{project}' needs a Unity Catalog catalog and schema: the registry is "
                f"{settings.effective_registry_uri}",
                hint=f"give {' and '.join(missing)}, or the three-part id catalog.schema.project",
            )
        parts = [str(settings.uc_catalog), str(settings.uc_schema), project]
    if len(parts) != 3:
        raise InvalidInput(
            f"invalid project id '{project}': on Unity Catalog a project is a bare id or "
            "catalog.schema.project"
        )
    for part, what in zip(parts, ("catalog", "schema", "project id"), strict=True):
        if not _UC_PART_RE.fullmatch(part):
            raise InvalidInput(
                f"invalid Unity Catalog {what} '{part}' in '{'.'.join(parts)}': 1-255 "
                "characters, no '.', '/', spaces or control characters"
            )
    return ".".join(parts).lower()


def check_alias(alias: str) -> str:
    """``alias`` without a leading ``@``; exit 3 unless every registry keeps it as written."""
    alias = alias.removeprefix("@")
    lower = alias.lower()
    reserved = lower == "latest" or re.fullmatch(r"v\d+", lower) is not None
    if ALIAS_RE.fullmatch(lower) and alias != lower and not reserved:
        raise InvalidInput(
            f"invalid alias {alias!r}: aliases are lower-case (Unity Catalog stores them so)",
            hint=f"use '{alias.lower()}'",
        )
    if not ALIAS_RE.fullmatch(alias) or reserved:
        raise InvalidInput(
            f"invalid alias {alias!r}: use lower-case letters, digits, '_' or '-'; "
            "'latest' and 'v<number>' are reserved by MLflow"
        )
    return alias


def check_aliases_supported(settings: Settings, aliases: list[str] | tuple[str, ...]) -> None:
    """Aliases exist on Unity Catalog and MLflow's own registry, not on Databricks' legacy one."""
    if aliases and settings.registry_kind == "workspace":
        raise UsageError(
            "aliases do not exist on the Databricks workspace model registry "
            f"(registry {settings.effective_registry_uri})",
            hint="use Unity Catalog: unset MLFLOW_REGISTRY_URI (the default for Databricks is "
            "databricks-uc), or drop the alias",
        )


def check_tag_keys(tags: Mapping[str, str], settings: Settings, what: str) -> None:
    """Refuse, before any write, tag keys that Unity Catalog would refuse."""
    if settings.registry_kind != "unity-catalog":
        return
    bad = [k for k in tags if not _UC_TAG_KEY_RE.fullmatch(k)]
    if bad:
        raise InvalidInput(
            f"invalid {what} tag key(s) {', '.join(repr(k) for k in bad)}: Unity Catalog refuses "
            f"keys containing any of {' '.join(UC_TAG_RESERVED)}",
            hint="use letters, digits and '_' (for example team_name=fraud)",
        )


#: MLflow's own rule for run ids (mlflow.utils.validation): checked here so that a malformed id
#: is refused before any request.
_RUN_ID_RE = re.compile(r"[a-zA-Z0-9][\w\-]{0,255}")


def check_run_id(run_id: str) -> str:
    if not _RUN_ID_RE.fullmatch(run_id or ""):
        raise InvalidInput(
            f"invalid run id {run_id!r}: a run id is letters, digits, '_' and '-' "
            "(32 hexadecimal characters as MLflow makes them)",
            hint="copy it from `lamp run log-spec -o quiet ...` or the MLflow UI",
        )
    return run_id
