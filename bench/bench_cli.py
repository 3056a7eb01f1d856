"""Wall-clock benchmarks of the installed `lamp`, run as a user runs it (one process per command).

Usage:  .venv/bin/python bench/bench_cli.py [--repeat N] [--server]

Measures, each as the median of N runs:
  * `lamp --help` (must not import mlflow: start-up cost only)
  * `lamp spec validate` and `lamp spec render` of the example pair (offline, no mlflow)
  * the quick-start workflow on the embedded SQLite default, command by command
  * time to exit 6 against a dead server: a closed port, and a port that accepts but never answers
  * with --server: the same workflow against a local `mlflow server --workers 1`
Results are printed as a table and written to bench/results/cli.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAMP = str(Path(sys.executable).parent / "lamp")
MODEL = ROOT / "specs" / "examples" / "serving-model-spec.yaml"
ENDPOINT = ROOT / "specs" / "examples" / "serving-endpoint-spec.yaml"


def timed(
    args: list[str], cwd: Path, env: dict[str, str]
) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run([LAMP, *args], cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def workflow(cwd: Path, env: dict[str, str], tag: str) -> dict[str, float]:
    """One pass of the quick start; returns seconds per step."""
    steps: dict[str, float] = {}
    t, p = timed(["experiment", "create", f"bench-{tag}", "--exist-ok"], cwd, env)
    steps["experiment create"] = t
    t, p = timed(
        ["-o", "quiet", "run", "log-spec", "--experiment", f"bench-{tag}",
         "--model-spec", str(MODEL), "--endpoint-spec", str(ENDPOINT)],
        cwd, env,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    run_id = p.stdout.strip()
    steps["run log-spec"] = t
    t, p = timed(["project", "create", f"bench-{tag}", "--exist-ok"], cwd, env)
    steps["project create"] = t
    t, p = timed(["register", run_id, f"bench-{tag}"], cwd, env)
    assert p.returncode == 0, p.stderr
    steps["register"] = t
    t, p = timed(["version", "list", f"bench-{tag}"], cwd, env)
    steps["version list"] = t
    steps["total"] = sum(steps.values())
    return steps


def median_of(samples: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(s[k] for s in samples), 3) for k in samples[0]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def silent_server() -> tuple[int, threading.Event]:
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
        sock.close()

    threading.Thread(target=accept, daemon=True).start()
    return sock.getsockname()[1], stop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--server", action="store_true")
    opts = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LAMP_"))}
    results: dict[str, object] = {"python": sys.version.split()[0], "repeat": opts.repeat}

    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        results["help_s"] = round(
            statistics.median(timed(["--help"], cwd, env)[0] for _ in range(opts.repeat)), 3
        )
        for name, args in (
            ("spec_validate_s", ["spec", "validate", str(MODEL), str(ENDPOINT)]),
            ("spec_render_s", ["spec", "render", "--model-spec", str(MODEL),
                               "--endpoint-spec", str(ENDPOINT)]),
        ):  # fmt: skip
            results[name] = round(
                statistics.median(timed(args, cwd, env)[0] for _ in range(opts.repeat)), 3
            )
        samples = []
        for i in range(opts.repeat):
            run_dir = cwd / f"local-{i}"
            run_dir.mkdir()
            samples.append(workflow(run_dir, env, str(i)))
        results["embedded_default_s"] = median_of(samples)

        t, p = timed(
            ["--tracking-uri", f"http://127.0.0.1:{free_port()}", "experiment", "list"], cwd, env
        )
        results["dead_server_closed_port_s"] = {"seconds": round(t, 2), "exit": p.returncode}
        port, stop = silent_server()
        t, p = timed(["--tracking-uri", f"http://127.0.0.1:{port}", "experiment", "list"], cwd, env)
        stop.set()
        results["dead_server_silent_port_s"] = {"seconds": round(t, 2), "exit": p.returncode}

        if opts.server:
            port = free_port()
            start = time.perf_counter()
            server = subprocess.Popen(
                [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port",
                 str(port), "--workers", "1", "--backend-store-uri", f"sqlite:///{cwd}/srv.db",
                 "--artifacts-destination", str(cwd / "srv-artifacts")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
            try:
                while True:
                    try:
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                        break
                    except OSError:
                        time.sleep(0.2)
                results["server_start_s"] = round(time.perf_counter() - start, 2)
                server_env = {**env, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}"}
                samples = [workflow(cwd, server_env, f"srv{i}") for i in range(opts.repeat)]
                results["server_s"] = median_of(samples)
            finally:
                server.terminate()
                server.wait(timeout=20)

    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "cli.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    if not shutil.which(LAMP):
        sys.exit(f"{LAMP} not found: install lamp into this interpreter's environment first")
    main()
