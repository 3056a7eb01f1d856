"""Rendering: human tables, one JSON document, or the bare identifier; everything else on stderr.

stdout carries data only. Notices, warnings and errors go to stderr, so `$(lamp -o quiet ...)` and
`lamp -o json ... | jq` always see clean data.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from lamp_cli import gha
from lamp_cli.errors import LampError


class Mode(str, Enum):
    human = "human"
    json = "json"
    quiet = "quiet"


def _console(stream: Any) -> Console:
    # Rich sizes tables to the terminal; in pipes and CI a fixed width keeps output stable.
    width = None if stream.isatty() else 120
    return Console(file=stream, width=width, soft_wrap=True, highlight=False)


class Output:
    """Writes results on stdout in the chosen mode and notices on stderr."""

    def __init__(self, mode: Mode | str = Mode.human) -> None:
        self.mode = Mode(mode)
        self._announced: set[str] = set()

    @property
    def stdout(self) -> Console:
        return _console(sys.stdout)

    @property
    def stderr(self) -> Console:
        return _console(sys.stderr)

    def emit(
        self,
        data: Any,
        *,
        human: Callable[[Console], None] | None = None,
        quiet: str | Sequence[str] | None = None,
    ) -> None:
        """Print a command's result: ``data`` as JSON, ``human(console)`` or the ``quiet`` id(s)."""
        if self.mode is Mode.json:
            sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
        elif self.mode is Mode.quiet:
            if quiet is None:
                return
            lines = [quiet] if isinstance(quiet, str) else list(quiet)
            for line in lines:
                sys.stdout.write(f"{line}\n")
        elif human is not None:
            if sys.stdout.isatty():
                human(self.stdout)
            else:
                # Pipes and CI logs get plain text without the tables' trailing padding.
                buffer = io.StringIO()
                human(Console(file=buffer, width=120, soft_wrap=False, highlight=False))
                sys.stdout.write(
                    "".join(f"{ln.rstrip()}\n" for ln in buffer.getvalue().splitlines())
                )
        else:
            sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()

    def write_text(self, text: str) -> None:
        """Write text to stdout exactly as given (rendered documents, YAML)."""
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        sys.stdout.flush()

    def notice(self, message: str, *, once: str | None = None) -> None:
        """A note for the person at the terminal; stderr, never in quiet-sensitive stdout."""
        if once is not None:
            if once in self._announced:
                return
            self._announced.add(once)
        self.stderr.print(Text(f"lamp: {message}", style="dim"))

    def warn(self, message: str) -> None:
        self.stderr.print(Text(f"lamp: warning: {message}", style="yellow"))

    def error(self, err: LampError) -> None:
        """Report an error on stderr: a line per problem, or one JSON document with ``-o json``."""
        if self.mode is Mode.json:
            sys.stderr.write(json.dumps({"error": err.to_dict()}, ensure_ascii=False) + "\n")
        else:
            console = self.stderr
            console.print(Text(f"error: {err.message}", style="bold red"))
            for problem in err.problems:
                console.print(Text(f"  {problem}"))
            if err.hint:
                console.print(Text(f"hint: {err.hint}", style="dim"))
        if gha.in_actions():
            # Annotations on the run's summary page, at the file and line of each problem.
            for command in gha.error_commands(err):
                sys.stderr.write(command + "\n")
        sys.stderr.flush()


# --- helpers for human rendering -------------------------------------------------------------


def key_value_table(rows: Sequence[tuple[str, Any]], *, title: str | None = None) -> Table:
    table = Table(show_header=False, box=None, title=title, title_justify="left", pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, Text(_cell(value)))
    return table


def list_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(_cell(v)) for v in row))
    return table


def tags_text(tags: Mapping[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(tags.items())) if tags else "-"


def _cell(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, Mapping):
        return tags_text(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)
