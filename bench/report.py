"""bench/README.md from the figures of one `bench/run.py` run: the targets, the tables, and why a
target is missed. Every sentence with a number in it is computed from the run's own figures, so
a run on another machine or another tree leaves no stale claim behind. Nothing here measures.
"""

from __future__ import annotations

from typing import Any

# The documented targets.
HELP_TARGET_S = 0.25
SPEC_RATIO_TARGET = 1.6  # `lamp spec validate` against `python -c "import typer, pydantic, yaml"`
RELEASE_RATIO_TARGET = 1.15  # `lamp release` against the hand-written script, wall time
RELEASE_CALL_LIMIT = 14
# "Flat": from 500 to 5,000 versions lamp's peak memory grows at most this much more than that of
# the hand-written script, which holds one page of versions at a time.
FLAT_MEMORY_MARGIN_MIB = 10.0
DEAD_SERVER_LIMIT_S = 20.0  # the README's promise for a server that never answers

MET, MISSED, UNKNOWN = "met", "**missed**", "not measured"


def s(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"


def x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} MiB"


def figure(row: dict[str, Any] | None, key: str = "median_s") -> str:
    """A median, or why there is none."""
    if not row:
        return "not run"
    if key not in row:
        return f"failed ({row.get('error', '?')})"
    failed = f", {row['failed']} of {row['n']} failed" if row.get("failed") else ""
    return s(row[key]) + failed


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return [*lines, *("| " + " | ".join(str(c) for c in row) + " |" for row in rows), ""]


def verdict(value: float | None, limit: float) -> str:
    if value is None:
        return UNKNOWN
    return MET if value <= limit else MISSED


def only_in(mine: dict[str, float], theirs: dict[str, float], least: float = 0.003) -> str:
    """What ``mine`` imports beyond ``theirs``, by self time: ``name 0.012 s`` pairs."""
    extra = [
        (name, value - theirs.get(name, 0.0))
        for name, value in mine.items()
        if name != "(all)" and value - theirs.get(name, 0.0) >= least
    ]
    extra.sort(key=lambda kv: -kv[1])
    return ", ".join(f"{name} +{s(v)}" for name, v in extra[:8]) or "nothing above 3 ms"


class Report:
    def __init__(self, results: dict[str, Any]) -> None:
        self.r = results
        self.sec: dict[str, Any] = results.get("sections", {})
        self.facts: dict[str, Any] = results.get("facts", {})
        self.lines: list[str] = []
        self.targets: list[list[str]] = []
        self.why: list[str] = []

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def section(self, title: str, name: str) -> dict[str, Any] | None:
        self.add(f"## {title}", "")
        sec = self.sec.get(name)
        if sec is None:
            self.add("Not run in this run (`--only`).", "")
        elif "crashed" in sec:
            self.add("The section crashed:", "", "```", sec["crashed"].rstrip(), "```", "")
            return None
        return sec

    def load(self) -> str:
        f = self.facts
        return (
            f"load average {f.get('load_average_1m')} at the start, "
            f"{f.get('load_average_1m_after')} at the end, on {f.get('cpus', '?').split()[0]} CPUs"
        )

    # -- sections --------------------------------------------------------------------------

    def help(self) -> None:
        sec = self.section("1. Start-up: `lamp --help`", "help")
        if not sec:
            return
        lamp, bare = sec["lamp --help"], sec["python -c pass"]
        self.add(
            *table(
                ["command", f"median of {lamp['n']}", "CPU", "peak RSS"],
                [
                    [f"`{n}`", figure(r), figure(r, "median_cpu_s"), mib(r.get("maxrss_mib"))]
                    for n, r in (("lamp --help", lamp), ("python -c pass", bare))
                ],
            )
        )
        value = lamp.get("median_s")
        self.targets.append(
            [f"`lamp --help` <= {HELP_TARGET_S} s", s(value), verdict(value, HELP_TARGET_S)]
        )
        if value is not None and value > HELP_TARGET_S:
            self.why.append(
                f"- **`lamp --help`** takes {s(value)} (CPU {s(lamp['median_cpu_s'])}) where a "
                f"bare interpreter takes {s(bare.get('median_s'))}; {self.load()}."
            )

    def spec(self) -> None:
        sec = self.section(
            "2. Offline: `lamp spec validate` of the example pair beside its imports", "spec"
        )
        if not sec:
            return
        self.add(
            'The yardstick is `python -c "import typer, pydantic, yaml"` in the same '
            "environment: the imports any Typer CLI that validates YAML with pydantic starts "
            "from. `import pydantic` alone is lazy: it does not import `BaseModel` or "
            "`TypeAdapter`, which every pydantic model and Typer's parameter coercion need. "
            "`bench/minimal_cli.py` is the floor of such a CLI: one Typer command that loads "
            "each file and validates it with a two-field pydantic model. The last row is lamp's "
            "own checks with no CLI around them: `validate_paths` of `lamp_cli.specs.validate` "
            "called from `python -c`.",
            "",
        )
        for env, row in sec.items():
            if "ratio" not in row:
                self.add(f"{env}: " + figure(row.get("lamp spec validate")), "")
                self.targets.append([f"`spec validate` ({env})", "-", UNKNOWN])
                continue
            lamp, base, floor = row["lamp spec validate"], row["imports"], row["minimal CLI"]
            rows = [
                [
                    name,
                    figure(r),
                    figure(r, "median_cpu_s"),
                    x(r["median_s"] / base["median_s"]) if "median_s" in r else "-",
                    mib(r.get("maxrss_mib")),
                ]
                for name, r in (
                    ("`lamp spec validate`", lamp),
                    ('`python -c "import typer, pydantic, yaml"`', base),
                    ("`bench/minimal_cli.py`", floor),
                    ("lamp's checks, no CLI", row.get("library", {})),
                )
            ]
            imports, yardstick = row["imports lamp"], row["imports yardstick"]
            self.add(
                f"**{env}**",
                "",
                *table(
                    ["command", f"median of {lamp['n']}", "CPU", "vs imports", "peak RSS"], rows
                ),
                f"Ratio {x(row['ratio'])} (CPU {x(row['cpu_ratio'])}). Imports "
                f"(`-X importtime`, self time, medians): lamp {s(imports.get('(all)'))}, the "
                f"yardstick {s(yardstick.get('(all)'))}; lamp beyond it: "
                + only_in(imports, yardstick)
                + ". Typer's building of one pydantic TypeAdapter per CLI parameter while "
                f"parsing (cProfile, an upper bound): {s(row['typer adapters s'])}.",
                "",
            )
            self.targets.append(
                [
                    f"`spec validate` <= {SPEC_RATIO_TARGET}x its imports ({env})",
                    f"{x(row['ratio'])} ({s(lamp['median_s'])} / {s(base['median_s'])})",
                    verdict(row["ratio"], SPEC_RATIO_TARGET),
                ]
            )
            if row["ratio"] <= SPEC_RATIO_TARGET:
                continue
            pydantic = imports.get("pydantic", 0.0) - yardstick.get("pydantic", 0.0)
            text = (
                f"- **`spec validate`, {env}**: {s(lamp['median_s'])} against "
                f"{s(base['median_s'])} ({x(row['ratio'])}; the target allows "
                f"{s(base['median_s'] * SPEC_RATIO_TARGET)}). Beyond the yardstick's imports "
                f"lamp loads pydantic's model machinery (pydantic +{s(pydantic)}), Typer's "
                f"coercion (typer._adapters {s(imports.get('typer._adapters'))}, typer._coercion "
                f"{s(imports.get('typer._coercion'))}, and {s(row['typer adapters s'])} building "
                f"an adapter per parameter), rich to print ({s(imports.get('rich'))}) and its own "
                f"modules ({s(imports.get('lamp_cli'))}, most of it pydantic defining the spec "
                "models' classes). None of it depends on the size of a spec."
            )
            # Each floor: its row, what it is, and what it means when it is past the target.
            floors = (
                (
                    floor,
                    "The minimal Typer CLI that validates the same files with a two-field model "
                    "takes {} the imports",
                    "past the target before any check of lamp's own",
                ),
                (
                    row.get("library", {}),
                    "lamp's checks alone, called with no CLI at all, take {}",
                    "a parser of lamp's own in place of Typer could not meet the target either",
                ),
            )
            for measured, what, past in floors:
                if "median_s" in measured:
                    ratio = measured["median_s"] / base["median_s"]
                    text += " " + what.format(x(ratio))
                    text += f": {past}." if ratio > SPEC_RATIO_TARGET else "."
            self.why.append(text)

    def release(self) -> None:
        sec = self.section(
            "3. `lamp release` beside the hand-written script, one `mlflow server`", "release"
        )
        if not sec:
            return
        self.add(
            "`bench/handwritten_release.py` does the same writes with `MlflowClient` and "
            "nothing else: no validation, idempotency or retries of its own, MLflow's default "
            "HTTP settings and garbage collection (lamp freezes what is alive before and after "
            "it imports MLflow, `gc.freeze`, so that collections while the command runs do not "
            "walk the modules again). Both run in a git checkout with one commit (lamp reads "
            "the release's provenance from git), a fresh release key each time, "
            "`--no-verify-image` (no AWS), "
            "against the same server (`--workers 1`, SQLite, `--serve-artifacts`, the test "
            "environment's MLflow), which shares the machine's CPUs with them.",
            "",
        )
        if self.r.get("core_error"):
            self.add("The core install could not be made:", "", "```", self.r["core_error"], "```")
        for env, row in sec.items():
            if "ratio" not in row:
                why = row.get("setup_error") or figure(row.get("lamp release"))
                self.add(f"**{env}**: {why}", "")
                self.targets.append([f"`lamp release` ({env})", "-", UNKNOWN])
                continue
            lamp, script = row["lamp release"], row["script"]
            lc, sc = row["calls"]["lamp release"], row["calls"]["script"]
            self.add(
                f"**{env}**",
                "",
                *table(
                    ["", f"lamp release (median of {lamp['n']})", "script", "ratio"],
                    [
                        ["wall time", figure(lamp), figure(script), x(row["ratio"])],
                        [
                            "CPU, user + system",
                            figure(lamp, "median_cpu_s"),
                            figure(script, "median_cpu_s"),
                            x(row["cpu_ratio"]),
                        ],
                        ["peak RSS", mib(lamp["maxrss_mib"]), mib(script["maxrss_mib"]), ""],
                        ["REST calls (one more run each)", str(lc["calls"]), str(sc["calls"]), ""],
                    ],
                ),
                "Imports (`-X importtime`, self time, medians): lamp "
                f"{s(row['imports lamp'].get('(all)'))}, the script "
                f"{s(row['imports script'].get('(all)'))}; lamp beyond the script: "
                + only_in(row["imports lamp"], row["imports script"])
                + ".",
                "",
            )
            self.endpoints(lc, sc)
            self.targets.append(
                [
                    f"`lamp release` <= {RELEASE_RATIO_TARGET}x the script, wall ({env})",
                    f"{x(row['ratio'])} ({s(lamp['median_s'])} / {s(script['median_s'])})",
                    verdict(row["ratio"], RELEASE_RATIO_TARGET),
                ]
            )
            calls = lc["calls"] if lc["exit"] == 0 else None
            self.targets.append(
                [
                    f"`lamp release` <= {RELEASE_CALL_LIMIT} REST calls ({env})",
                    f"{calls} (the script: {sc['calls']})",
                    verdict(calls, RELEASE_CALL_LIMIT),
                ]
            )
            if row["ratio"] > RELEASE_RATIO_TARGET:
                self.why.append(
                    f"- **`lamp release`, {env}**: {s(lamp['median_s'])} against "
                    f"{s(script['median_s'])} ({x(row['ratio'])}; the target allows "
                    f"{s(script['median_s'] * RELEASE_RATIO_TARGET)}). In CPU time lamp takes "
                    f"{x(row['cpu_ratio'])} the script's ({s(lamp['median_cpu_s'])} against "
                    f"{s(script['median_cpu_s'])}); wall times spread from {s(lamp['min_s'])} to "
                    f"{s(lamp['max_s'])} (the script's {s(script['min_s'])} to "
                    f"{s(script['max_s'])}) with the {self.load()}. lamp makes {lc['calls']} "
                    f"REST calls, the script {sc['calls']}; what lamp imports beyond the script: "
                    + only_in(row["imports lamp"], row["imports script"])
                    + "."
                )

    def endpoints(self, lamp: dict[str, Any], script: dict[str, Any]) -> None:
        def collapse(endpoints: dict[str, int]) -> dict[str, int]:
            out: dict[str, int] = {}
            for key, count in endpoints.items():
                method, path = key.split(" ", 1)
                if "/mlflow-artifacts/artifacts/" in path:
                    path = "mlflow-artifacts/artifacts/<run>/<file>"
                name = f"{method} {path.removeprefix('/api/2.0/')}"
                out[name] = out.get(name, 0) + count
            return out

        mine, theirs = collapse(lamp["endpoints"]), collapse(script["endpoints"])
        names = list(dict.fromkeys([*mine, *theirs]))
        rows = [[f"`{n}`", str(mine.get(n, 0)), str(theirs.get(n, 0))] for n in names]
        self.add(*table(["REST calls by endpoint", "lamp", "script"], rows))

    def calls(self) -> None:
        sec = self.section("4. REST calls of each write command", "calls")
        if not sec:
            return
        rows, over = [], []
        for step, row in sec.items():
            budget = row.get("budget")
            ok = row["exit"] == 0
            judged = verdict(row["calls"] if ok else None, budget) if budget else "no budget"
            if judged == MISSED:
                over.append(f"{step} {row['calls']} > {budget}")
            shown = str(row["calls"]) + ("" if ok else f" (exit {row['exit']}: {row['error']})")
            rows.append([f"`lamp {step}`", shown, str(budget or "-"), judged])
        self.add(
            "One run of each in order on a fresh experiment and project, counted by "
            "`bench/proxy.py` in front of the server; the budget is the command module's "
            "`REST_CALL_BUDGET` (tests/budget holds the commands to it).",
            "",
            *table(["command", "REST calls", "budget", "verdict"], rows),
        )
        failed = [step for step, row in sec.items() if row["exit"] != 0]
        self.targets.append(
            [
                "every write command within its `REST_CALL_BUDGET`",
                f"{len(sec) - len(over) - len(failed)} of {len(sec)} within",
                MISSED if over else (UNKNOWN if failed else MET),
            ]
        )
        if over:
            self.why.append("- **REST calls over budget**: " + ", ".join(over) + ".")

    def version_list(self) -> None:
        sec = self.section("5. `lamp -o json version list` over many versions", "list")
        if not sec:
            return
        rows = [
            [
                f"{int(size):,}",
                tool,
                figure(row[tool]),
                figure(row[tool], "median_cpu_s"),
                mib(row[tool].get("maxrss_mib")),
                str(row[tool].get("listed", "-")),
            ]
            for size, row in sec.items()
            for tool in ("lamp", "script")
        ]
        self.add(
            "Version 1 is registered through `MlflowClient`, the others are copied from it in "
            "one SQL transaction; the script pages through `search_model_versions` and writes "
            "each page as it comes, holding one page at a time.",
            "",
            *table(["versions", "", "median", "CPU", "peak RSS", "listed"], rows),
        )
        small, big = sec.get("500"), sec.get("5000")
        growth = None
        if small and big:
            try:
                growth = [big[t]["maxrss_mib"] - small[t]["maxrss_mib"] for t in ("lamp", "script")]
            except KeyError:
                growth = None
        target = (
            "`version list` memory flat: from 500 to 5,000 versions lamp's peak grows at most "
            f"{FLAT_MEMORY_MARGIN_MIB:g} MiB more than the streaming script's"
        )
        if growth is None:
            self.targets.append([target, "-", UNKNOWN])
            return
        self.add(
            f"From 500 to 5,000 versions lamp's peak grows {growth[0]:+.0f} MiB, the script's "
            f"{growth[1]:+.0f} MiB. MLflow's client fetches pages of up to 1,000 versions, so "
            "even a client that holds one page at a time peaks higher at 5,000; what lamp grows "
            "beyond the script is what it holds beyond one page.",
            "",
        )
        excess = growth[0] - growth[1]
        self.targets.append(
            [
                target,
                f"lamp {growth[0]:+.0f} MiB, script {growth[1]:+.0f} MiB",
                MET if excess <= FLAT_MEMORY_MARGIN_MIB else MISSED,
            ]
        )
        if excess > FLAT_MEMORY_MARGIN_MIB:
            self.why.append(
                f"- **`version list` is not flat**: lamp's peak grows {excess:.0f} MiB more "
                "than the streaming script's from 500 to 5,000 versions."
            )

    def dead(self) -> None:
        sec = self.section("6. Dead servers fail fast", "dead")
        if not sec:
            return
        self.add(
            "`lamp experiment list` against a closed loopback port and against one that "
            "accepts connections and never answers (one run each).",
            "",
            *table(
                ["server", "time to exit", "exit code"],
                [[k, s(v["seconds"]), str(v["exit"])] for k, v in sec.items()],
            ),
        )
        worst = max(v["seconds"] for v in sec.values())
        ok = worst <= DEAD_SERVER_LIMIT_S and all(v["exit"] == 6 for v in sec.values())
        target = f"dead server: exit 6 within {DEAD_SERVER_LIMIT_S:g} s"
        self.targets.append([target, s(worst), MET if ok else MISSED])
        if not ok:
            self.why.append(
                "- **Dead server**: "
                + ", ".join(f"{k} {s(v['seconds'])} (exit {v['exit']})" for k, v in sec.items())
                + f" against {DEAD_SERVER_LIMIT_S:g} s and exit 6."
            )

    # -- the page --------------------------------------------------------------------------

    def machine(self) -> list[str]:
        f = self.facts
        envs = f.get("envs", {})
        rows = [
            ["date", f.get("date", "?")],
            ["CPUs", f.get("cpus", "?")],
            ["load average (1 min), start / end", f"{f.get('load_average_1m')} / "
             f"{f.get('load_average_1m_after')}"],
            ["platform, Python", f"{f.get('platform')}, {f.get('python')}"],
            ["`mlflow server` start", s(self.r.get("server_start_s"))],
            ["whole run", s(self.r.get("total_s")) + " (" + ", ".join(
                f"{k} {v:g} s" for k, v in self.r.get("seconds", {}).items()) + ")"],
        ]  # fmt: skip
        for name, versions in envs.items():
            shown = ", ".join(f"{d} {v}" for d, v in versions.items() if v)
            absent = [d for d, v in versions.items() if not v]
            rows.append([name, shown + (f"; not installed: {', '.join(absent)}" if absent else "")])
        return table(["", ""], rows)

    def render(self) -> str:
        f = self.facts
        self.help()
        self.spec()
        self.release()
        self.calls()
        self.version_list()
        self.dead()
        body, self.lines = self.lines, []
        quick = " --quick" if self.r.get("quick") else ""
        dirty = f" with {f['uncommitted']} uncommitted file(s)" if f.get("uncommitted") else ""
        self.add(
            "# lamp benchmarks",
            "",
            f"Generated by `.venv/bin/python bench/run.py{quick}` on {f.get('date', '?')} "
            f"(commit {f.get('commit', '?')}{dirty}); do not edit by hand, run it again "
            "(`--quick`: fewer repeats, 500 versions only). Raw figures: `bench/results/`. "
            "`bench/run.py` measures, `bench/report.py` writes this page, "
            "`bench/handwritten_release.py` is the yardstick of a release, `bench/proxy.py` "
            "counts REST calls.",
            "",
            "## Targets",
            "",
            *table(["target", "measured", "verdict"], self.targets),
            "## Machine and method",
            "",
            *self.machine(),
            "- Every command is a fresh process, timed from spawn to exit; CPU time (user + "
            "system, with its waited-for children such as git) and peak RSS are the process's "
            "own from `os.wait4`. CPU time is less sensitive than wall time to other work on "
            "this shared machine.",
            "- Medians; commands compared with each other run round-robin, the order reversed "
            "every other round, after one unmeasured round.",
            "- The environment is the caller's without `MLFLOW_*`, `LAMP_*`, `GITHUB_*`, "
            "`DATABRICKS_*` and `PYTHONDONTWRITEBYTECODE`, with `MLFLOW_DISABLE_TELEMETRY=true` "
            "for lamp (which sets it itself) and the scripts alike.",
            "- Two environments: the test environment (`.venv`: lamp installed editable with "
            "its test extra, so full `mlflow`, numpy and pandas are there, and `import mlflow` "
            "loads them for lamp and the script alike) and the core install a user gets "
            "(`.venv-core`: `pip install .` at the locked versions, made by the run).",
            "",
            *body,
            "## Why the missed targets are missed",
            "",
            *(self.why or ["Every measured target is met."]),
        )
        return "\n".join(self.lines).rstrip() + "\n"


def render(results: dict[str, Any]) -> str:
    return Report(results).render()
