"""Plain records of what lamp reads from MLflow, with the stable JSON keys of the output contract.

The gateway (:mod:`lamp_cli.gateway`) builds them from MLflow's entities; services and commands
work with these alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


def iso_time(millis: int | None) -> str | None:
    if not millis:
        return None
    stamp = datetime.fromtimestamp(millis / 1000, tz=UTC)
    return stamp.isoformat(timespec="seconds").replace("+00:00", "Z")


def epoch_seconds(iso: str | None) -> float | None:
    """The inverse of :func:`iso_time`, in seconds."""
    if not iso:
        return None
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@dataclass
class ExperimentRecord:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    created_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunRecord:
    run_id: str
    experiment_id: str
    name: str | None
    status: str
    artifact_uri: str
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    started_at: str | None = None
    ended_at: str | None = None
    artifacts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ProjectRecord:
    project: str
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    created_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class VersionRecord:
    project: str
    version: int
    run_id: str | None
    source: str
    status: str
    aliases: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    created_at: str | None = None
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
