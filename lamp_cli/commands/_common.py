"""Shared option types and helpers for the command modules (no mlflow, no boto3 here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lamp_cli.errors import UsageError

if TYPE_CHECKING:
    from lamp_cli.output import Output
    from lamp_cli.services.client import Backend
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
ProjectArgument = Annotated[
    str,
    typer.Argument(
        help="LAMP project id. (env: LAMP_PROJECT_ID)",
        envvar="LAMP_PROJECT_ID",
        metavar="LAMP_PROJECT_ID",
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
        help="Serving Model Spec file. (env: LAMP_MODEL_SPEC; pyproject: model-spec)",
        show_default=False,
    ),
]
EndpointSpecOption = Annotated[
    Path | None,
    typer.Option(
        "--endpoint-spec",
        help="Serving Endpoint Spec file. (env: LAMP_ENDPOINT_SPEC; pyproject: endpoint-spec)",
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
