"""Kubernetes manifests as Helm renders them: parsed into objects that remember their template,
and written back as one multi-document YAML stream."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from lamp_cli.errors import InvalidInput
from lamp_cli.specs.render import to_yaml

_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)
_SOURCE = re.compile(r"^# Source: (.+?)\s*$", re.MULTILINE)


class _Loader(yaml.SafeLoader):
    """YAML as the API server reads it: an unquoted date stays a string (Kubernetes' YAML
    library makes no timestamps), so ``2024-01-01`` in a label is not taken for a date."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Manifest:
    """One rendered object and the chart template it came from (Helm's ``# Source:`` line)."""

    body: dict[str, Any]
    source: str | None = None

    @property
    def kind(self) -> str:
        return str(self.body.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion") or "")

    @property
    def name(self) -> str:
        metadata = self.body.get("metadata")
        return str(metadata.get("name") or "") if isinstance(metadata, dict) else ""

    @property
    def ref(self) -> str:
        """``Kind/name``, the way kubectl names an object."""
        return f"{self.kind or '?'}/{self.name or '?'}"


def parse_manifests(text: str) -> list[Manifest]:
    """The objects of ``helm template``'s output, in its order; empty documents are dropped.

    Helm writes each object as its own document, headed by ``# Source: <chart>/templates/...``.
    """
    manifests = []
    for chunk in _SEPARATOR.split(text):
        source = _SOURCE.search(chunk)
        try:
            body = yaml.load(chunk, Loader=_Loader)
        except yaml.YAMLError as exc:
            where = f" ({source.group(1)})" if source else ""
            raise InvalidInput(f"helm rendered YAML that does not parse{where}: {exc}") from None
        if body is None:
            continue
        if not isinstance(body, dict):
            where = source.group(1) if source else "the chart"
            raise InvalidInput(f"{where} renders a {type(body).__name__}, not a Kubernetes object")
        manifests.append(Manifest(body, source.group(1) if source else None))
    return manifests


def manifests_yaml(manifests: list[Manifest]) -> str:
    """The objects as a multi-document YAML stream, each headed by its template like Helm's."""
    parts = []
    for manifest in manifests:
        head = f"---\n# Source: {manifest.source}\n" if manifest.source else "---\n"
        parts.append(head + to_yaml(manifest.body))
    return "".join(parts)
