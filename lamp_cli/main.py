"""The root of ``lamp``: global options, sub-apps, and the one error -> exit-code map."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from lamp_cli import __version__, gha
from lamp_cli.commands import COMMANDS, NESTED
from lamp_cli.commands._common import AppState
from lamp_cli.commands._usage import ClickException, completion_request, report
from lamp_cli.errors import EXIT_UNEXPECTED, LampError, UnexpectedError, UsageError
from lamp_cli.output import Mode, Output
from lamp_cli.secrets import scrub
from lamp_cli.settings import resolve


def _debug() -> bool:
    return os.environ.get("LAMP_DEBUG", "") not in ("", "0", "false")


#: Global options that take a value; accepted after the sub-command too, as gh and kubectl do.
GLOBAL_VALUE_OPTIONS = (
    "--output",
    "-o",
    "--tracking-uri",
    "--registry-uri",
    "--uc-catalog",
    "--uc-schema",
)

#: Parameter types in the words of a help page.
_METAVARS = {"str": "TEXT", "Path": "PATH", "int": "INTEGER", "float": "NUMBER"}


def hoist_global_options(args: list[str]) -> list[str]:
    """``args`` with the global options given after the sub-command moved before it.

    Stops at ``--``; ``--opt VALUE``, ``--opt=VALUE`` and ``-oVALUE`` forms are recognized.
    """
    hoisted: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            rest.extend(args[i:])
            break
        name = token.split("=", 1)[0]
        if token in GLOBAL_VALUE_OPTIONS and i + 1 < len(args):
            hoisted += args[i : i + 2]
            i += 2
            continue
        long_form = name in GLOBAL_VALUE_OPTIONS and "=" in token and name.startswith("--")
        short_form = token.startswith("-o") and not token.startswith("--") and len(token) > 2
        if long_form or short_form:
            hoisted.append(token)
        else:
            rest.append(token)
        i += 1
    return hoisted + rest


def _keep_examples(text: str) -> str:
    """Help text whose indented paragraphs (the examples) are printed as written.

    Click reflows every paragraph to the terminal width except those marked with ``\\b``.
    """
    paragraphs = text.split("\n\n")
    kept = [
        "\b\n" + p if p.strip() and all(line.startswith("    ") for line in p.splitlines()) else p
        for p in paragraphs
    ]
    return "\n\n".join(kept)


def _humanize_help(command: Any) -> None:
    """Help pages that read well at 80 columns: TEXT, PATH, INTEGER instead of ``<str>``-style
    placeholders (none for flags and arguments, whose name is the placeholder), and examples
    kept as written while the prose reflows."""
    if getattr(command, "help", None):
        command.help = _keep_examples(command.help)
    for param in getattr(command, "params", []):
        if param.param_type_name == "argument":
            param.display_type_rich = lambda ctx: None
            # Usage lines as Click writes them: NAME, [NAME], or a composite as spelled out.
            name = param.metavar or param.name.upper()
            usage = name if param.required or " " in name else f"[{name}]"
            param.get_usage_pieces = lambda ctx, usage=usage: [usage]
            continue
        descriptor = getattr(param, "type_descriptor", None)
        if getattr(param, "is_flag", False) or param.metavar is not None or descriptor is None:
            continue
        if descriptor.is_choice:
            continue
        bare = param.bare_type()
        word = _METAVARS.get(bare.removeprefix("list[").removesuffix("]"))
        if word is not None:
            param.metavar = word
    for sub in getattr(command, "commands", {}).values():
        _humanize_help(sub)


def load_command(name: str) -> Any:
    """The Click command of ``lamp NAME``, built from its module in ``lamp_cli.commands``."""
    typer_app: typer.Typer = importlib.import_module(f"lamp_cli.commands.{name}").app
    if any(info.name == name for info in typer_app.registered_commands):
        command = typer.main.get_command(typer_app)  # a module of one command: register, ...
    else:
        command = typer.main.get_group(typer_app)
        for child in NESTED.get(name, ()):
            nested: typer.Typer = importlib.import_module(f"lamp_cli.commands.{child}").app
            command.add_command(typer.main.get_group(nested), child)
    command.name = name
    _humanize_help(command)
    return command


#: Typer's completion options, as lamp reads them (see commands/_usage.completion_request).
_COMPLETION_HELP = {
    "install_completion": "Install completion for SHELL (bash, zsh, fish, powershell; "
    "default: the current shell): --install-completion zsh.",
    "show_completion": "Print the completion script for SHELL, to install it by hand: "
    "--show-completion fish.",
}


class LampGroup(TyperGroup):
    """Loads each sub-command when it is used, catches every error once, renders it, and exits
    with its documented code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _humanize_help(self)

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        for param in params:
            if param.name in _COMPLETION_HELP:
                param.help = _COMPLETION_HELP[param.name]
        return params

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and name not in COMMANDS and not name.startswith("-") and not ctx.resilient_parsing:
            # Typer suggests from the loaded commands only; these are all of them.
            import difflib

            matches = ", ".join(repr(m) for m in difflib.get_close_matches(name, list(COMMANDS)))
            ctx.fail(
                f"No such command {name!r}." + (f" Did you mean {matches}?" if matches else "")
            )
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list from the summaries in ``lamp_cli.commands``: no module imported."""
        with formatter.section("Commands"):
            formatter.write_dl(list(COMMANDS.items()))

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args = hoist_global_options(list(args))
        # Kept for the output mode of a usage error raised before the root's callback ran.
        ctx.meta[_ARGS_KEY] = list(args)
        if not ctx.resilient_parsing:
            completion_request(ctx, args)
        return super().parse_args(ctx, args)

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except ClickException as exc:
            if extra.get("resilient_parsing"):
                raise  # completion: Click's own quiet handling
            raise typer.Exit(report(exc, _mode_from_args(args))) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except LampError as err:
            _report(ctx, err)
            raise typer.Exit(err.exit_code) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            # The reader went away (`lamp ... | head`): nothing left to say to it.
            _silence_stdout()
            raise typer.Exit(0) from None
        except ClickException as exc:
            # Usage errors: Click's own words (plain ones for a bad value), or one JSON document.
            raise typer.Exit(report(exc, _mode_of(ctx))) from None
        except typer.TyperException:
            raise  # Typer's own signals, which it renders itself
        except Exception as exc:
            if _debug():
                _print_traceback(exc)
            first_line = scrub(str(exc)).splitlines()[0] if str(exc) else ""
            unexpected = UnexpectedError(
                f"unexpected error: {type(exc).__name__}: {first_line}",
                hint="set LAMP_DEBUG=1 for details",
            )
            _report(ctx, unexpected)
            raise typer.Exit(EXIT_UNEXPECTED) from None


def _print_traceback(exc: BaseException) -> None:
    """LAMP_DEBUG's traceback, with every credential lamp knows of taken out."""
    import traceback

    sys.stderr.write(scrub("".join(traceback.format_exception(exc))))


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


#: Commands whose outcome a CI run's summary page shows, failures included.
_SUMMARIZED = ("release", "register")


def _report(ctx: Any, err: LampError) -> None:
    state = ctx.obj if isinstance(ctx.obj, AppState) else None
    out = state.out if state else Output(_mode_from_env())
    if _debug() and err.__cause__ is not None:
        _print_traceback(err.__cause__)
    out.error(err)
    command = ctx.invoked_subcommand or ""
    if command in _SUMMARIZED and gha.in_actions():
        rows = [("result", f"failed (exit {err.exit_code})"), ("error", err.message)]
        rows += [("problem", str(p)) for p in err.problems[:10]]
        if err.hint:
            rows.append(("next step", err.hint))
        gha.write_summary(f"lamp {command} failed", rows, headers=("", ""))


def _mode_from_env() -> Mode:
    try:
        return Mode(os.environ.get("LAMP_OUTPUT", "human").lower())
    except ValueError:
        return Mode.human


_ARGS_KEY = "lamp.args"


def _mode_from_args(args: list[str]) -> Mode:
    """The output mode ``args`` ask for (``-o``/``--output`` in any form), else LAMP_OUTPUT's."""
    for index, token in enumerate(args):
        if token == "--":
            break
        value: str | None = None
        if token in ("-o", "--output") and index + 1 < len(args):
            value = args[index + 1]
        elif token.startswith("--output="):
            value = token.split("=", 1)[1]
        elif token.startswith("-o") and not token.startswith("--") and len(token) > 2:
            value = token[2:]
        if value is not None:
            try:
                return Mode(value.lower())
            except ValueError:
                break
    return _mode_from_env()


def _mode_of(ctx: Any) -> Mode:
    root = ctx.find_root()
    if isinstance(root.obj, AppState):
        return root.obj.out.mode
    return _mode_from_args(root.meta.get(_ARGS_KEY, []))


app = typer.Typer(
    cls=LampGroup,
    name="lamp",
    help="Record what to serve and how to serve it in MLflow, for the LAMP serving platform.",
    epilog="Docs: README.md. Exit codes: 0 ok, 2 usage, 3 invalid input, 4 not found, "
    "5 conflict, 6 backend unreachable, 7 no credentials or permission denied, 1 unexpected.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"lamp {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri",
            help="MLflow tracking URI. (env: MLFLOW_TRACKING_URI; default: sqlite:///mlflow.db)",
            show_default=False,
        ),
    ] = None,
    registry_uri: Annotated[
        str | None,
        typer.Option(
            "--registry-uri",
            help="MLflow model registry URI. (env: MLFLOW_REGISTRY_URI; default: databricks-uc "
            "for a Databricks tracking URI, else the tracking URI)",
            show_default=False,
        ),
    ] = None,
    uc_catalog: Annotated[
        str | None,
        typer.Option(
            "--uc-catalog",
            help="Unity Catalog catalog of a bare project id (registry databricks-uc). "
            "(env: LAMP_UC_CATALOG)",
            show_default=False,
        ),
    ] = None,
    uc_schema: Annotated[
        str | None,
        typer.Option(
            "--uc-schema",
            help="Unity Catalog schema of a bare project id (registry databricks-uc). "
            "(env: LAMP_UC_SCHEMA)",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Mode | None,
        typer.Option(
            "--output",
            "-o",
            help="human tables, one JSON document, or the bare id (quiet). (env: LAMP_OUTPUT)",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    mode = output or _mode_from_env()
    out = Output(mode)
    # A placeholder state first, so that an error while resolving settings renders in `mode`.
    ctx.obj = AppState(settings=None, out=out)  # type: ignore[arg-type]
    chosen = os.environ.get("LAMP_OUTPUT", "")
    if output is None and chosen and chosen.lower() not in Mode.__members__:
        raise UsageError(
            f"LAMP_OUTPUT must be one of {', '.join(Mode.__members__)} (got {chosen!r})",
            hint="set it to one of them, or pass -o/--output",
        )
    ctx.obj.settings = resolve(
        {
            "tracking-uri": tracking_uri,
            "registry-uri": registry_uri,
            "uc-catalog": uc_catalog,
            "uc-schema": uc_schema,
        }
    )


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:
        _silence_stdout()
    except KeyboardInterrupt:
        sys.stderr.write("lamp: interrupted\n")
        sys.exit(130)
