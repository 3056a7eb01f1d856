"""The ``helm`` binary: found, its version checked, charts pulled into a cache and rendered.

lamp runs Helm itself rather than reimplementing templates, so what it shows is what Argo CD's
``helm template`` makes of the same chart and values. Helm 3.8 is the first with OCI
registries on by default; Helm 4 renders the same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lamp_cli.errors import (
    BackendUnavailable,
    InvalidInput,
    LampError,
    NotFound,
    PermissionDenied,
    Problem,
)
from lamp_cli.settings import Settings

MIN_VERSION = (3, 8, 0)
INSTALL_HINT = (
    "install Helm 3.8 or newer (https://helm.sh/docs/intro/install/) and put it on PATH, "
    "or name it with --helm, LAMP_HELM or helm under [tool.lamp]"
)
_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
#: Seconds for each helm call: rendering is local and quick; a pull crosses the network.
VERSION_TIMEOUT, TEMPLATE_TIMEOUT, PULL_TIMEOUT = 20.0, 120.0, 300.0
#: Lines of Helm's own error message that lamp repeats.
MAX_MESSAGE_LINES = 12


class HelmNotFound(NotFound):
    """No usable helm: none found, or one that does not run or is too old (exit 4)."""


@dataclass(frozen=True)
class Helm:
    path: str
    version: str  # as Helm says it, e.g. v4.1.4

    def run(self, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.path, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )


def find_helm(flag: str | None, settings: Settings) -> Helm:
    """The helm of ``--helm``, else ``LAMP_HELM`` / ``[tool.lamp] helm``, else ``helm`` on
    PATH; a bare name is looked up on PATH, a relative path under ``[tool.lamp]`` is relative
    to its pyproject.toml. Exit 4 with how to install it when there is none that works."""
    value, source = (flag, "--helm") if flag else (settings.helm, settings.source("helm"))
    if not value:
        found = shutil.which("helm")
        if found is None:
            raise HelmNotFound("helm not found on PATH", hint=INSTALL_HINT)
        return Helm(found, _version(found))
    if "/" not in value and os.sep not in value:
        found = shutil.which(value)
        if found is None:
            raise HelmNotFound(f"helm '{value}' ({source}) not found on PATH", hint=INSTALL_HINT)
        return Helm(found, _version(found))
    path = Path(value).expanduser()
    if not path.is_absolute() and source == "pyproject":
        path = settings.cwd / path
    if not path.is_file() or not os.access(path, os.X_OK):
        raise HelmNotFound(f"helm {path} ({source}) is not an executable file", hint=INSTALL_HINT)
    return Helm(str(path), _version(str(path)))


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``(4, 1, 4)`` from ``v4.1.4``, ``v3.17.0+g301108e`` or ``Client: v2.17.0+g...``."""
    match = _VERSION_RE.search(text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def _version(path: str) -> str:
    helm = Helm(path, "")
    try:
        done = helm.run(["version", "--template", "{{.Version}}"], VERSION_TIMEOUT)
        if parse_version(done.stdout) is None:
            done = helm.run(["version", "--short"], VERSION_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HelmNotFound(f"{path} does not run: {exc}", hint=INSTALL_HINT) from None
    version = parse_version(done.stdout)
    if done.returncode != 0 or version is None:
        said = _lines(done.stderr or done.stdout)[:1] or ["no version"]
        raise HelmNotFound(f"{path} is not a working helm: {said[0]}", hint=INSTALL_HINT)
    if version < MIN_VERSION:
        shown = ".".join(map(str, version))
        raise HelmNotFound(
            f"helm {shown} at {path} is too old: lamp needs Helm 3.8 or newer", hint=INSTALL_HINT
        )
    return done.stdout.strip().split("+", 1)[0] or "v" + ".".join(map(str, version))


def cache_dir() -> Path:
    """Where pulled charts are kept: ``$XDG_CACHE_HOME/lamp/charts`` (``~/.cache/...``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lamp" / "charts"


def cached_chart_path(repository: str, name: str, version: str) -> Path:
    """The cache file of one chart version; the repository is quoted whole into one folder
    name, so two repositories never share a folder."""
    return cache_dir() / quote(repository, safe="") / name / version / f"{name}-{version}.tgz"


def pull(helm: Helm, repository: str, name: str, version: str) -> Path:
    """The packaged chart, from the cache or pulled into it (exact version; an OCI registry
    or an HTTPS repository). A chart version is immutable, so a cached one is never pulled
    again."""
    target = cached_chart_path(repository, name, version)
    if target.is_file():
        return target
    cache_dir().mkdir(parents=True, exist_ok=True)
    if repository.startswith("oci://"):
        where = [f"{repository.rstrip('/')}/{name}"]
    else:
        where = [name, "--repo", repository]
    what = f"chart {name} {version} from {repository}"
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix=".pull-") as tmp:
        args = ["pull", *where, "--version", version, "--destination", tmp]
        try:
            done = helm.run(args, PULL_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise BackendUnavailable(
                f"helm could not pull {what} within {PULL_TIMEOUT:.0f} s"
            ) from None
        if done.returncode != 0:
            raise _pull_error(what, done.stderr)
        pulled = sorted(Path(tmp).glob("*.tgz"))
        if len(pulled) != 1:
            raise InvalidInput(f"helm pulled no packaged chart for {what}")
        # Atomic: a racing pull of the same version leaves one complete file either way.
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(pulled[0], target)
    return target


def _pull_error(what: str, stderr: str) -> LampError:
    lines = _lines(stderr)
    said = lines[0] if lines else "no message"
    text = stderr.lower()
    problems = [Problem(line) for line in lines[1:MAX_MESSAGE_LINES]]
    if any(s in text for s in ("unauthorized", "denied", "forbidden", "401", "403")):
        return PermissionDenied(
            f"helm may not pull {what}: {said}",
            hint="log in with `helm registry login HOST` (OCI) or check the repository's "
            "credentials, or render a local copy with --chart PATH",
        )
    if any(s in text for s in ("not found", "404", "no chart version", "no chart name")):
        return NotFound(
            f"helm found no {what}: {said}", hint="check spec.chart of the endpoint spec"
        )
    unreachable = ("dial tcp", "no such host", "connection refused", "timeout", "tls:", "x509")
    if any(s in text for s in unreachable):
        return BackendUnavailable(
            f"helm could not reach {what}: {said}",
            hint="render a local copy of the chart with --chart PATH",
        )
    return InvalidInput(f"helm could not pull {what}: {said}", problems=problems)


def template(
    helm: Helm,
    chart: Path,
    *,
    release: str,
    namespace: str,
    kube_version: str,
    values: dict[str, Any],
    what: str,
    notice: Callable[[str], None] | None = None,
) -> str:
    """``helm template`` of ``chart`` with exactly ``values``, as Argo CD runs it (CRDs
    included); Helm's output. A failure is invalid input (exit 3) with Helm's own message."""
    with tempfile.TemporaryDirectory(prefix="lamp-helm-") as tmp:
        values_file = Path(tmp) / "values.json"  # JSON is YAML: Helm reads it as it is
        values_file.write_text(json.dumps(values, default=str), encoding="utf-8")
        args = [
            "template",
            release,
            str(chart),
            "--namespace",
            namespace,
            "--kube-version",
            f"v{kube_version}",
            "--values",
            str(values_file),
            "--include-crds",
        ]
        try:
            done = helm.run(args, TEMPLATE_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise InvalidInput(
                f"helm did not render {what} within {TEMPLATE_TIMEOUT:.0f} s"
            ) from None
    lines = _lines(done.stderr)
    if done.returncode != 0:
        said = lines[0] if lines else f"helm exited with code {done.returncode}"
        raise InvalidInput(
            f"helm could not render {what}: {said}",
            problems=[Problem(line) for line in lines[1:MAX_MESSAGE_LINES]],
        )
    if notice is not None:
        for line in lines[:MAX_MESSAGE_LINES]:
            notice(f"helm: {line}")
    return done.stdout


def _lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and lines[0].startswith("Error: "):
        lines[0] = lines[0][len("Error: ") :]
    return lines
