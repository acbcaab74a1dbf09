"""From the processes' raw figures to one markdown document: medians, overheads, ratios, memory, scaling, and
the issue's targets as pass/fail lines."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from benchmarks.overhead.subjects import all_subjects

MIB = 1 << 20


@dataclass
class Summary:
    """One subject over all timing processes of one workload."""

    name: str
    unit: str = "spans"
    us_per_run: float | None = None  # median over processes of each process's median run
    paired_overhead_us: float | None = None  # median over rounds of (block median - untraced block median)
    cpu_us_per_run: float | None = None  # the same two in process CPU time
    paired_cpu_overhead_us: float | None = None
    round_overheads_us: list[float] = field(default_factory=list[float])  # each round's difference, in round order
    round_cpu_overheads_us: list[float] = field(default_factory=list[float])
    process_medians_us: list[float] = field(default_factory=list[float])
    drain_us_per_run: float | None = None
    produced_per_run: float | None = None  # None: emits nothing by design
    problem: str | None = None  # why the figure is not a valid measurement
    failed: bool = False  # the subject raised (a problem of its own, not of the figures)
    unavailable: str | None = None


@dataclass
class Timings:
    """All timing processes of one workload, summarised."""

    label: str
    events: dict[str, int]
    subjects: dict[str, Summary]
    problems: list[str]
    turns: int = 5
    input_bytes: int = 0

    @property
    def events_per_run(self) -> int:
        return sum(self.events.values())

    def valid(self, name: str) -> Summary | None:
        summary = self.subjects.get(name)
        if summary is None or summary.problem or summary.unavailable or summary.us_per_run is None:
            return None
        return summary

    def overhead_us(self, name: str, cpu: bool = False) -> float | None:
        """What the subject adds to a run, paired round by round with the untraced block of the same round, so
        slow drift and bursts of load on the machine hit both sides of each difference. ``cpu``: in process CPU
        time, which other programs on the machine do not inflate and the subject's background threads do."""
        subject, baseline = self.valid(name), self.valid("baseline")
        if subject is None or baseline is None:
            return None
        return subject.paired_cpu_overhead_us if cpu else subject.paired_overhead_us

    def round_overheads_us(self, name: str, cpu: bool = False) -> list[float]:
        """``overhead_us`` before the median: one difference per round, rounds in the same order for every
        subject (they ran in the same rounds), so two subjects' lists pair up index by index."""
        subject = self.valid(name)
        if subject is None or self.valid("baseline") is None:
            return []
        return subject.round_cpu_overheads_us if cpu else subject.round_overheads_us

    def ratio_to_untraced(self, name: str, cpu: bool = False) -> float | None:
        overhead, baseline = self.overhead_us(name, cpu), self.valid("baseline")
        untraced_us = None if baseline is None else (baseline.cpu_us_per_run if cpu else baseline.us_per_run)
        if overhead is None or not untraced_us:
            return None
        return 1 + overhead / untraced_us


def summarize(label: str, results: list[dict[str, Any]]) -> Timings:
    events: dict[str, int] = results[0]["events"] if results else {}
    problems = [f"{label}: network access attempted: {what}" for r in results for what in r["network_attempts"]]
    if any(r["events"] != events for r in results):
        problems.append(f"{label}: processes counted different callback events per run")
    subjects: dict[str, Summary] = {}
    names: list[str] = list(results[0]["subjects"]) if results else []
    for name in names:
        per_process = [r["subjects"][name] for r in results]
        summary = Summary(name, unit=per_process[0]["unit"])
        summary.unavailable = per_process[0]["unavailable"]
        errors = [p["error"] for p in per_process if p["error"]]
        medians = [statistics.median(_all_runs(p, "block_run_ns")) / 1e3 for p in per_process if p["block_run_ns"]]
        if medians and not errors:
            untraced = [r["subjects"]["baseline"] for r in results]
            summary.round_overheads_us = _paired_rounds_us(per_process, untraced, "block_run_ns")
            summary.round_cpu_overheads_us = _paired_rounds_us(per_process, untraced, "block_cpu_ns")
            summary.paired_overhead_us = _median(summary.round_overheads_us)
            summary.paired_cpu_overhead_us = _median(summary.round_cpu_overheads_us)
            summary.cpu_us_per_run = statistics.median(
                statistics.median(_all_runs(p, "block_cpu_ns")) / 1e3 for p in per_process
            )
            summary.process_medians_us = medians
            summary.us_per_run = statistics.median(medians)
            summary.drain_us_per_run = statistics.median(
                statistics.median(p["block_ns_per_run"]) / 1e3 for p in per_process if p["block_ns_per_run"]
            )
        if per_process[0]["produced"] >= 0:
            runs = sum(p["runs"] for p in per_process)
            summary.produced_per_run = sum(p["produced"] for p in per_process) / runs if runs else 0.0
            empty = sum(p["empty_blocks"] for p in per_process)
            if empty and not summary.unavailable:
                summary.problem = f"produced no {summary.unit} in {empty} block(s)"
        if errors:
            summary.problem = f"failed: {errors[0]}"
            summary.failed = True
        subjects[name] = summary
    for r in results:
        for leak in r["pollution"]:
            polluter = subjects.get(leak["subject"])
            message = f"produced {leak['produced']} {polluter.unit if polluter else 'spans'} outside its own blocks"
            if polluter is not None and not polluter.problem:
                polluter.problem = f"{message} (during {leak['during']}): its uninstrument did not stop it"
            problems.append(f"{label}: {leak['subject']} {message}, during a block of {leak['during']}")
    problems += [f"{label}: {s.name}: {s.problem}" for s in subjects.values() if s.problem]
    plan: dict[str, Any] = results[0]["plan"] if results else {"turns": 5, "input_bytes": 0}
    return Timings(label, events, subjects, problems, plan["turns"], plan["input_bytes"])


def _all_runs(process: dict[str, Any], key: str) -> list[int]:
    return [run for block in process[key] for run in block]


def _paired_rounds_us(per_process: list[dict[str, Any]], untraced: list[dict[str, Any]], key: str) -> list[float]:
    """Per round: the subject's block median - the untraced block median of the same round; a failed block
    leaves its round out (and is reported)."""
    return [
        (statistics.median(block) - statistics.median(untraced_block)) / 1e3
        for process, untraced_process in zip(per_process, untraced, strict=True)
        for block, untraced_block in zip(process[key], untraced_process[key], strict=False)
    ]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _table(header: list[str], rows: list[list[str]], right_from: int = 1) -> str:
    align = ["---" if i < right_from else "--:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def overhead_table(timings: Timings) -> str:
    descriptions = {name: subject.description for name, subject in all_subjects().items()}
    events = timings.events_per_run
    floors = ("raw-otel-floor", "payload-floor", "live-floor")  # a column of ratios to each, wall then CPU
    walls = [timings.overhead_us(floor) for floor in floors]
    cpus = [timings.overhead_us(floor, cpu=True) for floor in floors]
    no_spans = ("baseline", "noop-handler")  # they emit nothing: no ratio to a floor
    header = [
        "subject",
        "what",
        "emitted per run",
        "µs/run",
        "process medians µs",
        "overhead µs/run",
        "overhead µs/event",
        "x untraced",
        "x floor's overhead",
        "x payload floor's",
        "x live floor's",
        "CPU overhead µs/run",
        "CPU x floor's",
        "CPU x payload floor's",
        "CPU x live floor's",
        "µs/run incl. drain",
    ]
    rows: list[list[str]] = []
    for name, s in timings.subjects.items():
        what = descriptions.get(name, "")
        if s.unavailable:
            rows.append([name, what, f"not measured: {s.unavailable}", *["-"] * (len(header) - 3)])
            continue
        overhead, cpu_overhead = timings.overhead_us(name), timings.overhead_us(name, cpu=True)
        spread = f"{min(s.process_medians_us):,.0f}-{max(s.process_medians_us):,.0f}" if s.process_medians_us else "-"
        produced = "-" if s.produced_per_run is None else f"{s.produced_per_run:.1f} {s.unit}"
        if s.problem:
            produced = f"**INVALID: {s.problem}**"
        rows.append(
            [
                name,
                what,
                produced,
                _us(s.us_per_run),
                spread,
                _us(overhead),
                "-" if overhead is None else f"{overhead / events:,.1f}",
                _ratio(timings.ratio_to_untraced(name)),
                *("-" if name in no_spans else _ratio(_div(overhead, floor)) for floor in walls),
                _us(cpu_overhead),
                *("-" if name in no_spans else _ratio(_div(cpu_overhead, floor)) for floor in cpus),
                _us(s.drain_us_per_run),
            ]
        )
    return _table(header, rows, right_from=3)


def peer_table(timings: Timings, ours: list[str], peers: list[str]) -> str:
    def both(name: str, peer: str) -> str:
        wall = _div(timings.overhead_us(name), timings.overhead_us(peer))
        cpu = _div(timings.overhead_us(name, cpu=True), timings.overhead_us(peer, cpu=True))
        return f"{_ratio(wall)} / {_ratio(cpu)}"

    header = ["ours", "overhead µs/run (wall / CPU)", *(f"÷ {peer}'s (wall / CPU)" for peer in peers)]
    rows = [
        [
            name,
            f"{_us(timings.overhead_us(name))} / {_us(timings.overhead_us(name, cpu=True))}",
            *(both(name, peer) for peer in peers),
        ]
        for name in ours
    ]
    return _table(header, rows)


def scaling_table(all_timings: list[Timings], subjects: list[str]) -> str:
    others = [name for name in subjects if name != "baseline"]
    header = ["workload", "events/run", "untraced µs/run"]
    for name in others:
        header += [f"{name} overhead µs/run", f"{name} µs/event", f"{name} CPU µs/event"]
    header.append(f"{others[-1]} ÷ {others[0]}" if len(others) > 1 else "")
    rows: list[list[str]] = []
    for timings in all_timings:
        baseline = timings.valid("baseline")
        row = [timings.label, f"{timings.events_per_run:,}", _us(baseline.us_per_run if baseline else None)]
        for name in others:
            overhead, cpu = timings.overhead_us(name), timings.overhead_us(name, cpu=True)
            row += [
                _us(overhead),
                *("-" if o is None else f"{o / timings.events_per_run:,.1f}" for o in (overhead, cpu)),
            ]
        if len(others) > 1:
            row.append(_ratio(_div(timings.overhead_us(others[-1]), timings.overhead_us(others[0]))))
        rows.append(row)
    return _table(header, rows)


def memory_table(results: list[dict[str, Any]]) -> str:
    rows: list[list[str]] = []
    for r in results:
        plan = r["plan"]
        if "unavailable" in r:
            rows.append([plan["subject"], f"not measured: {r['unavailable']}", "-", "-", "-", "-", "-"])
            continue
        produced = "-" if r["produced"] < 0 else f"{r['produced'] / plan['runs']:.1f} {r['unit']}"
        if r["produced"] == 0:
            produced = "**INVALID: produced nothing**"
        rows.append(
            [
                plan["subject"],
                f"{plan['runs']:,} after {plan['warmup_runs']:,}",
                f"{r['rss_before'] / MIB:,.1f}",
                f"{r['rss_growth'] / MIB:+,.2f}",
                f"{r['objects_growth']:+,}",
                ", ".join(f"{name} {count:+,}" for name, count in r["growing_types"]) or "-",
                produced,
            ]
        )
    header = [
        "subject",
        "runs (after warm-up)",
        "RSS at start MiB",
        "RSS growth MiB",
        "live gc objects growth",
        "most grown types",
        "emitted per run",
    ]
    return _table(header, rows)


def memory_problems(results: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    for r in results:
        name = r["plan"]["subject"]
        problems += [f"memory {name}: network access attempted: {what}" for what in r.get("network_attempts", [])]
        if r.get("produced") == 0:
            problems.append(f"memory {name}: produced no {r['unit']}")
    return problems
