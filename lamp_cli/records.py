"""Plain records of what lamp reads from MLflow, with the stable JSON keys of the output contract.

They are built from MLflow entities by duck typing, so commands can render them without mlflow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


def _listed(value: Any) -> Any:
    """A collection field of an MLflow entity, or None where the entity does not carry it
    (Unity Catalog's search results turn ``tags`` and ``aliases`` into methods that raise)."""
    return None if callable(value) else value


def iso_time(millis: int | None) -> str | None:
    if not millis:
        return None
    stamp = datetime.fromtimestamp(millis / 1000, tz=UTC)
    return stamp.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class ExperimentRecord:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    created_at: str | None = None

    @classmethod
    def from_mlflow(cls, exp: Any) -> ExperimentRecord:
        return cls(
            experiment_id=str(exp.experiment_id),
            name=exp.name,
            artifact_location=exp.artifact_location,
            lifecycle_stage=exp.lifecycle_stage,
            tags=dict(exp.tags or {}),
            created_at=iso_time(getattr(exp, "creation_time", None)),
        )

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

    @classmethod
    def from_mlflow(cls, run: Any, artifacts: list[str] | None = None) -> RunRecord:
        info = run.info
        return cls(
            run_id=info.run_id,
            experiment_id=str(info.experiment_id),
            name=getattr(info, "run_name", None),
            status=info.status,
            artifact_uri=info.artifact_uri,
            lifecycle_stage=info.lifecycle_stage,
            tags=dict(run.data.tags or {}),
            started_at=iso_time(info.start_time),
            ended_at=iso_time(info.end_time),
            artifacts=list(artifacts or []),
        )

    @property
    def lamp_tags(self) -> dict[str, str]:
        return {k: v for k, v in self.tags.items() if k.startswith("lamp.")}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ProjectRecord:
    project: str
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    created_at: str | None = None

    @classmethod
    def from_mlflow(cls, model: Any) -> ProjectRecord:
        return cls(
            project=model.name,
            description=model.description or None,
            tags=dict(_listed(getattr(model, "tags", None)) or {}),
            aliases={
                k: str(v) for k, v in (_listed(getattr(model, "aliases", None)) or {}).items()
            },
            created_at=iso_time(model.creation_timestamp),
        )

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

    @classmethod
    def from_mlflow(cls, mv: Any) -> VersionRecord:
        return cls(
            project=mv.name,
            version=int(mv.version),
            run_id=mv.run_id or None,
            source=mv.source,
            status=mv.status,
            aliases=sorted(_listed(getattr(mv, "aliases", None)) or []),
            tags=dict(_listed(getattr(mv, "tags", None)) or {}),
            created_at=iso_time(mv.creation_timestamp),
            description=mv.description or None,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
