"""`lamp doctor` against the session's real mlflow server: read-only checks and their exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.server


def configure(workdir: Path, specs: tuple[Path, Path], **settings: str) -> None:
    model, endpoint = specs
    lines = [f'model-spec = "{model.name}"', f'endpoint-spec = "{endpoint.name}"']
    lines += [f'{key} = "{value}"' for key, value in settings.items()]
    (workdir / "pyproject.toml").write_text("[tool.lamp]\n" + "\n".join(lines) + "\n")


def not_on_ecr(specs: tuple[Path, Path]) -> None:
    model = specs[0]
    text = model.read_text()
    model.write_text(text.replace("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "ghcr.io/acme"))


def doctor(lamp) -> tuple[int, dict[str, dict]]:
    result = lamp("-o", "json", "doctor")
    assert "Traceback" not in result.stderr
    return result.exit_code, {c["name"]: c for c in json.loads(result.stdout)}


def test_all_checks_pass(lamp, server_env, specs, unique, isolated_env, monkeypatch) -> None:
    not_on_ecr(specs)
    lamp("project", "create", f"doc-{unique}")
    configure(isolated_env, specs, project=f"doc-{unique}", experiment=f"doc-{unique}")
    # No helm on PATH: the manifests are not rendered (tests/manifests render them).
    monkeypatch.setenv("PATH", str(isolated_env / "no-bin"))
    code, checks = doctor(lamp)
    assert code == 0, checks
    assert [c["status"] for c in checks.values()] == ["ok"] * 6 + ["skipped"] * 2
    assert "will be created" in checks["experiment"]["detail"]
    assert "not ECR" in checks["image"]["detail"]
    assert checks["manifests"]["detail"].startswith("helm not found on PATH")
    from mlflow.tracking import MlflowClient

    assert MlflowClient(server_env).get_experiment_by_name(f"doc-{unique}") is None


def test_missing_project_is_exit_4(lamp, server_env, specs, unique, isolated_env) -> None:
    not_on_ecr(specs)
    configure(isolated_env, specs, project=f"nope-{unique}")
    code, checks = doctor(lamp)
    assert code == 4
    assert checks["project"]["status"] == "failed"
    assert "lamp project create" in checks["project"]["hint"]


def test_invalid_spec_is_exit_3(lamp, server_env, specs, isolated_env) -> None:
    specs[0].write_text(specs[0].read_text().replace("port: 8000", "port: 80"))
    configure(isolated_env, specs)
    code, checks = doctor(lamp)
    assert code == 3
    assert "spec.server.port" in checks["specs"]["detail"]
    assert checks["image"]["status"] == "skipped"


def test_dead_server_is_exit_6_and_skips_what_depends_on_it(
    lamp, specs, closed_port, isolated_env
) -> None:
    not_on_ecr(specs)
    configure(isolated_env, specs, project="p", experiment="e")
    result = lamp("-o", "json", "--tracking-uri", f"http://127.0.0.1:{closed_port}", "doctor")
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert result.exit_code == 6
    assert checks["tracking"]["status"] == "failed"
    assert {checks[n]["status"] for n in ("registry", "experiment", "project")} == {"skipped"}
