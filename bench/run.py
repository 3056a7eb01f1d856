"""lamp's benchmarks in one run; writes bench/README.md (through report.py) and the raw figures.

Usage:  .venv/bin/python bench/run.py [--quick] [--only SECTION,...] [--render-only JSON]

Every command runs as a user runs it, one process per command, timed from spawn to exit; CPU
time and peak memory are the child's own (os.wait4). Commands compared with each other run
round-robin after one unmeasured round, so drift on the machine hits them alike. Sections:

  help      `lamp --help` beside `python -c pass`
  spec      `lamp spec validate` of the example pair beside `python -c "import typer, pydantic,
            yaml"`, bench/minimal_cli.py and lamp's checks called with no CLI, in the test
            environment and in the core install
  release   `lamp release` beside bench/handwritten_release.py on one `mlflow server`, in the test
            environment (.venv) and in the core install (.venv-core: `pip install .`)
  calls     REST calls of each write command against its REST_CALL_BUDGET (bench/proxy.py)
  dead      time to exit 6 against a closed port and a port that never answers
  list      `lamp -o json version list` over 500 and 5,000 versions: time and peak memory

The core install is made (or brought up to date) here, with uv when there is one, at the
versions of requirements/test.txt. `--quick` runs fewer repeats and 500 versions only. Raw
figures go to bench/results/ (run-<time>.json, latest.json); `--render-only FILE` rewrites
bench/README.md from one of them.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import logging
import os
import platform
import re
import shutil
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
from pathlib import Path
from typing import Any

from proxy import CountingProxy, summarize

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
CORE_VENV = ROOT / ".venv-core"
LOCK = ROOT / "requirements" / "test.txt"
HANDWRITTEN = str(BENCH / "handwritten_release.py")
MINIMAL_CLI = str(BENCH / "minimal_cli.py")
MODEL = str(ROOT / "specs" / "examples" / "serving-model-spec.yaml")
ENDPOINT = str(ROOT / "specs" / "examples" / "serving-endpoint-spec.yaml")
YARDSTICK_IMPORTS = "import typer, pydantic, yaml"
# lamp's spec checks called as a library, with no CLI around them.
LIBRARY_CHECKS = (
    "import sys; from lamp_cli.specs.validate import validate_paths; validate_paths(sys.argv[1:])"
)
SECTIONS = ("help", "spec", "release", "calls", "dead", "list")

# A benchmark of the defaults must not pick up the caller's server, project or CI. Byte-code is
# written and read as in a user's install, and MLflow's telemetry thread is off for lamp (which
# turns it off itself) and the script alike: this machine has no network for it to reach.
_DROPPED_ENV = ("MLFLOW_", "LAMP_", "GITHUB_", "DATABRICKS_", "PYTHONDONTWRITEBYTECODE")
_ADDED_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true"}


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_ENV)}
    return {**env, **_ADDED_ENV, **extra}


# ---------------------------------------------------------------------------------------------
# Processes


@dataclass
class Sample:
    seconds: float
    cpu_s: float  # user + system, the child's and its waited-for children's (git)
    code: int
    maxrss_mib: float
    stdout: str
    stderr: str

    @property
    def error(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return f"exit {self.code}: {lines[-1][:200] if lines else '(no stderr)'}"


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 600.0) -> Sample:
    """One process from spawn to exit, with its own CPU time and peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait again
        out.seek(0)
        err.seek(0)
        return Sample(
            seconds,
            usage.ru_utime + usage.ru_stime,
            proc.returncode,
            usage.ru_maxrss / 1024,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def interleaved(
    cmds: dict[str, Callable[[], list[str]]], repeat: int, *, cwd: Path, env: dict[str, str]
) -> dict[str, list[Sample]]:
    """``repeat`` samples of each command after one unmeasured round, round-robin, the order
    reversed every other round."""
    samples: dict[str, list[Sample]] = {name: [] for name in cmds}
    names = list(cmds)
    for i in range(1 + repeat):
        for name in names if i % 2 == 0 else reversed(names):
            sample = run(cmds[name](), cwd=cwd, env=env)
            if i:
                samples[name].append(sample)
    return samples


def stats(samples: list[Sample]) -> dict[str, Any]:
    ok = [s for s in samples if s.code == 0]
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
        out["error"] = next(s.error for s in samples if s.code != 0)
    return out


def compare(
    cmds: dict[str, Callable[[], list[str]]], repeat: int, *, cwd: Path, env: dict[str, str]
) -> dict[str, Any]:
    """Stats of each command, and the wall and CPU ratios of the first to the second."""
    out: dict[str, Any] = {
        name: stats(s) for name, s in interleaved(cmds, repeat, cwd=cwd, env=env).items()
    }
    first, second = (out[name] for name in list(cmds)[:2])
    if "median_s" in first and "median_s" in second:
        out["ratio"] = round(first["median_s"] / second["median_s"], 3)
        out["cpu_ratio"] = round(first["median_cpu_s"] / second["median_cpu_s"], 3)
    return out


_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)")
# Modules counted apart from their package: typer's parameter coercion builds a pydantic
# TypeAdapter per CLI parameter, which imports pydantic's model machinery.
_OWN_GROUPS = ("typer._adapters", "typer._coercion")


def import_profile(
    python: str, args: list[str], *, cwd: Path, env: dict[str, str], runs: int
) -> dict[str, Any]:
    """Median import time (self, `-X importtime`) per top-level package over ``runs`` runs."""
    per_run: list[collections.Counter[str]] = []
    for _ in range(runs):
        sample = run([python, "-X", "importtime", *args], cwd=cwd, env=env)
        by: collections.Counter[str] = collections.Counter()
        for line in sample.stderr.splitlines():
            match = _IMPORT_LINE.match(line)
            if match:
                self_us, cumulative_us, indent, name = match.groups()
                group = next((g for g in _OWN_GROUPS if name.startswith(g)), name.split(".")[0])
                by[group] += int(self_us)
                if len(indent) == 1:
                    by["(all)"] += int(cumulative_us)
        per_run.append(by)
    names = set().union(*per_run)
    medians = {n: statistics.median(r.get(n, 0) for r in per_run) / 1e6 for n in names}
    return {n: round(v, 4) for n, v in sorted(medians.items(), key=lambda kv: -kv[1]) if v}


def adapter_profile(python: str, args: list[str], *, cwd: Path, env: dict[str, str]) -> float:
    """Seconds typer spends building its per-parameter TypeAdapters in one run (cProfile,
    which slows Python code: an upper bound), importing typer._adapters excluded."""
    probe = (
        "import cProfile, pstats, sys, runpy\n"
        "import typer._adapters\n"  # imported first: its import is not the adapters' building
        "sys.argv = sys.argv[1:]\n"
        "profile = cProfile.Profile()\n"
        "try:\n"
        "    profile.runcall(runpy.run_path, sys.argv[0], run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "stats = pstats.Stats(profile).stats\n"
        "print(sum(v[3] for k, v in stats.items() if k[2] == 'build_runtime_param'))\n"
    )
    sample = run([python, "-c", probe, *args], cwd=cwd, env=env)
    try:
        return round(float(sample.stdout.strip().splitlines()[-1]), 4)
    except (ValueError, IndexError):
        return -1.0


# ---------------------------------------------------------------------------------------------
# Environments


@dataclass
class Env:
    name: str
    bin: Path

    @property
    def python(self) -> str:
        return str(self.bin / "python")

    @property
    def lamp(self) -> str:
        return str(self.bin / "lamp")

    def versions(self) -> dict[str, str | None]:
        dists = ("mlflow-skinny", "mlflow", "numpy", "pandas", "typer", "pydantic", "rich")
        code = (
            "import json, importlib.metadata as m\n"
            "def v(d):\n"
            "    try:\n"
            "        return m.version(d)\n"
            "    except m.PackageNotFoundError:\n"
            "        return None\n"
            f"print(json.dumps({{d: v(d) for d in {dists!r}}}))"
        )
        done = subprocess.run([self.python, "-c", code], capture_output=True, text=True)
        return json.loads(done.stdout) if done.returncode == 0 else {}


def test_env() -> Env:
    # The editable install reads lamp_cli from the tree: its byte-code is written once here.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "lamp_cli")], check=True)
    return Env("test environment (.venv)", Path(sys.executable).parent)


def core_env() -> Env:
    """``pip install .`` of this tree into .venv-core, at the locked versions: what a user gets
    (mlflow-skinny, no numpy or pandas, no full mlflow). lamp itself is reinstalled every run."""
    python = CORE_VENV / "bin" / "python"
    uv = shutil.which("uv") or next(
        (str(p) for p in [ROOT / ".tools" / "uv" / "bin" / "uv"] if p.exists()), None
    )
    quiet = {"check": True, "capture_output": True}
    if uv:
        if not python.exists():
            subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(CORE_VENV)], **quiet)
        install = [uv, "pip", "install", "-q", "--python", str(python), "--compile-bytecode"]
        subprocess.run([*install, "--reinstall-package", "lamp-cli", "-c", LOCK, ROOT], **quiet)
    else:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(CORE_VENV)], **quiet)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "-c", LOCK, ROOT], **quiet)
        subprocess.run([*pip, "--no-deps", "--force-reinstall", ROOT], **quiet)
    return Env("core install (.venv-core)", python.parent)


# ---------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MlflowServer:
    """`mlflow server --workers 1` of the test environment on a free loopback port (SQLite,
    proxied artifacts)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.db = base / "server.db"
        self.url = f"http://127.0.0.1:{free_port()}"
        self.started_s = 0.0

    def __enter__(self) -> MlflowServer:
        self.log = open(self.base / "server.log", "wb")
        cmd = [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", f"sqlite:///{self.db}",
            "--artifacts-destination", str(self.base / "artifacts"), "--serve-artifacts",
            "--host", "127.0.0.1", "--port", self.url.rsplit(":", 1)[1], "--workers", "1",
        ]  # fmt: skip
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.base,
            # Its job consumers would only compete with the clients for the CPUs.
            env=base_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and self.proc.poll() is None:
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
        # The server's workers share its session: none may outlive the benchmark.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=20)
        self.log.close()


# ---------------------------------------------------------------------------------------------
# Sections


@dataclass
class Context:
    quick: bool
    tmp: Path
    envs: list[Env]
    server: MlflowServer | None = None
    proxy: CountingProxy | None = None

    @property
    def repeat(self) -> int:
        return 3 if self.quick else 7

    @property
    def repeat_slow(self) -> int:
        return 2 if self.quick else 3

    @property
    def test(self) -> Env:
        return self.envs[0]

    def server_env(self) -> dict[str, str]:
        assert self.server is not None
        return base_env(MLFLOW_TRACKING_URI=self.server.url)

    def proxy_env(self) -> dict[str, str]:
        assert self.proxy is not None
        return base_env(MLFLOW_TRACKING_URI=self.proxy.url)

    def checkout(self) -> Path:
        """A git checkout with one commit: lamp reads a release's provenance from git."""
        path = self.tmp / "checkout"
        if not path.exists():
            path.mkdir()
            git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
            subprocess.run([*git, "init", "-q"], cwd=path, check=True)
            subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "b"], cwd=path, check=True)
        return path

    def counted(self, cmd: list[str], cwd: Path) -> dict[str, Any]:
        """One run of ``cmd`` through the counting proxy: its REST calls by endpoint."""
        assert self.proxy is not None
        self.proxy.take()
        sample = run(cmd, cwd=cwd, env=self.proxy_env())
        log = self.proxy.take()
        row: dict[str, Any] = {"calls": len(log), "exit": sample.code, "endpoints": summarize(log)}
        if sample.code:
            row["error"] = sample.error
        return row


def unique() -> str:
    return uuid.uuid4().hex[:8]


def bench_help(ctx: Context) -> dict[str, Any]:
    env = ctx.test
    cmds = {
        "lamp --help": lambda: [env.lamp, "--help"],
        "python -c pass": lambda: [env.python, "-c", "pass"],
    }
    return compare(cmds, ctx.repeat, cwd=ctx.tmp, env=base_env())


def bench_spec(ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for env in ctx.envs:
        validate = [env.lamp, "spec", "validate", MODEL, ENDPOINT]
        cmds = {
            "lamp spec validate": lambda validate=validate: validate,
            "imports": lambda env=env: [env.python, "-c", YARDSTICK_IMPORTS],
            "minimal CLI": lambda env=env: [env.python, MINIMAL_CLI, MODEL, ENDPOINT],
            "library": lambda env=env: [env.python, "-c", LIBRARY_CHECKS, MODEL, ENDPOINT],
        }
        row = compare(cmds, ctx.repeat * 2, cwd=ctx.tmp, env=base_env())
        runs = 3 if ctx.quick else 5
        row["imports lamp"] = import_profile(
            env.python, validate, cwd=ctx.tmp, env=base_env(), runs=runs
        )
        row["imports yardstick"] = import_profile(
            env.python, ["-c", YARDSTICK_IMPORTS], cwd=ctx.tmp, env=base_env(), runs=runs
        )
        row["typer adapters s"] = adapter_profile(env.python, validate, cwd=ctx.tmp, env=base_env())
        out[env.name] = row
    return out


def lamp_release(env: Env, project: str, key: str) -> list[str]:
    return [
        env.lamp, "-o", "json", "release", "--project", project, "--experiment", project,
        "--model-spec", MODEL, "--endpoint-spec", ENDPOINT, "--release-key", key,
        "--no-verify-image", "--alias", "candidate",
    ]  # fmt: skip


def script_release(env: Env, project: str, key: str) -> list[str]:
    return [env.python, HANDWRITTEN, "release", project, project, key, "candidate", MODEL, ENDPOINT]


def bench_release(ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cwd, env = ctx.checkout(), ctx.server_env()
    for venv in ctx.envs:
        tag = unique()
        lamp_prj, script_prj = f"rel-lamp-{tag}", f"rel-script-{tag}"
        setup = [
            run([venv.lamp, "project", "create", lamp_prj], cwd=cwd, env=env),
            run([venv.python, HANDWRITTEN, "project-create", script_prj], cwd=cwd, env=env),
        ]
        if any(s.code for s in setup):
            out[venv.name] = {"setup_error": next(s.error for s in setup if s.code)}
            continue
        cmds = {
            "lamp release": lambda v=venv, p=lamp_prj: lamp_release(v, p, f"k-{unique()}"),
            "script": lambda v=venv, p=script_prj: script_release(v, p, f"k-{unique()}"),
        }
        row = compare(cmds, ctx.repeat, cwd=cwd, env=env)
        row["calls"] = {
            "lamp release": ctx.counted(lamp_release(venv, lamp_prj, f"c-{unique()}"), cwd),
            "script": ctx.counted(script_release(venv, script_prj, f"c-{unique()}"), cwd),
        }
        row["typer adapters s"] = adapter_profile(
            venv.python, lamp_release(venv, lamp_prj, f"a-{unique()}"), cwd=cwd, env=env
        )
        runs = 2 if ctx.quick else 3
        row["imports lamp"] = import_profile(
            venv.python,
            lamp_release(venv, lamp_prj, f"i-{unique()}"),
            cwd=cwd,
            env=env,
            runs=runs,
        )
        row["imports script"] = import_profile(
            venv.python,
            script_release(venv, script_prj, f"i-{unique()}")[1:],
            cwd=cwd,
            env=env,
            runs=runs,
        )
        out[venv.name] = row
    return out


def command_budgets() -> dict[str, int]:
    """Each write command's REST_CALL_BUDGET, as its module declares it (tests/budget holds
    the commands to them)."""
    from lamp_cli.commands import experiment, project, register, release, run

    modules = (experiment, run, project, register, release)
    return {step: limit for m in modules for step, limit in m.REST_CALL_BUDGET.items()}


def bench_calls(ctx: Context) -> dict[str, Any]:
    lamp, cwd, name = ctx.test.lamp, ctx.checkout(), f"calls-{unique()}"
    specs = ["--model-spec", MODEL, "--endpoint-spec", ENDPOINT]
    release = [lamp, "-o", "json", "release", "--project", name, "--experiment", name, *specs]
    release += ["--release-key", "k1", "--no-verify-image", "--alias", "candidate"]
    steps: dict[str, Callable[[str], list[str]]] = {
        "experiment create": lambda _: [lamp, "experiment", "create", name],
        "run create": lambda _: [lamp, "-o", "quiet", "run", "create", "-e", name],
        "run log-spec": lambda _: [lamp, "-o", "quiet", "run", "log-spec", "-e", name, *specs],
        "project create": lambda _: [lamp, "project", "create", name],
        "register": lambda run_id: [lamp, "register", run_id, name, "--alias", "staging"],
        "release": lambda _: release,
        "release (rerun)": lambda _: release,
    }
    budgets = command_budgets()
    out: dict[str, Any] = {}
    run_id = "missing-run-id"
    for step, make in steps.items():
        assert ctx.proxy is not None
        ctx.proxy.take()
        sample = run(make(run_id), cwd=cwd, env=ctx.proxy_env())
        calls = len(ctx.proxy.take())
        out[step] = {"calls": calls, "exit": sample.code, "budget": budgets.get(step)}
        if sample.code:
            out[step]["error"] = sample.error
        elif step == "run log-spec":
            run_id = sample.stdout.strip().splitlines()[-1]
    return out


def silent_port() -> tuple[int, threading.Event]:
    """A loopback port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        held = []
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(sock.accept()[0])
        for conn in held:
            conn.close()
        sock.close()

    threading.Thread(target=accept, daemon=True).start()
    return int(sock.getsockname()[1]), stop


def bench_dead(ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    port, stop = silent_port()
    try:
        for name, url_port in (("closed port", free_port()), ("port that never answers", port)):
            url = f"http://127.0.0.1:{url_port}"
            sample = run(
                [ctx.test.lamp, "--tracking-uri", url, "experiment", "list"],
                cwd=ctx.tmp,
                env=base_env(),
            )
            out[name] = {"seconds": round(sample.seconds, 2), "exit": sample.code}
    finally:
        stop.set()
    return out


def seed_versions(ctx: Context, project: str, count: int) -> float:
    """``count`` versions of ``project``: one registered through MLflow, the rest copied from it
    in one SQL transaction (seconds instead of minutes of REST calls). Returns the seconds."""
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
        run_id = client.create_run(hw._experiment_id(client, "bench-list")).info.run_id
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
            made = base["creation_time"] + number
            versions.append({**base, "version": number, "creation_time": made,
                             "last_updated_time": made})  # fmt: skip
            version_tags.extend({**t, "version": number} for t in first_tags)
        session.execute(sa.insert(SqlModelVersion), versions)
        session.execute(sa.insert(SqlModelVersionTag), version_tags)
    engine.dispose()
    return round(time.perf_counter() - start, 2)


def bench_list(ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    env = ctx.test
    for size in (500,) if ctx.quick else (500, 5000):
        project = f"list-{size}-{unique()}"
        seeded = seed_versions(ctx, project, size)
        cmds = {
            "lamp": lambda project=project: [env.lamp, "-o", "json", "version", "list", project],
            "script": lambda project=project: [env.python, HANDWRITTEN, "version-list", project],
        }
        row = compare(cmds, ctx.repeat_slow, cwd=ctx.tmp, env=ctx.server_env())
        for name, make in cmds.items():
            sample = run(make(), cwd=ctx.tmp, env=ctx.server_env())
            with contextlib.suppress(ValueError, KeyError, TypeError):
                doc = json.loads(sample.stdout)
                row[name]["listed"] = len(doc["versions"] if isinstance(doc, dict) else doc)
        row["seed_s"] = seeded
        out[str(size)] = row
    return out


def facts(envs: list[Env]) -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable) {cpu}",
        "platform": platform.platform(),
        "python": platform.python_version(),
        "commit": git("rev-parse", "--short", "HEAD").strip(),
        "uncommitted": len(git("status", "--porcelain", "--", "lamp_cli", "bench").splitlines()),
        "envs": {env.name: env.versions() for env in envs},
    }


# ---------------------------------------------------------------------------------------------
# Driver


def measure(opts: argparse.Namespace) -> dict[str, Any]:
    only = set(opts.only.split(",")) if opts.only else set(SECTIONS)
    if only - set(SECTIONS):
        sys.exit(f"unknown section(s) {', '.join(only - set(SECTIONS))}; known: {SECTIONS}")
    envs = [test_env()]
    results: dict[str, Any] = {"quick": opts.quick, "sections": {}, "seconds": {}}
    if only & {"spec", "release"}:
        print("[bench] core install ...", file=sys.stderr, flush=True)
        try:
            envs.append(core_env())
        except subprocess.CalledProcessError as exc:
            results["core_error"] = (exc.stderr or b"").decode(errors="replace")[-2000:]
    results["facts"] = facts(envs)

    def section(name: str, fn: Callable[[Context], dict[str, Any]], ctx: Context) -> None:
        if name not in only:
            return
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            results["sections"][name] = fn(ctx)
        except Exception:
            results["sections"][name] = {"crashed": traceback.format_exc(limit=6)}
        results["seconds"][name] = round(time.perf_counter() - start, 1)

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lamp-bench-") as tmp:
        ctx = Context(quick=opts.quick, tmp=Path(tmp), envs=envs)
        section("help", bench_help, ctx)
        section("spec", bench_spec, ctx)
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
        results = measure(opts)
        RESULTS.mkdir(exist_ok=True)
        text = json.dumps(results, indent=2) + "\n"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        for name in (f"run-{stamp}.json", "latest.json"):
            (RESULTS / name).write_text(text)
        print(f"[bench] raw figures: {RESULTS / f'run-{stamp}.json'}", file=sys.stderr)
    from report import render

    opts.readme.write_text(render(results))
    print(f"[bench] report: {opts.readme}", file=sys.stderr)


if __name__ == "__main__":
    main()
