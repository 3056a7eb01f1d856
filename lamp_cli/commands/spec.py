"""``lamp spec``: author, check, export and render serving specs — offline, no MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lamp_cli.commands._common import (
    AppDirOption,
    AppOption,
    AppPythonOption,
    OpenapiOption,
    SetOption,
    StrictOption,
    app_settings,
    spec_paths,
    state,
)
from lamp_cli.commands._render import (
    ChartOption,
    ChartSchemaOption,
    HelmOption,
    KubeVersionOption,
    RenderFormat,
    RenderFormatOption,
    emit_render,
)
from lamp_cli.errors import InvalidInput, UsageError

if TYPE_CHECKING:
    from rich.console import Console


app = typer.Typer(
    help="Author, validate, export and render serving specs (offline).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

DEFAULT_DIR = Path("specs")


@app.command()
def init(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Option("--dir", help="Directory to write the specs into.")
    ] = DEFAULT_DIR,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="metadata.name of both specs; default: .copier-answers.yml or pyproject.toml.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    app: AppOption = None,
    app_dir: AppDirOption = None,
    app_python: AppPythonOption = None,
    openapi: OpenapiOption = None,
) -> None:
    """Write a commented, valid pair of specs (and their JSON Schemas) for the app here.

    When a FastAPI app is found (or --openapi names its saved document), spec.routes are the
    app's operations, the probes its health routes (GET /health/live, /healthz, /readyz, ...),
    and the first route with a JSON body is primary; else the routes and probes are an example.
    The name comes from the serving template's .copier-answers.yml when present, else from
    pyproject.toml. Existing files are never overwritten without --force (exit 5). The app's
    pyproject.toml gets a [tool.lamp] table (experiment, project, model-spec, endpoint-spec)
    when it has none, its other bytes untouched; without a pyproject.toml, one holding only
    that table is created. .gitignore gets mlflow.db and mlruns/ when missing. Each change is
    said on stderr.

    Examples:

        lamp spec init

        lamp spec init --app src.main:app --name fraud-detector --force
    """
    from lamp_cli.services.app import load_api
    from lamp_cli.specs.scaffold import init_specs

    out = state(ctx).out
    settings = app_settings(ctx, app, app_dir, app_python, openapi)
    api = load_api(settings, announce=lambda message: out.notice(message, once=message))
    result = init_specs(directory, cwd=Path.cwd(), name=name, force=force, api=api)
    updated = [c for c in result.changes if c.written]
    data = {
        "name": result.name,
        "name_source": result.name_source,
        "written": [str(p) for p in result.written],
        "api": result.api_source,
        "updated": [c.path.name for c in updated],
    }

    def human(console: Console) -> None:
        for path in result.written:
            console.print(f"wrote {path}")

    for change in result.changes:
        if change.action == "refused":
            out.warn(change.message)
        else:
            out.notice(change.message)
    out.emit(data, human=human, quiet=[str(p) for p in result.written])
    for notice in result.notices:
        out.warn(notice)
    routes = f"routes and probes from {result.api_source}; " if result.api_source else ""
    out.notice(
        f"named {result.name!r} (from {result.name_source}); {routes}replace the example ECR "
        "account and chart repository, then run `lamp spec validate`"
    )


def _default_paths(ctx: typer.Context) -> list[Path]:
    settings = state(ctx).settings
    configured = [
        p
        for p in (getattr(settings, "model_spec", None), getattr(settings, "endpoint_spec", None))
        if p is not None
    ]
    if configured:
        return configured
    raise UsageError(
        "no spec files given, and none at specs/serving-model-spec.yaml or "
        "specs/serving-endpoint-spec.yaml",
        hint="pass PATH..., or set model-spec / endpoint-spec under [tool.lamp] in pyproject.toml",
    )


@app.command()
def validate(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Spec files; default: model-spec and endpoint-spec from the settings.",
            show_default=False,
        ),
    ] = None,
    set_: SetOption = None,
    app: AppOption = None,
    app_dir: AppDirOption = None,
    app_python: AppPythonOption = None,
    openapi: OpenapiOption = None,
    strict: StrictOption = False,
) -> None:
    """Check spec files: each by its kind, the pair together when both kinds are given, and the
    model spec against the app.

    When a FastAPI app is found (or --openapi names its saved document), every spec route and
    method must be an operation of the app, every probe path a GET of it, and the primary route
    must take a JSON body; an app operation no route exposes is a warning (--strict: an error).
    Every problem of every file is reported at once, with file, line, column and field
    (exit 3); in GitHub Actions each also becomes an annotation on the line. A missing file
    is exit 4. An image on a placeholder AWS account (123456789012) or outside ECR is a
    warning on stderr.

    Examples:

        lamp spec validate deploy/model.yaml deploy/endpoint.yaml

        lamp spec validate --openapi openapi.json --strict
    """
    from lamp_cli.services.app import load_api
    from lamp_cli.specs.validate import validate_paths

    out = state(ctx).out
    settings = app_settings(ctx, app, app_dir, app_python, openapi)
    report = validate_paths(
        paths or _default_paths(ctx),
        overrides=set_ or (),
        interpolate_allow=settings.interpolate_allow,
        api=lambda: load_api(settings, announce=lambda message: out.notice(message, once=message)),
        strict=strict,
        warn=lambda problem: out.warn(str(problem)),
    )

    def human(console: Console) -> None:
        from rich.markup import escape

        for spec in report.specs:
            console.print(
                f"[green]valid[/green] {escape(str(spec.path))} ({spec.kind} "
                f"{spec.document.metadata.name}, sha256 {spec.sha256[:12]})"
            )
        if report.paired:
            console.print("[green]valid[/green] pair: secrets supplied, hardware covered")
        if report.api is not None:
            console.print(
                f"[green]valid[/green] against {escape(report.api.source)}: routes, methods "
                "and probes served"
            )

    out.emit(report.to_dict(), human=human, quiet=[spec.sha256 for spec in report.specs])


@app.command()
def openapi(
    ctx: typer.Context,
    app: AppOption = None,
    app_dir: AppDirOption = None,
    app_python: AppPythonOption = None,
    openapi: OpenapiOption = None,
) -> None:
    """Print the app's OpenAPI document as JSON: sorted keys, the same bytes every time.

    The app is imported by its own interpreter in a separate process (no server, no lifespan);
    what it prints never reaches stdout. Save the document where the app imports, and give it
    to --openapi where it does not (a CI step without the app's dependencies). No app: exit 4.

    Examples:

        lamp spec openapi > openapi.json

        lamp spec openapi --app src.main:create_app --app-python .venv/bin/python
    """
    from lamp_cli.services.app import load_api

    out = state(ctx).out
    settings = app_settings(ctx, app, app_dir, app_python, openapi)
    api = load_api(settings, announce=lambda message: out.notice(message), required=True)
    assert api is not None
    out.write_text(api.text)


@app.command()
def schema(
    ctx: typer.Context,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory to write the JSON Schemas into.")
    ] = DEFAULT_DIR / "schema",
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 3 when the files differ from lamp's."),
    ] = False,
) -> None:
    """Write the JSON Schemas of both spec kinds, generated from lamp's models.

    Editors use them through the `# yaml-language-server: $schema=...` first line of a spec.

    Examples:

        lamp spec schema

        lamp spec schema --out specs/schema --check
    """
    from lamp_cli.specs.schema import SCHEMA_FILES, schema_text, write_schemas

    out = state(ctx).out
    if check:
        stale = [
            str(out_dir / name)
            for kind, name in SCHEMA_FILES.items()
            if not (out_dir / name).is_file()
            or (out_dir / name).read_text(encoding="utf-8") != schema_text(kind)
        ]
        if stale:
            raise InvalidInput(
                f"out of date: {', '.join(stale)}", hint=f"run `lamp spec schema --out {out_dir}`"
            )
        written: list[Path] = []
    else:
        written = write_schemas(out_dir)
    files = [str(out_dir / name) for name in SCHEMA_FILES.values()]
    data = {"written": [str(p) for p in written], "files": files, "checked": check}

    def human(console: Console) -> None:
        for path in files:
            console.print(f"{'up to date' if check else 'wrote'} {path}")

    out.emit(data, human=human, quiet=files)


@app.command()
def render(
    ctx: typer.Context,
    model_spec: Annotated[
        Path | None,
        typer.Option(
            "--model-spec",
            help="Serving Model Spec file; default from settings.",
            show_default=False,
        ),
    ] = None,
    endpoint_spec: Annotated[
        Path | None,
        typer.Option(
            "--endpoint-spec",
            help="Serving Endpoint Spec file; default from settings.",
            show_default=False,
        ),
    ] = None,
    format_: RenderFormatOption = RenderFormat.both,
    chart_schema: ChartSchemaOption = None,
    set_: SetOption = None,
    chart: ChartOption = None,
    helm: HelmOption = None,
    kube_version: KubeVersionOption = None,
) -> None:
    """Print the Helm values and the Argo CD Application the operator will apply, or the
    chart's Kubernetes manifests.

    YAML by default (with --format both: the values, then the Application, as two documents);
    one JSON document with -o json. Identical specs give byte-identical output.

    With -f manifests (or -f all: values, Application and manifests) helm renders the endpoint
    spec's chart, pulled once into ~/.cache/lamp/charts, or the chart of --chart, with those
    values, the Application's release name and namespace, for --kube-version. Every object is
    checked against that version's Kubernetes schemas (strict; needs lamp-cli[k8s]), the
    Application against Argo CD's CRD, and the serving Deployment against the specs: image,
    port, probes, resources, env, replicas or autoscaler, scheduling, rollout, Service. Any
    miss exits 3 naming the object, the field and what the chart rendered; no helm exits 4.

    Examples:

        lamp spec render --model-spec specs/serving-model-spec.yaml \\
            --endpoint-spec specs/serving-endpoint-spec.yaml --format application

        lamp -o json spec render -f values --chart-schema values.schema.json

        lamp spec render -f manifests --chart deploy/chart --kube-version 1.34
    """
    from lamp_cli.specs import load_pair

    app_state = state(ctx)
    model_path, endpoint_path = spec_paths(app_state.settings, model_spec, endpoint_spec)
    pair = load_pair(
        model_path,
        endpoint_path,
        overrides=set_ or (),
        interpolate_allow=app_state.settings.interpolate_allow,
    )
    emit_render(
        app_state.out,
        pair,
        format_,
        chart_schema,
        app_state.settings,
        chart=chart,
        helm=helm,
        kube_version=kube_version,
    )
