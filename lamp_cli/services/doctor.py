"""``lamp doctor``: check, read-only, that what a release needs is in place.

Each check says ok, failed (with the exit code its failure would cause and the next step) or
skipped (not configured, or an earlier check it depends on failed). Nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from lamp_cli.errors import LampError, SpecInvalid
from lamp_cli.secrets import redact
from lamp_cli.settings import Settings

if TYPE_CHECKING:
    from lamp_cli.gateway import Gateway
    from lamp_cli.specs import SpecPair

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
_NO_STORE = "needs the tracking store, which the tracking check did not reach"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    exit_code: int = 0
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _failed(name: str, err: LampError) -> Check:
    return Check(name, FAILED, err.message, exit_code=err.exit_code, hint=err.hint)


def run_checks(
    settings: Settings,
    announce: Callable[[str], None] | None = None,
    *,
    verify_image: bool | None = None,
) -> list[Check]:
    """Settings, specs, tracking server, registry, experiment, project, image and manifests,
    in that order.

    The spec files and the image look-up are exactly those of ``lamp release`` with the same
    settings and ``--verify-image`` choice.
    """
    checks = [
        Check(
            "settings",
            OK,
            f"tracking URI {redact(settings.tracking_uri)} "
            f"(from {settings.source('tracking-uri')})",
        )
    ]
    pair, spec_check = _check_specs(settings, announce)
    checks.append(spec_check)
    gateway, tracking = _check_tracking(settings, announce)
    checks.append(tracking)
    checks.append(_check_registry(gateway))
    checks.append(_check_experiment(gateway, settings))
    checks.append(_check_project(gateway, settings))
    checks.append(_check_image(pair, verify_image, specs=spec_check))
    checks.append(_check_manifests(pair, settings))
    return checks


def exit_code(checks: list[Check]) -> int:
    """The exit code of the first failed check, 0 when none failed."""
    return next((c.exit_code for c in checks if c.status == FAILED), 0)


def _check_specs(
    settings: Settings, announce: Callable[[str], None] | None
) -> tuple[SpecPair | None, Check]:
    if settings.model_spec is None or settings.endpoint_spec is None:
        return None, Check(
            "specs",
            SKIPPED,
            "no spec files: none at specs/ of the app, and model-spec / endpoint-spec not set",
            hint="run `lamp spec init`, or set model-spec and endpoint-spec under [tool.lamp]",
        )
    from lamp_cli.services.app import load_api
    from lamp_cli.specs import load_pair
    from lamp_cli.specs.contract import check_against_app

    try:
        pair = load_pair(
            settings.model_spec,
            settings.endpoint_spec,
            interpolate_allow=settings.interpolate_allow,
        )
        # As `spec validate` does: the model spec against the app, when there is one.
        api = load_api(settings, announce=announce)
        if api is not None and (problems := check_against_app(pair, api)[0]):
            raise SpecInvalid(problems)
    except LampError as err:
        check = _failed("specs", err)
        if err.problems:
            check.detail += ": " + "; ".join(str(p) for p in err.problems[:3])
        return None, check
    served = f", and {api.source} serves them" if api is not None else ""
    return pair, Check(
        "specs", OK, f"{settings.model_spec} and {settings.endpoint_spec} are valid{served}"
    )


def _check_tracking(
    settings: Settings, announce: Callable[[str], None] | None
) -> tuple[Gateway | None, Check]:
    from lamp_cli.gateway import connect
    from lamp_cli.gateway.environment import sqlite_path

    store = sqlite_path(settings.tracking_uri, settings)
    if store is not None and not store.exists():
        # doctor writes nothing: a missing local store is what the first write creates.
        detail = (
            f"no local store at {store} yet; lamp experiment create or lamp project create "
            "creates it"
        )
        return None, Check("tracking", SKIPPED, detail)
    try:
        gateway = connect(settings, announce=announce)
        gateway.ping_tracking()
    except LampError as err:
        return None, _failed("tracking", err)
    return gateway, Check("tracking", OK, f"{gateway.tracking_uri} answers; experiments readable")


def _check_registry(gateway: Gateway | None) -> Check:
    if gateway is None:
        return Check("registry", SKIPPED, _NO_STORE)
    try:
        gateway.ping_registry()
    except LampError as err:
        return _failed("registry", err)
    reason = gateway.settings.registry_reason
    return Check("registry", OK, f"{gateway.registry_uri} ({reason}) answers; projects readable")


def _check_experiment(gateway: Gateway | None, settings: Settings) -> Check:
    if not settings.experiment:
        return Check(
            "experiment",
            SKIPPED,
            "no experiment set (a release would use one named after the project)",
            hint="set LAMP_EXPERIMENT, or experiment under [tool.lamp]",
        )
    if gateway is None:
        return Check("experiment", SKIPPED, _NO_STORE)
    from lamp_cli.services import experiments

    try:
        exp = experiments.get(gateway, settings.experiment)
    except LampError as err:
        if err.exit_code == 4:
            # `lamp release` creates a missing experiment; only a read failure is a problem.
            return Check("experiment", OK, f"'{settings.experiment}' will be created by release")
        return _failed("experiment", err)
    return Check("experiment", OK, f"'{exp.name}' exists (id {exp.experiment_id})")


def _check_project(gateway: Gateway | None, settings: Settings) -> Check:
    if not settings.project:
        return Check(
            "project",
            SKIPPED,
            "no project set, so no project to look up",
            hint="set LAMP_PROJECT_ID, or project under [tool.lamp]",
        )
    if gateway is None:
        return Check("project", SKIPPED, _NO_STORE)
    from lamp_cli.services import projects

    try:
        project = projects.get_project(gateway, settings.project)
    except LampError as err:
        return _failed("project", err)
    return Check("project", OK, f"'{project.project}' exists")


def _check_image(pair: SpecPair | None, verify: bool | None, *, specs: Check) -> Check:
    if pair is None:
        why = "no spec files" if specs.status == SKIPPED else "the specs check failed"
        return Check("image", SKIPPED, f"{why}: no model spec to read the image from")
    if verify is False:
        return Check("image", SKIPPED, "--no-verify-image: release makes no AWS call")
    from lamp_cli.services import ecr

    image = pair.model_spec.spec.image
    ref = ecr.parse_image_ref(f"{image.repository}:{image.tag}")
    if not ref.is_ecr:
        return Check("image", SKIPPED, f"{ref.registry} is not ECR; nothing to look up")
    try:
        # Never a real image, pinned or not: the operator could not pull it.
        ecr.refuse_placeholder(ref)
    except LampError as err:
        return _failed("image", err)
    if image.digest and verify is None:
        # What release does: a pinned digest is trusted unless --verify-image asks to check it.
        return Check("image", OK, f"digest pinned ({image.digest[:19]}...); not looked up")
    try:
        digest = ecr.resolve_digest(image.repository, image.tag)
    except LampError as err:
        return _failed("image", err)
    if image.digest and image.digest != digest:
        return Check(
            "image",
            FAILED,
            f"{image.repository}:{image.tag} is {digest}, the spec pins {image.digest}",
            exit_code=5,
            hint="update the digest in the model spec, or drop it and let lamp pin it",
        )
    return Check("image", OK, f"{image.repository}:{image.tag} is {digest}")


def _check_manifests(pair: SpecPair | None, settings: Settings) -> Check:
    """The chart rendered by helm with the specs' values: valid, and using the specs. Skipped
    when no helm is found (none configured and none on PATH)."""
    if pair is None:
        return Check("manifests", SKIPPED, "no valid specs to render")
    from lamp_cli.services import helm, manifests

    try:
        rendered = manifests.check(pair, settings, manifests.Options())
    except helm.HelmNotFound as err:
        if settings.helm:
            return _failed("manifests", err)
        return Check(
            "manifests", SKIPPED, f"{err.message}; the chart is not rendered", hint=err.hint
        )
    except LampError as err:
        check = _failed("manifests", err)
        if err.problems:
            check.detail += ": " + "; ".join(str(p) for p in err.problems[:3])
        return check
    return Check("manifests", OK, rendered.summary())
