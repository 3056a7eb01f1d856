"""``lamp version alias``: move or remove an alias deliberately (promote, roll back)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lamp_cli.commands._common import ProjectOption, gateway, split_project, state
from lamp_cli.errors import UsageError
from lamp_cli.output import key_value_table
from lamp_cli.services import aliases

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    help="Set or delete an alias of a project's versions (compare-and-set).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ExpectCurrentOption = Annotated[
    str | None,
    typer.Option(
        "--expect-current",
        metavar="VERSION",
        help="Change nothing (exit 5) unless the alias points at this version now; 'none' "
        "expects it unset.",
        show_default=False,
    ),
]


def _expected(value: str | None) -> tuple[int | None, bool]:
    if value is None:
        return None, False
    if value.lower() == "none":
        return None, True
    if not value.isdigit():
        raise UsageError(f"--expect-current takes a version number or 'none', not '{value}'")
    return int(value), False


@app.command("set")
def set_(
    ctx: typer.Context,
    args: Annotated[
        list[str],
        typer.Argument(
            help="The project (omitted: --project, LAMP_PROJECT_ID or [tool.lamp]), the alias, "
            "and the version it should point at: a number, or @OTHER for the version another "
            "alias points at.",
            metavar="[LAMP_PROJECT_ID] ALIAS VERSION",
            show_default=False,
        ),
    ],
    project_option: ProjectOption = None,
    expect_current: ExpectCurrentOption = None,
) -> None:
    """Point an alias at a version, forward or back, optionally only if it is where you expect.

    With --expect-current N nothing changes unless the alias points at version N when lamp
    looks (exit 5 otherwise), so two people promoting at once cannot overwrite each other's
    decision unseen. The check and the write are two requests: a writer in between is not seen.

    Examples:

        lamp version alias set fraud-detector-prj production 4 --expect-current 3

        lamp version alias set fraud-detector-prj staging 5 --expect-current none

        lamp version alias set fraud-detector-prj production @candidate
    """
    project, (alias, version) = split_project(ctx, args, ("ALIAS", "VERSION"), project_option)
    if not version.isdigit() and not version.startswith("@"):
        raise UsageError(
            f"VERSION must be a version number or @ALIAS (where another alias points), "
            f"not '{version}'"
        )
    expected, expect_unset = _expected(expect_current)
    move = aliases.set_alias(
        gateway(ctx),
        project,
        alias,
        version,
        expect_current=expected,
        expect_unset=expect_unset,
    )
    out = state(ctx).out
    if move.previous == move.version.version:
        out.notice(f"alias @{move.alias} already points at version {move.version.version}")
    data = {
        "project": move.project,
        "alias": move.alias,
        "version": move.version.version,
        "previous_version": move.previous,
    }

    def render(console: Console) -> None:
        console.print(key_value_table(list(data.items())))

    out.emit(data, human=render, quiet=str(move.version.version))


@app.command("delete")
def delete(
    ctx: typer.Context,
    args: Annotated[
        list[str],
        typer.Argument(
            help="The project (omitted: --project, LAMP_PROJECT_ID or [tool.lamp]), then the "
            "alias.",
            metavar="[LAMP_PROJECT_ID] ALIAS",
            show_default=False,
        ),
    ],
    project_option: ProjectOption = None,
    expect_current: ExpectCurrentOption = None,
) -> None:
    """Remove an alias from the project (exit 4 when it does not exist).

    Examples:

        lamp version alias delete fraud-detector-prj candidate

        lamp version alias delete fraud-detector-prj canary --expect-current 7
    """
    project, (alias,) = split_project(ctx, args, ("ALIAS",), project_option)
    expected, _ = _expected(expect_current)
    previous = aliases.delete_alias(gateway(ctx), project, alias, expect_current=expected)
    data = {"alias": alias.lstrip("@"), "deleted": True, "previous_version": previous}

    def render(console: Console) -> None:
        console.print(key_value_table(list(data.items())))

    state(ctx).out.emit(data, human=render, quiet=str(previous))
