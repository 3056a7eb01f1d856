"""Click's usage errors in lamp's terms: plain words for a bad flag value, one JSON document
under ``-o json``, help on stdout when a group is called without a sub-command, and the shell
named after ``--show-completion`` / ``--install-completion`` honoured.

Typer vendors its own Click and raises its exceptions; they are caught here, by type, and
nowhere else. Typer is pinned to a tested range in pyproject.toml because this module reaches
into ``typer._click``.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import typer
from typer._click.exceptions import (
    BadParameter,
    ClickException,
    NoArgsIsHelpError,
)
from typer._click.exceptions import (
    UsageError as ClickUsageError,
)

from lamp_cli import gha
from lamp_cli.commands import COMMANDS
from lamp_cli.errors import error_for_exit_code
from lamp_cli.output import Mode, Output

__all__ = ["ClickException", "completion_request", "report"]

#: The shells Typer writes completion scripts for.
SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")
_COMPLETION_OPTIONS = ("--show-completion", "--install-completion")


def report(exc: ClickException, mode: Mode) -> int:
    """Print ``exc`` as lamp prints errors in ``mode``; the exit code to end with.

    A group called without a sub-command prints its help on stdout and succeeds, as ``gh``,
    ``kubectl`` and ``docker`` do: asking for nothing is no error.
    """
    if isinstance(exc, NoArgsIsHelpError):
        typer.echo(exc.ctx.get_help())
        return 0
    if isinstance(exc, BadParameter):
        exc.message = plain_words(exc)
    message = " ".join(exc.format_message().split())
    if mode is Mode.json:
        ctx = getattr(exc, "ctx", None)
        path = ctx.command_path if ctx is not None else "lamp"
        Output(Mode.json).error(
            error_for_exit_code(exc.exit_code, message, hint=f"see `{path} --help`")
        )
    else:
        exc.show()
        if gha.in_actions():
            sys.stderr.write(gha.error_command(f"usage: {message}") + "\n")
    return exc.exit_code


def completion_request(ctx: Any, args: list[str]) -> None:
    """Honour ``--show-completion SHELL`` and ``--install-completion SHELL`` (also ``=SHELL``).

    Typer's own options take no value and name the shell from the process tree, so the shell
    asked for would be ignored; without one given, Typer's detection still applies.
    """
    from typer.completion import install_callback, show_callback

    for index, token in enumerate(args):
        if token == "--":
            return
        name, sep, value = token.partition("=")
        if name not in _COMPLETION_OPTIONS:
            continue
        if not sep:
            following = args[index + 1] if index + 1 < len(args) else ""
            if not following or following.startswith("-") or following in COMMANDS:
                return  # no shell given: Typer's option detects it
            value = following
        if value not in SHELLS:
            raise ClickUsageError(
                f"cannot write completion for the shell {value!r}; lamp knows "
                f"{', '.join(SHELLS[:3])} and PowerShell ({', '.join(SHELLS[3:])})",
                ctx=ctx,
            )
        callback = show_callback if name == "--show-completion" else install_callback
        callback(ctx, None, value)  # type: ignore[arg-type]  # both print, then exit


# --- plain words for a value Typer refused --------------------------------------------------
# Typer checks option values with pydantic, whose messages ("Input should be a valid number,
# unable to parse string as a number") reach the user verbatim. They are reworded here in the
# words lamp's spec problems use: what the value must be, then what was given.

_BY_TYPE = {
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "finite_number": "must be a finite number",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "must be at least {}"),
    "greater_than": ("gt", "must be greater than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "less_than": ("lt", "must be less than {}"),
}
_CHOICE_RE = re.compile(r"is not one of (?P<choices>.+?)\.?$")


def plain_words(exc: BadParameter) -> str:
    """The message of ``exc`` without pydantic's wording; as it was when it has none."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if not callable(errors):
        return exc.message
    try:
        first: dict[str, Any] = errors()[0]
    except (IndexError, TypeError):
        return exc.message
    kind = str(first.get("type", ""))
    context = first.get("ctx") or {}
    got = f" (got {_shown(first.get('input'))})"
    if kind in _BY_TYPE:
        return _BY_TYPE[kind] + got
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        bound = context.get(key)
        return words.format(f"{bound:g}" if isinstance(bound, float) else bound) + got
    if kind == "value_error":
        choice = _CHOICE_RE.search(str(context.get("error", "")))
        if choice is not None:
            options = re.findall(r"'([^']*)'", choice["choices"])
            return f"must be one of {', '.join(options)}" + got
        return str(context.get("error", exc.message)).rstrip(".") + got
    text = str(first.get("msg", exc.message))
    return re.sub(r"^Input should be", "must be", text) + got


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else repr(str(value))
