"""Manifests of a registered version, `lamp release --check-manifests` and `lamp doctor`,
against the session's real mlflow server and the real helm."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.manifests.conftest import CHART, WORKLOAD

pytestmark = pytest.mark.server

BROKEN_PROBE = ("templates/deployment.yaml", ".Values.probes.readiness", ".Values.probes.ready")


def release_args(project: str, specs: tuple[Path, Path], *extra: str) -> list[str]:
    model, endpoint = specs
    return [
        "release", "--project", project, "--experiment", project,
        "--model-spec", str(model), "--endpoint-spec", str(endpoint),
        "--no-verify-image", "--release-key", "v1.0.0", *extra,
    ]  # fmt: skip


def test_version_render_shows_the_manifests_of_a_registered_version(
    lamp, server_env, specs, unique, helm
) -> None:
    project = f"man-{unique}"
    assert lamp("project", "create", project).exit_code == 0
    released = lamp(*release_args(project, specs, "--alias", "candidate"))
    assert released.exit_code == 0, released.stderr
    from_version = lamp("version", "render", project, "@candidate", "-f", "manifests",
                        "--chart", str(CHART))  # fmt: skip
    assert from_version.exit_code == 0, from_version.stderr
    from_files = lamp("spec", "render", "--model-spec", str(specs[0]), "--endpoint-spec",
                      str(specs[1]), "-f", "manifests", "--chart", str(CHART))  # fmt: skip
    assert from_version.stdout == from_files.stdout
    assert "kind: Deployment" in from_version.stdout
    assert f"{WORKLOAD} uses the specs" in from_version.stderr


def test_release_checks_the_manifests_before_writing_anything(
    lamp, server_env, specs, unique, helm, chart_copy
) -> None:
    from mlflow.tracking import MlflowClient

    project = f"man-{unique}"
    assert lamp("project", "create", project).exit_code == 0
    broken = chart_copy(BROKEN_PROBE)
    refused = lamp("-o", "json", *release_args(project, specs, "--check-manifests",
                                               "--chart", str(broken)))  # fmt: skip
    assert refused.exit_code == 3, refused.stderr
    [problem] = json.loads(refused.stderr)["error"]["problems"]
    assert (problem["object"], problem["field"]) == (
        WORKLOAD,
        "spec.template.spec.containers[0].readinessProbe",
    )
    client = MlflowClient(server_env)
    assert client.get_experiment_by_name(project) is None
    assert client.search_model_versions(f"name = '{project}'") == []

    released = lamp(*release_args(project, specs, "--check-manifests", "--chart", str(CHART)))
    assert released.exit_code == 0, released.stderr
    assert f"{WORKLOAD} uses the specs" in released.stderr
    assert len(client.search_model_versions(f"name = '{project}'")) == 1


def test_release_takes_chart_only_with_check_manifests(lamp, specs) -> None:
    result = lamp(*release_args("p", specs, "--chart", str(CHART)))
    assert result.exit_code == 2
    assert "--chart applies with --check-manifests" in result.stderr


def _doctor(lamp, workdir: Path, specs: tuple[Path, Path], project: str) -> dict[str, dict]:
    model, endpoint = specs
    model.write_text(
        model.read_text().replace("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "ghcr.io/acme")
    )
    (workdir / "pyproject.toml").write_text(
        f'[tool.lamp]\nmodel-spec = "{model.name}"\nendpoint-spec = "{endpoint.name}"\n'
        f'project = "{project}"\n'
    )
    result = lamp("-o", "json", "doctor")
    assert "Traceback" not in result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    checks["exit_code"] = {"value": result.exit_code}
    return checks


@pytest.mark.parametrize("broken", [False, True], ids=["valid", "drops-readiness"])
def test_doctor_renders_the_specs_chart(
    lamp, server_env, specs, unique, helm, chart_copy, package_chart, isolated_env,
    tmp_path, monkeypatch, broken: bool,
) -> None:  # fmt: skip
    project = f"man-{unique}"
    assert lamp("project", "create", project).exit_code == 0
    # The chart of the endpoint spec (an ECR registry no test can reach) as lamp's cache holds
    # it once pulled: doctor renders it from there.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repository = "oci://123456789012.dkr.ecr.eu-west-1.amazonaws.com/charts"
    cached = tmp_path / "cache" / "lamp" / "charts" / quote(repository, safe="")
    cached = cached / "lamp-serving" / "1.2.0"
    cached.mkdir(parents=True)
    chart = chart_copy(BROKEN_PROBE) if broken else CHART
    shutil.copy(package_chart(chart), cached / "lamp-serving-1.2.0.tgz")

    checks = _doctor(lamp, isolated_env, specs, project)
    manifests = checks["manifests"]
    if broken:
        assert checks["exit_code"]["value"] == 3
        assert manifests["status"] == "failed"
        assert "the chart ignores `probes.readiness`" in manifests["detail"]
    else:
        assert checks["exit_code"]["value"] == 0, checks
        assert manifests["status"] == "ok"
        assert manifests["detail"].startswith("chart lamp-serving 1.2.0: 4 objects by helm v")
        assert f"{WORKLOAD} uses the specs" in manifests["detail"]


def test_doctor_fails_on_a_configured_helm_that_is_missing(
    lamp, server_env, specs, unique, isolated_env, monkeypatch, tmp_path
) -> None:
    project = f"man-{unique}"
    assert lamp("project", "create", project).exit_code == 0
    monkeypatch.setenv("LAMP_HELM", str(tmp_path / "no-helm"))
    checks = _doctor(lamp, isolated_env, specs, project)
    assert checks["exit_code"]["value"] == 4
    assert checks["manifests"]["status"] == "failed"
    assert "is not an executable file" in checks["manifests"]["detail"]
