"""``lamp doctor``: read-only checks of settings, specs, MLflow, the project and the image."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lamp_cli.commands._common import state
from lamp_cli.errors import error_for_exit_code
from lamp_cli.output import list_table
from lamp_cli.services import doctor as checks

if TYPE_CHECKING:
    from rich.console import Console


app = typer.Typer(rich_markup_mode=None, add_completion=False)


@app.command("doctor")
def doctor(
    ctx: typer.Context,
    verify_image: Annotated[
        bool | None,
        typer.Option(
            "--verify-image/--no-verify-image",
            help="As for `lamp release`: --verify-image also checks a pinned digest on ECR; "
            "--no-verify-image skips the image check. Default: the ECR tag of an image without "
            "a pinned digest is looked up.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check that a release can go through, without writing anything.

    Checks the settings, the spec files (against the app too, when one is found), the tracking
    server, the registry, the experiment, the project, and that the model spec's image tag
    exists on ECR (with the AWS credentials a release would use). Exits with the code of the
    first failed check (e.g. 6 unreachable, 4 project missing, 7 credentials), 0 when all passed
    or were skipped.

    Examples:

        lamp doctor

        LAMP_PROJECT_ID=fraud-prj lamp doctor --no-verify-image
    """
    app_state = state(ctx)
    out = app_state.out
    results = checks.run_checks(
        app_state.settings,
        announce=lambda msg: out.notice(msg, once=msg),
        verify_image=verify_image,
    )

    def render(console: Console) -> None:
        rows = [
            (c.name, c.status.upper(), c.detail + (f"\nhint: {c.hint}" if c.hint else ""))
            for c in results
        ]
        console.print(list_table(["CHECK", "STATUS", "DETAIL"], rows))

    out.emit([c.to_dict() for c in results], human=render)
    code = checks.exit_code(results)
    if code:
        failed = [c for c in results if c.status == checks.FAILED]
        raise error_for_exit_code(
            code,
            f"doctor: {', '.join(c.name for c in failed)} failed: {failed[0].detail}",
            hint=failed[0].hint,
        )
