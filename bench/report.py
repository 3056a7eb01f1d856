"""bench/README.md from the figures of one `bench/run.py` run: tables, targets, and why a miss.

Every sentence with a number in it is computed here from the run's own figures, so that a re-run
on another machine or another tree never leaves a stale claim behind.
"""

from __future__ import annotations

from typing import Any

from run import (
    CALL_STEPS,
    DEAD_SERVER_LIMIT_S,
    EMBEDDED_STEPS,
    FLAT_MEMORY_MARGIN_MIB,
    HELP_TARGET_S,
    RELEASE_CALL_BUDGET,
    RELEASE_RATIO_TARGET,
    command_budgets,
)

MET, MISSED, UNKNOWN = "met", "**missed**", "not measured"
PROFILE_ROWS = (
    ("imports", "imports_s"),
    ("waiting for HTTP responses", "http_s"),
    ("subprocesses (git)", "subprocess_s"),
    ("sleeps (polling)", "sleep_s"),
    ("other Python", "other_s"),
    ("total under cProfile", "total_s"),
)


def s(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"


def mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} MiB"


def x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def cpu(row: dict[str, Any] | None) -> str:
    return s(row.get("median_cpu_s")) if row else "-"


def median_of(*rows: dict[str, Any] | None) -> str:
    """The header of a column of medians, with the number of repeats behind them."""
    counts = {row["n"] for row in rows if row and "n" in row}
    return f"median of {max(counts)}" if counts else "median"


def figure(row: dict[str, Any] | None) -> str:
    """A median, or why there is none."""
    if not row:
        return "not run"
    if "median_s" not in row:
        return f"failed ({row.get('error', '?')})"
    failed = f", {row['failed']} of {row['n']} failed" if row.get("failed") else ""
    return s(row["median_s"]) + failed


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def crashed(section: dict[str, Any] | None) -> list[str]:
    if section is None:
        return ["Not run in this run (`--only`).", ""]
    if "crashed" in section:
        return ["The section crashed:", "", "```", section["crashed"].rstrip(), "```", ""]
    return []


class Report:
    def __init__(self, results: dict[str, Any]) -> None:
        self.r = results
        self.sec: dict[str, Any] = results.get("sections", {})
        self.lines: list[str] = []
        self.why: list[str] = []

    def get(self, *path: str) -> Any:
        node: Any = self.sec
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    # -- targets ---------------------------------------------------------------------------

    def targets(self) -> list[list[str]]:
        rows = []
        helped = self.get("help", "lamp --help", "median_s")
        rows.append(
            [
                f"`lamp --help` <= {HELP_TARGET_S} s",
                f"{s(helped)} (CPU {cpu(self.get('help', 'lamp --help'))})",
                self.verdict(helped, HELP_TARGET_S, lambda v: f"by {s(v - HELP_TARGET_S)}"),
            ]
        )
        ratio = self.get("release", "ratio")
        rows.append(
            [
                f"`lamp release` <= {RELEASE_RATIO_TARGET}x the hand-written script (median)",
                x(ratio),
                self.verdict(
                    ratio,
                    RELEASE_RATIO_TARGET,
                    lambda v: (
                        f"by {(v / RELEASE_RATIO_TARGET - 1) * 100:.0f}% ({self.release_excess()})"
                    ),
                ),
            ]
        )
        # A count is a figure only when the command succeeded.
        calls = self.ok_calls("release (fresh)", "lamp")
        script = self.ok_calls("release (fresh)", "script")
        rows.append(
            [
                f"fresh `lamp release` <= {RELEASE_CALL_BUDGET} REST calls "
                f"(the script: {script if script is not None else '-'})",
                "-" if calls is None else str(calls),
                self.verdict(calls, RELEASE_CALL_BUDGET, lambda v: f"by {v - RELEASE_CALL_BUDGET}")
                if calls is not None or not self.get("calls", "release (fresh)", "lamp")
                else f"not measured: lamp failed "
                f"({self.get('calls', 'release (fresh)', 'lamp', 'error')})",
            ]
        )
        growth = self.memory_growth()
        rows.append(
            [
                "`version list` memory flat: from 500 to 5,000 versions lamp's peak grows at most "
                f"{FLAT_MEMORY_MARGIN_MIB:g} MiB more than the streaming script's",
                f"lamp +{growth[0]:.0f} MiB, script +{growth[1]:.0f} MiB" if growth else "-",
                (
                    MET
                    if growth[0] <= growth[1] + FLAT_MEMORY_MARGIN_MIB
                    else f"{MISSED} by {growth[0] - growth[1] - FLAT_MEMORY_MARGIN_MIB:.0f} MiB"
                )
                if growth
                else UNKNOWN + (" (`--quick`)" if self.r.get("quick") else ""),
            ]
        )
        dead = self.get("dead")
        if dead and "crashed" not in dead:
            worst = max(v["seconds"] for v in dead.values())
            all_six = all(v["exit"] == 6 for v in dead.values())
            verdict = MET if worst <= DEAD_SERVER_LIMIT_S and all_six else MISSED
            rows.append(
                [
                    f"dead server: exit 6 within {DEAD_SERVER_LIMIT_S:g} s (documented promise)",
                    f"{s(worst)}, exit {'6' if all_six else 'not 6'}",
                    verdict,
                ]
            )
            if verdict == MISSED:
                self.why.append(
                    "- **Dead server**: "
                    + ", ".join(
                        f"{k} {s(v['seconds'])} (exit {v['exit']})" for k, v in dead.items()
                    )
                    + f" against {DEAD_SERVER_LIMIT_S:g} s. A port that never answers costs "
                    "each of lamp's attempts its HTTP timeout, plus the backoff between them "
                    "(docs/guides/settings.md, 'Dead servers fail fast'), on top of start-up "
                    "and importing mlflow (section 3 has the import time on this machine)."
                )
        return rows

    def ok_calls(self, step: str, tool: str) -> int | None:
        row = self.get("calls", step, tool)
        return row["calls"] if row and row.get("exit") == 0 else None

    @staticmethod
    def verdict(value: float | None, limit: float, by: Any) -> str:
        if value is None:
            return UNKNOWN
        return MET if value <= limit else f"{MISSED} {by(value)}"

    def release_excess(self) -> str:
        lamp = self.get("release", "lamp release", "median_s")
        script = self.get("release", "script", "median_s")
        allowed = script * RELEASE_RATIO_TARGET
        return f"{s(lamp - allowed)} over {s(allowed)}"

    def memory_growth(self) -> tuple[float, float] | None:
        """How many MiB the peak of lamp and of the script grow from 500 to 5,000 versions."""
        grown = []
        for tool in ("lamp", "script"):
            small = self.get("list", "500", tool, "maxrss_mib")
            big = self.get("list", "5000", tool, "maxrss_mib")
            if not (small and big):
                return None
            grown.append(big - small)
        return grown[0], grown[1]

    # -- sections --------------------------------------------------------------------------

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def render(self) -> str:
        f = self.r.get("facts", {})
        self.add(
            "# lamp benchmarks",
            "",
            "Generated by `.venv/bin/python bench/run.py"
            + (" --quick" if self.r.get("quick") else "")
            + f"` on {f.get('date', '?')}; do not edit by hand, run it again "
            "(`--quick`: fewer repeats, 500 versions only). Raw figures: `bench/results/` "
            "(`latest.json`). Sources: `bench/run.py` (measures), `bench/report.py` (this page), "
            "`bench/handwritten_release.py` (the yardstick), `bench/proxy.py` (counts REST calls).",
            "",
            f"Tree: commit {f.get('commit', '?')}"
            + (
                f" with {f['uncommitted_lamp_cli_files']} uncommitted file(s) under `lamp_cli/`"
                if f.get("uncommitted_lamp_cli_files")
                else ""
            )
            + f", lamp {self.get('help', 'lamp_version') or '?'}.",
            "",
            "## Targets",
            "",
            *table(["target", "measured", "verdict"], self.targets()),
        )
        self.machine()
        self.method()
        self.help()
        self.spec()
        self.release()
        self.calls()
        self.embedded()
        self.version_list()
        self.dead()
        self.add("## Why the missed targets are missed", "")
        self.add(*(self.why or ["Every measured target is met."]), "")
        return "\n".join(self.lines).rstrip() + "\n"

    def machine(self) -> None:
        f = self.r.get("facts", {})
        rows = [
            ["date", f.get("date", "?")],
            ["CPUs", f"{f.get('cpu_count')} ({f.get('cpus_usable')} usable) {f.get('cpu_model')}"],
            ["memory", f"{f.get('memory_gib')} GiB"],
            [
                "load average (1 min) before / after",
                f"{f.get('load_average_1m')} / {f.get('load_average_1m_after')}"
                " (other work on the machine slows every figure alike)",
            ],
            ["platform", f.get("platform", "?")],
            ["Python", f.get("python", "?")],
            ["mlflow / mlflow-skinny", f"{f.get('mlflow')} / {f.get('mlflow_skinny')}"],
            ["typer", f.get("typer", "?")],
            [
                "numpy / pandas",
                f"{f.get('numpy')} / {f.get('pandas')}"
                + (
                    " (the `test` extra: `import mlflow` loads them when installed, for lamp and "
                    "the script alike; `pip install .` alone installs neither)"
                    if f.get("pandas")
                    else ""
                ),
            ],
            [
                "MLflow telemetry",
                "off (" + ", ".join(f["mlflow_telemetry_off_by"]) + ")"
                if f.get("mlflow_telemetry_off_by")
                else "on (MLflow's default: no CI, DO_NOT_TRACK or MLFLOW_DISABLE_TELEMETRY)",
            ],
            ["`mlflow server` start", s(self.r.get("server_start_s"))],
            [
                "whole run",
                s(self.r.get("total_s"))
                + " ("
                + ", ".join(f"{k} {v:g} s" for k, v in self.r.get("seconds", {}).items())
                + ")",
            ],
        ]
        self.add("## Machine", "", *table(["", ""], rows))

    def method(self) -> None:
        quick = self.r.get("quick")
        self.add(
            "## How",
            "",
            "- Every command is a fresh process, as a user or CI runs it, timed from spawn to exit "
            "(`time.perf_counter` around `subprocess.Popen` + `os.wait4`). Peak memory is that "
            "process's own `ru_maxrss` from `os.wait4`, CPU its user + system time from the same "
            "call (less sensitive than wall time to other work on the machine).",
            "- Figures are medians (each table says of how many runs"
            + (", `--quick`: few" if quick else "")
            + "); the first round of a comparison is an unmeasured warm-up, and commands compared "
            "with each other run round-robin, so drift on the machine hits both alike.",
            "- The environment is the caller's without `MLFLOW_*`, `LAMP_*`, `GITHUB_*` and "
            "`DATABRICKS_*`.",
            "- Server figures: one `mlflow server --workers 1` started by the benchmark on a free "
            "loopback port, SQLite backend, `--serve-artifacts`, on the same machine (so the "
            "server and the client share its CPUs). Wall times go straight to the server; REST "
            "calls are counted by `bench/proxy.py`, a counting reverse proxy on loopback in front "
            "of it.",
            "- `lamp release` runs in a git checkout with one commit (lamp reads its provenance "
            "from git as it does outside GitHub Actions), with a fresh `--release-key` per repeat "
            "and `--no-verify-image` (no AWS).",
            "- The yardstick, `bench/handwritten_release.py`, does the same writes with "
            "`MlflowClient` directly and nothing else: look up or create the experiment, create "
            "the run with the release-key tags, log the four files of `lamp/` (both spec YAMLs, "
            "`lamp.json`, `MLmodel`), set the spec tags, end the run, create the version from "
            "`runs:/<id>/lamp`, set the alias. No validation, no idempotency, no retries of its "
            "own, MLflow's default HTTP settings. With MLflow 3.17, `MlflowClient` itself makes "
            "three of its calls: `log_artifacts` reads the run (for its artifact URI), "
            "`set_terminated` reads it again (to print the run's URL) and "
            "`set_registered_model_alias` reads the registered model (to refuse prompts).",
            "- Where the time goes: one extra run of each under `python -X importtime` (import "
            "time per top-level package, self time) and one under `cProfile` (cut into imports, "
            "waiting for HTTP responses, subprocesses, sleeps and the rest; cProfile slows Python "
            "code, so its totals exceed the medians).",
            "",
        )

    def help(self) -> None:
        self.add("## 1. Start-up: `lamp --help`", "")
        sec = self.get("help")
        if crashed(sec):
            self.add(*crashed(sec))
            return
        base = sec["python -c pass"].get("median_s")
        rows = []
        for name in ("python -c pass", "mlflow --help", "lamp --help"):
            row = sec[name]
            med = row.get("median_s")
            rows.append(
                [
                    f"`{name}`",
                    figure(row),
                    cpu(row),
                    x(med / base) if med and base else "-",
                    mib(row.get("maxrss_mib")),
                ]
            )
        self.add(
            *table(
                ["command", median_of(*sec.values()), "CPU", "vs `python -c pass`", "peak RSS"],
                rows,
            )
        )
        lamp, mlflow = sec["lamp --help"].get("median_s"), sec["mlflow --help"].get("median_s")
        if lamp and mlflow:
            self.add(f"`lamp --help` takes {x(lamp / mlflow)} the time of `mlflow --help`.", "")
        imports = sec.get("imports", {})
        top = list(imports.get("by_package_s", {}).items())[:8]
        if top:
            self.add(
                f"Imports of `lamp --help` (`-X importtime`): {s(imports['total_s'])} in all; "
                + ", ".join(f"{name} {s(v)}" for name, v in top)
                + ". mlflow is "
                + ("imported" if "mlflow" in imports["by_package_s"] else "not imported")
                + ".",
                "",
            )
        prof = sec.get("profile", {})
        if "total_s" in prof:
            self.add(
                f"One run under cProfile: {s(prof['total_s'])}, of which imports "
                f"{s(prof['imports_s'])} and Typer building the root group "
                f"{s(prof['typer_build_s'])} (a command's module is imported and built only "
                "when that command runs); the rest is rendering the help.",
                "",
            )
        if lamp and lamp > HELP_TARGET_S and top:
            text = (
                f"- **`lamp --help`** takes {s(lamp)}, {s(lamp - HELP_TARGET_S)} over "
                f"{HELP_TARGET_S} s; a bare interpreter takes {s(base)}, and the imports take "
                f"{s(imports['total_s'])} (`-X importtime`), led by "
                + ", ".join(f"{n} ({s(v)})" for n, v in top[:4])
                + "."
            )
            lamp_cpu = sec["lamp --help"].get("median_cpu_s")
            load = self.r.get("facts", {}).get("load_average_1m")
            if lamp_cpu is not None and lamp_cpu <= HELP_TARGET_S:
                text += (
                    f" Its CPU time (user + system) is {s(lamp_cpu)}, within the target: the "
                    f"rest of the wall time is waiting for a CPU (load average {load} on "
                    f"{self.r.get('facts', {}).get('cpu_count')} CPUs when the run began)."
                )
            elif lamp_cpu is not None:
                text += f" Its CPU time (user + system) alone is {s(lamp_cpu)}."
            if prof.get("total_s"):
                share = prof["typer_build_s"] / prof["total_s"]
                text += (
                    f" Typer's building of the root group takes {share:.0%} of the time "
                    "under cProfile."
                )
            self.why.append(text)

    def spec(self) -> None:
        self.add("## 2. Offline: `lamp spec validate` of the example pair", "")
        sec = self.get("spec")
        if crashed(sec):
            self.add(*crashed(sec))
            return
        rows = [
            [f"`lamp {n}`", figure(r), cpu(r), mib(r.get("maxrss_mib"))] for n, r in sec.items()
        ]
        self.add(*table(["command", median_of(*sec.values()), "CPU", "peak RSS"], rows))

    def release(self) -> None:
        self.add("## 3. `lamp release` against the hand-written script", "")
        sec = self.get("release")
        if crashed(sec):
            self.add(*crashed(sec))
            return
        if sec.get("setup_errors"):
            self.add("Set-up failed: " + "; ".join(sec["setup_errors"]), "")
        lamp, script = sec["lamp release"], sec["script"]
        rows = [
            ["fresh release", figure(lamp), figure(script), x(sec.get("ratio"))],
            [
                "rerun of the same key",
                figure(sec["rerun"]["lamp release"]),
                figure(sec["rerun"]["script"]),
                x(self.ratio(sec["rerun"]["lamp release"], sec["rerun"]["script"])),
            ],
            [
                "CPU, user + system (fresh)",
                cpu(lamp),
                cpu(script),
                x(
                    lamp["median_cpu_s"] / script["median_cpu_s"]
                    if lamp.get("median_cpu_s") and script.get("median_cpu_s")
                    else None
                ),
            ],
            ["peak RSS (fresh)", mib(lamp.get("maxrss_mib")), mib(script.get("maxrss_mib")), ""],
        ]
        self.add(
            *table(
                ["", f"lamp release ({median_of(lamp)})", f"script ({median_of(script)})", "ratio"],
                rows,
            )
        )
        self.add(
            f"Reruns: {median_of(sec['rerun']['script'])}. Peak RSS is the largest of the runs.",
            "",
        )
        self.add(
            "The script's rerun is the least an idempotent rerun needs: find the key's run, its "
            "version, set the alias.",
            "",
        )
        self.release_profile(sec)
        self.release_why(sec)

    def release_why(self, sec: dict[str, Any]) -> None:
        ratio = sec.get("ratio")
        if not ratio or ratio <= RELEASE_RATIO_TARGET:
            return
        lamp_med, script_med = sec["lamp release"]["median_s"], sec["script"]["median_s"]
        text = (
            f"- **`lamp release`** takes {s(lamp_med)} against the script's {s(script_med)} "
            f"({x(ratio)}; the target allows {s(script_med * RELEASE_RATIO_TARGET)}, so "
            f"{s(lamp_med - script_med * RELEASE_RATIO_TARGET)} too much)."
        )
        lamp, script = sec["lamp release"], sec["script"]
        if lamp.get("median_cpu_s") and script.get("median_cpu_s"):
            cpu_ratio = lamp["median_cpu_s"] / script["median_cpu_s"]
            facts = self.r.get("facts", {})
            text += (
                f" In CPU time (user + system) lamp takes {x(cpu_ratio)} the script's "
                f"({s(lamp['median_cpu_s'])} against {s(script['median_cpu_s'])}), "
                + ("within" if cpu_ratio <= RELEASE_RATIO_TARGET else "also over")
                + f" the target; the wall times spread from {s(lamp['min_s'])} to "
                f"{s(lamp['max_s'])} (the script's from {s(script['min_s'])} to "
                f"{s(script['max_s'])}) with a load average of {facts.get('load_average_1m')} on "
                f"{facts.get('cpu_count')} CPUs when the run began."
            )
        prof = sec.get("profile", {})
        lp, sp = prof.get("lamp", {}), prof.get("script", {})
        li, si = prof.get("lamp imports", {}), prof.get("script imports", {})
        if li.get("total_s") and si.get("total_s"):
            only_lamp = self.import_difference(li, si)
            text += (
                f" Imports (`-X importtime`, one run each): lamp {s(li['total_s'])}, the script "
                f"{s(si['total_s'])} ({li['total_s'] - si['total_s']:+.2f} s)"
                + (
                    "; packages only lamp imports: "
                    + ", ".join(f"{n} ({s(v)})" for n, v in only_lamp[:6])
                    if only_lamp
                    else ""
                )
                + "."
            )
        if "total_s" in lp and "total_s" in sp:
            # Imports are left to -X importtime: cProfile inflates them the most.
            parts = [
                f"{label} {lp[key] - sp[key]:+.2f} s"
                for label, key in PROFILE_ROWS[1:-1]
                if abs(lp[key] - sp[key]) >= 0.05
            ]
            text += (
                " Under cProfile, past the imports: "
                + (", ".join(parts) or "no other category differs by 0.05 s or more")
                + f"; lamp awaits {lp['http_requests']} HTTP responses where the script awaits "
                f"{sp['http_requests']} (section 4 lists them by endpoint)."
            )
        self.why.append(text)

    @staticmethod
    def ratio(a: dict[str, Any], b: dict[str, Any]) -> float | None:
        if "median_s" in a and "median_s" in b:
            return a["median_s"] / b["median_s"]
        return None

    def release_profile(self, sec: dict[str, Any]) -> None:
        prof = sec.get("profile", {})
        lp, sp = prof.get("lamp", {}), prof.get("script", {})
        li, si = prof.get("lamp imports", {}), prof.get("script imports", {})
        if "total_s" not in lp or "total_s" not in sp:
            return
        self.add("### Where the time of a release goes", "")
        rows = []
        for label, key in PROFILE_ROWS:
            extra = ""
            if key == "http_s":
                extra = f" ({lp['http_requests']} vs {sp['http_requests']} responses)"
            rows.append([label + extra, s(lp[key]), s(sp[key]), f"{lp[key] - sp[key]:+.2f} s"])
        self.add(
            *table(["one release, cProfile", "lamp", "script", "difference"], rows),
            "cProfile slows imports most (every module's top-level code is traced); the "
            "`-X importtime` figures below are the undistorted ones.",
            "",
        )
        only_lamp = self.import_difference(li, si)
        if li.get("total_s") and si.get("total_s"):
            self.add(
                f"Imports (`-X importtime`, without cProfile): lamp {s(li['total_s'])}, the script "
                f"{s(si['total_s'])}. Packages only lamp imports: "
                + (", ".join(f"{n} {s(v)}" for n, v in only_lamp[:8]) or "none")
                + ".",
                "",
            )
        funcs = list(lp.get("lamp_functions_s", {}).items())[:8]
        if funcs:
            self.add(
                "lamp's own functions by cumulative time under cProfile: "
                + ", ".join(f"`{n}` {s(v)}" for n, v in funcs)
                + ".",
                "",
            )

    @staticmethod
    def import_difference(lamp: dict[str, Any], script: dict[str, Any]) -> list[tuple[str, float]]:
        """Packages lamp imports and the script does not, by self time; shared packages differ
        only by noise and by which of the two imported them first."""
        mine, theirs = lamp.get("by_package_s", {}), script.get("by_package_s", {})
        return [(n, v) for n, v in mine.items() if n not in theirs and v >= 0.005]

    def calls(self) -> None:
        self.add("## 4. REST calls per command", "")
        sec = self.get("calls")
        if crashed(sec):
            self.add(*crashed(sec))
            return
        rows = []
        budgets = command_budgets()
        for step in CALL_STEPS:
            lamp, script = sec[step].get("lamp", {}), sec[step].get("script", {})
            limit = budgets.get(step)
            budget = "" if limit is None else f"<= {limit}"
            if limit is not None and lamp.get("exit") == 0 and lamp["calls"] > limit:
                budget += " **over**"
                self.why.append(
                    f"- **REST calls of `lamp {step}`**: {lamp['calls']} against the budget of "
                    f"{limit} its command module declares."
                )
            rows.append(
                [
                    step,
                    self.count(lamp),
                    self.count(script),
                    f"{lamp['calls'] - script['calls']:+d}"
                    if lamp.get("exit") == 0 and script.get("exit") == 0
                    else "-",
                    budget,
                    f"{s(lamp.get('seconds'))} / {s(script.get('seconds'))}",
                ]
            )
        self.add(
            "Counted by `bench/proxy.py` in front of the server, one run of each command in "
            "order on a fresh experiment and project (the rerun repeats the fresh release's key). "
            "The budget is the one each command module declares (`REST_CALL_BUDGET`, enforced "
            "by tests/budget). Wall times here include the proxy's hop.",
            "",
            *table(
                ["command", "lamp", "script", "extra", "budget", "wall lamp / script"],
                rows,
            ),
        )
        fresh = sec.get("release (fresh)", {})
        if (
            self.ok_calls("release (fresh)", "lamp") is not None
            and self.ok_calls("release (fresh)", "script") is not None
        ):
            mine, theirs = fresh["lamp"]["endpoints"], fresh["script"]["endpoints"]
            names = list(dict.fromkeys([*self.collapse(mine), *self.collapse(theirs)]))
            cm, ct = self.collapse(mine), self.collapse(theirs)
            rows = [[f"`{n}`", str(cm.get(n, 0)), str(ct.get(n, 0))] for n in names]
            self.add(
                "Calls of a fresh release by endpoint:", "", *table(["", "lamp", "script"], rows)
            )
            calls = fresh["lamp"]["calls"]
            if calls > RELEASE_CALL_BUDGET:
                extra = [
                    f"{n} {cm[n]} vs {ct.get(n, 0)}" for n in names if cm.get(n, 0) > ct.get(n, 0)
                ]
                self.why.append(
                    f"- **REST calls of a fresh `lamp release`**: {calls} against a budget of "
                    f"{RELEASE_CALL_BUDGET} ({calls - RELEASE_CALL_BUDGET} over; the script makes "
                    f"{fresh['script']['calls']}). The extra calls: " + ", ".join(extra) + "."
                )

    @staticmethod
    def count(row: dict[str, Any]) -> str:
        if not row:
            return "-"
        return str(row["calls"]) + ("" if row["exit"] == 0 else f" (exit {row['exit']})")

    @staticmethod
    def collapse(endpoints: dict[str, int]) -> dict[str, int]:
        """Artifact paths vary per run: count them under one name."""
        out: dict[str, int] = {}
        for key, count in endpoints.items():
            method, path = key.split(" ", 1)
            if "/mlflow-artifacts/artifacts/" in path:
                path = "/api/2.0/mlflow-artifacts/artifacts/<run>/<file>"
            path = path.removeprefix("/api/2.0/")
            out[f"{method} {path}"] = out.get(f"{method} {path}", 0) + count
        return out

    def embedded(self) -> None:
        self.add("## 5. The embedded SQLite store, command by command", "")
        sec = self.get("embedded")
        if crashed(sec):
            self.add(*crashed(sec))
            return
        rows = [
            [f"`lamp {step}`", figure(sec[step]), cpu(sec[step]), mib(sec[step].get("maxrss_mib"))]
            for step in EMBEDDED_STEPS
        ]
        rows.append(["whole quick start", s(sec.get("total", {}).get("median_s")), "", ""])
        self.add(
            "The README's quick start (`scripts/quickstart.sh`) in a fresh directory per pass: "
            "the first command also creates `mlflow.db` (MLflow's schema migrations).",
            "",
            *table(
                ["command", median_of(*(sec[step] for step in EMBEDDED_STEPS)), "CPU", "peak RSS"],
                rows,
            ),
        )

    def version_list(self) -> None:
        self.add("## 6. `lamp -o json version list` over many versions", "")
        sec = self.get("list")
        if crashed(sec):
            self.add(*crashed(sec))
            return
        rows = []
        for size, row in sec.items():
            for tool in ("lamp", "script"):
                got = row[tool]
                rows.append(
                    [
                        f"{int(size):,}",
                        tool,
                        figure(got),
                        cpu(got),
                        mib(got.get("maxrss_mib")),
                        str(got.get("calls", "-")),
                        str(got.get("listed", "-")),
                    ]
                )
        seeds = ", ".join(f"{int(k):,} in {s(v['seed']['seconds'])}" for k, v in sec.items())
        self.add(
            "Versions seeded on the server: version 1 registered through `MlflowClient` "
            "(the four files, lamp's tags, alias `staging`), the others copied from it in one SQL "
            f"transaction ({seeds}). The script pages through `search_model_versions` and writes "
            "each page as it comes.",
            "",
            *table(
                [
                    "versions",
                    "",
                    median_of(*(r[t] for r in sec.values() for t in ("lamp", "script"))),
                    "CPU",
                    "peak RSS",
                    "REST calls",
                    "listed",
                ],
                rows,
            ),
        )
        small, big = sec.get("500"), sec.get("5000")
        if not (small and big):
            return
        growth = self.memory_growth()
        ls, lb = small["lamp"], big["lamp"]
        ss, sb = small["script"], big["script"]
        if not all("median_s" in r for r in (ls, lb, ss, sb)) or growth is None:
            return
        self.add(
            f"From 500 to 5,000 versions lamp's time grows {x(lb['median_s'] / ls['median_s'])} "
            f"and its peak memory {x(lb['maxrss_mib'] / ls['maxrss_mib'])} (+{growth[0]:.0f} MiB); "
            f"the script's {x(sb['median_s'] / ss['median_s'])} and "
            f"{x(sb['maxrss_mib'] / ss['maxrss_mib'])} (+{growth[1]:.0f} MiB).",
            "",
            f"MLflow's client fetches pages of up to 1,000 versions ({sb.get('calls', '?')} calls "
            "for 5,000 by the script) and 500 versions come in one page of 500, so even a client "
            "that holds one page at a time peaks higher at 5,000 by what parsing a page of 1,000 "
            "instead of 500 costs. The target therefore compares lamp's growth with the "
            "script's: what lamp's peak grows beyond it is what lamp holds beyond one page.",
            "",
        )
        prof = big.get("profile", {})
        funcs = list(prof.get("lamp_functions_s", {}).items())[:6]
        if "total_s" in prof:
            self.add(
                f"One run at 5,000 under cProfile: {s(prof['total_s'])} in all, imports "
                f"{s(prof['imports_s'])}, waiting for {prof['http_requests']} HTTP responses "
                f"{s(prof['http_s'])}, other Python {s(prof['other_s'])}; lamp's functions: "
                + ", ".join(f"`{n}` {s(v)}" for n, v in funcs)
                + ".",
                "",
            )
        excess = growth[0] - growth[1]
        if excess > FLAT_MEMORY_MARGIN_MIB:
            self.why.append(
                f"- **`version list` is not flat**: from 500 to 5,000 versions its peak memory "
                f"grows {growth[0]:.0f} MiB, {excess:.0f} MiB more than the script's "
                f"({growth[1]:.0f} MiB), which writes each page as it arrives: about "
                f"{excess / 4.5:.1f} MiB per 1,000 versions that lamp keeps beyond one page. Its "
                f"time grows {x(lb['median_s'] / ls['median_s'])} against the script's "
                f"{x(sb['median_s'] / ss['median_s'])}"
                + (
                    f"; under cProfile at 5,000, other Python (building and rendering the "
                    f"records) takes {s(prof['other_s'])} and {prof['http_requests']} HTTP "
                    f"responses {s(prof['http_s'])}."
                    if "other_s" in prof
                    else "."
                )
            )

    def dead(self) -> None:
        self.add("## 7. Dead servers fail fast", "")
        sec = self.get("dead")
        if crashed(sec):
            self.add(*crashed(sec))
            return
        rows = [[k, s(v["seconds"]), str(v["exit"])] for k, v in sec.items()]
        self.add(
            "`lamp experiment list` against a closed loopback port and against one that accepts "
            "connections and never answers (one run each).",
            "",
            *table(["server", "time to exit", "exit code"], rows),
        )


def render(results: dict[str, Any]) -> str:
    return Report(results).render()
