"""Finding the app and importing it in its own interpreter, in a separate process."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from lamp_cli.errors import NotFound, UsageError
from lamp_cli.services.app import app_python, discover, find_app
from lamp_cli.settings import resolve
from tests.conftest import EXAMPLES, imported_by

pytestmark = pytest.mark.offline

FACTORY_APP = """\
from fastapi import FastAPI


def build():
    app = FastAPI()

    @app.post("/v1/echo")
    def echo(text: str) -> str:
        return text

    return app
"""


def test_discovery_takes_the_first_candidate_that_binds_app_then_api(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("api = object()\n")
    found = discover(tmp_path)
    assert found is not None and (found.spec, found.origin) == ("main:api", "found in main.py")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("from src._core.server import app\n")
    found = discover(tmp_path)
    assert found is not None and found.spec == "src.main:app"
    (tmp_path / "src" / "main.py").write_text("print('no app here')\n")
    found = discover(tmp_path)
    assert found is not None and found.spec == "main:api"


def test_no_candidate_means_no_app(tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text("app = object()\n")
    assert discover(tmp_path) is None


def test_the_setting_beats_discovery_and_must_be_module_attr(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("app = object()\n")
    (tmp_path / "pyproject.toml").write_text('[tool.lamp]\napp = "service.api:create"\n')
    found = find_app(resolve({}, environ={}, cwd=tmp_path))
    assert found is not None
    assert (found.spec, found.root, found.origin) == (
        "service.api:create",
        tmp_path,
        "app from pyproject",
    )
    with pytest.raises(UsageError, match="not MODULE:ATTR"):
        find_app(resolve({}, environ={"LAMP_APP": "src/main.py"}, cwd=tmp_path))
    with pytest.raises(NotFound, match="no such directory"):
        find_app(resolve({}, environ={"LAMP_APP_DIR": str(tmp_path / "nope")}, cwd=tmp_path))


def _fake_python(venv: Path) -> Path:
    python = venv / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    return python


def test_the_interpreter_comes_from_the_setting_then_the_active_venv_then_dot_venv(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    settings = resolve({}, environ={}, cwd=tmp_path)
    assert app_python(settings, environ={}) == (Path(sys.executable), "lamp's own interpreter")
    local = _fake_python(tmp_path / ".venv")
    assert app_python(settings, environ={})[0] == local
    active = _fake_python(tmp_path / "active")
    assert app_python(settings, environ={"VIRTUAL_ENV": str(active.parent.parent)})[0] == active
    chosen = _fake_python(tmp_path / "chosen")
    configured = resolve({}, environ={"LAMP_APP_PYTHON": str(chosen)}, cwd=tmp_path)
    assert app_python(configured, environ={"VIRTUAL_ENV": str(active.parent.parent)}) == (
        chosen,
        "app-python from env:LAMP_APP_PYTHON",
    )
    missing = resolve({}, environ={"LAMP_APP_PYTHON": str(tmp_path / "nope")}, cwd=tmp_path)
    with pytest.raises(NotFound, match="no such file"):
        app_python(missing, environ={})
    # lamp's own environment active (a pre-commit hook's, a tool's) is not the app's.
    assert app_python(settings, environ={"VIRTUAL_ENV": sys.prefix})[0] == local


def test_spec_openapi_prints_the_apps_document_sorted_and_stable(serving_app: Path, lamp) -> None:
    first = lamp("spec", "openapi")
    assert first.exit_code == 0, first.stderr
    document = json.loads(first.stdout)
    assert {"/v1/predict", "/v1/models/{model_id}", "/health/live"} <= set(document["paths"])
    assert first.stdout == json.dumps(document, indent=2, sort_keys=True) + "\n"
    # Discovery says what it took; the app's lifespan (which raises) never ran.
    assert "src.main:app (found in src/main.py)" in first.stderr
    assert str(serving_app / ".venv" / "bin" / "python") in first.stderr
    assert lamp("spec", "openapi").stdout == first.stdout


def test_a_function_returning_the_app_is_called(serving_app: Path, lamp) -> None:
    result = lamp("spec", "openapi", "--app", "src._core.server:create_app")
    assert result.exit_code == 0, result.stderr
    assert "/v1/predict" in json.loads(result.stdout)["paths"]


def test_lamps_own_interpreter_cannot_import_the_app(serving_app: Path, lamp) -> None:
    result = lamp("spec", "openapi", "--app-python", sys.executable)
    assert result.exit_code == 3
    assert "No module named 'lamp_test_extra'" in result.stderr
    assert "src.main:app" in result.stderr and sys.executable in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_a_missing_dependency_is_named(serving_app: Path, write_app, lamp) -> None:
    write_app("src/main.py", "import torch\n\napp = None\n")
    result = lamp("-o", "json", "spec", "openapi")
    assert result.exit_code == 3
    error = json.loads(result.stderr)["error"]
    assert "No module named 'torch'" in error["message"]
    assert "src.main:app" in error["message"] and ".venv/bin/python" in error["message"]


def test_an_attribute_that_is_not_an_app_is_refused(serving_app: Path, write_app, lamp) -> None:
    write_app("src/main.py", "app = 42\n")
    result = lamp("spec", "openapi")
    assert result.exit_code == 3
    assert "src.main:app is a int, not a FastAPI app" in result.stderr


def test_a_hanging_import_is_stopped_after_the_timeout(
    serving_app: Path, write_app: Callable[[str, str], Path], lamp
) -> None:
    pid_file = serving_app / "pid"
    write_app(
        "src/main.py",
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(600)\napp = None\n",
    )
    result = lamp("spec", "openapi", env={"LAMP_APP_TIMEOUT": "1"})
    assert result.exit_code == 3
    assert "did not finish within 1 s" in result.stderr and "LAMP_APP_TIMEOUT" in result.stderr
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_what_the_app_prints_never_reaches_stdout(serving_app: Path, write_app, lamp) -> None:
    write_app(
        "src/main.py",
        "import sys\nprint('HELLO FROM THE APP')\nprint('AND ITS STDERR', file=sys.stderr)\n"
        "from src._core.server import create_app\napp = create_app()\n",
    )
    result = lamp("spec", "openapi")
    assert result.exit_code == 0, result.stderr
    assert "HELLO" not in result.stdout and "STDERR" not in result.stdout
    json.loads(result.stdout)


def test_a_function_app_in_a_directory_of_its_own(isolated_env: Path, app_python: Path, lamp):
    (isolated_env / "service").mkdir()
    (isolated_env / "service" / "app.py").write_text(FACTORY_APP)
    result = lamp(
        "spec", "openapi", "--app-dir", "service", "--app", "app:build",
        "--app-python", str(app_python),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert list(json.loads(result.stdout)["paths"]) == ["/v1/echo"]


def test_a_saved_document_stands_in_for_the_app(
    isolated_env: Path, serving_openapi: str, lamp
) -> None:
    saved = isolated_env / "openapi.json"
    saved.write_text(serving_openapi)
    result = lamp("spec", "openapi", "--openapi", str(saved))
    assert result.exit_code == 0 and result.stdout == serving_openapi
    (isolated_env / "pyproject.toml").write_text('[tool.lamp]\nopenapi = "openapi.json"\n')
    assert lamp("spec", "openapi").stdout == serving_openapi

    missing = lamp("spec", "openapi", "--openapi", "nope.json")
    assert missing.exit_code == 4 and "nope.json: no such file" in missing.stderr
    saved.write_text('{"openapi": "3.1.0",\n  "paths": }\n')
    broken = lamp("-o", "json", "spec", "openapi")
    assert broken.exit_code == 3
    [problem] = json.loads(broken.stderr)["error"]["problems"]
    assert problem["line"] == 2
    saved.write_text('{"swagger": "2.0"}')
    assert lamp("spec", "openapi").exit_code == 3


def test_without_an_app_openapi_is_not_found_and_validate_skips_once(
    isolated_env: Path, lamp
) -> None:
    result = lamp("spec", "openapi")
    assert result.exit_code == 4 and "no FastAPI app found" in result.stderr
    model, endpoint = EXAMPLES / "serving-model-spec.yaml", EXAMPLES / "serving-endpoint-spec.yaml"
    checked = lamp("spec", "validate", str(model), str(endpoint))
    assert checked.exit_code == 0, checked.stderr
    assert checked.stderr.count("skipped the API checks") == 1


def test_settings_of_the_app_show_in_config(isolated_env: Path, lamp) -> None:
    (isolated_env / "pyproject.toml").write_text(
        '[tool.lamp]\napp = "src.main:app"\napp-dir = "."\nopenapi = "build/openapi.json"\n'
    )
    rows = {
        row["name"]: row
        for row in lamp.json("config", "show", env={"LAMP_APP_PYTHON": "/opt/app/bin/python"})
    }
    assert rows["app"] == {"name": "app", "value": "src.main:app", "source": "pyproject"}
    assert rows["openapi"]["value"] == str(isolated_env / "build" / "openapi.json")
    assert rows["app-dir"]["value"] == str(isolated_env)
    assert rows["app-python"]["source"] == "env:LAMP_APP_PYTHON"


def test_help_and_validate_without_an_app_import_neither_mlflow_nor_fastapi(
    isolated_env: Path,
) -> None:
    model, endpoint = EXAMPLES / "serving-model-spec.yaml", EXAMPLES / "serving-endpoint-spec.yaml"
    for args in (["--help"], ["spec", "validate", str(model), str(endpoint)]):
        _, modules = imported_by(args, isolated_env)
        heavy = sorted({m.split(".")[0] for m in modules} & {"mlflow", "fastapi", "starlette"})
        assert heavy == [], args


def test_validate_against_the_app_does_not_import_fastapi_in_lamp(serving_app: Path, lamp):
    assert lamp("spec", "init").exit_code == 0
    stdout, modules = imported_by(["spec", "validate"], serving_app)
    assert "against app src.main:app" in stdout
    heavy = sorted({m.split(".")[0] for m in modules} & {"mlflow", "fastapi", "pydantic_settings"})
    assert heavy == [] and "src" not in modules
