"""Run by the app's own interpreter, by file path: import the app and write its OpenAPI document.

Standard library only, and nothing from lamp: the app's environment need not hold lamp.
Usage: ``python app_probe.py ROOT MODULE ATTR RESULT_FILE``. The result file receives one JSON
object, ``{"openapi": {...}}`` or ``{"error": "...", "stage": "import|attribute|openapi"}``;
whatever the app prints goes to this process's stdout and stderr, which lamp never shows on its
own stdout. Only the import runs and ``app.openapi()`` is called: no server, no lifespan.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from typing import Any


def _last_line(exc: BaseException) -> str:
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def _write(path: str, result: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump(result, out, default=str)


def probe(root: str, module_name: str, attr: str) -> dict[str, Any]:
    # The app root replaces this file's directory at the head of sys.path: lamp's own modules
    # must not shadow the app's, and src/ itself is never put there (the serving template's
    # src/dataclasses would hide the standard library's dataclasses).
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        sys.path[0] = root
    else:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
    except BaseException as exc:
        return {"stage": "import", "error": _last_line(exc)}
    try:
        app = getattr(module, attr)
    except AttributeError:
        return {"stage": "attribute", "error": f"module {module_name} has no attribute {attr!r}"}
    try:
        if not hasattr(app, "openapi") and callable(app):
            app = app()
        if not callable(getattr(app, "openapi", None)):
            kind = type(app).__name__
            return {
                "stage": "attribute",
                "error": f"{module_name}:{attr} is a {kind}, not a FastAPI app or a function "
                "returning one",
            }
        return {"openapi": app.openapi()}
    except BaseException as exc:
        return {"stage": "openapi", "error": _last_line(exc)}


def main(argv: list[str]) -> int:
    root, module_name, attr, result_path = argv
    _write(result_path, probe(root, module_name, attr))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
