"""``benchmarks/run --profile SUBJECT``: where one subject's time goes. Two views: every callback of the
subject's handlers timed on whichever thread runs it (LangGraph runs tool calls on worker threads), and a
sampling profile (pyinstrument, else cProfile) of the frames beneath our package."""

from __future__ import annotations

import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from benchmarks.overhead.subject import Subject
from benchmarks.overhead.subjects import all_subjects
from benchmarks.overhead.workload import Workload, run_once

PACKAGE_PATH = "/langchain_turntrace/"


def time_callbacks(handlers: list[BaseCallbackHandler]) -> dict[str, list[int]]:
    """Wraps each handler's callbacks on the instance (the class is untouched) to record their durations."""
    durations: dict[str, list[int]] = defaultdict(list)  # list.append is atomic: safe from tool threads
    for handler in handlers:
        for event in [name for name in dir(handler) if name.startswith("on_")]:
            setattr(handler, event, _timed(getattr(handler, event), durations[event]))
    return durations


def _timed(callback: Callable[..., Any], durations: list[int]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter_ns()
        try:
            return callback(*args, **kwargs)
        finally:
            durations.append(time.perf_counter_ns() - started)

    return timed


def profile(name: str, runs: int, turns: int, input_bytes: int, top: int) -> None:
    subject: Subject = all_subjects()[name]()
    subject.open()
    workload = Workload(turns, input_bytes)
    agent = workload.agent()
    subject.start()
    for _ in range(20):
        run_once(agent, workload, subject.callbacks())
    subject.flush()
    handlers = subject.callbacks()
    durations = time_callbacks(handlers)
    started = time.perf_counter()
    for _ in range(runs):
        run_once(agent, workload, handlers)
    wall_s = time.perf_counter() - started
    subject.flush()
    print(
        f"# profile of {name}: {runs} runs of {workload.label}, {wall_s / runs * 1e6:,.0f} µs/run (callbacks timed)\n"
    )
    print("| callback | calls/run | µs/call (mean) | µs/run |\n|---|--:|--:|--:|")
    for event, values in sorted(durations.items(), key=lambda item: -sum(item[1])):
        if values:
            mean_us, per_run_us = sum(values) / len(values) / 1e3, sum(values) / runs / 1e3
            print(f"| {event} | {len(values) / runs:g} | {mean_us:,.1f} | {per_run_us:,.0f} |")
    total_us = sum(sum(values) for values in durations.values()) / runs / 1e3
    print(f"| **all callbacks** | | | **{total_us:,.0f}** |\n")
    for handler in handlers:  # the plain class methods again for the sampling profile
        for event in durations:
            handler.__dict__.pop(event, None)
    try:
        _pyinstrument(agent, workload, handlers, runs, top)
    except ImportError:
        print("(pyinstrument is not installed: pip install -e '.[bench]'; falling back to cProfile)\n")
        _cprofile(agent, workload, handlers, runs, top)
    subject.stop()
    subject.close()


def _pyinstrument(agent: Any, workload: Workload, handlers: list[BaseCallbackHandler], runs: int, top: int) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0001)
    profiler.start()
    for _ in range(runs):
        run_once(agent, workload, handlers)
    session = profiler.stop()
    root = session.root_frame()
    if root is None:
        print("pyinstrument recorded no samples")
        return
    self_s: Counter[str] = Counter()
    inside_s = 0.0

    def walk(frame: Any, inside: bool) -> None:
        nonlocal inside_s
        if frame.is_synthetic:  # pyinstrument's "[self]" leaves: counted through their parent's total_self_time
            return
        ours = _is_handler_code(frame.file_path or "")
        if ours and not inside:
            inside_s += frame.time
        if inside or ours:
            self_s[f"{frame.function} ({frame.file_path_short}:{frame.line_no})"] += frame.total_self_time
        for child in frame.children:
            walk(child, inside or ours)

    walk(root, False)
    sampled_us = session.duration / runs * 1e6
    print(
        f"## pyinstrument, main thread only: {sampled_us:,.0f} µs/run sampled (the profiler's own hooks inflate "
        f"call-heavy code), {inside_s / runs * 1e6:,.0f} of them ({inside_s / session.duration:.0%}) beneath our "
        "package. Tool-call callbacks run on LangGraph's worker threads: they are in the table above, not here.\n"
    )
    print(f"Top {top} functions by self time beneath our package (OTel SDK, hashing, pricing included):\n")
    print("| µs/run sampled | share | function |\n|--:|--:|---|")
    for where, seconds in self_s.most_common(top):
        print(f"| {seconds / runs * 1e6:,.1f} | {seconds / max(inside_s, 1e-9):.1%} | {where} |")


def _is_handler_code(path: str) -> bool:
    """Our package, less the scripted chat model the workload runs on."""
    return PACKAGE_PATH in path and not path.endswith("langchain_turntrace/testing.py")


def _cprofile(agent: Any, workload: Workload, handlers: list[BaseCallbackHandler], runs: int, top: int) -> None:
    import cProfile
    import pstats
    import threading

    profiles: list[cProfile.Profile] = []

    def in_thread(*args: Any) -> None:  # each worker thread profiles itself from its first call on
        sys.setprofile(None)
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()

    main = cProfile.Profile()
    threading.setprofile(in_thread)
    main.enable()
    for _ in range(runs):
        run_once(agent, workload, handlers)
    main.disable()
    threading.setprofile(None)
    for profile in profiles:
        profile.disable()
    stats = pstats.Stats(main, *profiles, stream=sys.stdout)
    print("## cProfile, all threads (deterministic: inflates small functions), frames in our package\n")
    stats.sort_stats("tottime").print_stats(r"langchain_turntrace/(?!testing)", top)
