"""Shared option types and helpers for the command modules (no mlflow, no boto3 here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from lamp_cli.main import AppState
    from lamp_cli.services.client import Backend

TagOption = Annotated[
    list[str] | None,
    typer.Option("--tag", "-t", help="A tag KEY=VALUE; repeatable.", metavar="KEY=VALUE"),
]
ExistOkOption = Annotated[
    bool, typer.Option("--exist-ok", help="Return the existing one instead of failing (exit 0).")
]


def state(ctx: typer.Context) -> AppState:
    return ctx.find_root().obj


def backend(ctx: typer.Context) -> Backend:
    """The MLflow client for this invocation; announces the embedded default store once."""
    from lamp_cli.services.client import connect

    app_state = state(ctx)
    return connect(app_state.settings, announce=lambda msg: app_state.out.notice(msg, once=msg))


def parse_tags(values: list[str] | None, option: str = "--tag") -> dict[str, str]:
    """``["k=v", ...]`` as a dict; a malformed pair is a usage error (exit 2)."""
    tags: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got '{item}'", param_hint=option)
        tags[key] = value
    return tags
