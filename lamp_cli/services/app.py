"""The FastAPI app of the project: where it is, which interpreter imports it, and its API.

lamp never imports the app (nor FastAPI) itself: the app's own interpreter runs
``app_probe.py`` in a separate process, which imports the module, calls ``app.openapi()`` and
writes the document to a file of lamp's; the app's own prints never reach lamp's stdout.
A saved document (``--openapi FILE``) stands in where the app cannot be imported.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lamp_cli.errors import InvalidInput, NotFound, UsageError
from lamp_cli.settings import Settings, env_number, find_pyproject
from lamp_cli.specs.api import ApiDocument, api_document, parse_text

TIMEOUT_ENV = "LAMP_APP_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
PROBE = Path(__file__).with_name("app_probe.py")
#: Where FastAPI's own CLI and the serving template put an app, in the order lamp looks.
CANDIDATES = (
    "src/main.py",
    "main.py",
    "app.py",
    "api.py",
    "app/main.py",
    "app/app.py",
    "api/main.py",
    "src/app.py",
    "src/app/main.py",
    "src/api/main.py",
)
ATTRIBUTES = ("app", "api")
_SET_IT = 'set app = "MODULE:ATTR" under [tool.lamp] (or LAMP_APP, --app)'
_IMPORT_HINT = (
    "install the app's dependencies into that interpreter, point --app-python "
    "(LAMP_APP_PYTHON, [tool.lamp] app-python) at the app's environment, or pass "
    "--openapi FILE with a saved document (`lamp spec openapi > openapi.json` where it imports)"
)

#: What failed at each stage of the probe, and the next step.
_FAILED = {
    "import": ("import", _IMPORT_HINT),
    "attribute": (
        "find",
        'set app = "MODULE:ATTR" to the FastAPI instance, or to a function that returns one',
    ),
    "openapi": (
        "build the OpenAPI document of",
        "FastAPI could not describe a route or model of the app; fix it, or pass --openapi FILE",
    ),
}

Announce = Callable[[str], None]


@dataclass(frozen=True)
class AppRef:
    """``MODULE:ATTR``, the directory it is imported from, and how lamp came to it."""

    module: str
    attr: str
    root: Path
    origin: str

    @property
    def spec(self) -> str:
        return f"{self.module}:{self.attr}"


def project_dir(settings: Settings) -> Path:
    """The directory of the nearest ``pyproject.toml``, else the settings' directory."""
    found = find_pyproject(settings.cwd)
    return found.parent if found is not None else settings.cwd


def app_root(settings: Settings) -> Path:
    """Where the app is imported from: ``app-dir``, else the project's directory."""
    if settings.app_dir is not None:
        return Path(os.path.abspath(settings.app_dir))
    return project_dir(settings)


def parse_app_setting(value: str, root: Path, origin: str) -> AppRef:
    """``MODULE:ATTR`` (``MODULE`` alone means its ``app``); a usage error otherwise."""
    module, _, attr = value.strip().partition(":")
    names = [*module.split("."), attr or "app"]
    if not module or not all(name.isidentifier() for name in names):
        raise UsageError(
            f"app {value!r} is not MODULE:ATTR", hint='for example app = "src.main:app"'
        )
    return AppRef(module, attr or "app", root, origin)


def _binds(path: Path) -> set[str]:
    """The names a module binds at its top level, read without running it."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def discover(root: Path) -> AppRef | None:
    """The first of :data:`CANDIDATES` under ``root`` that binds ``app`` (else ``api``)."""
    for candidate in CANDIDATES:
        path = root / candidate
        if not path.is_file():
            continue
        bound = _binds(path)
        for attr in ATTRIBUTES:
            if attr in bound:
                module = candidate.removesuffix(".py").replace("/", ".")
                return AppRef(module, attr, root, f"found in {candidate}")
    return None


def find_app(settings: Settings) -> AppRef | None:
    """The ``app`` setting, else the app discovered in the project; ``None`` when neither."""
    root = app_root(settings)
    if not root.is_dir():
        raise NotFound(
            f"app-dir {root} (from {settings.source('app-dir')}): no such directory",
            hint="name the directory the app's module is imported from, e.g. .",
        )
    if settings.app:
        return parse_app_setting(settings.app, root, f"app from {settings.source('app')}")
    return discover(root)


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _venv_python(venv: Path) -> Path | None:
    for candidate in (venv / "bin" / "python", venv / "Scripts" / "python.exe"):
        if candidate.is_file():
            return candidate
    return None


def app_python(settings: Settings, environ: Mapping[str, str] | None = None) -> tuple[Path, str]:
    """The interpreter that imports the app, and why: ``app-python``, else ``$VIRTUAL_ENV``,
    else ``.venv`` beside ``pyproject.toml``, else lamp's own.

    An active environment that is lamp's own (a pre-commit hook's, a tool's) is not the app's:
    the app's ``.venv`` comes first then.
    """
    env = os.environ if environ is None else environ
    if settings.app_python is not None:
        # Never resolved: a virtual environment's python is a symlink that must stay one.
        python = Path(os.path.abspath(settings.app_python))
        if not python.is_file():
            raise NotFound(
                f"app-python {python} (from {settings.source('app-python')}): no such file",
                hint="name the python of the app's virtual environment, e.g. .venv/bin/python",
            )
        return python, f"app-python from {settings.source('app-python')}"
    active = env.get("VIRTUAL_ENV")
    own = active is not None and _same_dir(Path(active), Path(sys.prefix))
    if active and not own and (found := _venv_python(Path(active))) is not None:
        return found, "$VIRTUAL_ENV"
    for directory in dict.fromkeys((project_dir(settings), app_root(settings))):
        found = _venv_python(directory / ".venv")
        if found is not None:
            return found, f".venv in {directory}"
    return Path(sys.executable), "lamp's own interpreter"


def timeout_seconds() -> float:
    value = env_number(TIMEOUT_ENV, DEFAULT_TIMEOUT)
    return value if value > 0 else DEFAULT_TIMEOUT


def import_openapi(ref: AppRef, python: Path, *, timeout: float | None = None) -> ApiDocument:
    """Import the app with ``python`` in a separate process and read its OpenAPI document.

    Raises :class:`InvalidInput` (exit 3) naming the app, the interpreter and the exception's
    last line when the import fails, and when it has not finished within ``timeout`` seconds.
    """
    limit = timeout_seconds() if timeout is None else timeout
    what = f"the app {ref.spec} ({ref.origin}) with {python}"
    with tempfile.TemporaryDirectory(prefix="lamp-app-") as scratch:
        result = Path(scratch) / "result.json"
        log = Path(scratch) / "output.log"
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        with log.open("wb") as output:
            try:
                proc = subprocess.Popen(
                    [str(python), str(PROBE), str(ref.root), ref.module, ref.attr, str(result)],
                    cwd=ref.root,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=output,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise InvalidInput(
                    f"cannot start {python} to import the app {ref.spec}: {exc.strerror or exc}",
                    hint=_IMPORT_HINT,
                ) from None
            try:
                proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                raise InvalidInput(
                    f"importing {what} did not finish within {limit:g} s; stopped it",
                    hint=f"an import must not wait on the network or a model download; set "
                    f"{TIMEOUT_ENV}=SECONDS for a slower one, or pass --openapi FILE",
                ) from None
            finally:
                # The app may have started processes of its own; none outlives the import.
                _kill(proc)
        return _read_result(result, log, what, ref, proc.returncode)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _read_result(
    result: Path, log: Path, what: str, ref: AppRef, returncode: int | None
) -> ApiDocument:
    try:
        data = json.loads(result.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        said = f": {tail[0]}" if tail else ""
        raise InvalidInput(
            f"cannot import {what}: the interpreter exited with code {returncode}{said}",
            hint=_IMPORT_HINT,
        ) from None
    if "error" in data:
        stage = data.get("stage")
        verb, hint = _FAILED.get(stage, _FAILED["import"])
        raise InvalidInput(f"cannot {verb} {what}: {data['error']}", hint=hint)
    return api_document(data.get("openapi"), f"app {ref.spec}")


def read_openapi_file(path: Path) -> ApiDocument:
    """A saved OpenAPI document: missing is exit 4, not JSON or not OpenAPI is exit 3."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(
            f"OpenAPI document {path}: no such file",
            hint="save one with `lamp spec openapi > openapi.json` where the app imports",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read the OpenAPI document {path}: {exc}") from None
    return parse_text(text, str(path))


def load_api(
    settings: Settings,
    *,
    announce: Announce | None = None,
    environ: Mapping[str, str] | None = None,
    required: bool = False,
) -> ApiDocument | None:
    """The app's API: the saved document when ``openapi`` is set, else the app's own (the
    ``app`` setting, or the one discovered, which is announced).

    With no app: ``None``, announced as skipped API checks, or with ``required`` a not-found
    error (exit 4).
    """
    say = announce or (lambda message: None)
    if settings.openapi is not None:
        return read_openapi_file(settings.openapi)
    ref = find_app(settings)
    if ref is None:
        if required:
            raise NotFound(
                f"no FastAPI app found in {app_root(settings)} (looked at {', '.join(CANDIDATES)})",
                hint=f"{_SET_IT}, or pass --openapi FILE",
            )
        say(
            f"no FastAPI app found ({', '.join(CANDIDATES[:4])}, ...); skipped the API checks. "
            f"To check the specs against the app, {_SET_IT}"
        )
        return None
    python, why = app_python(settings, environ)
    if not settings.app:
        say(f"using the app {ref.spec} ({ref.origin}), imported by {python} ({why})")
    return import_openapi(ref, python)
