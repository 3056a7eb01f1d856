"""Aliases of a project's versions, moved deliberately: compare-and-set, and delete.

``lamp register --alias`` and ``lamp release`` move aliases forward only; promoting or rolling
back is this module's job, with the caller stating which version it expects the alias on now.
"""

from __future__ import annotations

from dataclasses import dataclass

from lamp_cli.errors import Conflict, NotFound, Subject
from lamp_cli.gateway import Gateway
from lamp_cli.records import VersionRecord
from lamp_cli.services import names, projects, versions


@dataclass
class AliasMove:
    project: str
    alias: str
    version: VersionRecord
    previous: int | None  # the version the alias pointed at before, None when it was unset


def _current(gateway: Gateway, name: str, alias: str) -> int | None:
    subject = Subject(f"alias '@{alias}' of project '{name}'")
    try:
        return gateway.version_by_alias(name, alias, subject).version
    except NotFound:
        return None


def set_alias(
    gateway: Gateway,
    project: str,
    alias: str,
    version: str,
    *,
    expect_current: int | None = None,
    expect_unset: bool = False,
) -> AliasMove:
    """Point ``alias`` at ``version``; when an expectation is given and the alias no longer
    points where the caller expects, nothing is written (a conflict, exit 5)."""
    name = projects.registered_name(gateway, project)
    alias = names.check_alias(alias)
    names.check_aliases_supported(gateway.settings, [alias])
    target = versions.get_version(gateway, name, version)
    current = _current(gateway, name, alias)
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
        gateway.set_alias(name, alias, target.version, subject)
    target.aliases = sorted({*target.aliases, alias})
    return AliasMove(project=name, alias=alias, version=target, previous=current)


def delete_alias(
    gateway: Gateway, project: str, alias: str, *, expect_current: int | None = None
) -> int:
    """Remove ``alias``; returns the version it pointed at. A missing alias is exit 4."""
    name = projects.registered_name(gateway, project)
    alias = names.check_alias(alias)
    names.check_aliases_supported(gateway.settings, [alias])
    current = _current(gateway, name, alias)
    if current is None:
        projects.get_project(gateway, name)
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
    gateway.delete_alias(name, alias, subject)
    return current
