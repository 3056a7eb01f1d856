"""The root of ``lamp``: global options, sub-apps, and the one error -> exit-code map."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from lamp_cli import __version__, gha
from lamp_cli.commands import config, doctor, experiment, project, release, run, spec, version
from lamp_cli.commands._common import AppState
from lamp_cli.errors import EXIT_UNEXPECTED, LampError, UnexpectedError
from lamp_cli.output import Mode, Output
from lamp_cli.settings import resolve


def _debug() -> bool:
    return os.environ.get("LAMP_DEBUG", "") not in ("", "0", "false")


class LampGroup(TyperGroup):
    """Catches every error once, renders it, and exits with its documented code."""

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
        except Exception as exc:
            if type(exc).__module__.startswith("typer"):
                # Usage errors keep Typer's own rendering and exit 2; in Actions also annotated.
                if gha.in_actions() and hasattr(exc, "format_message"):
                    sys.stderr.write(gha.error_command(f"usage: {exc.format_message()}") + "\n")
                raise
            if _debug():
                traceback.print_exc()
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            err = UnexpectedError(
                f"unexpected error: {type(exc).__name__}: {first_line}",
                hint="set LAMP_DEBUG=1 for details",
            )
            _report(ctx, err)
            raise typer.Exit(EXIT_UNEXPECTED) from None


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _report(ctx: Any, err: LampError) -> None:
    state = ctx.obj if isinstance(ctx.obj, AppState) else None
    out = state.out if state else Output(_mode_from_env())
    if _debug() and err.__cause__ is not None:
        traceback.print_exception(err.__cause__)
    out.error(err)


def _mode_from_env() -> Mode:
    try:
        return Mode(os.environ.get("LAMP_OUTPUT", "human"))
    except ValueError:
        return Mode.human


app = typer.Typer(
    cls=LampGroup,
    name="lamp",
    help="Record what to serve and how to serve it in MLflow, for the LAMP serving platform.",
    epilog="Docs: README.md. Exit codes: 0 ok, 2 usage, 3 invalid input, 4 not found, "
    "5 conflict, 6 backend unreachable, 7 permission denied, 1 unexpected.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
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
    ctx.obj.settings = resolve(
        {
            "tracking-uri": tracking_uri,
            "registry-uri": registry_uri,
            "uc-catalog": uc_catalog,
            "uc-schema": uc_schema,
        }
    )


app.add_typer(experiment.app, name="experiment")
app.add_typer(run.app, name="run")
app.add_typer(project.app, name="project")
app.command("register")(version.register)
app.add_typer(version.app, name="version")
app.command("release")(release.release)
app.add_typer(spec.app, name="spec")
app.add_typer(config.app, name="config")
app.command("doctor")(doctor.doctor)


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:
        _silence_stdout()
    except KeyboardInterrupt:
        sys.stderr.write("lamp: interrupted\n")
        sys.exit(130)
