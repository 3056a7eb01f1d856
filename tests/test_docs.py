"""The documentation: generated pages current and complete, the site building with --strict, and
the pre-commit hook doing what its manifest says."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from lamp_cli.main import app

pytestmark = pytest.mark.offline

ROOT = Path(__file__).resolve().parent.parent
GEN_DOCS = ROOT / "scripts" / "gen_docs.py"
CLI_PAGE = ROOT / "docs" / "reference" / "cli.md"
SPEC_PAGE = ROOT / "docs" / "reference" / "spec.md"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
EXAMPLES = ROOT / "specs" / "examples"
#: What `mkdocs build` reads: the configuration, the pages and the files they include.
SITE_SOURCES = ("mkdocs.yml", "docs", "specs", "examples", "action.yml")


def run_generator(*args: str, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "scripts" / "gen_docs.py"), *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_generated_pages_are_current() -> None:
    """Also fails when generating them imported mlflow or boto3 (the script refuses)."""
    done = run_generator("--check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_stale_page_fails_the_check_and_is_named(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    shutil.copy(GEN_DOCS, copy / "scripts" / "gen_docs.py")
    for name in ("docs", "specs"):
        shutil.copytree(ROOT / name, copy / name)
    shutil.copy(ROOT / "action.yml", copy / "action.yml")
    assert run_generator("--check", root=copy).returncode == 0
    page = copy / "docs" / "reference" / "cli.md"
    page.write_text(page.read_text(encoding="utf-8").replace("lamp release", "lamp relase", 1))
    stale = run_generator("--check", root=copy)
    assert stale.returncode == 1
    assert "docs/reference/cli.md" in stale.stderr and "gen_docs.py" in stale.stderr
    # Without --check the page is written again, and the check passes.
    assert run_generator(root=copy).returncode == 0
    assert run_generator("--check", root=copy).returncode == 0


def _commands() -> list[tuple[list[str], Any]]:
    found: list[tuple[list[str], Any]] = []

    def walk(path: list[str], command: Any) -> None:
        found.append((path, command))
        if hasattr(command, "list_commands"):
            ctx = command.make_context(command.name, [], resilient_parsing=True)
            for name in command.list_commands(ctx):
                walk([*path, name], command.get_command(ctx, name))

    walk([], typer.main.get_command(app))
    return found


def _sections(page: str) -> dict[str, str]:
    """The CLI page's text per command heading (``lamp version alias set`` -> its section)."""
    parts = re.split(r"^#{2,4} (lamp[a-z -]*?) \{ #[a-z-]+ \}$", page, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


COMMANDS = _commands()


@pytest.mark.parametrize(
    "path,command", COMMANDS, ids=[" ".join(path) or "lamp" for path, _ in COMMANDS]
)
def test_the_cli_reference_has_every_command_option_and_variable(path, command) -> None:
    sections = _sections(CLI_PAGE.read_text(encoding="utf-8"))
    title = " ".join(["lamp", *path])
    assert title in sections, f"no section for {title}"
    section = sections[title]
    # The help's prose, as a reader sees it (Markdown's escapes and code spans taken off).
    shown = " ".join(re.sub(r"[`\\]", "", section).split())
    for paragraph in (command.help or "").replace("\b\n", "").split("\n\n"):
        if not paragraph.startswith("    ") and paragraph.strip() not in ("Example:", "Examples:"):
            words = " ".join(paragraph.replace("`", "").split())
            assert words in shown, f"{title}: {paragraph!r} missing"
    for param in command.params:
        if param.name == "help" or param.hidden:
            continue
        for opt in param.opts + param.secondary_opts:
            if opt.startswith("--"):
                assert opt in section, f"{title}: {opt} missing"
        help_text = getattr(param, "help", None) or ""
        for env_name in re.findall(r"\b(?:LAMP|MLFLOW)_[A-Z_]+\b", help_text):
            assert f"`{env_name}`" in section, f"{title}: {env_name} missing"
    # Each example of the help is in a code block of the section, as written.
    for example in re.findall(r"^ {4}(lamp .+|[A-Z_]+=.+)$", command.help or "", re.MULTILINE):
        assert f"\n{example}\n" in section, f"{title}: example {example!r} missing"


def _schema_paths(schema: dict, node: dict, prefix: str) -> list[str]:
    """Every field path of ``node``, found independently of the generator."""

    def resolve(n: dict) -> dict:
        while "$ref" in n:
            n = schema["$defs"][n["$ref"].rsplit("/", 1)[-1]]
        return n

    paths = []
    for name, child in resolve(node).get("properties", {}).items():
        plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name)
        path = (f"{prefix}.{name}" if prefix else name) if plain else f'{prefix}["{name}"]'
        paths.append(path)
        for option in child.get("anyOf", [child]):
            target = resolve(option)
            if target.get("type") == "array" and "items" in target:
                paths += _schema_paths(schema, resolve(target["items"]), f"{path}[]")
            elif "properties" in target:
                paths += _schema_paths(schema, target, path)
    return paths


@pytest.mark.parametrize("name", ["serving-model-spec", "serving-endpoint-spec"])
def test_the_spec_reference_has_every_field(name: str) -> None:
    schema = json.loads((ROOT / "specs" / "schema" / f"{name}.schema.json").read_text())
    page = SPEC_PAGE.read_text(encoding="utf-8")
    section = page.split(f"## {schema['title']} ", 1)[1].split("\n## ", 1)[0]
    paths = _schema_paths(schema, schema, "")
    assert len(paths) > 20
    for path in paths:
        assert f"| `{path}` |" in section, f"{name}: {path} missing"


def _mkdocs_available() -> bool:
    if importlib.util.find_spec("mkdocs") is not None and importlib.util.find_spec("material"):
        return True
    if os.environ.get("CI"):
        pytest.fail("CI must build the docs: install the docs extra (pip install -e '.[docs]')")
    pytest.skip("mkdocs and mkdocs-material are not installed (the docs extra)")


def mkdocs_build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=root,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.docs
def test_the_site_builds_with_strict(tmp_path: Path) -> None:
    _mkdocs_available()
    done = mkdocs_build(ROOT, tmp_path / "site")
    assert done.returncode == 0, done.stdout + done.stderr
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert 'id="lamp-version-alias-set"' in cli
    preview = (tmp_path / "site" / "guides" / "preview" / "index.html").read_text("utf-8")
    assert "argoproj.io/v1alpha1" in preview  # the included render of the example specs


@pytest.mark.docs
@pytest.mark.parametrize(
    "link", ["[x](guides/specs.md#no-such-heading)", "[x](guides/no-such-page.md)"]
)
def test_a_broken_link_fails_the_build(tmp_path: Path, link: str) -> None:
    _mkdocs_available()
    copy = tmp_path / "repo"
    for name in SITE_SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        else:
            copy.mkdir(exist_ok=True)
            shutil.copy(source, copy / name)
    index = copy / "docs" / "index.md"
    index.write_text(index.read_text(encoding="utf-8") + f"\n{link}\n", encoding="utf-8")
    done = mkdocs_build(copy, tmp_path / "site")
    assert done.returncode != 0
    assert "Aborted with 1 warnings in strict mode" in done.stdout + done.stderr


def _hook() -> dict:
    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    assert isinstance(hooks, list)
    by_id = {hook["id"]: hook for hook in hooks}
    return by_id["lamp-spec-validate"]


def test_the_pre_commit_hook_manifest() -> None:
    hook = _hook()
    assert {"id", "name", "entry", "language"} <= set(hook)
    assert hook["language"] == "python"  # pre-commit installs this repository with pip
    assert hook["pass_filenames"] is False  # the pair is validated, not the changed file alone
    files = re.compile(hook["files"])
    for path in (
        "specs/serving-model-spec.yaml",
        "specs/serving-endpoint-spec.yaml",
        "apps/fraud/specs/serving-model-spec.yml",
        "pyproject.toml",
    ):
        assert files.search(path), path
    for path in ("README.md", "specs/schema/serving-model-spec.schema.json", "my-pyproject.toml"):
        assert not files.search(path), path


def test_the_pre_commit_hook_runs_as_pre_commit_runs_it(tmp_path: Path) -> None:
    """The entry, from the repository root with no file names: the app's pair is validated."""
    app_dir = tmp_path / "app"
    (app_dir / "specs").mkdir(parents=True)
    (app_dir / "pyproject.toml").write_text('[project]\nname = "fraud-detector"\n')
    for name in ("serving-model-spec.yaml", "serving-endpoint-spec.yaml"):
        shutil.copy(EXAMPLES / name, app_dir / "specs" / name)
    entry = _hook()["entry"].split()
    assert entry[0] == "lamp"
    lamp = str(Path(sys.executable).parent / "lamp")
    env = {**os.environ, "PRE_COMMIT": "1"}

    def hook() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [lamp, *entry[1:]], cwd=app_dir, env=env, capture_output=True, text=True, timeout=60
        )

    passed = hook()
    assert passed.returncode == 0, passed.stderr
    assert "valid pair" in passed.stdout
    model = app_dir / "specs" / "serving-model-spec.yaml"
    model.write_text(model.read_text().replace("port: 8000", "port: 80"))
    failed = hook()
    assert failed.returncode == 3
    assert "serving-model-spec.yaml" in failed.stderr and "spec.server.port" in failed.stderr
