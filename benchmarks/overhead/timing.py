"""One timing process: every subject over the same agent, in blocks whose order is shuffled each round, so drift
(CPU clocks, caches, heap growth) spreads over all subjects alike; writes its raw figures as JSON."""

from __future__ import annotations

import gc
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.overhead.offline import network_attempts
from benchmarks.overhead.subject import Subject, SubjectUnavailable
from benchmarks.overhead.subjects import all_subjects
from benchmarks.overhead.workload import Workload, count_events, run_once


@dataclass
class TimingPlan:
    subjects: list[str]
    turns: int = 5
    input_bytes: int = 0
    blocks: int = 8
    runs_per_block: int = 8
    warmup_runs: int = 3
    seed: int = 0
    label: str = "timing"


@dataclass
class SubjectTimes:
    unit: str = "spans"
    block_run_ns: list[list[int]] = field(default_factory=list[list[int]])  # the timed runs of each round's block
    # the same runs in CPU time of the whole process: other programs' load does not count, background threads do
    block_cpu_ns: list[list[int]] = field(default_factory=list[list[int]])
    block_ns_per_run: list[float] = field(default_factory=list[float])  # a block's wall time incl. flush / runs
    runs: int = 0  # every run made with the subject, warm-ups included: what ``produced`` counts
    produced: int = 0  # -1: the subject emits nothing by design
    empty_blocks: int = 0
    error: str | None = None
    unavailable: str | None = None


def run_plan(plan: TimingPlan) -> dict[str, Any]:
    workload = Workload(plan.turns, plan.input_bytes)
    agent = workload.agent()
    events = count_events(agent, workload)
    subjects, times = _open(plan.subjects)
    for name, subject in subjects.items():  # first-run costs (imports, caches, LangGraph's own) stay out
        _block(name, subject, subjects, times, agent, workload, plan.warmup_runs, timed=False)
    rng = random.Random(plan.seed)
    pollution: list[dict[str, Any]] = []
    for block in range(plan.blocks):
        order = list(subjects)
        rng.shuffle(order)
        for name in order:
            if times[name].error is None:
                pollution += _block(name, subjects[name], subjects, times, agent, workload, plan.runs_per_block)
        _progress(f"{plan.label}: block {block + 1}/{plan.blocks}")
    for name, subject in subjects.items():
        try:
            subject.close()
        except Exception as error:  # noqa: BLE001  # a peer's shutdown failing must not lose the figures
            times[name].error = times[name].error or f"close: {type(error).__name__}: {error}"
    return {
        "plan": asdict(plan),
        "events": dict(events),
        "subjects": {name: asdict(subject_times) for name, subject_times in times.items()},
        "pollution": pollution,
        "network_attempts": network_attempts(),
    }


def _open(names: list[str]) -> tuple[dict[str, Subject], dict[str, SubjectTimes]]:
    known = all_subjects()
    subjects: dict[str, Subject] = {}
    times: dict[str, SubjectTimes] = {}
    for name in names:
        subject = known[name]()
        times[name] = SubjectTimes(unit=subject.unit)
        try:
            subject.open()
        except SubjectUnavailable as missing:
            times[name].unavailable = str(missing)
            continue
        subjects[name] = subject
    return subjects, times


def _block(
    name: str,
    subject: Subject,
    subjects: dict[str, Subject],
    times: dict[str, SubjectTimes],
    agent: Any,
    workload: Workload,
    runs: int,
    *,
    timed: bool = True,
) -> list[dict[str, Any]]:
    """``runs`` timed runs of one subject (after one untimed run), then its flush; returns what other subjects
    produced meanwhile, which must be nothing (a global instrumentor that outlived its block)."""
    record = times[name]
    gc.collect()  # the previous block's garbage is not this block's cost
    before = _produced(subjects)
    try:
        subject.start()
        run_once(agent, workload, subject.callbacks())
        block_started = time.perf_counter_ns()
        run_ns: list[int] = []
        cpu_ns: list[int] = []
        for _ in range(runs):
            started, cpu_started = time.perf_counter_ns(), time.process_time_ns()
            run_once(agent, workload, subject.callbacks())
            run_ns.append(time.perf_counter_ns() - started)
            cpu_ns.append(time.process_time_ns() - cpu_started)
        subject.flush()
        if timed:
            record.block_ns_per_run.append((time.perf_counter_ns() - block_started) / runs)
            record.block_run_ns.append(run_ns)
            record.block_cpu_ns.append(cpu_ns)
        subject.stop()
    except Exception as error:  # noqa: BLE001  # one broken subject is reported; the others still run
        record.error = f"{type(error).__name__}: {error}"
        _progress(f"{name} failed: {record.error}")
        return []
    record.runs += runs + 1
    after = _produced(subjects)
    if after[name] >= 0:
        record.produced += after[name] - before[name]
        record.empty_blocks += after[name] == before[name]
    else:
        record.produced = -1
    return [
        {"subject": other, "during": name, "produced": after[other] - before[other]}
        for other in subjects
        if other != name and after[other] != before[other]
    ]


def _produced(subjects: dict[str, Subject]) -> dict[str, int]:
    """What every subject's sink holds, each pipeline flushed first: spans a leftover instrumentor made during
    another subject's block must not sit in a batch queue until its own block and pass as its own."""
    for subject in subjects.values():
        subject.flush()
    return {name: subject.produced() for name, subject in subjects.items()}


def _progress(message: str) -> None:
    print(f"    {message}", file=sys.stderr, flush=True)
