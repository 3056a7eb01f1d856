"""Aliases of a project's versions, moved deliberately: compare-and-set, and delete.

``lamp register --alias`` and ``lamp release`` move aliases forward only; promoting or rolling
back is this module's job, with the caller stating which version it expects the alias on now.
"""

from __future__ import annotations

from dataclasses import dataclass

from lamp_cli.errors import Conflict, NotFound, Subject
from lamp_cli.services import names, projects, versions
from lamp_cli.services.client import Backend
from lamp_cli.services.records import VersionRecord


@dataclass
class AliasMove:
    project: str
    alias: str
    version: VersionRecord
    previous: int | None  # the version the alias pointed at before, None when it was unset


def _current(backend: Backend, name: str, alias: str) -> int | None:
    subject = Subject(f"alias '@{alias}' of project '{name}'")
    try:
        found = backend.call(subject, backend.client.get_model_version_by_alias, name, alias)
    except NotFound:
        return None
    return int(found.version)


def set_alias(
    backend: Backend,
    project: str,
    alias: str,
    version: str,
    *,
    expect_current: int | None = None,
    expect_unset: bool = False,
) -> AliasMove:
    """Point ``alias`` at ``version``; when an expectation is given and the alias no longer
    points where the caller expects, nothing is written (a conflict, exit 5)."""
    name = projects.registered_name(backend, project)
    alias = names.check_alias(alias)
    names.check_aliases_supported(backend.settings, [alias])
    target = versions.get_version(backend, name, version)
    current = _current(backend, name, alias)
    if (expect_current is not None and current != expect_current) or (
        expect_unset and current is not None
    ):
        expected = "unset" if expect_unset else f"version {expect_current}"
        now = "unset" if current is None else f"version {current}"
        raise Conflict(
            f"alias '@{alias}' of '{name}' is {now}, not {expected} as expected; nothing changed",
            hint=f"look again with `lamp version list {name}` and retry with --expect-current",
        )
    if current != target.version:
        subject = Subject(f"alias '@{alias}' of project '{name}'")
        backend.call(
            subject,
            backend.client.set_registered_model_alias,
            name,
            alias,
            str(target.version),
        )
    target.aliases = sorted({*target.aliases, alias})
    return AliasMove(project=name, alias=alias, version=target, previous=current)


def delete_alias(
    backend: Backend, project: str, alias: str, *, expect_current: int | None = None
) -> int:
    """Remove ``alias``; returns the version it pointed at. A missing alias is exit 4."""
    name = projects.registered_name(backend, project)
    alias = names.check_alias(alias)
    names.check_aliases_supported(backend.settings, [alias])
    current = _current(backend, name, alias)
    if current is None:
        projects.get_project(backend, name)
        raise NotFound(
            f"alias '@{alias}' of project '{name}' not found",
            hint=f"list versions and their aliases with: lamp version list {name}",
        )
    if expect_current is not None and current != expect_current:
        raise Conflict(
            f"alias '@{alias}' of '{name}' is version {current}, not version {expect_current} "
            "as expected; nothing changed",
            hint=f"look again with `lamp version list {name}`",
        )
    subject = Subject(f"alias '@{alias}' of project '{name}'")
    backend.call(subject, backend.client.delete_registered_model_alias, name, alias)
    return current
