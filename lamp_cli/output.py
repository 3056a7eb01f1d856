"""Rendering: human tables, one JSON document, or the bare identifier; everything else on stderr.

stdout carries data only. Notices, warnings and errors go to stderr, so `$(lamp -o quiet ...)` and
`lamp -o json ... | jq` always see clean data.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from lamp_cli import gha
from lamp_cli.errors import LampError
from lamp_cli.secrets import scrub

if TYPE_CHECKING:  # rich is imported when something is printed, not by `lamp --help`
    from rich.console import Console


class Mode(str, Enum):
    human = "human"
    json = "json"
    quiet = "quiet"


def _pipe_width() -> int:
    # In pipes and CI a fixed width keeps output stable; COLUMNS, when set, is the reader's.
    try:
        return max(40, int(os.environ.get("COLUMNS", "")))
    except ValueError:
        return 120


def _console(stream: Any) -> Console:
    from rich.console import Console

    width = None if stream.isatty() else _pipe_width()
    return Console(file=stream, width=width, soft_wrap=True, highlight=False)


class Output:
    """Writes results on stdout in the chosen mode and notices on stderr."""

    def __init__(self, mode: Mode | str = Mode.human) -> None:
        self.mode = Mode(mode)
        self._announced: set[str] = set()
        # With -o json, notes wait for the result: a failure's stderr is its one JSON document.
        # Once the result is out, there is no failure left to keep stderr clean for.
        self._pending: list[tuple[str, str]] = []
        self._emitted = False

    def _say(self, message: str, style: str) -> None:
        if self.mode is Mode.json and not self._emitted:
            self._pending.append((message, style))
        else:
            self._print(self.stderr, [(message, style)])

    def _flush_notes(self) -> None:
        if self._pending:
            self._print(self.stderr, self._pending)
        self._pending.clear()

    @staticmethod
    def _print(console: Console, lines: Sequence[tuple[str, str]]) -> None:
        from rich.text import Text

        for message, style in lines:
            console.print(Text(message, style=style))

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
        self._flush_notes()
        self._emitted = True
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
                from rich.console import Console

                buffer = io.StringIO()
                human(Console(file=buffer, width=_pipe_width(), soft_wrap=True, highlight=False))
                sys.stdout.write(
                    "".join(f"{ln.rstrip()}\n" for ln in buffer.getvalue().splitlines())
                )
        else:
            sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()

    def write_text(self, text: str) -> None:
        """Write text to stdout exactly as given (rendered documents, YAML)."""
        self._flush_notes()
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        sys.stdout.flush()

    def notice(self, message: str, *, once: str | None = None) -> None:
        """A note for the person at the terminal; stderr, never in quiet-sensitive stdout."""
        if once is not None:
            if once in self._announced:
                return
            self._announced.add(once)
        self._say(f"lamp: {message}", "dim")

    def warn(self, message: str) -> None:
        self._say(f"lamp: warning: {message}", "yellow")

    def error(self, err: LampError) -> None:
        """Report an error on stderr: a line per problem, or one JSON document with ``-o json``."""
        if self.mode is Mode.json:
            self._pending.clear()
            document = json.dumps({"error": err.to_dict()}, ensure_ascii=False)
            sys.stderr.write(scrub(document) + "\n")
        else:
            lines = [(scrub(f"error: {err.message}"), "bold red")]
            lines += [(scrub(f"  {problem}"), "") for problem in err.problems]
            if err.hint:
                lines.append((scrub(f"hint: {err.hint}"), "dim"))
            self._print(self.stderr, lines)
        if gha.in_actions():
            # Annotations on the run's summary page, at the file and line of each problem.
            for command in gha.error_commands(err):
                sys.stderr.write(command + "\n")
        sys.stderr.flush()


# --- helpers for human rendering -------------------------------------------------------------


class _Table:
    """A table that stays a table at any width and keeps every value whole.

    Cells wrap at spaces only, inside their column: while the table is too wide, the widest
    column that still can wraps one character narrower. A word (an id, a digest, an image, a
    path, a URI) is never cut, so no column gets narrower than its longest word; when those
    words alone are wider than the terminal, the rows are too, as ``kubectl`` prints them. A
    value copied from the output is always the whole value.
    """

    def __init__(self, headers: Sequence[str], rows: Sequence[Sequence[str]], *, show_header: bool):
        self.headers = list(headers)
        self.rows = [list(r) for r in rows]
        self.show_header = show_header

    def widths(self, available: int) -> list[int]:
        """Each column's width for a table of at most ``available`` characters, if it can be."""
        cells = [[h] if self.show_header else [] for h in self.headers]
        for row in self.rows:
            for i, cell in enumerate(row):
                cells[i].append(cell)
        longest_line = [
            max((len(ln) for c in col for ln in c.splitlines()), default=0) for col in cells
        ]
        longest_word = [max((len(w) for c in col for w in c.split()), default=0) for col in cells]
        widths = [max(1, n) for n in longest_line]
        room = available - 2 * (len(widths) - 1)
        excess = sum(widths) - room
        while excess > 0:
            shrinkable = [i for i, w in enumerate(widths) if w > max(1, longest_word[i])]
            if not shrinkable:
                break
            widest = max(shrinkable, key=lambda i: widths[i])
            widths[widest] -= 1
            excess -= 1
        return widths

    def __rich_console__(self, console: Console, options: Any) -> Any:
        from rich.table import Table
        from rich.text import Text

        widths = self.widths(options.max_width)
        table = Table(box=None, pad_edge=False, show_header=self.show_header)
        for i, header in enumerate(self.headers):
            first_bold = i == 0 and not self.show_header
            table.add_column(
                header,
                header_style="bold",
                style="bold" if first_bold else None,
                width=widths[i],
                overflow="fold",  # no word is wider than its column: nothing is cut
            )
        for row in self.rows:
            table.add_row(*(Text(c) for c in row))
        total = sum(widths) + 2 * (len(widths) - 1)
        yield from console.render(table, options.update_width(max(options.max_width, total)))


def key_value_table(rows: Sequence[tuple[str, Any]]) -> _Table:
    return _Table(["KEY", "VALUE"], [(k, _cell(v)) for k, v in rows], show_header=False)


def list_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> _Table:
    return _Table(columns, [[_cell(v) for v in row] for row in rows], show_header=True)


def tags_text(tags: Mapping[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(tags.items())) if tags else "-"


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, Mapping):
        return tags_text(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)
