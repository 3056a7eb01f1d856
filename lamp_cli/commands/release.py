"""``lamp release``: the CI one-shot from spec files to a registered, aliased model version."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lamp_cli import gha
from lamp_cli.commands._common import (
    AppDirOption,
    AppOption,
    AppPythonOption,
    EndpointSpecOption,
    ExperimentOption,
    ImageOption,
    ModelSpecOption,
    OpenapiOption,
    SetOption,
    StrictOption,
    app_settings,
    gateway,
    require,
    spec_paths,
    state,
)
from lamp_cli.errors import UsageError
from lamp_cli.output import key_value_table

if TYPE_CHECKING:
    from rich.console import Console

    from lamp_cli.services.manifests import Options

REST_CALL_BUDGET = {"release": 14, "release (rerun)": 5}  # most REST calls; see tests/budget


app = typer.Typer(rich_markup_mode=None, add_completion=False)


@app.command("release")
def release(
    ctx: typer.Context,
    experiment: ExperimentOption = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            "-p",
            help="LAMP project id; the platform creates it. (env: LAMP_PROJECT_ID; "
            "pyproject: project)",
            show_default=False,
        ),
    ] = None,
    model_spec: ModelSpecOption = None,
    endpoint_spec: EndpointSpecOption = None,
    image: ImageOption = None,
    verify_image: Annotated[
        bool | None,
        typer.Option(
            "--verify-image/--no-verify-image",
            help="--verify-image also checks a pinned digest on ECR; --no-verify-image never "
            "calls AWS. Default: an ECR image without digest gets the digest of its tag.",
            show_default=False,
        ),
    ] = None,
    alias: Annotated[
        list[str] | None,
        typer.Option("--alias", "-a", help="Point this alias at the version; repeatable."),
    ] = None,
    set_: SetOption = None,
    release_key: Annotated[
        str | None,
        typer.Option(
            "--release-key",
            help="What identifies this release. Default: the git tag when the ref is a tag, "
            "else the commit (from GitHub Actions or the local checkout).",
            show_default=False,
        ),
    ] = None,
    new_release: Annotated[
        bool,
        typer.Option(
            "--new-release",
            help="Record other specs under a release key already recorded (a new version).",
        ),
    ] = False,
    wait_timeout: Annotated[
        float,
        typer.Option("--wait-timeout", min=0, help="Seconds to wait for the version to be READY."),
    ] = 300.0,
    run_name: Annotated[
        str | None,
        typer.Option(
            "--run-name",
            help="Name of the release's run in MLflow. Default: PROJECT@KEY (the git tag or "
            "the short commit).",
            show_default=False,
        ),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option(
            "--description",
            "-d",
            help="Description of the new version. Default: the release, the commit's subject "
            "and the CI run.",
            show_default=False,
        ),
    ] = None,
    check_manifests: Annotated[
        bool,
        typer.Option(
            "--check-manifests",
            help="Before writing anything, render the chart with helm and check its manifests "
            "as `lamp spec render -f manifests` does (exit 3 on a problem, 4 without helm).",
        ),
    ] = False,
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart",
            help="With --check-manifests: render this chart directory or .tgz instead of "
            "pulling the endpoint spec's chart.",
            show_default=False,
        ),
    ] = None,
    fail_on_breaking: Annotated[
        bool,
        typer.Option(
            "--fail-on-breaking",
            help="Before writing anything, compare the app's API with the version the first "
            "--alias points to now; exit 5 when a change breaks its clients.",
        ),
    ] = False,
    app: AppOption = None,
    app_dir: AppDirOption = None,
    app_python: AppPythonOption = None,
    openapi: OpenapiOption = None,
    strict: StrictOption = False,
) -> None:
    """Record a release in one idempotent step: experiment, run, specs, version, aliases.

    Validates both specs, pins the image digest (ECR, before anything is written), ensures the
    experiment, logs the specs to a run tagged with the release key and its provenance,
    registers the run under the project (which must exist: exit 4) and sets the aliases.
    Rerunning the same release key with the same specs returns the same run and version (exit
    0); other specs under the same key are a conflict (exit 5) unless --new-release. The model
    spec is checked against the app (as `lamp spec validate` does) and the app's OpenAPI
    document is logged with the specs; --fail-on-breaking refuses (exit 5) an API that breaks
    the clients of the version at the first --alias. With --check-manifests the chart's
    manifests are rendered and checked first. In GitHub
    Actions, run_id, experiment_id, model_version, image, ... are step outputs and a summary is
    written. AWS credentials come from boto3's standard chain.

    Examples:

        lamp release --project fraud-detector-prj --alias candidate

        VERSION=$(lamp -o quiet release --image "$REGISTRY/fraud-detector:$TAG")

        lamp release --check-manifests --chart deploy/chart --alias candidate

        lamp release --openapi openapi.json --alias production --fail-on-breaking
    """
    from lamp_cli.services import release as releases

    app_state = state(ctx)
    out = app_state.out
    settings = app_settings(ctx, app, app_dir, app_python, openapi)
    project = project or settings.project
    require({"--project": project}, setting="project", env="LAMP_PROJECT_ID")
    assert project is not None
    if chart is not None and not check_manifests:
        raise UsageError("--chart applies with --check-manifests")
    if fail_on_breaking and not alias:
        raise UsageError(
            "--fail-on-breaking compares the API with the version of the first --alias",
            hint="add --alias NAME (e.g. --alias production)",
        )
    model_path, endpoint_path = spec_paths(settings, model_spec, endpoint_spec)
    request = releases.Request(
        project=project,
        model_path=model_path,
        endpoint_path=endpoint_path,
        experiment=experiment or settings.experiment,
        overrides=set_ or (),
        image=image,
        verify_image=verify_image,
        release_key=release_key,
        aliases=alias or (),
        new_release=new_release,
        wait_timeout=wait_timeout,
        run_name=run_name,
        description=description,
        check_manifests=_manifest_options(chart) if check_manifests else None,
        fail_on_breaking=fail_on_breaking,
        strict=strict,
    )
    result = releases.release_files(
        lambda: gateway(ctx), settings, request, notice=out.notice, warn=out.warn
    )
    for name, previous in result.moved_aliases.items():
        out.notice(f"alias @{name} moved from version {previous} to {result.version.version}")
    for name, newer in result.kept_aliases.items():
        out.warn(f"alias @{name} stays on the newer version {newer}")

    version = result.version
    gha.publish(
        f"lamp release {result.release_key}: {result.project} version {version.version}",
        result.step_outputs(),
        [
            ("project", result.project),
            ("model version", str(version.version)),
            ("aliases", ", ".join(f"@{a}" for a in version.aliases)),
            ("image", result.image),
            ("run", f"{result.run.run_id} (experiment {result.experiment.name})"),
            ("reused", "yes (rerun of a recorded release)" if result.reused else "no"),
        ],
    )

    def render(console: Console) -> None:
        experiment = result.experiment
        console.print(
            key_value_table(
                [
                    ("release_key", result.release_key),
                    ("project", result.project),
                    ("model_version", version.version),
                    ("aliases", version.aliases),
                    ("status", version.status),
                    ("run_id", result.run.run_id),
                    ("experiment", f"{experiment.name} ({experiment.experiment_id})"),
                    ("image", result.image),
                    ("reused", "yes" if result.reused else "no"),
                ]
            )
        )

    out.emit(result.to_dict(), human=render, quiet=str(version.version))


def _manifest_options(chart: Path | None) -> Options:
    from lamp_cli.services.manifests import Options

    return Options(chart=chart)
