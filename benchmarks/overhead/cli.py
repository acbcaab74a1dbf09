"""benchmarks/run: the overhead harness's command line. Spawns the timing and memory processes, shows progress on
stderr and prints one markdown document on stdout; exits 1 when a measurement is invalid."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from benchmarks.overhead.memory import MemoryPlan
from benchmarks.overhead.offline import clean_environment
from benchmarks.overhead.report import Timings, memory_problems, memory_table, overhead_table, peer_table, scaling_table
from benchmarks.overhead.report import summarize as summarize_timings
from benchmarks.overhead.subjects import FLOORS, OURS, all_subjects
from benchmarks.overhead.targets import target_lines
from benchmarks.overhead.timing import TimingPlan
from benchmarks.overhead.workload import Workload

ROOT = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT_S = 1800
VERSIONS = (
    "langchain-turntrace",
    "langchain-core",
    "langchain",
    "langgraph",
    "opentelemetry-sdk",
    "langsmith",
    "openinference-instrumentation-langchain",
    "opentelemetry-instrumentation-langchain",
    "langfuse",
    "opentelemetry-instrumentation-genai-langchain",
    "opentelemetry-util-genai",
)


@dataclass
class Settings:
    processes: int = 5
    blocks: int = 8
    runs: int = 8
    warmup_runs: int = 3
    turns: int = 5
    scaling_turns: list[int] = field(default_factory=lambda: [1, 5, 20, 100])
    input_sizes: list[int] = field(default_factory=lambda: [1 << 10, 1 << 20])
    scaling_processes: int = 3
    scaling_blocks: int = 5
    scaling_subjects: list[str] = field(default_factory=lambda: ["baseline", "raw-otel-floor", "ours-batch"])
    memory_runs: int = 2000
    memory_warmup_runs: int = 200
    memory_jobs: int = 2  # memory is not timed, so its processes may share the machine's cores


PRESETS = {
    "full": Settings(),
    "quick": Settings(
        processes=3, blocks=4, runs=5, scaling_processes=2, scaling_blocks=3, memory_runs=500, memory_warmup_runs=100
    ),
    "smoke": Settings(
        processes=2,
        blocks=2,
        runs=2,
        warmup_runs=1,
        turns=2,
        scaling_turns=[1, 3],
        scaling_processes=1,
        scaling_blocks=1,
        memory_runs=40,
        memory_warmup_runs=10,
    ),
}


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _child(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """One measurement in a fresh interpreter: no tracing variables, no network, figures back as JSON."""
    with tempfile.TemporaryDirectory(prefix="turntrace-bench-") as directory:
        out = Path(directory) / "result.json"
        command = [sys.executable, "-m", "benchmarks.overhead", "--child", kind, "--spec", json.dumps(spec)]
        done = subprocess.run(
            [*command, "--out", str(out)],
            cwd=ROOT,
            env=clean_environment(),
            stdout=sys.stderr,  # a peer that prints must not garble the report
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0 or not out.exists():
            raise SystemExit(f"benchmark process failed (exit {done.returncode}): {kind} {spec}; its output is above")
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def _timings(label: str, plan: TimingPlan, processes: int, began: float) -> Timings:
    results: list[dict[str, Any]] = []
    for process in range(processes):
        _progress(f"[{time.perf_counter() - began:5.0f} s] {label}: process {process + 1}/{processes}")
        spec = asdict(replace(plan, seed=process, label=f"{label} p{process + 1}"))
        results.append(_child("timing", spec))
    return summarize_timings(label, results)


def _memory(subjects: list[str], settings: Settings, began: float) -> list[dict[str, Any]]:
    def one(name: str) -> dict[str, Any]:
        _progress(f"[{time.perf_counter() - began:5.0f} s] memory: {name} ({settings.memory_runs:,} runs)")
        plan = MemoryPlan(name, settings.turns, settings.memory_runs, settings.memory_warmup_runs)
        return _child("memory", asdict(plan))

    with ThreadPoolExecutor(max_workers=settings.memory_jobs) as pool:
        return list(pool.map(one, subjects))


def _versions() -> str:
    found: list[str] = []
    for name in VERSIONS:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "langchain_turntrace"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" + uncommitted changes in langchain_turntrace/" if dirty.stdout.strip() else "")


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def _sizes(text: str) -> list[int]:
    units = {"K": 1 << 10, "M": 1 << 20}
    return [
        int(part[:-1]) * units[part[-1].upper()] if part[-1].upper() in units else int(part) for part in text.split(",")
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchmarks/run", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="fewer processes and blocks, 500 memory runs (~6 min)")
    mode.add_argument(
        "--smoke", action="store_true", help="CI: tiny counts, T=2; fails if any subject is missing or emits nothing"
    )
    parser.add_argument("--processes", type=int, help="timing processes (5)")
    parser.add_argument("--blocks", type=int, help="shuffled rounds per timing process (8)")
    parser.add_argument("--runs", type=int, help="timed runs per subject per block (8)")
    parser.add_argument("--turns", type=int, help="tool turns per agent run in the main table (5)")
    parser.add_argument("--subjects", help=f"comma-separated subset of: {', '.join(all_subjects())}")
    parser.add_argument("--scaling-turns", help="turns per run for the scaling table (1,5,20,100)")
    parser.add_argument("--input-sizes", help="tool input sizes for the scaling table (1K,1M)")
    parser.add_argument("--memory-runs", type=int, help="runs per subject in the leak check (2000)")
    parser.add_argument("--no-memory", action="store_true", help="skip the leak check")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling table")
    parser.add_argument("--require-peers", action="store_true", help="a peer that is not installed is a failure")
    parser.add_argument("--json", type=Path, help="also write every raw figure to this file")
    parser.add_argument(
        "--profile", metavar="SUBJECT", help="profile one subject in this process instead (e.g. ours-batch)"
    )
    parser.add_argument("--profile-runs", type=int, default=200, help="runs profiled (200)")
    parser.add_argument("--profile-top", type=int, default=25, help="entries shown (25)")
    parser.add_argument("--child", choices=["timing", "memory"], help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = PRESETS["smoke" if args.smoke else "quick" if args.quick else "full"]
    overrides: dict[str, Any] = {
        "processes": args.processes,
        "blocks": args.blocks,
        "runs": args.runs,
        "turns": args.turns,
        "memory_runs": args.memory_runs,
        "scaling_turns": [int(t) for t in args.scaling_turns.split(",")] if args.scaling_turns else None,
        "input_sizes": _sizes(args.input_sizes) if args.input_sizes else None,
    }
    return replace(settings, **{key: value for key, value in overrides.items() if value is not None})


def _run_child(args: argparse.Namespace) -> None:
    from benchmarks.overhead.offline import forbid_network

    forbid_network()  # before any subject opens: the peers import their libraries there
    spec = json.loads(args.spec)
    if args.child == "timing":
        from benchmarks.overhead.timing import run_plan

        result = run_plan(TimingPlan(**spec))
    else:
        from benchmarks.overhead.memory import run_plan as run_memory

        result = run_memory(MemoryPlan(**spec))
    args.out.write_text(json.dumps(result))


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.child:
        _run_child(args)
        return
    known = all_subjects()
    subjects = args.subjects.split(",") if args.subjects else list(known)
    unknown = [name for name in [*subjects, *([args.profile] if args.profile else [])] if name not in known]
    if unknown:
        raise SystemExit(f"unknown subject(s) {unknown}; choose from: {', '.join(known)}")
    settings = _settings(args)
    if args.profile:
        from benchmarks.overhead.offline import forbid_network
        from benchmarks.overhead.profile import profile

        forbid_network()
        profile(args.profile, args.profile_runs, settings.turns, 0, args.profile_top)
        return
    if "baseline" not in subjects:
        subjects.insert(0, "baseline")  # every overhead is measured against it
    began = time.perf_counter()
    load_at_start = _load()
    plan = TimingPlan(subjects, settings.turns, 0, settings.blocks, settings.runs, settings.warmup_runs)
    main_timings = _timings(f"T={settings.turns}", plan, settings.processes, began)
    scaling: list[Timings] = []
    scaling_subjects = [name for name in settings.scaling_subjects if name in subjects]
    if not args.no_scaling and set(scaling_subjects) - {"baseline"}:  # the untraced runs alone scale nothing
        workloads = [(turns, 0) for turns in settings.scaling_turns]
        workloads += [(settings.turns, size) for size in settings.input_sizes]
        for turns, size in workloads:
            runs = max(2, round(settings.runs * (settings.turns + 1) / (turns + 1)))  # blocks of similar length
            scaling_plan = TimingPlan(
                scaling_subjects, turns, size, settings.scaling_blocks, runs, settings.warmup_runs
            )
            label = Workload(turns, size).label
            scaling.append(_timings(f"scaling {label}", scaling_plan, settings.scaling_processes, began))
            scaling[-1].label = label
    # A subject that raised in its timing processes would raise in its memory process too and abort the report.
    failed = {summary.name for summary in main_timings.subjects.values() if summary.failed}
    memory = [] if args.no_memory else _memory([name for name in subjects if name not in failed], settings, began)
    elapsed_s = time.perf_counter() - began
    _progress(f"[{elapsed_s:5.0f} s] done")

    peers = [name for name in subjects if name not in ("baseline", "noop-handler", *FLOORS, *OURS)]
    problems = [*main_timings.problems, *(p for t in scaling for p in t.problems), *memory_problems(memory)]
    missing = [f"{s.name}: not installed ({s.unavailable})" for s in main_timings.subjects.values() if s.unavailable]
    if args.smoke or args.require_peers:
        problems += missing
    load = f"load average {load_at_start} at the start, {_load()} at the end"
    _print_report(settings, args, main_timings, peers, scaling, memory, problems, elapsed_s, load)
    if args.json:
        raw = {
            "settings": asdict(settings),
            "main": asdict(main_timings),
            "scaling": [asdict(t) for t in scaling],
            "memory": memory,
        }
        args.json.write_text(json.dumps(raw, indent=1))
    if problems:
        raise SystemExit(1)


def _print_report(
    settings: Settings,
    args: argparse.Namespace,
    main_timings: Timings,
    peers: list[str],
    scaling: list[Timings],
    memory: list[dict[str, Any]],
    problems: list[str],
    elapsed_s: float,
    load: str,
) -> None:
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    events = main_timings.events_per_run
    print(f"# turntrace overhead benchmark ({mode})\n")
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; commit {_commit()}; "
        f"{elapsed_s / 60:.1f} min in all; {load} (other work on the machine shows up as noise).  \n"
        f"{_versions()}.\n"
    )
    by_kind = ", ".join(f"{count} {event}" for event, count in sorted(main_timings.events.items()))
    print(
        f"## Overhead per agent run: T={settings.turns} turns of 2 parallel tool calls + the answer, "
        f"{events} callback events/run\n"
    )
    print(
        f"Medians over {settings.processes} processes (each: the median of {settings.blocks} shuffled blocks x "
        f"{settings.runs} runs per subject). Events per run: {by_kind}.\n"
    )
    print(overhead_table(main_timings))
    print()
    ours = [name for name in OURS if name in main_timings.subjects]
    valid_peers = [name for name in peers if main_timings.valid(name) is not None]
    if ours and valid_peers:
        print(f"### Ours against each peer (overhead ÷ overhead)\n\n{peer_table(main_timings, ours, valid_peers)}\n")
    if memory:
        print(f"## Memory: leak check over {settings.memory_runs:,} runs per subject, each in its own process\n")
        print(memory_table(memory))
        print()
    if scaling:
        print("## Scaling: overhead as runs grow longer and tool inputs larger\n")
        print(
            f"Medians over {settings.scaling_processes} processes x {settings.scaling_blocks} blocks; "
            "overhead = subject - untraced in the same processes.\n"
        )
        print(scaling_table(scaling, [n for n in settings.scaling_subjects if n in main_timings.subjects]))
        print()
    if args.smoke:
        # Smoke counts are far too small to time anything: the lines are printed to show the report works, and
        # judge nothing (the smoke fails only on a missing subject, an empty one, or network use).
        print("## Targets: not judged in smoke mode (counts too small to time anything)\n")
        print(
            "\n".join(
                line.replace("**FAIL**", "fail (not judged)").replace("**PASS**", "pass (not judged)")
                for line in target_lines(main_timings, peers, memory, scaling)
            )
        )
    else:
        print("## Targets (issue 13)\n")
        print("\n".join(target_lines(main_timings, peers, memory, scaling)))
    print(
        "\nµs/run: wall time of `agent.invoke` in the foreground. Overhead: the median, over all rounds of all "
        "processes, of the subject's block median minus the untraced block median of the same round (paired, so "
        "drift hits both sides; within noise it can be negative, and it need not equal µs/run - untraced µs/run). "
        "CPU overhead: the same in CPU time of the whole process (every thread: batch exporters and senders count; "
        "other programs on the machine do not). x untraced: 1 + overhead ÷ untraced µs/run. x floor's: overhead ÷ "
        "the raw-OTel floor's; x payload floor's: ÷ the same-payload floor's (our spans and attributes from a "
        "minimal hand-written handler); x live floor's: ÷ the live floor's (the same, with each chat and tool span "
        "current while its call runs and each tool span linked to its chat). µs/run incl. drain: a block's wall time "
        "including the final flush of the subject's background pipeline, divided by its runs."
    )
    if problems:
        print("\n## INVALID MEASUREMENTS\n")
        print("\n".join(f"- {problem}" for problem in problems))
