"""Shared option types and helpers for the command modules (no mlflow, no boto3 here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lamp_cli.errors import UsageError

if TYPE_CHECKING:
    from lamp_cli.gateway import Gateway
    from lamp_cli.output import Output
    from lamp_cli.settings import Settings


@dataclass
class AppState:
    """What every command receives through ``ctx.obj``."""

    settings: Settings
    out: Output


TagOption = Annotated[
    list[str] | None,
    typer.Option("--tag", "-t", help="A tag KEY=VALUE; repeatable.", metavar="KEY=VALUE"),
]
ExistOkOption = Annotated[
    bool, typer.Option("--exist-ok", help="Return the existing one instead of failing (exit 0).")
]
_PROJECT_SOURCES = "--project, LAMP_PROJECT_ID or project under [tool.lamp]"
ProjectArgument = Annotated[
    str | None,
    typer.Argument(
        help=f"LAMP project id; omitted: {_PROJECT_SOURCES}.",
        metavar="LAMP_PROJECT_ID",
        show_default=False,
    ),
]
ProjectOption = Annotated[
    str | None,
    typer.Option(
        "--project",
        "-p",
        help="LAMP project id, where the argument is omitted. (env: LAMP_PROJECT_ID; "
        "pyproject: project)",
        show_default=False,
    ),
]
ExperimentOption = Annotated[
    str | None,
    typer.Option(
        "--experiment",
        "-e",
        help="Experiment name or id. (env: LAMP_EXPERIMENT; pyproject: experiment)",
        show_default=False,
    ),
]
ModelSpecOption = Annotated[
    Path | None,
    typer.Option(
        "--model-spec",
        help="Serving Model Spec file. (env: LAMP_MODEL_SPEC; pyproject: model-spec; default: "
        "specs/serving-model-spec.yaml of the project)",
        show_default=False,
    ),
]
EndpointSpecOption = Annotated[
    Path | None,
    typer.Option(
        "--endpoint-spec",
        help="Serving Endpoint Spec file. (env: LAMP_ENDPOINT_SPEC; pyproject: endpoint-spec; "
        "default: specs/serving-endpoint-spec.yaml of the project)",
        show_default=False,
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a spec field: model.PATH=VALUE or endpoint.PATH=VALUE (the prefix may be "
        "omitted when `spec validate` checks one file); repeatable.",
        metavar="KIND.PATH=VALUE",
    ),
]
ImageOption = Annotated[
    str | None,
    typer.Option(
        "--image",
        help="Image CI pushed, HOST/REPOSITORY:TAG (optionally @sha256:DIGEST): replaces the "
        "model spec's image; "
        "an ECR digest is looked up and pinned.",
        metavar="REF",
        show_default=False,
    ),
]
VerifyImageOption = Annotated[
    bool | None,
    typer.Option(
        "--verify-image/--no-verify-image",
        help="--verify-image also checks a pinned digest on ECR; --no-verify-image never calls "
        "AWS. Default: with --image, an ECR image without digest gets the digest of its tag.",
        show_default=False,
    ),
]

AppOption = Annotated[
    str | None,
    typer.Option(
        "--app",
        help="The FastAPI app, MODULE:ATTR (ATTR: the app or a function returning it). "
        "(env: LAMP_APP; pyproject: app; default: found in src/main.py, main.py, app.py, ...)",
        metavar="MODULE:ATTR",
        show_default=False,
    ),
]
AppDirOption = Annotated[
    Path | None,
    typer.Option(
        "--app-dir",
        help="Directory the app's module is imported from. (env: LAMP_APP_DIR; pyproject: "
        "app-dir; default: the directory of pyproject.toml)",
        show_default=False,
    ),
]
AppPythonOption = Annotated[
    Path | None,
    typer.Option(
        "--app-python",
        help="Interpreter that imports the app, in a separate process. (env: LAMP_APP_PYTHON; "
        "pyproject: app-python; default: $VIRTUAL_ENV, else .venv beside pyproject.toml, else "
        "lamp's own)",
        show_default=False,
    ),
]
OpenapiOption = Annotated[
    Path | None,
    typer.Option(
        "--openapi",
        help="A saved OpenAPI document of the app, read instead of importing the app. "
        "(env: LAMP_OPENAPI; pyproject: openapi)",
        metavar="FILE",
        show_default=False,
    ),
]
StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict", help="An app operation that no spec route exposes is an error, not a warning."
    ),
]


def state(ctx: typer.Context) -> AppState:
    found = ctx.find_root().obj
    assert isinstance(found, AppState)
    return found


def app_settings(
    ctx: typer.Context,
    app: str | None = None,
    app_dir: Path | None = None,
    app_python: Path | None = None,
    openapi: Path | None = None,
) -> Settings:
    """The settings with the command's ``--app``, ``--app-dir``, ``--app-python`` and
    ``--openapi`` flags above the environment and pyproject.toml."""
    flags = {"app": app, "app-dir": app_dir, "app-python": app_python, "openapi": openapi}
    return state(ctx).settings.with_flags(flags)


def gateway(ctx: typer.Context, *, writes: bool = False) -> Gateway:
    """The gateway to MLflow for this invocation. Only a command that ``writes`` may create the
    local store; its creation is announced once."""
    from lamp_cli.gateway import connect

    app_state = state(ctx)
    return connect(
        app_state.settings,
        writes=writes,
        announce=lambda msg: app_state.out.notice(msg, once=msg),
    )


def project_of(ctx: typer.Context, argument: str | None, option: str | None = None) -> str:
    """The project: the argument, else ``--project``, else ``LAMP_PROJECT_ID`` or
    ``[tool.lamp] project``; a usage error (exit 2) naming them when none is given."""
    project = argument or option or state(ctx).settings.project
    if not project:
        raise UsageError(
            "no project given",
            hint=f"pass LAMP_PROJECT_ID as an argument, or set {_PROJECT_SOURCES}",
        )
    return project


def split_project(
    ctx: typer.Context, values: list[str], names: tuple[str, ...], option: str | None
) -> tuple[str, list[str]]:
    """``[LAMP_PROJECT_ID] NAMES...``: the project and the other arguments.

    With one argument more than ``names`` the first one is the project; with exactly ``names``
    the project comes from ``--project``, ``LAMP_PROJECT_ID`` or ``[tool.lamp]``.
    """
    if len(values) == len(names) + 1:
        return project_of(ctx, values[0], option), values[1:]
    if len(values) == len(names):
        return project_of(ctx, None, option), values
    expected = " ".join(names)
    raise UsageError(
        f"expected [LAMP_PROJECT_ID] {expected}, got {len(values)} argument(s)",
        hint="see --help",
    )


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


def require(values: Mapping[str, object], *, setting: str, env: str | None = None) -> None:
    """A usage error (exit 2) naming every flag in ``values`` that is still unset."""
    missing = [flag for flag, value in values.items() if not value]
    if missing:
        where = f"{env} or " if env else ""
        raise UsageError(
            f"missing {', '.join(missing)}",
            hint=f"or set {where}{setting} under [tool.lamp] in pyproject.toml",
        )


def spec_paths(
    settings: Settings, model_spec: Path | None, endpoint_spec: Path | None
) -> tuple[Path, Path]:
    """The two spec files from the flags, else from the settings; a usage error when unset."""
    model_path = model_spec or settings.model_spec
    endpoint_path = endpoint_spec or settings.endpoint_spec
    require(
        {"--model-spec": model_path, "--endpoint-spec": endpoint_path},
        setting="model-spec / endpoint-spec",
        env="LAMP_MODEL_SPEC / LAMP_ENDPOINT_SPEC",
    )
    assert model_path is not None and endpoint_path is not None
    return model_path, endpoint_path
