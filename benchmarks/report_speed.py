"""How long ``turntrace report`` takes over a large store, against ``turntrace cost --by model`` on the same store.

    python -m benchmarks.report_speed [--runs 100000] [--days 28] [--repeat 3] [--keep PATH]

Fills a store with ``--runs`` agent runs (100,000: about 1M spans and 2 GB, 2-4 minutes): five real agent runs are
traced once through our handler (three-turn gpt-4o-mini, the demo's travel agent on gpt-4o, a research run with a
claude-sonnet-4-5 subagent, a run whose tool fails, a run on a model no price table knows), read back, and copied
with fresh ids, tags (feature, user, agent version, session), start times spread over ``--days`` UTC days, tool
latencies and token counts (with their costs and totals) varied, written through ``SpanStore.write`` in large
batches. Then the console scripts run as a user runs them, each ``--repeat`` times: ``turntrace report --since 30d
--html FILE`` (every section, the linked runs' waterfall pages included), the baseline ``turntrace cost --by model
--since 30d``, and ``turntrace --help``, which is the interpreter and the package's imports alone. Prints the
median wall time of each, the report's own time in this process (figures, then pages) and the ratio to the
baseline. ``--keep PATH`` keeps the store (and reuses it when it exists) to run again or look at query plans.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from langchain_core.messages import HumanMessage
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace import attributes as attr
from langchain_turntrace.demo import build_agent
from langchain_turntrace.store import SpanStore, SqliteSpanExporter, StoredSpan
from tests.agents import order_desk, research_desk, three_turn_agent, unpriced_agent

FEATURES: Final = ("support", "travel", "research", "billing", "search")
USERS: Final = tuple(f"user-{n:03d}" for n in range(200))
VERSIONS: Final = ("1.4.0", "1.5.0", "2.0.0")
NS_PER_DAY: Final = 86_400 * 10**9
BATCH_RUNS: Final = 2_000  # runs per write transaction
INPUT: Final = {"messages": [HumanMessage("go")]}


def _order_desk() -> Any:
    return order_desk(model_name="claude-haiku-4-5", provider="anthropic")


TEMPLATES: Final[tuple[tuple[Callable[[], Any], float], ...]] = (
    (three_turn_agent, 0.45),
    (build_agent, 0.30),
    (research_desk, 0.12),
    (_order_desk, 0.10),
    (unpriced_agent, 0.03),
)
"""(agent factory, share of the runs): four priced models, one tool that fails, one model no table prices."""


def traced_templates(directory: Path) -> list[list[StoredSpan]]:
    """Each template agent run once through our handler into a store, read back as the store keeps it."""
    path = directory / "templates.db"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SqliteSpanExporter(path)))
    handler = TurnTraceCallbackHandler(tracer_provider=provider, session_id="template")
    for factory, _ in TEMPLATES:
        factory().invoke(INPUT, config={"callbacks": [handler]})
    provider.shutdown()
    with SpanStore.open(path) as store:
        runs = sorted(store.runs(limit=len(TEMPLATES)), key=lambda r: r.start_ns)
        return [store.run_spans(run.run_id) for run in runs]


def _copies(templates: list[list[StoredSpan]], runs: int, days: int, now_ns: int) -> Iterator[StoredSpan]:
    rng = random.Random(7)
    weights = [share for _, share in TEMPLATES]
    for n in range(runs):
        template = rng.choices(templates, weights)[0]
        start = now_ns - rng.randrange(days * NS_PER_DAY) - NS_PER_DAY // 24
        tags = {
            attr.SESSION_ID: f"s-{n // 3:06d}",
            attr.GEN_AI_CONVERSATION_ID: f"s-{n // 3:06d}",
            attr.USER_ID: rng.choice(USERS),
            attr.FEATURE: rng.choice(FEATURES),
            attr.AGENT_VERSION: rng.choice(VERSIONS),
        }
        trace_id = f"{rng.getrandbits(128):032x}"
        ids = {span.span_id: f"{rng.getrandbits(64):016x}" for span in template}
        offset = start - template[0].start_ns
        slow = rng.lognormvariate(0, 0.8)  # tool latencies vary run to run
        scale = rng.lognormvariate(0, 0.6)  # and so do conversations: tokens and cost, totals alike
        for span in template:
            duration = span.end_ns - span.start_ns
            if span.operation == "execute_tool":
                duration = int(duration * slow) + rng.randrange(50_000_000)
            yield dataclasses.replace(
                span,
                trace_id=trace_id,
                span_id=ids[span.span_id],
                parent_span_id=ids.get(span.parent_span_id or "", span.parent_span_id),
                start_ns=span.start_ns + offset,
                end_ns=span.start_ns + offset + duration,
                attributes={**_scaled(span.attributes, scale), **tags},
                links=tuple(
                    dataclasses.replace(link, trace_id=trace_id, span_id=ids.get(link.span_id, link.span_id))
                    for link in span.links
                ),
            )


_SCALED: Final = (
    attr.GEN_AI_USAGE_INPUT_TOKENS,
    attr.GEN_AI_USAGE_OUTPUT_TOKENS,
    attr.COST_USD,
    attr.TOTAL_INPUT_TOKENS,
    attr.TOTAL_OUTPUT_TOKENS,
    attr.TOTAL_COST_USD,
)


def _scaled(attributes: dict[str, Any], scale: float) -> dict[str, Any]:
    out = dict(attributes)
    for key in _SCALED:
        value = out.get(key)
        if isinstance(value, float):
            out[key] = value * scale
        elif isinstance(value, int) and not isinstance(value, bool):
            out[key] = round(value * scale)
    return out


def fill(path: Path, runs: int, days: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        templates = traced_templates(Path(directory))
    started = time.perf_counter()
    batch: list[StoredSpan] = []
    per_batch = BATCH_RUNS * 12
    with SpanStore.open(path, create=True) as store:
        for span in _copies(templates, runs, days, time.time_ns()):
            batch.append(span)
            if len(batch) >= per_batch and span.parent_span_id is None:
                store.write(batch[:-1])
                batch = batch[-1:]
        store.write(batch)
        spans = store.spans_count()
    print(f"store: {runs:,} runs, {spans:,} spans over {days} days, written in {time.perf_counter() - started:.1f} s")


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {result.returncode}: {result.stderr.strip()}")
    return elapsed


def _in_process(path: Path, page: Path) -> tuple[float, float]:
    """The figures (``SpanStore.report``), then the pages (the report's and its run pages'), in this process."""
    from langchain_turntrace.cli._report import MAX_RUN_PAGES
    from langchain_turntrace.report import linked_runs, render_report
    from langchain_turntrace.waterfall import render_html

    with SpanStore.open(path) as store:
        started = time.perf_counter()
        figures = store.report(time.time_ns() - 30 * NS_PER_DAY)
        queried = time.perf_counter()
        runs = {run_id: render_html(store.run_spans(run_id)) for run_id in linked_runs(figures)[:MAX_RUN_PAGES]}
        page.write_text(render_report(figures, since="30d", run_pages={r: f"runs/{r}.html" for r in runs}))
        return queried - started, time.perf_counter() - queried


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000, help="agent runs in the store (default 100,000)")
    parser.add_argument("--days", type=int, default=28, help="UTC days the runs are spread over (default 28)")
    parser.add_argument("--repeat", type=int, default=3, help="timings of each command; the median counts (3)")
    parser.add_argument("--keep", type=Path, help="keep the store here (reused when the file exists)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = args.keep or Path(directory) / "report.db"
        if not path.exists():
            fill(path, args.runs, args.days)
        script = str(Path(sys.executable).parent / "turntrace")
        env = {**os.environ, "TURNTRACE_STORE": str(path)}
        page = Path(directory) / "report.html"
        commands = {
            "turntrace report --since 30d --html FILE": [script, "report", "--since", "30d", "--html", str(page)],
            "turntrace cost --by model --since 30d": [script, "cost", "--by", "model", "--since", "30d"],
            "turntrace --help (start-up alone)": [script, "--help"],
        }
        timings: dict[str, list[float]] = {name: [] for name in commands}
        parts: list[tuple[float, float]] = []
        for _ in range(args.repeat):
            for name, command in commands.items():
                timings[name].append(_timed(command, env))
            parts.append(_in_process(path, Path(directory) / "in-process.html"))
        pages = len(list((Path(directory) / "report-runs").glob("*.html")))
        size = page.stat().st_size
    medians = [statistics.median(values) for values in timings.values()]
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} (a busy machine inflates every figure)")
    for (name, values), median in zip(timings.items(), medians, strict=True):
        print(f"{name:<42} {median:6.2f} s  median of {args.repeat} ({', '.join(f'{v:.2f}' for v in values)})")
    report, cost, startup = medians
    print(
        f"in process: figures {statistics.median(p[0] for p in parts):.2f} s, pages "
        f"{statistics.median(p[1] for p in parts):.2f} s (the report, {size / 1e3:,.0f} kB, and {pages} run pages)"
    )
    print(
        f"report / cost --by model: {report / cost:.2f}x; beyond start-up: {report - startup:.2f} s against "
        f"{cost - startup:.2f} s. Target: report <= 2 s."
    )


if __name__ == "__main__":
    main()
