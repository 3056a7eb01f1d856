"""YAML to plain Python objects, remembering where every value came from.

PyYAML's safe composer gives nodes with marks; this module builds dicts, lists and scalars from them
itself so it can record ``(line, column)`` per field path, refuse duplicate keys (PyYAML keeps the
last silently), refuse tags other than plain JSON-like ones, resolve ``${VAR}`` per scalar, and
bound the work an alias bomb or a deeply nested document could cause.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from lamp_cli.errors import Problem
from lamp_cli.specs.interpolate import Variables, interpolate
from lamp_cli.specs.paths import Path, format_path

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
# Aliases may repeat a node many times; this caps the expanded size so "billion laughs" stays cheap.
MAX_NODES = 200_000

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_PLAIN_SCALARS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:str",
}
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


def _without_timestamps(resolvers: dict[Any, list[Any]]) -> dict[Any, list[Any]]:
    # A date stays the text the user wrote: descriptions like 2024-05-01 must not become objects.
    return {
        first: [(tag, regexp) for tag, regexp in entries if tag != _TIMESTAMP]
        for first, entries in resolvers.items()
    }


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SpecLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loader (libyaml when available) whose plain scalars never become timestamps."""

    yaml_implicit_resolvers = _without_timestamps(yaml.SafeLoader.yaml_implicit_resolvers)


class _Resolver(yaml.resolver.Resolver):
    yaml_implicit_resolvers = _without_timestamps(yaml.resolver.Resolver.yaml_implicit_resolvers)


_RESOLVER = _Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass
class SourceDocument:
    """The parsed data and, per field path, where its key and its value start (1-based)."""

    file: str
    data: Any = None
    keys: dict[Path, Position] = field(default_factory=dict)
    values: dict[Path, Position] = field(default_factory=dict)

    def locate(self, path: Path, *, at_key: bool = False) -> Position | None:
        """Where ``path`` is, or where its nearest existing parent is."""
        current = tuple(path)
        while True:
            table = (self.keys, self.values) if at_key else (self.values, self.keys)
            for positions in table:
                if current in positions:
                    return positions[current]
            if not current:
                return None
            current = current[:-1]
            at_key = True

    def problem(self, path: Path, message: str, *, at_key: bool = False) -> Problem:
        position = self.locate(path, at_key=at_key)
        return Problem(
            message=message,
            file=self.file,
            line=position.line if position else None,
            column=position.column if position else None,
            field=format_path(path) or None,
        )


class _TooLarge(Exception):
    pass


def _position(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def parse_yaml(
    text: str, file: str, variables: Variables | None
) -> tuple[SourceDocument, list[Problem]]:
    """Parse one YAML document; problems carry file, line and column, and all are collected.

    ``variables`` resolve ``${VAR}``; ``None`` leaves values as written (documents read back).
    """
    source = SourceDocument(file=file)
    try:
        nodes = list(yaml.compose_all(text, Loader=SpecLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        return source, [
            Problem(
                message=f"invalid YAML: {message}",
                file=file,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            )
        ]
    except (yaml.YAMLError, RecursionError) as exc:
        reason = (
            "nested too deeply" if isinstance(exc, RecursionError) else str(exc).splitlines()[0]
        )
        return source, [Problem(message=f"invalid YAML: {reason}", file=file)]
    if not nodes:
        return source, [Problem(message="the file is empty; expected a spec document", file=file)]
    if len(nodes) > 1:
        second = _position(nodes[1])
        return source, [
            Problem(
                message=f"holds {len(nodes)} YAML documents; a spec file holds exactly one",
                file=file,
                line=second.line,
                column=second.column,
            )
        ]
    builder = _Builder(source, variables)
    try:
        source.data = builder.build(nodes[0], (), 0, frozenset())
    except _TooLarge:
        return source, [
            Problem(
                message=f"the document expands to more than {MAX_NODES} values (aliases?); "
                "a spec is far smaller",
                file=file,
            )
        ]
    if not builder.problems and not isinstance(source.data, dict):
        kind = "a list" if isinstance(source.data, list) else "a single value"
        builder.problems.append(
            Problem(
                message=f"the document is {kind}; expected a mapping with apiVersion, kind, "
                "metadata and spec",
                file=file,
                line=1,
                column=1,
            )
        )
    return source, builder.problems


class _Builder:
    def __init__(self, source: SourceDocument, variables: Variables | None) -> None:
        self.source = source
        self.variables = variables
        self.problems: list[Problem] = []
        self.budget = MAX_NODES

    def fail(self, node: yaml.Node, path: Path, message: str) -> None:
        position = _position(node)
        self.problems.append(
            Problem(
                message=message,
                file=self.source.file,
                line=position.line,
                column=position.column,
                field=format_path(path) or None,
            )
        )

    def build(self, node: yaml.Node, path: Path, depth: int, active: frozenset[int]) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise _TooLarge
        self.source.values.setdefault(path, _position(node))
        if depth > MAX_DEPTH:
            self.fail(node, path, f"nested more than {MAX_DEPTH} levels deep")
            return None
        if id(node) in active:
            self.fail(node, path, "an alias refers to itself; recursive structures are refused")
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if node.tag not in (_MAP, _SEQ):
            self.fail(
                node, path, f"unsupported YAML tag {node.tag!r}; use plain lists and mappings"
            )
            return None
        inner = active | {id(node)}
        if isinstance(node, yaml.SequenceNode):
            return [
                self.build(item, (*path, index), depth + 1, inner)
                for index, item in enumerate(node.value)
            ]
        assert isinstance(node, yaml.MappingNode)
        return self.mapping(node, path, depth, inner)

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        tag, value = node.tag, node.value
        if self.variables is not None and "${" in value:
            value, errors = interpolate(value, self.variables.environ, self.variables.allow)
            for error in errors:
                self.fail(node, path, error)
            if not node.style and tag == "tag:yaml.org,2002:str":
                # Unquoted: type the substituted text the way YAML would have typed it.
                tag = _RESOLVER.resolve(  # type: ignore[no-untyped-call]
                    yaml.ScalarNode, value, (True, False)
                )
        if tag not in _PLAIN_SCALARS:
            self.fail(
                node,
                path,
                f"unsupported YAML tag {tag!r}; use plain strings, numbers, booleans and null",
            )
            return None
        try:
            result = _CONSTRUCTOR.yaml_constructors[tag](
                _CONSTRUCTOR, yaml.ScalarNode(tag, value, node.start_mark, node.end_mark)
            )
        except (yaml.YAMLError, ValueError) as exc:
            self.fail(node, path, f"cannot read {value!r} as {tag.rsplit(':', 1)[-1]}: {exc}")
            return None
        if isinstance(result, float) and not math.isfinite(result):
            self.fail(node, path, f"{value!r} is not a finite number")
            return None
        return result

    def mapping(
        self, node: yaml.MappingNode, path: Path, depth: int, active: frozenset[int]
    ) -> Any:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(self.merge_sources(value_node, path))
                continue
            key = self.key(key_node, path)
            if key is None:
                continue
            key_path = (*path, key)
            if key in first_line:
                self.fail(
                    key_node,
                    key_path,
                    f"duplicate key {key!r} (first at line {first_line[key]}); keep one",
                )
                continue
            first_line[key] = key_node.start_mark.line + 1
            self.source.keys[key_path] = _position(key_node)
            result[key] = self.build(value_node, key_path, depth + 1, active)
        # YAML merge keys (<<: *defaults): keys written in the mapping itself win.
        for key_node, value_node in merged:
            key = self.key(key_node, path)
            if key is None or key in result:
                continue
            key_path = (*path, key)
            self.source.keys.setdefault(key_path, _position(key_node))
            result[key] = self.build(value_node, key_path, depth + 1, active)
        return result

    def merge_sources(self, node: yaml.Node, path: Path) -> list[tuple[yaml.Node, yaml.Node]]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        pairs: list[tuple[yaml.Node, yaml.Node]] = []
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                self.fail(source, path, "a merge key (<<) takes a mapping or a list of mappings")
                continue
            pairs.extend(source.value)
        return pairs

    def key(self, node: yaml.Node, path: Path) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, path, "a key must be a plain string, not a list or mapping")
            return None
        if node.tag != "tag:yaml.org,2002:str":
            self.fail(
                node,
                (*path, node.value),
                f"key {node.value!r} is read as {node.tag.rsplit(':', 1)[-1]}, not text; quote it",
            )
            return None
        return str(node.value)
