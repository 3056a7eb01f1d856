"""Every benchmark of lamp in one run on this machine; writes bench/README.md and the raw figures.

Usage:  .venv/bin/python bench/run.py [--quick] [--only SECTION,...] [--render-only JSON]

Each command runs as a user runs it, one process per command, and is timed from spawn to exit;
peak memory is the child's own ru_maxrss (os.wait4). Sections (see bench/README.md for figures):

  help       `lamp --help` against `mlflow --help` and `python -c pass`
  spec       `lamp spec validate` / `spec render` of the example pair (offline)
  embedded   the quick-start workflow, command by command, on the embedded SQLite store
  dead       time to exit 6 against a closed port and a port that never answers
  release    `lamp release` against bench/handwritten_release.py on one `mlflow server`
  calls      REST calls per command, lamp beside the hand-written script (bench/proxy.py)
  list       `lamp -o json version list` over 500 and 5,000 versions: time and peak memory

The server sections share one `mlflow server --workers 1` (SQLite, --serve-artifacts) on a free
loopback port. `--quick` runs fewer repeats and 500 versions only. Raw figures go to
bench/results/ (run-<time>.json and latest.json); `--render-only FILE` rewrites bench/README.md
from one of them without measuring again.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import platform
import pstats
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from proxy import CountingProxy, summarize

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
BIN = Path(sys.executable).parent
PY = sys.executable
LAMP = str(BIN / "lamp")
MLFLOW = str(BIN / "mlflow")
HANDWRITTEN = str(BENCH / "handwritten_release.py")
MODEL = str(ROOT / "specs" / "examples" / "serving-model-spec.yaml")
ENDPOINT = str(ROOT / "specs" / "examples" / "serving-endpoint-spec.yaml")

SECTIONS = ("help", "spec", "embedded", "dead", "release", "calls", "list")

# The targets of issue 9.
HELP_TARGET_S = 0.25
RELEASE_RATIO_TARGET = 1.15
RELEASE_CALL_BUDGET = 14
# "Flat": from 500 to 5,000 versions lamp's peak memory grows at most this much more than that of
# the hand-written script, which holds one page of versions at a time.
FLAT_MEMORY_MARGIN_MIB = 10.0
# What the README promises for a dead server.
DEAD_SERVER_LIMIT_S = 20.0

# lamp and the script leave these alone only when nothing in the caller's environment points them
# elsewhere: a benchmark of the defaults must not pick up the caller's server, project or CI.
_DROPPED_ENV = ("MLFLOW_", "LAMP_", "GITHUB_", "DATABRICKS_")


# ---------------------------------------------------------------------------------------------
# Processes


@dataclass
class Sample:
    seconds: float
    cpu_s: float  # user + system: what the command costs, whatever else the machine runs
    code: int
    maxrss_mib: float
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.code == 0

    @property
    def error(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return f"exit {self.code}: {lines[-1][:200] if lines else '(no stderr)'}"


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 600.0) -> Sample:
    """One process from spawn to exit, with its own peak RSS (not its siblings')."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL
        )
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        # Reaped by wait4 already: tell Popen, so it never waits for the pid again.
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Sample(
            seconds,
            usage.ru_utime + usage.ru_stime,
            proc.returncode,
            usage.ru_maxrss / 1024,  # KiB on Linux
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def interleaved(
    cmds: dict[str, list[str]], repeat: int, *, cwd: Path, env: dict[str, str], warmup: int = 1
) -> dict[str, list[Sample]]:
    """``repeat`` samples of each command, taken round-robin so that drift hits all alike."""
    samples: dict[str, list[Sample]] = {name: [] for name in cmds}
    for i in range(warmup + repeat):
        for name, cmd in cmds.items():
            sample = run(cmd, cwd=cwd, env=env)
            if i >= warmup:
                samples[name].append(sample)
    return samples


def stats(samples: list[Sample]) -> dict[str, Any]:
    ok = [s for s in samples if s.ok]
    out: dict[str, Any] = {"n": len(samples), "failed": len(samples) - len(ok)}
    if ok:
        times = [s.seconds for s in ok]
        out.update(
            median_s=round(statistics.median(times), 3),
            min_s=round(min(times), 3),
            max_s=round(max(times), 3),
            median_cpu_s=round(statistics.median(s.cpu_s for s in ok), 3),
            maxrss_mib=round(max(s.maxrss_mib for s in ok), 1),
        )
    if len(ok) < len(samples):
        out["error"] = next(s.error for s in samples if not s.ok)
    return out


def base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_ENV)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unique() -> str:
    return uuid.uuid4().hex[:8]


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


# ---------------------------------------------------------------------------------------------
# Profiles: where the time goes


def _script(cmd: list[str]) -> list[str]:
    """``cmd`` as arguments of this interpreter: the script first (`lamp` is a Python script)."""
    return cmd[1:] if cmd[0] == PY else cmd


_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)")


def import_profile(cmd: list[str], *, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Import time per top-level package (self time, -X importtime) of one run of ``cmd``."""
    sample = run([PY, "-X", "importtime", *_script(cmd)], cwd=cwd, env=env)
    by_package: dict[str, int] = {}
    total_us = 0
    for line in sample.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if not match:
            continue
        self_us, cumulative_us, indent, name = match.groups()
        root = name.split(".")[0]
        by_package[root] = by_package.get(root, 0) + int(self_us)
        if len(indent) == 1:
            total_us += int(cumulative_us)
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])
    return {
        "exit": sample.code,
        "wall_s": round(sample.seconds, 3),
        "total_s": round(total_us / 1e6, 3),
        "by_package_s": {name: round(us / 1e6, 4) for name, us in ranked},
    }


def cprofile(cmd: list[str], *, cwd: Path, env: dict[str, str], tmp: Path) -> dict[str, Any]:
    """One run of ``cmd`` under cProfile, cut into imports, HTTP, subprocesses, sleeps, rest.

    The categories do not nest in each other (nothing is imported while a response is awaited),
    so they add up; cProfile slows Python code down, so "other" is inflated more than HTTP.
    """
    out = tmp / f"profile-{unique()}.prof"
    sample = run([PY, "-m", "cProfile", "-o", str(out), *_script(cmd)], cwd=cwd, env=env)
    if not out.exists():
        return {"exit": sample.code, "error": sample.error}
    st = pstats.Stats(str(out), stream=io.StringIO())
    entries = st.stats  # type: ignore[attr-defined]

    def pick(match: Callable[[str, str], bool]) -> tuple[float, int]:
        seconds, calls = 0.0, 0
        for (filename, _line, func), (_cc, nc, _tt, ct, _callers) in entries.items():
            if match(filename, func):
                seconds += ct
                calls += nc
        return seconds, calls

    imports, _ = pick(lambda f, fn: f == "<frozen importlib._bootstrap>" and fn == "_find_and_load")
    http, requests = pick(lambda f, fn: f.endswith("http/client.py") and fn == "getresponse")
    procs, nprocs = pick(lambda f, fn: f.endswith("/subprocess.py") and fn == "run")
    sleeps, nsleeps = pick(lambda f, fn: fn == "<built-in method time.sleep>")
    # Typer reads the signatures of the commands it builds, on every invocation.
    typer_build, _ = pick(lambda f, fn: f.endswith(f"typer{os.sep}main.py") and fn == "get_command")
    total = st.total_tt  # type: ignore[attr-defined]
    marker = f"{os.sep}lamp_cli{os.sep}"
    own = sorted(
        (
            (ct, f"lamp_cli/{filename.rsplit(marker, 1)[1]}:{func}")
            for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in entries.items()
            if marker in filename and func != "<module>"
        ),
        reverse=True,
    )
    return {
        "exit": sample.code,
        "total_s": round(total, 3),
        "imports_s": round(imports, 3),
        "http_s": round(http, 3),
        "http_requests": requests,
        "subprocess_s": round(procs, 3),
        "subprocesses": nprocs,
        "sleep_s": round(sleeps, 3),
        "sleeps": nsleeps,
        "typer_build_s": round(typer_build, 3),
        "other_s": round(total - imports - http - procs - sleeps, 3),
        "lamp_functions_s": {name: round(ct, 3) for ct, name in own[:10]},
    }


# ---------------------------------------------------------------------------------------------
# The server


class MlflowServer:
    """A real `mlflow server --workers 1` on a free loopback port (SQLite, proxied artifacts)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.db = base / "server.db"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.started_s = 0.0

    def __enter__(self) -> MlflowServer:
        self.log = open(self.base / "server.log", "wb")
        cmd = [
            PY, "-m", "mlflow", "server",
            "--backend-store-uri", f"sqlite:///{self.db}",
            "--artifacts-destination", str(self.base / "artifacts"),
            "--serve-artifacts",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", "1",
        ]  # fmt: skip
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.base,
            # lamp uses none of the server's job execution; its consumer processes would only
            # compete with the client for the CPUs.
            env={**base_env(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    self.started_s = round(time.perf_counter() - start, 2)
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        tail = (self.base / "server.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"mlflow server did not start:\n{tail}")

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=20)
        # The server's own workers live in its session too; none may outlive the benchmark.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.log.close()


# ---------------------------------------------------------------------------------------------
# Benchmarks


@dataclass
class Context:
    quick: bool
    tmp: Path
    server: MlflowServer | None = None
    proxy: CountingProxy | None = None

    @property
    def repeat(self) -> int:
        return 3 if self.quick else 7

    # Fewer repeats of the multi-second commands keep the full run within about ten minutes.
    @property
    def repeat_slow(self) -> int:
        return 2 if self.quick else 3

    @property
    def repeat_workflow(self) -> int:
        return 1 if self.quick else 3

    def server_env(self) -> dict[str, str]:
        assert self.server is not None
        return {**base_env(), "MLFLOW_TRACKING_URI": self.server.url}

    def proxy_env(self) -> dict[str, str]:
        assert self.proxy is not None
        return {**base_env(), "MLFLOW_TRACKING_URI": self.proxy.url}

    def checkout(self) -> Path:
        """A git checkout with one commit, where a release runs, as in CI."""
        path = self.tmp / "checkout"
        if not path.exists():
            path.mkdir()
            git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
            subprocess.run([*git, "init", "-q"], cwd=path, check=True)
            subprocess.run(
                [*git, "commit", "-q", "--allow-empty", "-m", "bench"], cwd=path, check=True
            )
        return path


def bench_help(ctx: Context) -> dict[str, Any]:
    cmds = {
        "python -c pass": [PY, "-c", "pass"],
        "mlflow --help": [MLFLOW, "--help"],
        "lamp --help": [LAMP, "--help"],
    }
    samples = interleaved(cmds, ctx.repeat, cwd=ctx.tmp, env=base_env())
    out: dict[str, Any] = {name: stats(s) for name, s in samples.items()}
    out["imports"] = import_profile([LAMP, "--help"], cwd=ctx.tmp, env=base_env())
    out["profile"] = cprofile([LAMP, "--help"], cwd=ctx.tmp, env=base_env(), tmp=ctx.tmp)
    version = run([LAMP, "--version"], cwd=ctx.tmp, env=base_env())
    out["lamp_version"] = last_line(version.stdout).removeprefix("lamp ") if version.ok else None
    return out


def bench_spec(ctx: Context) -> dict[str, Any]:
    cmds = {
        "spec validate": [LAMP, "spec", "validate", MODEL, ENDPOINT],
        "spec render": [LAMP, "spec", "render", "--model-spec", MODEL, "--endpoint-spec", ENDPOINT],
    }
    samples = interleaved(cmds, ctx.repeat, cwd=ctx.tmp, env=base_env())
    return {name: stats(s) for name, s in samples.items()}


EMBEDDED_STEPS = (
    "experiment create",
    "run log-spec",
    "run show",
    "project create",
    "register --alias",
    "version list",
    "version spec",
)


def bench_embedded(ctx: Context) -> dict[str, Any]:
    """The README's quick start, each pass in a fresh directory (its first command makes the
    store)."""
    env = base_env()
    prj = "fraud-detector-prj"
    cmds: dict[str, Callable[[str], list[str]]] = {
        "experiment create": lambda _r: [LAMP, "experiment", "create", "fraud-detector",
                                         "--exist-ok"],
        "run log-spec": lambda _r: [LAMP, "-o", "quiet", "run", "log-spec", "--experiment",
                                    "fraud-detector", "--model-spec", MODEL,
                                    "--endpoint-spec", ENDPOINT],
        "run show": lambda r: [LAMP, "run", "show", r],
        "project create": lambda _r: [LAMP, "project", "create", prj, "--exist-ok"],
        "register --alias": lambda r: [LAMP, "register", r, prj, "--alias", "staging"],
        "version list": lambda _r: [LAMP, "version", "list", prj],
        "version spec": lambda _r: [LAMP, "version", "spec", prj, "@staging", "--kind",
                                    "endpoint"],
    }  # fmt: skip
    per_step: dict[str, list[Sample]] = {step: [] for step in EMBEDDED_STEPS}
    for i in range(ctx.repeat_workflow):
        cwd = ctx.tmp / f"embedded-{i}"
        cwd.mkdir()
        run_id = ""
        for step in EMBEDDED_STEPS:
            sample = run(cmds[step](run_id), cwd=cwd, env=env)
            per_step[step].append(sample)
            if step == "run log-spec":
                run_id = last_line(sample.stdout) if sample.ok else "missing-run-id"
    out: dict[str, Any] = {step: stats(samples) for step, samples in per_step.items()}
    totals = [
        sum(per_step[step][i].seconds for step in EMBEDDED_STEPS)
        for i in range(ctx.repeat_workflow)
        if all(per_step[step][i].ok for step in EMBEDDED_STEPS)
    ]
    out["total"] = {"median_s": round(statistics.median(totals), 3)} if totals else {}
    return out


def silent_port() -> tuple[int, threading.Event]:
    """A loopback port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                pass
        for conn in held:
            conn.close()
        sock.close()

    threading.Thread(target=accept, daemon=True).start()
    return sock.getsockname()[1], stop


def bench_dead(ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    closed = free_port()
    sample = run(
        [LAMP, "--tracking-uri", f"http://127.0.0.1:{closed}", "experiment", "list"],
        cwd=ctx.tmp,
        env=base_env(),
    )
    out["closed port"] = {"seconds": round(sample.seconds, 2), "exit": sample.code}
    port, stop = silent_port()
    try:
        sample = run(
            [LAMP, "--tracking-uri", f"http://127.0.0.1:{port}", "experiment", "list"],
            cwd=ctx.tmp,
            env=base_env(),
        )
    finally:
        stop.set()
    out["port that never answers"] = {"seconds": round(sample.seconds, 2), "exit": sample.code}
    return out


def lamp_release(project: str, key: str) -> list[str]:
    return [
        LAMP, "-o", "json", "release", "--project", project, "--experiment", project,
        "--model-spec", MODEL, "--endpoint-spec", ENDPOINT, "--release-key", key,
        "--no-verify-image", "--alias", "candidate",
    ]  # fmt: skip


def script_release(project: str, key: str) -> list[str]:
    return [PY, HANDWRITTEN, "release", project, project, key, "candidate", MODEL, ENDPOINT]


def bench_release(ctx: Context) -> dict[str, Any]:
    env, cwd = ctx.server_env(), ctx.checkout()
    tag = unique()
    lamp_prj, script_prj = f"bench-release-lamp-{tag}", f"bench-release-script-{tag}"
    setup = [
        run([LAMP, "project", "create", lamp_prj], cwd=cwd, env=env),
        run([PY, HANDWRITTEN, "project-create", script_prj], cwd=cwd, env=env),
    ]
    out: dict[str, Any] = {"setup_errors": [s.error for s in setup if not s.ok]}
    samples: dict[str, list[Sample]] = {"lamp release": [], "script": []}
    key = ""
    # Round 0 warms the page cache and creates both experiments; it is not counted.
    for i in range(1 + ctx.repeat):
        key = f"r{i}-{unique()}"
        order = [("lamp release", lamp_release, lamp_prj), ("script", script_release, script_prj)]
        if i % 2:
            order.reverse()
        for name, make, prj in order:
            sample = run(make(prj, key), cwd=cwd, env=env)
            if i:
                samples[name].append(sample)
    out.update({name: stats(s) for name, s in samples.items()})
    rerun = {
        "lamp release": lamp_release(lamp_prj, key),
        "script": [PY, HANDWRITTEN, "rerun", script_prj, script_prj, key, "candidate"],
    }
    reruns = interleaved(rerun, ctx.repeat_workflow, cwd=cwd, env=env, warmup=0)
    out["rerun"] = {name: stats(s) for name, s in reruns.items()}
    lamp_s, script_s = out["lamp release"], out["script"]
    if "median_s" in lamp_s and "median_s" in script_s:
        out["ratio"] = round(lamp_s["median_s"] / script_s["median_s"], 3)
    out["profile"] = {
        "lamp imports": import_profile(lamp_release(lamp_prj, f"i-{unique()}"), cwd=cwd, env=env),
        "script imports": import_profile(
            script_release(script_prj, f"i-{unique()}"), cwd=cwd, env=env
        ),
        "lamp": cprofile(lamp_release(lamp_prj, f"p-{unique()}"), cwd=cwd, env=env, tmp=ctx.tmp),
        "script": cprofile(
            script_release(script_prj, f"p-{unique()}"), cwd=cwd, env=env, tmp=ctx.tmp
        ),
    }
    return out


CALL_STEPS = (
    "experiment create",
    "run log-spec",
    "project create",
    "register --alias",
    "release (fresh)",
    "release (rerun)",
    "version list",
    "version show",
)


def command_budgets() -> dict[str, int]:
    """The REST-call budget of each write step, as its command module declares it
    (``REST_CALL_BUDGET``, which tests/budget holds each command to)."""
    from lamp_cli.commands import experiment, project, register, release, run

    declared = {
        **experiment.REST_CALL_BUDGET,
        **run.REST_CALL_BUDGET,
        **project.REST_CALL_BUDGET,
        **register.REST_CALL_BUDGET,
        **release.REST_CALL_BUDGET,
    }
    return {
        "experiment create": declared["experiment create"],
        "run log-spec": declared["run log-spec"],
        "project create": declared["project create"],
        "register --alias": declared["register"],
        "release (fresh)": declared["release"],
        "release (rerun)": declared["release (rerun)"],
    }


def _lamp_steps(name: str, key: str) -> dict[str, Callable[[str], list[str]]]:
    return {
        "experiment create": lambda _r: [LAMP, "experiment", "create", name],
        "run log-spec": lambda _r: [LAMP, "-o", "quiet", "run", "log-spec", "--experiment", name,
                                    "--model-spec", MODEL, "--endpoint-spec", ENDPOINT],
        "project create": lambda _r: [LAMP, "project", "create", name],
        "register --alias": lambda r: [LAMP, "register", r, name, "--alias", "staging"],
        "release (fresh)": lambda _r: lamp_release(name, key),
        "release (rerun)": lambda _r: lamp_release(name, key),
        "version list": lambda _r: [LAMP, "-o", "json", "version", "list", name],
        "version show": lambda _r: [LAMP, "-o", "json", "version", "show", name, "1"],
    }  # fmt: skip


def _script_steps(name: str, key: str) -> dict[str, Callable[[str], list[str]]]:
    hw = [PY, HANDWRITTEN]
    return {
        "experiment create": lambda _r: [*hw, "experiment-create", name],
        "run log-spec": lambda _r: [*hw, "log-spec", name, MODEL, ENDPOINT],
        "project create": lambda _r: [*hw, "project-create", name],
        "register --alias": lambda r: [*hw, "register", r, name, "staging"],
        "release (fresh)": lambda _r: script_release(name, key),
        "release (rerun)": lambda _r: [*hw, "rerun", name, name, key, "candidate"],
        "version list": lambda _r: [*hw, "version-list", name],
        "version show": lambda _r: [*hw, "version-show", name, "1"],
    }


def bench_calls(ctx: Context) -> dict[str, Any]:
    assert ctx.proxy is not None
    env, cwd = ctx.proxy_env(), ctx.checkout()
    out: dict[str, Any] = {step: {} for step in CALL_STEPS}
    tag = unique()
    for tool, steps in (
        ("lamp", _lamp_steps(f"calls-lamp-{tag}", f"k-{tag}")),
        ("script", _script_steps(f"calls-script-{tag}", f"k-{tag}")),
    ):
        run_id = ""
        for step in CALL_STEPS:
            ctx.proxy.take()
            sample = run(steps[step](run_id), cwd=cwd, env=env)
            log = ctx.proxy.take()
            row: dict[str, Any] = {
                "calls": len(log),
                "seconds": round(sample.seconds, 3),
                "exit": sample.code,
                "endpoints": summarize(log),
            }
            if not sample.ok:
                row["error"] = sample.error
            out[step][tool] = row
            if step == "run log-spec":
                run_id = last_line(sample.stdout) if sample.ok else "missing-run-id"
    return out


def seed_versions(ctx: Context, project: str, count: int) -> dict[str, Any]:
    """``count`` versions of ``project``: one registered through MLflow, the rest copied from it
    in one SQL transaction (a few seconds instead of minutes of REST calls)."""
    assert ctx.server is not None
    import handwritten_release as hw
    import sqlalchemy as sa
    from mlflow import MlflowClient
    from mlflow.store.model_registry.dbmodels.models import SqlModelVersion, SqlModelVersionTag
    from sqlalchemy.orm import Session

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    start = time.perf_counter()
    client = MlflowClient(tracking_uri=ctx.server.url, registry_uri=ctx.server.url)
    with contextlib.redirect_stdout(io.StringIO()):
        experiment_id = hw._experiment_id(client, "bench-list")
        run_id = client.create_run(experiment_id).info.run_id
        tags = hw._log_specs(client, run_id, Path(MODEL), Path(ENDPOINT))
        client.create_registered_model(project)
        hw._register(client, run_id, project, "staging", tags)

    engine = sa.create_engine(f"sqlite:///{ctx.server.db}")
    version_cols = [c.key for c in sa.inspect(SqlModelVersion).column_attrs]
    tag_cols = [c.key for c in sa.inspect(SqlModelVersionTag).column_attrs]
    with Session(engine) as session, session.begin():
        first = session.query(SqlModelVersion).filter_by(name=project, version=1).one()
        base = {c: getattr(first, c) for c in version_cols}
        first_tags = [
            {c: getattr(t, c) for c in tag_cols}
            for t in session.query(SqlModelVersionTag).filter_by(name=project, version=1)
        ]
        versions, version_tags = [], []
        for number in range(2, count + 1):
            created = base["creation_time"] + number
            versions.append(
                {**base, "version": number, "creation_time": created, "last_updated_time": created}
            )
            version_tags.extend({**t, "version": number} for t in first_tags)
        session.execute(sa.insert(SqlModelVersion), versions)
        session.execute(sa.insert(SqlModelVersionTag), version_tags)
    engine.dispose()
    return {"seconds": round(time.perf_counter() - start, 2), "tags_per_version": len(first_tags)}


def _listed(sample: Sample) -> int | None:
    try:
        doc = json.loads(sample.stdout)
    except ValueError:
        return None
    if isinstance(doc, dict):
        doc = next((v for v in doc.values() if isinstance(v, list)), [])
    return len(doc)


def bench_list(ctx: Context) -> dict[str, Any]:
    assert ctx.proxy is not None
    env, cwd = ctx.server_env(), ctx.tmp
    sizes = (500,) if ctx.quick else (500, 5000)
    out: dict[str, Any] = {}
    for size in sizes:
        project = f"bench-list-{size}-{unique()}"
        row: dict[str, Any] = {"seed": seed_versions(ctx, project, size)}
        cmds = {
            "lamp": [LAMP, "-o", "json", "version", "list", project],
            "script": [PY, HANDWRITTEN, "version-list", project],
        }
        for name, cmd in cmds.items():
            # Also the warm-up of the timed runs below.
            ctx.proxy.take()
            counted = run(cmd, cwd=cwd, env=ctx.proxy_env())
            row[name] = {"calls": len(ctx.proxy.take()), "listed": _listed(counted)}
        samples = interleaved(cmds, ctx.repeat_slow, cwd=cwd, env=env, warmup=0)
        for name, got in samples.items():
            row[name].update(stats(got))
        if size == sizes[-1]:
            row["profile"] = cprofile(cmds["lamp"], cwd=cwd, env=env, tmp=ctx.tmp)
        out[str(size)] = row
    return out


def facts() -> dict[str, Any]:
    def version_of(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        mem_gib = round(int(first.split()[1]) / 1024 / 1024, 1)

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return proc.stdout.strip()

    telemetry_off = [
        name
        for name in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK", "CI", "PYTEST_CURRENT_TEST")
        if os.environ.get(name)
    ]
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "mlflow": version_of("mlflow"),
        "mlflow_skinny": version_of("mlflow-skinny"),
        "typer": version_of("typer"),
        "numpy": version_of("numpy"),
        "pandas": version_of("pandas"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted_lamp_cli_files": len(
            git("status", "--porcelain", "--", "lamp_cli").splitlines()
        ),
        # MLflow's telemetry is on unless one of these is set; it costs every client a thread.
        "mlflow_telemetry_off_by": telemetry_off,
    }


# ---------------------------------------------------------------------------------------------
# Driver


def measure(opts: argparse.Namespace) -> dict[str, Any]:
    only = set(opts.only.split(",")) if opts.only else set(SECTIONS)
    unknown = only - set(SECTIONS)
    if unknown:
        sys.exit(f"unknown section(s): {', '.join(sorted(unknown))}; known: {', '.join(SECTIONS)}")
    results: dict[str, Any] = {
        "quick": opts.quick,
        "facts": facts(),
        "sections": {},
        "seconds": {},
    }

    def section(name: str, fn: Callable[[Context], dict[str, Any]], ctx: Context) -> None:
        if name not in only:
            return
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            results["sections"][name] = fn(ctx)
        except Exception:
            # One broken section must not cost the figures of the others.
            results["sections"][name] = {"crashed": traceback.format_exc(limit=6)}
        results["seconds"][name] = round(time.perf_counter() - start, 1)
        print(f"[bench] {name}: {results['seconds'][name]} s", file=sys.stderr, flush=True)

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lamp-bench-") as tmp:
        ctx = Context(quick=opts.quick, tmp=Path(tmp))
        section("help", bench_help, ctx)
        section("spec", bench_spec, ctx)
        section("embedded", bench_embedded, ctx)
        section("dead", bench_dead, ctx)
        if only & {"release", "calls", "list"}:
            with MlflowServer(ctx.tmp) as server, CountingProxy(server.url) as proxy:
                results["server_start_s"] = server.started_s
                ctx.server, ctx.proxy = server, proxy
                section("release", bench_release, ctx)
                section("calls", bench_calls, ctx)
                section("list", bench_list, ctx)
    results["total_s"] = round(time.perf_counter() - start, 1)
    results["facts"]["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, 500 versions only")
    parser.add_argument("--only", help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument("--render-only", type=Path, metavar="JSON", help="rewrite the README")
    parser.add_argument("--readme", type=Path, default=BENCH / "README.md")
    opts = parser.parse_args()
    if opts.render_only:
        results = json.loads(opts.render_only.read_text())
    else:
        for exe in (LAMP, MLFLOW):
            if not Path(exe).exists():
                sys.exit(f"{exe} not found: install lamp with its test extra into this venv")
        results = measure(opts)
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        text = json.dumps(results, indent=2) + "\n"
        (RESULTS / f"run-{stamp}.json").write_text(text)
        (RESULTS / "latest.json").write_text(text)
        print(f"[bench] raw figures: {RESULTS / f'run-{stamp}.json'}", file=sys.stderr)
    from report import render

    opts.readme.write_text(render(results))
    print(f"[bench] report: {opts.readme}", file=sys.stderr)


if __name__ == "__main__":
    main()
