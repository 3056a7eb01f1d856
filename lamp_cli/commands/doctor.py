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
    or were skipped. A skipped check says why and what to set; when most were skipped, a
    warning on stderr says that doctor checked little.

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
    summary = _checked_little(results)
    if summary:
        out.warn(summary)
    code = checks.exit_code(results)
    if code:
        failed = [c for c in results if c.status == checks.FAILED]
        raise error_for_exit_code(
            code,
            f"doctor: {', '.join(c.name for c in failed)} failed: {failed[0].detail}",
            hint=failed[0].hint,
        )


def _checked_little(results: list[checks.Check]) -> str | None:
    """When most checks were skipped and none failed: that doctor vouches for little, and what
    to set first.

    Skipped checks are no failure (the exit code stays 0): a release that lacks a setting
    fails on its own, naming it. But "0" after a mostly skipped run must not read as "ready".
    """
    skipped = [c for c in results if c.status == checks.SKIPPED]
    if 2 * len(skipped) <= len(results) or checks.exit_code(results):
        return None  # a failure says more, and under -o json its stderr is one document
    steps = list(dict.fromkeys(c.hint for c in skipped if c.hint))
    todo = f"; for a full check: {'; '.join(steps)}" if steps else ""
    names = ", ".join(c.name for c in skipped)
    return f"doctor checked little: {len(skipped)} of {len(results)} checks skipped ({names}){todo}"
