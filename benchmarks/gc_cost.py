"""What the garbage collector costs per agent run once a process has run for a while: the timing benchmark
starts each block with ``gc.collect()``, which keeps the old generation's collections out of its figures.

    python -m benchmarks.gc_cost [--runs 1500]

Each subject runs in a process of its own (the collector is process-wide), into a BatchSpanProcessor with a sink
that keeps nothing: 50 warm-up runs, ``gc.collect()``, then the measured runs. Prints, per subject, the
collections of each generation per run and the time spent in them (``gc.callbacks``).
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import time
from typing import Any, Final

from langchain_core.callbacks import BaseCallbackHandler

from benchmarks.overhead.offline import forbid_network
from benchmarks.overhead.subject import counting_provider
from benchmarks.overhead.subjects import our_handler, payload_floor_handler
from benchmarks.overhead.workload import Workload, run_once

SUBJECTS: Final = ("baseline", "payload-floor", "ours-batch")


class _GcClock:
    """Collections and the time spent in them, per generation, while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.collections = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if not self.on:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            generation = info["generation"]
            self.collections[generation] += 1
            self.seconds[generation] += time.perf_counter() - self._started


def _subject(name: str) -> list[BaseCallbackHandler]:
    if name == "baseline":
        return []
    make = payload_floor_handler if name == "payload-floor" else our_handler
    provider, _ = counting_provider(batch=True)
    return [make(provider)]


def _measure(name: str, runs: int) -> str:
    """One subject in this process: a table row."""
    forbid_network()
    workload = Workload()
    agent = workload.agent()
    callbacks = _subject(name)
    clock = _GcClock()
    for _ in range(50):
        run_once(agent, workload, callbacks)
    gc.collect()
    clock.on = True
    for _ in range(runs):
        run_once(agent, workload, callbacks)
    clock.on = False
    per_run = [count / runs for count in clock.collections]
    return (
        f"| {name} | {per_run[0]:.2f} / {per_run[1]:.3f} / {per_run[2]:.4f} | {sum(clock.seconds) / runs * 1e6:,.0f} "
        f"| {clock.seconds[2] / runs * 1e6:,.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1500, help="measured runs per subject (1500)")
    parser.add_argument("--subject", choices=SUBJECTS, help=argparse.SUPPRESS)  # the child process's
    args = parser.parse_args()
    if args.subject:
        print(_measure(args.subject, args.runs))
        return
    print(f"| subject ({args.runs:,} runs each) | gen0 / gen1 / gen2 collections per run | GC µs/run | of which gen2 |")
    print("|---|--:|--:|--:|")
    for name in SUBJECTS:  # a fresh process each: the old generation holds only what this subject left
        command = [sys.executable, "-m", "benchmarks.gc_cost", "--subject", name, "--runs", str(args.runs)]
        print(subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
