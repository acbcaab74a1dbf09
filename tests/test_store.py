"""The local span store through the real pipeline: agents -> TracerProvider -> SqliteSpanExporter -> SpanStore."""

from __future__ import annotations

import importlib
import json
import logging
import multiprocessing
import os
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.store import (
    DEFAULT_RETENTION_DAYS,
    CostRow,
    SpanStore,
    SqliteSpanExporter,
    StoredLink,
    StoredSpan,
    StoreError,
    default_store_path,
)
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from langchain_turntrace.version import INSTRUMENTATION_SCOPE
from tests import store_writer
from tests.agents import create_agent, research, three_turn_agent
from tests.spans import Spans

INPUT = {"messages": [HumanMessage("Weather in Paris and Rome?")]}
MS = 1_000_000
DAY_NS = 86_400 * 10**9
NOW_NS = time.time_ns()
LOGGER = "langchain_turntrace"
# Private module state, reached by name: tests reset the warn-once set and extend the migration list.
retention_module: Any = importlib.import_module("langchain_turntrace.store._retention")
schema_module: Any = importlib.import_module("langchain_turntrace.store._schema")
exporter_module = "langchain_turntrace.store._exporter"


# -- fixtures and helpers ----------------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "t.db"


@pytest.fixture
def stored(provider: TracerProvider, db: Path) -> Path:
    """The conftest provider (which also fills the in-memory exporter) writing to a store, as in production."""
    provider.add_span_processor(BatchSpanProcessor(SqliteSpanExporter(db)))
    return db


def run_agent(provider: TracerProvider, agent: Any = None, **metadata: str) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    (agent or three_turn_agent()).invoke(INPUT, config={"callbacks": [handler], "metadata": metadata})


def as_stored(span: ReadableSpan) -> StoredSpan:
    """What the store must give back for an SDK span: ids as hex, attributes as JSON allows (tuples -> lists)."""
    assert span.context is not None
    assert span.start_time is not None
    assert span.end_time is not None
    return StoredSpan(
        trace_id=f"{span.context.trace_id:032x}",
        span_id=f"{span.context.span_id:016x}",
        parent_span_id=f"{span.parent.span_id:016x}" if span.parent else None,
        name=span.name,
        kind=span.kind.name,
        start_ns=span.start_time,
        end_ns=span.end_time,
        status=span.status.status_code.name,
        attributes=json.loads(json.dumps(dict(span.attributes or {}))),
        links=tuple(
            StoredLink(
                f"{link.context.trace_id:032x}",
                f"{link.context.span_id:016x}",
                json.loads(json.dumps(dict(link.attributes or {}))),
            )
            for link in span.links
        ),
    )


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def span_hex(span: ReadableSpan | Span) -> str:
    context = span.get_span_context()
    assert context is not None
    return f"{context.span_id:016x}"


def trace_hex(span: ReadableSpan | Span) -> str:
    context = span.get_span_context()
    assert context is not None
    return f"{context.trace_id:032x}"


def sql(path: Path, query: str, *params: object) -> list[Any]:
    """A raw read, bypassing the store's API."""
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(query, params).fetchall()


class FixedIds(IdGenerator):
    """The given span ids first, then random ones: runs with chosen id prefixes."""

    def __init__(self, *span_ids: int) -> None:
        self._span_ids = list(span_ids)
        self._random = RandomIdGenerator()

    def generate_span_id(self) -> int:
        return self._span_ids.pop(0) if self._span_ids else self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        return self._random.generate_trace_id()


class Synthetic:
    """Spans with chosen times, ids and attributes, through the real SDK and a SqliteSpanExporter (whose
    retention is long, so that it keeps the old spans these tests plant)."""

    def __init__(self, path: Path, *span_ids: int) -> None:
        self.provider = TracerProvider(id_generator=FixedIds(*span_ids))
        self.provider.add_span_processor(SimpleSpanProcessor(SqliteSpanExporter(path, retention_days=3650)))
        self._tracer = self.provider.get_tracer(INSTRUMENTATION_SCOPE)  # spans standing in for ours

    def span(
        self,
        name: str,
        start_ns: int,
        duration_ms: float = 1.0,
        *,
        parent: Span | None = None,
        error: bool = False,
        attributes: Mapping[str, Any] | None = None,
    ) -> Span:
        context = trace.set_span_in_context(parent) if parent is not None else None
        span = self._tracer.start_span(
            name, context=context, kind=SpanKind.INTERNAL, attributes=dict(attributes or {}), start_time=start_ns
        )
        if error:
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=start_ns + int(duration_ms * MS))
        return span

    def agent(
        self,
        start_ns: int,
        duration_ms: float = 100.0,
        *,
        error: bool = False,
        attributes: Mapping[str, Any] | None = None,
    ) -> Span:
        merged = {**(attributes or {}), "gen_ai.operation.name": "invoke_agent"}
        return self.span("invoke_agent agent", start_ns, duration_ms, error=error, attributes=merged)

    def tool(self, name: str, start_ns: int, duration_ms: float, parent: Span | None, *, error: bool = False) -> Span:
        attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}
        return self.span(
            f"execute_tool {name}", start_ns, duration_ms, parent=parent, error=error, attributes=attributes
        )

    def chat(self, start_ns: int, parent: Span | None = None, attributes: Mapping[str, Any] | None = None) -> Span:
        merged = {"gen_ai.operation.name": "chat", **(attributes or {})}
        return self.span("chat", start_ns, parent=parent, attributes=merged)


@pytest.fixture
def synthetic(db: Path) -> Iterator[Synthetic]:
    emitter = Synthetic(db)
    yield emitter
    emitter.provider.shutdown()


def stored_span(trace_id: str, span_id: str, start_ns: int, end_ns: int, parent: str | None = None) -> StoredSpan:
    return StoredSpan(trace_id, span_id, parent, "turn 1", "INTERNAL", start_ns, end_ns, "UNSET", {})


# -- round trip --------------------------------------------------------------------------------------------


def test_round_trip_keeps_every_span_and_attribute(
    provider: TracerProvider, exporter: InMemorySpanExporter, stored: Path
) -> None:
    run_agent(provider, session_id="s-1", user_id="u-1", feature="weather", agent_version="v7")
    run_agent(provider, session_id="s-2", user_id="u-2")
    assert provider.force_flush()

    originals = exporter.get_finished_spans()
    assert len(originals) == 20
    with SpanStore.open(stored) as store:
        assert store.spans_count() == 20
        back = {s.span_id: s for run in store.runs() for s in store.run_spans(run.run_id)}
    assert back == {span_hex(s): as_stored(s) for s in originals}

    chat = next(s for s in back.values() if s.name.startswith("chat"))
    assert type(chat.attributes["gen_ai.usage.input_tokens"]) is int
    assert type(chat.attributes["turntrace.cost_usd"]) is float
    assert chat.attributes["gen_ai.response.finish_reasons"] == ["tool_calls"]  # a tuple, as JSON allows
    assert chat.kind == "CLIENT"
    root = next(s for s in back.values() if s.parent_span_id is None and s.attributes["session.id"] == "s-1")
    assert root.attributes["turntrace.turn_count"] == 3
    assert root.status == "UNSET"


def test_queried_attributes_are_copied_into_indexed_columns(
    provider: TracerProvider, exporter: InMemorySpanExporter, stored: Path
) -> None:
    run_agent(provider, session_id="s-1", user_id="u-1", feature="weather", agent_version="v7")
    assert provider.force_flush()
    columns = "operation, model, tool, session, user_id, feature, agent_version, input_tokens, output_tokens, cost_usd"
    rows = {row[0]: row[1:] for row in sql(stored, f"SELECT span_id, {columns} FROM spans")}
    for span in exporter.get_finished_spans():
        a = attrs(span)
        model = a.get("gen_ai.response.model", a.get("gen_ai.request.model"))
        expected = (
            a.get("gen_ai.operation.name"),  # turn spans have none
            model,
            a.get("gen_ai.tool.name"),
            "s-1",
            "u-1",
            "weather",
            "v7",
            a.get("gen_ai.usage.input_tokens"),
            a.get("gen_ai.usage.output_tokens"),
            a.get("turntrace.cost_usd"),
        )
        assert rows[span_hex(span)] == expected, span.name
    chats = [r for r in rows.values() if r[0] == "chat"]
    assert len(chats) == 3
    assert all(r[7] is not None for r in chats)  # tokens only on chat spans
    assert all(r[7] is None for r in rows.values() if r[0] != "chat")
    # Every queried column leads an index (spans_session_runs serves the session and a session's runs in order).
    leading = {
        (table, column)
        for (name, table) in sql(stored, "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'")
        for (_, _, column) in sql(stored, f"PRAGMA index_info('{name}')")[:1]
    }
    queried = ("trace_id", "parent_span_id", "start_ns", "operation", "model", "tool", "session", "user_id")
    assert {("spans", column) for column in (*queried, "feature", "agent_version")} <= leading
    assert ("traces", "end_ns") in leading


# -- runs and one run's spans ------------------------------------------------------------------------------


def test_runs_are_root_agents_newest_first_with_their_rollups(
    provider: TracerProvider, exporter: InMemorySpanExporter, stored: Path
) -> None:
    tags = [("s-a", "u-1", "search"), ("s-b", "u-1", "booking"), ("s-c", "u-2", "search")]
    for session, user, feature in tags:
        run_agent(provider, session_id=session, user_id=user, feature=feature, agent_version="v1")
    assert provider.force_flush()
    roots = Spans(exporter).roots()

    with SpanStore.open(stored) as store:
        runs = store.runs()
        assert [r.session for r in runs] == ["s-c", "s-b", "s-a"]
        newest, root = runs[0], roots[-1]
        a = attrs(root)
        assert (newest.run_id, newest.trace_id) == (span_hex(root), trace_hex(root))
        assert (newest.start_ns, newest.end_ns) == (root.start_time, root.end_time)
        assert newest.duration_ms == pytest.approx(((root.end_time or 0) - (root.start_time or 0)) / 1e6)
        assert (newest.agent, newest.user_id, newest.feature, newest.agent_version) == ("agent", "u-2", "search", "v1")
        assert (newest.turns, newest.tool_calls) == (3, 3)
        assert (newest.input_tokens, newest.output_tokens) == (450, 90)
        assert newest.cost_usd == a["turntrace.total_cost_usd"]
        assert newest.status == "ok"

        assert [r.session for r in store.runs(None, "s-b", None, None)] == ["s-b"]
        assert [r.session for r in store.runs(user="u-1")] == ["s-b", "s-a"]
        assert [r.session for r in store.runs(feature="search")] == ["s-c", "s-a"]
        assert [r.session for r in store.runs(None, None, "u-1", "search")] == ["s-a"]
        assert [r.session for r in store.runs(limit=2)] == ["s-c", "s-b"]
        assert [r.session for r in store.runs(since_ns=roots[1].start_time)] == ["s-c", "s-b"]
        assert store.runs(session="nobody") == []


def supervisor() -> Any:
    model = ScriptedChatModel(
        script=[tool_calls_message(("research", {"question": "q"}, "outer_1")), answer_message("done")]
    )
    return create_agent(model, [research], name="supervisor")


def test_a_nested_agent_is_part_of_its_run(
    provider: TracerProvider, exporter: InMemorySpanExporter, stored: Path
) -> None:
    run_agent(provider, supervisor(), session_id="s-n")
    assert provider.force_flush()
    spans = Spans(exporter)
    nested = spans.one("invoke_agent researcher")

    with SpanStore.open(stored) as store:
        (run,) = store.runs()
        assert run.agent == "supervisor"
        assert run.run_id == span_hex(spans.one("invoke_agent supervisor"))
        assert len(store.run_spans(run.run_id)) == len(spans.all()) == 12
        with pytest.raises(StoreError, match="no run matches"):
            store.run_spans(span_hex(nested))  # a nested agent is not a run of its own
        # The only get_weather call ran inside the nested agent: its run is the supervisor's.
        (weather,) = [t for t in store.top_tools("calls") if t.tool == "get_weather"]
        assert (weather.slowest_run_id, weather.slowest_trace_id) == (run.run_id, run.trace_id)
        by_model = {row.key: row for row in store.cost_by("model")}
    chats = [attrs(s) for s in spans.named("chat")]
    assert set(by_model) == {"gpt-4o-mini", "claude-sonnet-4-5"}
    assert by_model["claude-sonnet-4-5"].input_tokens == 2200
    assert sum(r.cost_usd for r in by_model.values()) == pytest.approx(sum(c["turntrace.cost_usd"] for c in chats))
    assert sum(r.cost_usd for r in by_model.values()) == pytest.approx(run.cost_usd)


def test_run_status_from_the_root_span(synthetic: Synthetic, db: Path) -> None:
    synthetic.agent(NOW_NS)
    synthetic.agent(NOW_NS + 1, error=True, attributes={"error.type": "RuntimeError"})
    synthetic.agent(NOW_NS + 2, attributes={"turntrace.interrupted": True})
    synthetic.agent(NOW_NS + 3, attributes={"turntrace.incomplete": True})
    with SpanStore.open(db) as store:
        runs = store.runs()
    assert [r.status for r in runs] == ["incomplete", "interrupted", "error", "ok"]
    assert [(r.turns, r.input_tokens, r.cost_usd) for r in runs] == [(0, 0, None)] * 4  # no totals recorded


def test_run_spans_by_id_prefix_or_trace_id(provider: TracerProvider, stored: Path) -> None:
    run_agent(provider)
    run_agent(provider)
    assert provider.force_flush()
    with SpanStore.open(stored) as store:
        run = store.runs()[0]
        spans = store.run_spans(run.run_id)
        assert len(spans) == 10
        assert {s.trace_id for s in spans} == {run.trace_id}
        assert [s.start_ns for s in spans] == sorted(s.start_ns for s in spans)
        assert spans[0].span_id == run.run_id  # the root starts first
        assert store.run_spans(run.run_id[:12]) == spans
        assert store.run_spans(run.run_id.upper()) == spans
        assert store.run_spans(run.trace_id) == spans


def test_run_spans_refuses_ambiguous_and_unknown_ids(db: Path) -> None:
    emitter = Synthetic(db, 0xABC1000000000001, 0x0000000000000002, 0xABC2000000000001)
    first = emitter.agent(NOW_NS)
    turn = emitter.span("turn 1", NOW_NS + 1, parent=first)
    emitter.agent(NOW_NS + 2)
    emitter.provider.shutdown()
    with SpanStore.open(db) as store:
        with pytest.raises(StoreError, match=r"^'abc' matches 2 runs; give more characters$"):
            store.run_spans("abc")
        assert store.run_spans("abc1")[0].span_id == "abc1000000000001"
        for unknown in ("ffff", "xyz!", "", span_hex(turn), "0" * 32):
            with pytest.raises(StoreError, match=r"no run matches .*; list runs with `turntrace runs`"):
                store.run_spans(unknown)


# -- cost --------------------------------------------------------------------------------------------------

DIMENSION_KEYS: dict[str, Callable[[dict[str, Any], int], Any]] = {
    "model": lambda a, _: a.get("gen_ai.response.model", a.get("gen_ai.request.model")),
    "feature": lambda a, _: a.get("turntrace.feature"),
    "user": lambda a, _: a.get("user.id"),
    "session": lambda a, _: a.get("session.id"),
    "agent_version": lambda a, _: a.get("turntrace.agent_version"),
    "day": lambda _, start: datetime.fromtimestamp(start / 1e9, tz=timezone.utc).strftime("%Y-%m-%d"),
}


@pytest.mark.parametrize("dimension", list(DIMENSION_KEYS))
def test_cost_by_each_dimension_sums_model_calls_once(
    provider: TracerProvider, exporter: InMemorySpanExporter, stored: Path, dimension: str
) -> None:
    run_agent(provider, session_id="s-1", user_id="u-1", feature="search", agent_version="v1")
    run_agent(provider, session_id="s-2", user_id="u-1", feature="search", agent_version="v2")
    run_agent(provider, session_id="s-3", user_id="u-2", feature="booking")
    assert provider.force_flush()
    spans = Spans(exporter)

    expected: dict[Any, list[float]] = {}
    for chat in spans.named("chat"):
        a = attrs(chat)
        row = expected.setdefault(DIMENSION_KEYS[dimension](a, chat.start_time or 0), [0, 0, 0, 0.0])
        row[0] += 1
        row[1] += a["gen_ai.usage.input_tokens"]
        row[2] += a["gen_ai.usage.output_tokens"]
        row[3] += a["turntrace.cost_usd"]
    with SpanStore.open(stored) as store:
        rows = store.cost_by(dimension)
    assert {r.key: [r.calls, r.input_tokens, r.output_tokens, r.cost_usd] for r in rows} == {
        key: [calls, tokens_in, tokens_out, pytest.approx(cost)]
        for key, (calls, tokens_in, tokens_out, cost) in expected.items()
    }
    assert all(r.unpriced_calls == 0 for r in rows)
    assert [r.cost_usd for r in rows] == sorted((r.cost_usd for r in rows), reverse=True)
    totals = sum(attrs(root)["turntrace.total_cost_usd"] for root in spans.roots())
    assert sum(r.cost_usd for r in rows) == pytest.approx(totals)  # the roots' totals: nothing counted twice


def test_cost_by_counts_unpriced_calls_days_and_since(synthetic: Synthetic, db: Path) -> None:
    old = NOW_NS - 2 * DAY_NS
    root = synthetic.agent(NOW_NS, attributes={"turntrace.total_cost_usd": 99.0, "turntrace.total_input_tokens": 99})
    usage = {"gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 10}
    synthetic.chat(NOW_NS, root, {**usage, "gen_ai.request.model": "known", "turntrace.cost_usd": 0.5})
    synthetic.chat(NOW_NS, root, {**usage, "gen_ai.request.model": "mystery"})  # tokens, no price
    synthetic.chat(NOW_NS, root, {"gen_ai.request.model": "mystery"})  # no usage reported: not "unpriced"
    completion = {
        "gen_ai.operation.name": "text_completion",
        "gen_ai.response.model": "known",
        "turntrace.cost_usd": 0.25,
    }
    synthetic.chat(old, None, {**usage, **completion})
    with SpanStore.open(db) as store:
        assert store.cost_by("model") == [
            CostRow("known", 2, 200, 20, 0.75, 0),
            CostRow("mystery", 2, 100, 10, 0.0, 1),
        ]
        days = {r.key: r.calls for r in store.cost_by("day")}
        day = datetime.fromtimestamp(NOW_NS / 1e9, tz=timezone.utc).strftime("%Y-%m-%d")
        old_day = datetime.fromtimestamp(old / 1e9, tz=timezone.utc).strftime("%Y-%m-%d")
        assert days == {day: 3, old_day: 1}
        assert [(r.key, r.calls) for r in store.cost_by("model", NOW_NS - DAY_NS)] == [("known", 1), ("mystery", 2)]
        assert store.cost_by("feature") == [CostRow(None, 4, 300, 30, 0.75, 1)]


def test_cost_by_rejects_an_unknown_dimension(synthetic: Synthetic, db: Path) -> None:
    synthetic.agent(NOW_NS)
    with (
        SpanStore.open(db) as store,
        pytest.raises(ValueError, match="model, feature, user, day, agent_version, session"),
    ):
        store.cost_by("colour")


# -- tools -------------------------------------------------------------------------------------------------


def test_top_tools_by_latency_errors_and_calls(synthetic: Synthetic, db: Path) -> None:
    first = synthetic.agent(NOW_NS)
    second = synthetic.agent(NOW_NS + MS)
    for i, ms in enumerate([10, 20, 30, 40]):
        synthetic.tool("search", NOW_NS + i, ms, first)
    slowest = synthetic.tool("search", NOW_NS + MS, 100, synthetic.span("turn 1", NOW_NS + MS, parent=second))
    synthetic.tool("book", NOW_NS, 50, first, error=True)
    synthetic.tool("book", NOW_NS, 60, second, error=True)
    old = NOW_NS - 2 * DAY_NS
    for i in range(6):
        synthetic.tool("lookup", old + i, 1, synthetic.agent(old + i), error=i == 0)
    synthetic.tool("solo", NOW_NS, 5, None)  # a lone tool call, outside any agent run

    with SpanStore.open(db) as store:
        by_latency = store.top_tools("latency")
        assert [t.tool for t in by_latency] == ["search", "book", "solo", "lookup"]
        search = by_latency[0]
        assert (search.calls, search.errors) == (5, 0)
        assert search.p50_ms == pytest.approx(30)
        assert search.p95_ms == pytest.approx(40 + (100 - 40) * 0.8)  # linear between ranks
        assert search.max_ms == pytest.approx(100)
        assert (search.slowest_run_id, search.slowest_trace_id) == (span_hex(second), trace_hex(slowest))
        book = by_latency[1]
        assert (book.calls, book.errors, book.p50_ms, book.p95_ms) == (2, 2, pytest.approx(55), pytest.approx(59.5))
        assert book.slowest_run_id == span_hex(second)
        assert by_latency[2].slowest_run_id == ""

        assert [(t.tool, t.errors) for t in store.top_tools("errors")][:3] == [
            ("book", 2),
            ("lookup", 1),
            ("search", 0),
        ]
        assert [(t.tool, t.calls) for t in store.top_tools("calls", limit=2)] == [("lookup", 6), ("search", 5)]
        assert [t.tool for t in store.top_tools("calls", NOW_NS - DAY_NS)] == ["search", "book", "solo"]
        assert store.top_tools("latency", NOW_NS + DAY_NS) == []
        with pytest.raises(ValueError, match="latency, errors, calls"):
            store.top_tools("speed")


# -- files -------------------------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_store_files_are_owner_only_whatever_the_umask(provider: TracerProvider, tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "t.db"
    previous = os.umask(0)  # the most permissive umask: the modes must come from the store itself
    try:
        SpanStore.open(path, create=True).close()
    finally:
        os.umask(previous)
    provider.add_span_processor(BatchSpanProcessor(SqliteSpanExporter(path)))
    run_agent(provider)
    assert provider.force_flush()
    assert {f.name: f.stat().st_mode & 0o777 for f in path.parent.iterdir()} == {
        "t.db": 0o600,
        "t.db-wal": 0o600,
        "t.db-shm": 0o600,
    }
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "a" / "b").stat().st_mode & 0o777 == 0o700
    assert sql(path, "PRAGMA journal_mode") == [("wal",)]


def test_default_store_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TURNTRACE_STORE", str(tmp_path / "mine.db"))
    assert default_store_path() == tmp_path / "mine.db"
    monkeypatch.delenv("TURNTRACE_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_store_path() == tmp_path / "data" / "turntrace" / "traces.db"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")  # invalid by the XDG spec: ignored
    assert default_store_path() == tmp_path / "home" / ".local" / "share" / "turntrace" / "traces.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_store_path() == tmp_path / "home" / ".local" / "share" / "turntrace" / "traces.db"


def test_missing_store_says_how_to_create_one(tmp_path: Path) -> None:
    path = tmp_path / "none.db"
    with pytest.raises(StoreError, match=r"no turntrace store at .*`turntrace demo`.*TURNTRACE_STORE"):
        SpanStore.open(path, create=False)
    assert not path.exists()  # reading never creates a store


def test_corrupt_and_foreign_files_are_refused_without_sqlite_tracebacks(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(os.urandom(8192))
    foreign = tmp_path / "foreign.db"
    with closing(sqlite3.connect(foreign)) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
        connection.execute("PRAGMA user_version = 3")
    before = foreign.read_bytes()
    for path in (corrupt, foreign):
        for create in (False, True):
            with pytest.raises(
                StoreError, match=r"is not a turntrace store \(or is corrupt\): move it aside"
            ) as raised:
                SpanStore.open(path, create=create)
            error = raised.value
            assert error.__suppress_context__ or error.__context__ is None  # no chained sqlite3 traceback
    assert foreign.read_bytes() == before  # never modified, not even switched to WAL


# -- schema versions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("empty", ["zero bytes", "sqlite header"])
def test_a_version_0_file_is_migrated_to_the_current_schema(db: Path, empty: str) -> None:
    if empty == "zero bytes":
        db.touch()
    else:
        with closing(sqlite3.connect(db)) as connection:  # a real header page, user_version 0, no tables
            connection.execute("CREATE TABLE t (x)")
            connection.execute("DROP TABLE t")
    with SpanStore.open(db) as store:
        store.write([stored_span("a" * 32, "b" * 16, NOW_NS, NOW_NS + 1)])
        assert store.spans_count() == 1
    assert sql(db, "PRAGMA user_version") == [(len(schema_module.MIGRATIONS),)]
    tables = {name for (name,) in sql(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"spans", "traces", "links"}


def test_migrations_run_forward_in_order(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SpanStore.open(db, create=True) as store:
        store.write([stored_span("a" * 32, "b" * 16, NOW_NS, NOW_NS + 1)])
    upgrade = ("ALTER TABLE spans ADD COLUMN note TEXT", "CREATE TABLE notes (span_id TEXT)")
    monkeypatch.setattr(schema_module, "MIGRATIONS", (*schema_module.MIGRATIONS, upgrade))
    fresh = tmp_path / "fresh.db"
    fresh.touch()
    for path in (db, fresh):  # current -> the next, and 0 -> ... -> the next in one go
        SpanStore.open(path).close()
        assert sql(path, "PRAGMA user_version") == [(len(schema_module.MIGRATIONS),)]
        assert ("note",) in sql(path, "SELECT name FROM pragma_table_info('spans')")
        assert sql(path, "SELECT count(*) FROM notes") == [(0,)]
    assert sql(db, "SELECT span_id FROM spans") == [("b" * 16,)]  # data kept


def test_a_store_from_a_newer_version_is_refused(db: Path) -> None:
    SpanStore.open(db, create=True).close()
    with closing(sqlite3.connect(db)) as connection:
        connection.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match=r"written by a newer langchain-turntrace .*; upgrade"):
        SpanStore.open(db)
    assert SqliteSpanExporter(db).export([]) is SpanExportResult.FAILURE


# -- retention ---------------------------------------------------------------------------------------------


def test_prune_removes_whole_expired_traces_only(synthetic: Synthetic, db: Path) -> None:
    old = NOW_NS - 40 * DAY_NS
    expired = synthetic.agent(old, 1000)
    synthetic.chat(old + MS, expired)
    synthetic.tool("search", old + 2 * MS, 5, expired)
    # Started 40 days ago but ended yesterday: still within retention, and never cut in half.
    long_running = synthetic.agent(old, duration_ms=39 * DAY_NS / MS)
    synthetic.chat(old + MS, long_running)
    recent = synthetic.agent(NOW_NS - DAY_NS)
    synthetic.chat(NOW_NS - DAY_NS, recent)
    synthetic.provider.force_flush()

    with SpanStore.open(db) as store:
        assert store.retention_days == DEFAULT_RETENTION_DAYS
        assert store.spans_count() == 7
        assert store.prune(NOW_NS) == 1
        assert {r.trace_id for r in store.runs()} == {trace_hex(long_running), trace_hex(recent)}
        assert store.spans_count() == 4
        assert sql(db, "SELECT count(*) FROM spans WHERE trace_id = ?", trace_hex(expired)) == [(0,)]
        assert store.prune(NOW_NS) == 0
        assert store.prune(NOW_NS + 30 * DAY_NS) == 2  # a month on, the rest has expired too
        assert store.spans_count() == 0
        assert sql(db, "SELECT count(*) FROM traces") == [(0,)]


def test_prune_removes_many_traces_in_chunks(db: Path) -> None:
    old = NOW_NS - 90 * DAY_NS
    spans = [stored_span(f"{i:032x}", f"{i:016x}", old, old + 1) for i in range(1, 1201)]
    spans += [stored_span(f"{i:032x}", f"{i + 5000:016x}", old, old + 1, f"{i:016x}") for i in range(1, 1201)]
    with SpanStore.open(db, create=True) as store:
        store.write(spans)
        store.write([stored_span("f" * 32, "f" * 16, NOW_NS, NOW_NS + 1)])
        assert store.prune() == 1200
        assert store.spans_count() == 1


def test_the_exporter_prunes_on_its_first_export_then_at_most_hourly(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = NOW_NS - 40 * DAY_NS
    with SpanStore.open(db, create=True, retention_days=3650) as planting:
        planting.write([stored_span("a" * 32, "a" * 16, old, old + 1)])
        exporter = SqliteSpanExporter(db)  # default retention, 30 days
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("tests")
        tracer.start_span("fresh").end()
        assert sql(db, "SELECT count(*) FROM traces WHERE trace_id = ?", "a" * 32) == [(0,)]

        planting.write([stored_span("b" * 32, "b" * 16, old, old + 1)])
        tracer.start_span("fresh").end()
        assert sql(db, "SELECT count(*) FROM traces WHERE trace_id = ?", "b" * 32) == [(1,)]  # within the hour

        an_hour_later = time.monotonic() + 3601
        monkeypatch.setattr(f"{exporter_module}.monotonic", lambda: an_hour_later)
        tracer.start_span("fresh").end()
        assert sql(db, "SELECT count(*) FROM traces WHERE trace_id = ?", "b" * 32) == [(0,)]
        assert planting.spans_count() == 3
        provider.shutdown()


def test_a_retention_under_30_days_works_but_warns_once(
    db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(retention_module, "_warned", set[int]())
    monkeypatch.setenv("TURNTRACE_RETENTION_DAYS", "7")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert SqliteSpanExporter(db).retention_days == 7
        assert SqliteSpanExporter(db).retention_days == 7
        with SpanStore.open(db, create=True) as store:
            assert store.retention_days == 7
        monkeypatch.setenv("TURNTRACE_RETENTION_DAYS", "30")
        assert SqliteSpanExporter(db).retention_days == 30
        assert SqliteSpanExporter(db, retention_days=90).retention_days == 90
    warnings = [r for r in caplog.records if r.name == LOGGER]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "7 day(s)" in warnings[0].getMessage()
    assert "after more than a week" in warnings[0].getMessage()


@pytest.mark.parametrize("raw", ["abc", "0", "-3", "7.5"])
def test_a_bad_retention_is_refused_at_construction(db: Path, monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("TURNTRACE_RETENTION_DAYS", raw)
    message = rf"TURNTRACE_RETENTION_DAYS='{raw}' is not a whole number of days >= 1; set it to .* or unset it"
    with pytest.raises(StoreError, match=message):
        SqliteSpanExporter(db)
    with pytest.raises(StoreError, match=message):
        SpanStore.open(db, create=True)
    assert not db.exists()  # refused before the file is touched
    monkeypatch.delenv("TURNTRACE_RETENTION_DAYS")
    with pytest.raises(StoreError, match=r"retention_days=0 is not a whole number of days >= 1"):
        SqliteSpanExporter(db, retention_days=0)


# -- the exporter never raises -----------------------------------------------------------------------------


def break_store(path: Path, kind: str) -> None:
    """What can happen to a store after its exporter started: its directory replaced, its file corrupted."""
    if kind == "directory replaced by a file":
        shutil.rmtree(path.parent)
        path.parent.write_text("x")
    elif kind == "corrupt file":
        path.write_bytes(os.urandom(4096))
    else:
        raise ValueError(kind)


def test_an_uncreatable_store_is_refused_at_construction(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match=r"cannot create the store .*file/t.db \(.*\); point TURNTRACE_STORE at a"):
        SqliteSpanExporter(tmp_path / "file" / "t.db")


@pytest.mark.parametrize("kind", ["directory replaced by a file", "corrupt file"])
def test_export_never_raises_it_fails_and_logs_once(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    memory = InMemorySpanExporter()
    source = TracerProvider()
    source.add_span_processor(SimpleSpanProcessor(memory))
    run_agent(source)
    batch = memory.get_finished_spans()
    path = tmp_path / "store" / "t.db"
    exporter = SqliteSpanExporter(path)
    break_store(path, kind)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert exporter.export(batch) is SpanExportResult.FAILURE
        assert exporter.export(batch) is SpanExportResult.FAILURE
        exporter.shutdown()
        assert exporter.export(batch) is SpanExportResult.FAILURE
    records = [r for r in caplog.records if r.name == LOGGER]
    assert len(records) == 1
    assert "could not write 10 span(s)" in records[0].getMessage()
    assert not records[0].exc_info  # an expected failure: the message says it all
    source.shutdown()


def test_one_exporter_serves_many_threads(db: Path) -> None:
    memory = InMemorySpanExporter()
    source = TracerProvider()
    source.add_span_processor(SimpleSpanProcessor(memory))
    tracer = source.get_tracer(INSTRUMENTATION_SCOPE)
    for i in range(400):
        tracer.start_span(f"span {i}", attributes={"gen_ai.operation.name": "chat", "turntrace.cost_usd": 0.001}).end()
    spans = memory.get_finished_spans()
    exporter = SqliteSpanExporter(db)
    results: list[SpanExportResult] = []

    def export(start: int) -> None:
        for offset in range(start, 400, 40):
            results.append(exporter.export(spans[offset : offset + 5]))

    threads = [threading.Thread(target=export, args=(start,)) for start in range(0, 40, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    exporter.shutdown()
    assert results == [SpanExportResult.SUCCESS] * 80
    with SpanStore.open(db) as store:
        assert store.spans_count() == 400
        assert store.cost_by("model")[0].cost_usd == pytest.approx(0.4)
    source.shutdown()


# -- several processes -------------------------------------------------------------------------------------


def test_processes_write_one_store_at_once_while_it_is_read(db: Path) -> None:
    writers, runs_each = 4, 20
    SpanStore.open(db, create=True).close()
    seen: list[int] = []
    context = multiprocessing.get_context("spawn")
    with context.Pool(writers) as pool:
        pending = pool.starmap_async(store_writer.write_runs, [(db, w, runs_each) for w in range(writers)])
        with SpanStore.open(db) as reader:
            while not pending.ready():
                seen.append(reader.spans_count())
                reader.runs(limit=5)
                reader.cost_by("session")
                reader.top_tools("latency")
                time.sleep(0.01)
        logs = pending.get(timeout=120)
        pool.close()
        pool.join()

    assert logs == [[]] * writers  # no export failed, nothing was logged
    assert seen == sorted(seen)
    assert any(0 < n < writers * runs_each * 10 for n in seen), "the reader never overlapped the writers"
    with SpanStore.open(db) as store:
        assert store.spans_count() == writers * runs_each * 10  # no lost spans
        runs = store.runs(limit=1000)
        assert sorted(r.session or "" for r in runs) == sorted(
            f"w{w}-{n}" for w in range(writers) for n in range(runs_each)
        )
        assert {len(store.run_spans(r.run_id)) for r in runs} == {10}
        assert {(r.turns, r.tool_calls, r.status) for r in runs} == {(3, 3, "ok")}
    assert sql(db, "PRAGMA integrity_check") == [("ok",)]


def test_links_are_kept_found_from_either_end_and_pruned_with_their_trace(db: Path) -> None:
    old, new = NOW_NS - 40 * DAY_NS, NOW_NS
    resumes = StoredLink("a" * 32, "a" * 16, {"turntrace.link_kind": "resumes"})
    with SpanStore.open(db, create=True, retention_days=30) as store:
        store.write(
            [
                stored_span("a" * 32, "a" * 16, old, old + 1),
                replace(stored_span("b" * 32, "b" * 16, old, old + 1), links=(resumes,)),
                replace(stored_span("c" * 32, "c" * 16, new, new + 1), links=(resumes,)),
            ]
        )
        store.write([replace(stored_span("c" * 32, "c" * 16, new, new + 1), links=(resumes,))])  # written twice
        assert sql(db, "SELECT count(*) FROM links") == [(2,)]
        assert [span_id for span_id, _ in store.linked_from("a" * 16)] == ["b" * 16, "c" * 16]
        assert store.prune() == 2  # the two old traces, their links with them
        assert store.linked_from("a" * 16) == [("c" * 16, resumes)]  # a link to a pruned run outlives it
    assert sql(db, "SELECT trace_id FROM links") == [("c" * 32,)]


def agent_span(
    name: str,
    start_ns: int,
    session: str,
    parent: str | None = None,
    *,
    thread: str | None = None,
    interrupted: bool = False,
    resumed: bool = False,
    paused_at: str | None = None,
    resumed_from: str | None = None,
) -> StoredSpan:
    """A run's (or, with a parent, a nested agent's) ``invoke_agent`` span; ``name`` gives its ids."""
    attributes: dict[str, object] = {"gen_ai.operation.name": "invoke_agent", "session.id": session}
    marks = {
        "turntrace.thread_id": thread,
        "turntrace.interrupted": interrupted or None,
        "turntrace.resumed": resumed or None,
        "turntrace.pause.checkpoint_id": paused_at,
        "turntrace.resume.checkpoint_id": resumed_from,
    }
    attributes.update({key: value for key, value in marks.items() if value is not None})
    return StoredSpan(
        name * 32, name * 16, parent, "invoke_agent a", "INTERNAL", start_ns, start_ns + 1, "UNSET", attributes
    )


def resumed_pairs(store: SpanStore) -> set[tuple[str, str]]:
    """(resumed run, the run it resumes) by the first letter of their ids."""
    links = store._connection.execute("SELECT span_id, linked_span_id FROM links").fetchall()  # pyright: ignore[reportPrivateUsage]
    return {(resumed[0], paused[0]) for resumed, paused in links}


def test_the_store_links_a_run_resumed_in_another_process_to_the_run_that_paused(db: Path) -> None:
    """A resumed run that reached the store without a ``resumes`` link (it resumed in another process) links to
    the latest run of its session and thread that paused before it, in whichever order the spans arrive; a pause
    at another checkpoint than the one the run resumed from, another thread's or session's pause and an agent
    nested in a run are passed over; a link made in the process that paused is kept as it is."""
    t = NOW_NS
    with SpanStore.open(db, create=True) as store:
        # In order, with a pause of another session between.
        store.write([agent_span("a", t, "s1", interrupted=True), agent_span("x", t + 1, "s2", interrupted=True)])
        store.write([agent_span("b", t + 2, "s1", resumed=True)])
        # Three runs arriving out of order: c pauses, d resumes it and pauses again, e resumes d; d comes last.
        store.write([agent_span("c", t + 10, "s2", interrupted=True)])
        store.write([agent_span("e", t + 12, "s2", resumed=True)])  # linked to c for now: d is not stored yet
        store.write([agent_span("d", t + 11, "s2", interrupted=True, resumed=True)])  # takes e over from c
        # Two pauses of one session at different checkpoints; the resume names the first (time travel).
        store.write(
            [
                agent_span("f", t + 20, "s3", interrupted=True, paused_at="cp-1"),
                agent_span("g", t + 21, "s3", interrupted=True, paused_at="cp-2"),
                agent_span("h", t + 22, "s3", resumed=True, resumed_from="cp-1"),
            ]
        )
        # Two threads of one session: each resume finds its own thread's pause; a retried resume links too.
        store.write(
            [
                agent_span("i", t + 30, "s4", thread="t1", interrupted=True),
                agent_span("j", t + 31, "s4", thread="t2", interrupted=True),
                agent_span("k", t + 32, "s4", thread="t1", resumed=True),
                agent_span("l", t + 33, "s4", thread="t2", resumed=True),
                agent_span("m", t + 34, "s4", thread="t2", resumed=True),
            ]
        )
        # A run whose nested agent paused (both marked): the resume links to the run, not the nested agent.
        store.write(
            [
                agent_span("n", t + 40, "s5", interrupted=True),
                agent_span("o", t + 41, "s5", parent="n" * 16, interrupted=True),
                agent_span("p", t + 42, "s5", resumed=True),
            ]
        )
        # Linked in the process that paused: kept, even when a later pause fits the store's rule better.
        exact = StoredLink("q" * 32, "q" * 16, {"turntrace.link_kind": "resumes"})
        store.write([agent_span("q", t + 50, "s6", interrupted=True)])
        store.write([replace(agent_span("s", t + 52, "s6", resumed=True), links=(exact,))])
        store.write([agent_span("r", t + 51, "s6", interrupted=True)])
        assert resumed_pairs(store) == {
            ("b", "a"),
            ("d", "c"),
            ("e", "d"),
            ("h", "f"),
            ("k", "i"),
            ("l", "j"),
            ("m", "j"),
            ("p", "n"),
            ("s", "q"),
        }
        assert [span_id[0] for span_id, _ in store.linked_from("a" * 16)] == ["b"]
        (_, inferred), *_ = store.linked_from("a" * 16)
        assert (inferred.kind, inferred.attributes.get("turntrace.link_inferred")) == ("resumes", True)


def test_a_store_written_before_links_existed_is_migrated_and_keeps_its_spans(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as before_links:
        before_links.setattr(schema_module, "MIGRATIONS", schema_module.MIGRATIONS[:1])
        with SpanStore.open(db, create=True) as store:
            store.write([stored_span("a" * 32, "a" * 16, NOW_NS, NOW_NS + 1)])
    assert sql(db, "PRAGMA user_version") == [(1,)]
    with SpanStore.open(db) as store:
        assert store.spans_count() == 1
        assert store.linked_from("a" * 16) == []
    assert sql(db, "PRAGMA user_version") == [(len(schema_module.MIGRATIONS),)]
