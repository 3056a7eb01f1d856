"""The sub-commands of ``lamp``: one module each, imported only when the command is used.

Each module has a Typer ``app``; ``lamp --help`` lists the summaries below without importing
any of them (a test checks that each is the first line of the command's own help).
"""

from __future__ import annotations

#: name (and module under ``lamp_cli.commands``) -> summary, in the order of ``lamp --help``.
COMMANDS: dict[str, str] = {
    "register": "Register a run's specs as a new model version of the project.",
    "release": "Record a release in one idempotent step: experiment, run, specs, version, aliases.",
    "doctor": "Check that a release can go through, without writing anything.",
    "experiment": "Create, list and show MLflow experiments.",
    "run": "Create, list and show runs, and log serving specs.",
    "project": "Projects: one registered model per LAMP project id.",
    "version": "List and show the model versions of a project.",
    "spec": "Author, validate, export and render serving specs (offline).",
    "config": "Show lamp's resolved settings.",
}

#: Groups nested in another group: parent -> names (and modules) of its sub-groups.
NESTED: dict[str, tuple[str, ...]] = {"version": ("alias",)}
