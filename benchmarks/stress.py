"""Load and faults, measured: concurrent sessions on one handler against a healthy, a down, an erroring and a slow
OTLP backend, each scenario in a fresh process, against the same workload untraced (a script, not a test)."""

# python -m benchmarks.stress [--sessions N] [--quick]

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider

from langchain_turntrace import TurnTraceCallbackHandler, dropped_spans
from langchain_turntrace.backends import provider_for
from tests.agents import three_turn_agent
from tests.otlp_receiver import OtlpReceiver, closed_port

ROOT = Path(__file__).resolve().parent.parent
FLUSH_S = 2.0  # handler.flush() and exit wait at most this long for a backend that is down or slow (quick: 1)
SLOW_S = 5.0
INPUT = {"messages": [HumanMessage("Weather in Paris and Rome?")]}

# scenario -> what the receiver does (None: nothing listens, connections are refused)
SCENARIOS: dict[str, Callable[[], OtlpReceiver] | None] = {
    "untraced": None,
    "healthy": lambda: OtlpReceiver(),
    "outage (refused)": None,
    "erroring (500)": lambda: OtlpReceiver(fail_first=10**9),
    f"slow ({SLOW_S:.0f} s/request)": lambda: OtlpReceiver(delay_s=SLOW_S),
}
EVENTS = (
    "on_chain_start",
    "on_chain_end",
    "on_chain_error",
    "on_chat_model_start",
    "on_llm_start",
    "on_llm_new_token",
    "on_llm_end",
    "on_llm_error",
    "on_tool_start",
    "on_tool_end",
    "on_tool_error",
    "on_retriever_start",
    "on_retriever_end",
    "on_retriever_error",
)


# -- one scenario, in its own process ------------------------------------------------------------------------


class TimedHandler(TurnTraceCallbackHandler):
    """Our handler with every callback timed (the benchmark's instrument; the package is not touched)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.durations_ns: dict[str, list[int]] = {event: [] for event in EVENTS}  # list.append is thread-safe


def _timed(name: str) -> Callable[..., Any]:
    callback: Callable[..., Any] = getattr(TurnTraceCallbackHandler, name)

    def timed(self: TimedHandler, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter_ns()
        try:
            return callback(self, *args, **kwargs)
        finally:
            self.durations_ns[name].append(time.perf_counter_ns() - started)

    timed.__name__ = name
    return timed


for _event in EVENTS:
    setattr(TimedHandler, _event, _timed(_event))


class GcPauses:
    """Time spent in the collector: with a thousand sessions alive a full collection takes 100+ ms, and it lands
    on whichever code allocates next (a callback as often as LangGraph): much of the callback tail."""

    def __init__(self) -> None:
        self.pauses_ns: list[int] = []
        self._started_ns = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started_ns = time.perf_counter_ns()
        else:
            self.pauses_ns.append(time.perf_counter_ns() - self._started_ns)


class StartedSpans(SpanProcessor):
    """Counts the spans handed to the pipeline: what the backend should receive."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self.count += 1


def percentiles_us(durations_ns: list[int]) -> dict[str, float]:
    cuts = statistics.quantiles(durations_ns, n=100) if len(durations_ns) > 1 else durations_ns * 99
    return {"p50_us": cuts[49] / 1e3, "p99_us": cuts[98] / 1e3, "mean_us": statistics.fmean(durations_ns) / 1e3}


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


async def _sessions(agent: Any, callbacks: list[Any], sessions: int) -> None:
    await asyncio.gather(
        *(
            agent.ainvoke(INPUT, config={"callbacks": callbacks, "metadata": {"session_id": f"s-{n}"}})
            for n in range(sessions)
        )
    )


def run_scenario(traced: bool, sessions: int, flush_s: float) -> dict[str, Any]:
    """``sessions`` concurrent runs of the three-turn agent; OTLP goes where OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    says, through the provider configure("otlp") would build."""
    agent = three_turn_agent()
    agent.invoke(INPUT)  # LangGraph's own first-run costs, outside the figures
    handler: TimedHandler | None = None
    started = StartedSpans()
    if traced:
        provider = provider_for("otlp", flush_timeout_s=flush_s)  # what configure("otlp") sends through
        assert isinstance(provider, TracerProvider)
        provider.add_span_processor(started)
        handler = TimedHandler(tracer_provider=provider, flush_timeout_s=flush_s)
    collector = GcPauses()
    gc.callbacks.append(collector)
    began = time.perf_counter()
    asyncio.run(_sessions(agent, [handler] if handler else [], sessions))
    wall_s = time.perf_counter() - began
    gc.callbacks.remove(collector)
    result: dict[str, Any] = {
        "wall_s": wall_s,
        "peak_rss_mb": peak_rss_mb(),
        "gc_s": sum(collector.pauses_ns) / 1e9,
        "gc_max_ms": max(collector.pauses_ns, default=0) / 1e6,
    }
    if handler is not None:
        began = time.perf_counter()
        result["flushed"] = handler.flush(timeout_s=flush_s)
        result["flush_s"] = time.perf_counter() - began
        durations = [d for by_event in handler.durations_ns.values() for d in by_event]
        result |= {
            "events": len(durations),
            **percentiles_us(durations),
            "by_event": {e: percentiles_us(d) | {"n": len(d)} for e, d in handler.durations_ns.items() if d},
            "started": started.count,
            "dropped_counted": dropped_spans(),
            "open_runs": handler.open_runs,
            "peak_rss_mb": peak_rss_mb(),
        }
    return result


# -- the table: every scenario in a fresh process --------------------------------------------------------------


@contextmanager
def backend(scenario: str) -> Generator[tuple[str, OtlpReceiver | None], None, None]:
    make = SCENARIOS[scenario]
    if make is None:
        yield f"http://127.0.0.1:{closed_port()}/v1/traces", None
        return
    with make() as receiver:
        yield receiver.url(), receiver


def measure(scenario: str, sessions: int, flush_s: float) -> dict[str, Any]:
    with backend(scenario) as (url, receiver):
        env = {**os.environ, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": url, "OTEL_SERVICE_NAME": "turntrace-stress"}
        env.pop("TURNTRACE_STRICT", None)  # production behaviour: callbacks never raise
        env.pop("TURNTRACE_TRACING", None)
        command = [sys.executable, "-m", "benchmarks.stress", "--scenario", scenario, "--sessions", str(sessions)]
        command += ["--flush-s", str(flush_s)]
        began = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
        process_s = time.perf_counter() - began
        if done.returncode != 0:
            raise SystemExit(f"{scenario}: the scenario process failed (exit {done.returncode}):\n{done.stderr}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        result["process_s"] = process_s
        result["received"] = receiver.spans if receiver is not None else 0
    return result


def gc_cell(result: dict[str, Any]) -> str:
    return f"{result['gc_s']:.1f} ({result['gc_max_ms']:.0f})"


def table(sessions: int, results: dict[str, dict[str, Any]]) -> str:
    base = results["untraced"]["wall_s"]
    columns = [
        "scenario",
        "sessions",
        "callback events",
        "spans started",
        "spans exported",
        "spans dropped",
        "dropped (turntrace count)",
        "peak RSS MB",
        "callback p50 µs",
        "callback p99 µs",
        "mean µs",
        "wall s",
        "GC s (max ms)",
        "+ms/session vs untraced",
        "flush s",
    ]
    rows = ["| " + " | ".join(columns) + " |", "|---|" + "--:|" * (len(columns) - 1)]
    for scenario, r in results.items():
        if "events" not in r:
            cells = [scenario, f"{sessions}", *["-"] * 5, f"{r['peak_rss_mb']:.0f}", "-", "-", "-"]
            rows.append("| " + " | ".join([*cells, f"{r['wall_s']:.1f}", gc_cell(r), "-", "-"]) + " |")
            continue
        cells = [
            scenario,
            f"{sessions}",
            f"{r['events']:,}",
            f"{r['started']:,}",
            f"{r['received']:,}",
            f"{r['started'] - r['received']:,}",
            f"{r['dropped_counted']:,}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['p50_us']:.0f}",
            f"{r['p99_us']:.0f}",
            f"{r['mean_us']:.0f}",
            f"{r['wall_s']:.1f}",
            gc_cell(r),
            f"{(r['wall_s'] - base) / sessions * 1e3:.2f}",
            f"{r['flush_s']:.1f}{'' if r['flushed'] else ' (gave up)'}",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def event_table(results: dict[str, dict[str, Any]], scenarios: list[str]) -> str:
    """Where the callback time goes: p50 / p99 µs per callback."""
    traced = [s for s in scenarios if "by_event" in results[s]]
    events = [e for e in EVENTS if any(e in results[s]["by_event"] for s in traced)]
    rows = [
        "| callback | calls | " + " | ".join(f"{s} p50 / p99 µs" for s in traced) + " |",
        "|---|--:|" + "--:|" * len(traced),
    ]
    for event in events:
        first = results[traced[0]]["by_event"].get(event, {"n": 0})
        cells: list[str] = []
        for scenario in traced:
            stats = results[scenario]["by_event"].get(event)
            cells.append(f"{stats['p50_us']:.0f} / {stats['p99_us']:.0f}" if stats else "-")
        rows.append(f"| {event} | {first['n']:,} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stress", description=__doc__)
    parser.add_argument("--sessions", type=int, default=None, help="concurrent sessions per scenario (1000)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 100 sessions")
    parser.add_argument("--scenario", choices=list(SCENARIOS), help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--flush-s", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sessions = args.sessions or (100 if args.quick else 1000)
    flush_s = args.flush_s or (1.0 if args.quick else FLUSH_S)

    if args.scenario is not None:
        print(json.dumps(run_scenario(args.scenario != "untraced", sessions, flush_s)))
        return

    began = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    for scenario in SCENARIOS:
        results[scenario] = measure(scenario, sessions, flush_s)
        print(f"  {scenario}: {results[scenario]['process_s']:.1f} s", file=sys.stderr, flush=True)
    failed = [s for s, r in results.items() if r.get("open_runs", 0) != 0]
    print(
        f"{sessions} concurrent sessions of the three-turn agent (10 spans each) on one handler, "
        f"configure('otlp')'s pipeline (queue 2048, batches of 512); each scenario a fresh process; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; {time.perf_counter() - began:.0f} s in all\n"
    )
    print(table(sessions, results))
    print()
    print(event_table(results, list(results)))
    print(
        "\nspans exported: as received by the OTLP receiver on 127.0.0.1; spans dropped: started - received "
        "(spans still queued when the process exits are lost too); dropped (turntrace count): "
        "langchain_turntrace.dropped_spans() at the end of the run; callback: one LangChain callback into the "
        f"handler, span pipeline included; flush s: handler.flush(timeout_s={flush_s:g}) after the run"
    )
    if failed:
        raise SystemExit(f"runs left open after the sessions ended: {failed}")


if __name__ == "__main__":
    main()
