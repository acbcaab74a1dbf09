"""One memory process for one subject: after a warm-up, does resident memory or the count of live gc-tracked
objects grow over N more runs? (A leak check: state kept per run that is never freed shows up here.)"""

from __future__ import annotations

import gc
import os
import resource
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.overhead.offline import network_attempts
from benchmarks.overhead.subject import SubjectUnavailable
from benchmarks.overhead.subjects import all_subjects
from benchmarks.overhead.workload import Workload, run_once

FLUSH_EVERY_RUNS = 100  # so spans queued in a pipeline are not counted as the handler's memory


@dataclass
class MemoryPlan:
    subject: str
    turns: int = 5
    runs: int = 2000
    warmup_runs: int = 200


def rss_bytes() -> int:
    """Resident memory now (Linux /proc); elsewhere the peak, which can only over-report growth."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def live_objects() -> dict[str, int]:
    """Live gc-tracked objects by type, after full collections. A plain dict of str to int, which the collector
    stops tracking, so the count taken before the runs is not itself one more live object after them."""
    gc.collect()
    by_type = dict(Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects()))
    gc.collect()
    return by_type


def run_plan(plan: MemoryPlan) -> dict[str, Any]:
    workload = Workload(plan.turns)
    agent = workload.agent()
    subject = all_subjects()[plan.subject]()
    result: dict[str, Any] = {"plan": asdict(plan), "unit": subject.unit}
    try:
        subject.open()
    except SubjectUnavailable as missing:
        return result | {"unavailable": str(missing)}
    subject.start()
    for done in range(plan.warmup_runs):
        run_once(agent, workload, subject.callbacks())
        if (done + 1) % FLUSH_EVERY_RUNS == 0:
            subject.flush()
    subject.flush()
    produced_before = subject.produced()
    objects_before = live_objects()  # collects first, so both figures see the same heap
    rss_before = rss_bytes()
    for done in range(plan.runs):
        run_once(agent, workload, subject.callbacks())
        if (done + 1) % FLUSH_EVERY_RUNS == 0:
            subject.flush()
        if (done + 1) % 500 == 0:
            print(f"    memory {plan.subject}: {done + 1}/{plan.runs} runs", file=sys.stderr, flush=True)
    subject.flush()
    objects_after = live_objects()
    rss_after = rss_bytes()
    growing = Counter(objects_after)
    growing.subtract(objects_before)  # what a leak is made of, for whoever hunts it
    produced = subject.produced() - produced_before if produced_before >= 0 else -1
    subject.stop()
    subject.close()
    return result | {
        "rss_before": rss_before,
        "rss_growth": rss_after - rss_before,
        "objects_before": sum(objects_before.values()),
        "objects_growth": sum(objects_after.values()) - sum(objects_before.values()),
        "growing_types": [[name, count] for name, count in growing.most_common(3) if count > 0],
        "produced": produced,
        "network_attempts": network_attempts(),
    }
