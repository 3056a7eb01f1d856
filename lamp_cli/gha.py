"""GitHub Actions integration: step outputs, the job summary and workflow commands.

The formats are GitHub's: ``$GITHUB_OUTPUT`` and ``$GITHUB_STEP_SUMMARY`` are files the runner
reads after the step, and ``::error ...::`` lines on stdout or stderr become annotations. Outside
Actions every writer here does nothing, so callers need no ``if``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from lamp_cli.errors import LampError


def in_actions(environ: Mapping[str, str] | None = None) -> bool:
    """True when running as a GitHub Actions step (the runner sets ``GITHUB_ACTIONS=true``)."""
    env = os.environ if environ is None else environ
    return env.get("GITHUB_ACTIONS") == "true"


def write_outputs(values: Mapping[str, str], environ: Mapping[str, str] | None = None) -> bool:
    """Append ``key=value`` step outputs to ``$GITHUB_OUTPUT``; False when there is no such file.

    Multi-line values use the ``key<<DELIMITER`` form with a random delimiter, as GitHub
    documents, so a value can never end the block early or inject another output.
    """
    env = os.environ if environ is None else environ
    path = env.get("GITHUB_OUTPUT")
    if not path or not values:
        return False
    lines: list[str] = []
    for key, value in values.items():
        _check_key(key)
        text = "" if value is None else str(value)
        if "\n" in text or "\r" in text:
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            lines += [f"{key}<<{delimiter}", text, delimiter]
        else:
            lines.append(f"{key}={text}")
    _append(path, "\n".join(lines) + "\n")
    return True


def write_summary(
    title: str,
    rows: Sequence[tuple[str, str]],
    environ: Mapping[str, str] | None = None,
    *,
    headers: tuple[str, str] = ("", ""),
) -> bool:
    """Append a heading and a two-column Markdown table to ``$GITHUB_STEP_SUMMARY``.

    False when there is no summary file (outside Actions).
    """
    env = os.environ if environ is None else environ
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    parts = [f"### {_one_line(title)}", "", f"| {_cell(headers[0])} | {_cell(headers[1])} |"]
    parts.append("|---|---|")
    parts += [f"| {_cell(key)} | {_cell(value)} |" for key, value in rows]
    _append(path, "\n".join(parts) + "\n\n")
    return True


def publish(
    title: str,
    outputs: Mapping[str, str],
    summary: Sequence[tuple[str, str]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> bool:
    """In GitHub Actions, write ``outputs`` to the step's outputs and a summary table of
    ``summary`` (default: the non-empty outputs). Outside Actions nothing; False then."""
    if not in_actions(environ):
        return False
    write_outputs(outputs, environ)
    rows = summary if summary is not None else [(k, v) for k, v in outputs.items() if v]
    write_summary(title, rows, environ, headers=("", ""))
    return True


def error_command(
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    title: str | None = None,
) -> str:
    """The ``::error file=F,line=L,col=C,title=T::message`` workflow command, escaped."""
    props = [
        f"{name}={_escape_property(str(value))}"
        for name, value in (("file", file), ("line", line), ("col", col), ("title", title))
        if value is not None and value != ""
    ]
    head = "::error " + ",".join(props) if props else "::error"
    return f"{head}::{_escape_data(message)}"


def error_commands(error: LampError) -> list[str]:
    """One ``::error`` command per problem of a lamp error (each at its file and line), or one."""
    problems = error.problems
    if not problems:
        text = error.message + (f" ({error.hint})" if error.hint else "")
        return [error_command(text, title=f"lamp: {error.kind}")]
    return [
        error_command(
            f"{p.field}: {p.message}" if p.field else p.message,
            file=p.file,
            line=p.line,
            col=p.column,
            title=f"lamp: {error.kind}",
        )
        for p in problems
    ]


def _check_key(key: str) -> None:
    # A key with '=', '<<' or a newline would be read as another output: refuse it loudly,
    # it is a bug in lamp, not a user error.
    if not key or any(c in key for c in "=\r\n") or "<<" in key:
        raise ValueError(f"invalid GitHub Actions output name: {key!r}")


def _append(path: str, text: str) -> None:
    with Path(path).open("a", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _cell(text: object) -> str:
    value = "" if text is None else str(text)
    value = value.replace("|", "\\|")
    return "<br>".join(_one_line(part) for part in value.splitlines()) or " "
