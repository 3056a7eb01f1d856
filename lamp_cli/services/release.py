"""``lamp release``: one idempotent step from two spec files to a registered, aliased version.

Rerunning a release finds its record (:mod:`lamp_cli.services.release_key`) and returns its run
and version instead of writing anything new; racing releases of one key settle on one version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lamp_cli.errors import InvalidInput, UsageError
from lamp_cli.gateway import Gateway
from lamp_cli.layout import TAG_IMAGE
from lamp_cli.records import ExperimentRecord, RunRecord, VersionRecord
from lamp_cli.services import (
    artifacts,
    experiments,
    names,
    pairs,
    projects,
    provenance,
    registry,
    release_key,
    runs,
    versions,
)
from lamp_cli.settings import is_databricks_uri

if TYPE_CHECKING:
    from pathlib import Path

    from lamp_cli.services import manifests
    from lamp_cli.settings import Settings
    from lamp_cli.specs import SpecPair


@dataclass
class ReleaseResult:
    experiment: ExperimentRecord
    run: RunRecord
    version: VersionRecord
    release_key: str
    reused: bool  # the run existed before this invocation
    created_run: bool  # this invocation created the run it reports
    created_version: bool
    pair: SpecPair  # the specs as recorded: overrides applied, image pinned
    moved_aliases: dict[str, int] = field(default_factory=dict)
    kept_aliases: dict[str, int] = field(default_factory=dict)  # left on a newer version

    @property
    def project(self) -> str:
        """The registered model: on Unity Catalog, the three-level name."""
        return self.version.project

    @property
    def image(self) -> str:
        return self.run.tags.get(TAG_IMAGE, "")

    def to_dict(self) -> dict[str, Any]:
        """The ``-o json`` document of ``lamp release``."""
        specs = {"model": self.pair.model.sha256, "endpoint": self.pair.endpoint.sha256}
        return {
            "run_id": self.run.run_id,
            "run_name": self.run.name,
            "experiment_id": self.experiment.experiment_id,
            "experiment": self.experiment.name,
            "project": self.project,
            "model_version": self.version.version,
            "version": self.version.to_dict(),
            "image": self.image,
            "specs": specs,
            "release_key": self.release_key,
            "reused": self.reused,
            "created_run": self.created_run,
        }

    def step_outputs(self) -> dict[str, str]:
        """The GitHub Actions step outputs."""
        return {
            "run_id": self.run.run_id,
            "experiment_id": self.experiment.experiment_id,
            "project": self.project,
            "model_version": str(self.version.version),
            "image": self.image,
            "release_key": self.release_key,
            "reused": str(self.reused).lower(),
        }


@dataclass(frozen=True)
class Request:
    """A ``lamp release`` as given: spec files and options, before anything is resolved."""

    project: str
    model_path: Path
    endpoint_path: Path
    experiment: str | None = None
    overrides: Sequence[str] = ()
    image: str | None = None
    verify_image: bool | None = None
    release_key: str | None = None
    aliases: Sequence[str] = ()
    new_release: bool = False
    wait_timeout: float = 300.0
    run_name: str | None = None
    description: str | None = None
    #: Render the chart and check its manifests before anything is written (``None``: don't).
    check_manifests: manifests.Options | None = None
    #: Refuse an API that breaks the clients of the version at the first alias.
    fail_on_breaking: bool = False
    #: App operations no spec route exposes are errors.
    strict: bool = False


def default_experiment(settings: Settings, project: str) -> str:
    """The experiment of a release when none is configured: the project id, or on Databricks
    (where experiments are workspace paths) ``/Shared/<project>``."""
    if is_databricks_uri(settings.tracking_uri):
        from lamp_cli.gateway import databricks

        return databricks.default_experiment(project)
    return project


def release_files(
    connect: Callable[[], Gateway],
    settings: Settings,
    request: Request,
    *,
    notice: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> ReleaseResult:
    """Validate the spec files, pin the image and record the release (:func:`release`).

    The release key defaults to the checkout's (the git tag, else the commit); the experiment
    to :func:`default_experiment`. ``connect`` is called only once the specs are valid and the
    image is pinned: bad input writes nothing, the local store included.
    """
    say = notice or (lambda _msg: None)
    experiment = request.experiment
    if not experiment:
        experiment = default_experiment(settings, request.project)
        say(f"no experiment configured; using '{experiment}'")
    origin = provenance.collect(settings.cwd)
    key = request.release_key or origin.release_key
    if not key:
        raise UsageError(
            "cannot tell which release this is: not a git checkout and not in GitHub Actions",
            hint="run it in the app's git checkout, or pass --release-key",
        )
    if not key.strip():
        raise InvalidInput("the release key is empty")
    prepared = pairs.prepare(
        settings,
        request.model_path,
        request.endpoint_path,
        overrides=request.overrides,
        image=request.image,
        verify_image=request.verify_image,
        look_up_by_default=True,
        strict=request.strict,
        notice=say,
        warn=warn,
    )
    if request.fail_on_breaking and prepared.api is None:
        raise UsageError(
            "--fail-on-breaking compares the app's API, and no app was found",
            hint='set app = "MODULE:ATTR" under [tool.lamp] (or --app), or pass --openapi FILE',
        )
    if request.check_manifests is not None:
        from lamp_cli.services import manifests

        manifests.check(prepared.pair, settings, request.check_manifests, notice=say)
    short_project = request.project.rsplit(".", 1)[-1]
    gateway = connect()
    if request.fail_on_breaking:
        refuse_breaking(gateway, request.project, request.aliases[0], prepared, say)
    return release(
        gateway,
        prepared,
        experiment=experiment,
        project=request.project,
        key=key,
        run_name=request.run_name or origin.run_name(short_project, key),
        description=request.description or origin.description(key),
        run_tags={**origin.tags(release_key=False), **origin.mlflow_tags()},
        aliases=request.aliases,
        new_release=request.new_release,
        wait_timeout=request.wait_timeout,
        notice=say,
    )


def refuse_breaking(
    gateway: Gateway, project: str, alias: str, prepared: pairs.Prepared, say: Callable[[str], None]
) -> None:
    """Exit 5 when ``prepared``'s API breaks the clients of the version ``@alias`` points to;
    nothing to compare when the alias is unset or that version carries no API."""
    from lamp_cli.errors import NotFound
    from lamp_cli.specs.api_diff import breaking_error, diff_api

    assert prepared.api is not None
    alias = names.check_alias(alias)
    try:
        version, old = versions.read_api(gateway, project, f"@{alias}")
    except NotFound as err:
        if "alias" not in err.message:
            raise
        say(f"@{alias} points at no version yet: no API to compare")
        return
    if old is None:
        say(f"version {version.version} (@{alias}) carries no API document: not compared")
        return
    changes = diff_api(old, prepared.api)
    if any(change.breaking for change in changes):
        raise breaking_error(changes, f"version {version.version} (@{alias})")
    say(f"the API keeps the clients of version {version.version} (@{alias}) working")


def release(
    gateway: Gateway,
    prepared: pairs.Prepared,
    *,
    experiment: str,
    project: str,
    key: str,
    run_name: str,
    description: str | None = None,
    run_tags: dict[str, str] | None = None,
    aliases: Sequence[str] = (),
    new_release: bool = False,
    wait_timeout: float = 300.0,
    notice: Callable[[str], None] | None = None,
) -> ReleaseResult:
    """Record ``prepared`` as the release ``key`` of ``project``, or return that record.

    The project must exist. Same key and same specs: the existing run and version (aliases are
    still set). Same key and other specs: a conflict, unless ``new_release``.
    """
    say = notice or (lambda _msg: None)
    pair = prepared.pair
    name = projects.registered_name(gateway, project)
    aliases = [names.check_alias(a) for a in aliases]
    names.check_aliases_supported(gateway.settings, aliases)
    # One read says the project exists and where its aliases point.
    record = projects.get_project(gateway, name)
    name = record.project
    exp, exp_created = experiments.ensure(gateway, experiment)
    specs = release_key.pair_specs(pair)
    lineage = {k: v for k, v in (run_tags or {}).items() if k.startswith("lamp.")}

    # An experiment this call created holds no run of the key: a racer's run created since is
    # found when the versions are settled.
    found = [] if exp_created else release_key.candidates(gateway, exp.experiment_id, name, key)
    release_key.reap_stale(gateway, found, say)
    done = [r for r in found if release_key.live(r) and r.status == "FINISHED"]
    same = sorted((r for r in done if release_key.specs_of(r.tags) == specs), key=_run_id)
    version: VersionRecord | None = None
    if same:
        run, reused = same[0], True
        standing = release_key.standing(gateway, exp.experiment_id, name, key, specs, same)
        if standing is not None:
            version, run = standing
            version = registry.whole(gateway, version)
        say(f"release '{key}' is already recorded by run {run.run_id}; reusing it")
    else:
        if done and not new_release:
            raise release_key.conflict(key, name, done[0], pair)
        tags = {**(run_tags or {}), **artifacts.spec_tags(pair, prepared.api)}
        run = release_key.create_run(gateway, exp, project=name, key=key, name=run_name, tags=tags)
        runs.finish(gateway, run, prepared, {})
        reused = False
    created_version = False
    if version is None:
        mine = registry.create_version(
            gateway, name, run, provenance=lineage, description=description
        )
        version = registry.settle(
            gateway,
            mine,
            lambda: release_key.key_versions(
                gateway, exp.experiment_id, name, key, specs, new_release, run.run_id
            ),
        )
        created_version = version.version == mine.version
        if not created_version:
            run = release_key.step_back(
                gateway, run, version, key=key, project=name, pair=pair, reused=reused, say=say
            )
    registration = registry.finish(
        gateway,
        version,
        created=created_version,
        aliases=aliases,
        current_aliases=record.aliases,
        # A rerun of an older release leaves an alias that a newer release took where it is.
        keep_newer_aliases=reused or not created_version,
        wait_timeout=wait_timeout,
        on_wait=say,
    )
    created_run = not reused and run.run_id == version.run_id and created_version
    return ReleaseResult(
        experiment=exp,
        run=run,
        version=registration.version,
        release_key=key,
        reused=not created_run,
        created_run=created_run,
        created_version=registration.created,
        pair=pair,
        moved_aliases=registration.moved_aliases,
        kept_aliases=registration.kept_aliases,
    )


def _run_id(run: RunRecord) -> str:
    return run.run_id
