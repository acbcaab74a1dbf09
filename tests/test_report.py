"""``turntrace report`` over a store of real traced agent runs: its figures under ``--json`` against what ``cost``,
``top tools``, ``runs``, ``show`` and ``alert`` give, the page in headless Chromium at two widths, the run pages it
links to, an empty window and bad input."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
import os
import re
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypedDict, cast

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableLambda
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace import attributes as attr
from langchain_turntrace.cli import main
from langchain_turntrace.money import usd
from langchain_turntrace.report import render_report
from langchain_turntrace.store import SpanStore, SqliteSpanExporter, StoredSpan
from langchain_turntrace.store import _report as report_queries  # pyright: ignore[reportPrivateUsage]  # its statements and LIMIT are under test
from tests.agents import get_weather, order_desk, research_desk, three_turn_agent, unpriced_agent
from tests.browser import Page, chromium
from tests.claude_code_transcripts import Transcript, project_folder

INPUT = {"messages": [HumanMessage("Weather in Paris and Rome?")]}
MINI, CLAUDE = "gpt-4o-mini", "claude-sonnet-4-5"
PRICES = {model: {"input_per_mtok": 1000.0, "output_per_mtok": 1000.0} for model in (MINI, CLAUDE)}
NS_PER_DAY = 86_400 * 10**9
WIDTHS_PX = (1_024, 1_600)  # an old screen, a wide one
HOSTILE = "<img src=x onerror=alert(1)>"


# -- the store -------------------------------------------------------------------------------------------------
def _add_one(number: int) -> int:
    return number + 1


class RunTags(TypedDict, total=False):
    session_id: str
    user_id: str
    feature: str
    agent_version: str


@dataclass(frozen=True)
class Fleet:
    path: Path
    days: list[str]  # UTC days with model calls


def _copy_run(store: SpanStore, run_id: str, days_back: int, salt: str) -> None:
    """One stored run again, ``days_back`` days earlier, under new ids: the chart then has more than one day."""
    spans = store.run_spans(run_id)

    def new(span_id: str) -> str:
        return hashlib.sha256(f"{salt}:{span_id}".encode()).hexdigest()[:16]

    ids = {span.span_id for span in spans}
    trace_id = hashlib.sha256(f"{salt}:{spans[0].trace_id}".encode()).hexdigest()[:32]
    shift = days_back * NS_PER_DAY
    store.write(
        [
            dataclasses.replace(
                span,
                trace_id=trace_id,
                span_id=new(span.span_id),
                parent_span_id=new(span.parent_span_id) if span.parent_span_id in ids else span.parent_span_id,
                start_ns=span.start_ns - shift,
                end_ns=span.end_ns - shift,
                links=tuple(
                    dataclasses.replace(link, trace_id=trace_id, span_id=new(link.span_id))
                    for link in span.links
                    if link.span_id in ids
                ),
            )
            for span in spans
        ]
    )


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    """Two trips (alice, travel), a research run with a claude subagent (bob, support), a run whose tool fails
    (carol, support), a run on a model no table prices (dave, a hostile feature name), a tool called outside any
    agent and a chain with no model (two smells), the demo's run, an imported Claude Code session; then the two
    trips again, two days earlier."""
    path = tmp_path_factory.mktemp("report") / "traces.db"
    demo = turntrace_script("demo", store=path)
    assert demo.returncode == 0, demo.stderr
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SqliteSpanExporter(path)))

    def handler(tags: RunTags) -> list[Any]:
        return [TurnTraceCallbackHandler(tracer_provider=provider, prices=PRICES, **tags)]

    alice = RunTags(session_id="s-1", user_id="alice", feature="travel", agent_version="1.0")
    for name in ("trip-1", "trip-2"):
        three_turn_agent(name).invoke(INPUT, config={"callbacks": handler(alice)})
    bob = RunTags(session_id="s-2", user_id="bob", feature="support", agent_version="2.0")
    research_desk().invoke(INPUT, config={"callbacks": handler(bob)})
    carol = RunTags(session_id="s-3", user_id="carol", feature="support", agent_version="2.0")
    order_desk().invoke(INPUT, config={"callbacks": handler(carol)})
    unpriced_agent().invoke(INPUT, config={"callbacks": handler(RunTags(user_id="dave", feature=HOSTILE))})
    get_weather.invoke({"city": "Oslo"}, config={"callbacks": handler(RunTags(user_id="eve"))})
    RunnableLambda(_add_one, name="adder").invoke(1, config={"callbacks": handler(RunTags(user_id="eve"))})
    provider.shutdown()
    _import_a_coding_session(path, tmp_path_factory.mktemp("claude"))
    with SpanStore.open(path) as store:
        for n, run in enumerate(r for r in store.runs() if (r.agent or "").startswith("trip")):
            _copy_run(store, run.run_id, days_back=2, salt=f"copy-{n}")
    days = sorted({row["key"] for row in cli_json(path, "cost", "--by", "day", "--since", "30d")})
    assert len(days) >= 2
    return Fleet(path, days)


def _import_a_coding_session(path: Path, home: Path) -> None:
    """A Claude Code session, imported: its model asks the user a question (ten minutes of the user deciding, a
    human wait that no tool figure counts) and greps."""
    transcript = Transcript(start=datetime.now(timezone.utc) - timedelta(hours=2))
    transcript.prompt()
    ask, grep = transcript.response(tools=[("AskUserQuestion", {"questions": []}), ("Grep", {"pattern": "TODO"})])
    transcript.tool_result(ask, "yes", seconds=600)
    transcript.tool_result(grep, "3 matches")
    transcript.response()
    projects = home / "projects"
    transcript.write(project_folder(projects))
    result = turntrace_script("import", "claude-code", "--feature", "coding", str(projects), store=path)
    assert result.returncode == 0, result.stderr


def turntrace_script(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it."""
    script = Path(sys.executable).parent / "turntrace"
    env = {**os.environ, "COLUMNS": "120", "TURNTRACE_STORE": str(store)}
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def cli(store: Path, *args: str) -> tuple[int, str, str]:
    """``main`` in this process, its output captured (faster than the console script)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--store", str(store), *args])
    return code, out.getvalue(), err.getvalue()


def cli_json(store: Path, *args: str) -> Any:
    code, out, err = cli(store, "--json", *args)
    assert code == 0, err
    return json.loads(out)


# -- the figures against the other commands -------------------------------------------------------------------
@pytest.fixture(scope="module")
def figures(fleet: Fleet) -> dict[str, Any]:
    return cast(dict[str, Any], cli_json(fleet.path, "report"))


@pytest.mark.parametrize(
    ("field", "dimension"),
    [("by_model", "model"), ("by_feature", "feature"), ("by_user", "user"), ("by_agent_version", "agent_version")],
)
def test_cost_tables_are_cost_by(fleet: Fleet, figures: dict[str, Any], field: str, dimension: str) -> None:
    expected = cli_json(fleet.path, "cost", "--by", dimension, "--since", "30d")
    got = figures[field]
    assert [row["key"] for row in got] == [row["key"] for row in expected]
    for mine, theirs in zip(got, expected, strict=True):
        for key in ("calls", "input_tokens", "output_tokens", "unpriced_calls"):
            assert mine[key] == theirs[key], (mine, theirs)
        # The report sums its (day, model, feature, version) cells: the same float, to its last bits.
        assert mine["cost_usd"] == pytest.approx(theirs["cost_usd"], rel=1e-12)
        assert usd(mine["cost_usd"]) == usd(theirs["cost_usd"])


def test_totals_and_days(fleet: Fleet, figures: dict[str, Any]) -> None:
    by_day = cli_json(fleet.path, "cost", "--by", "day", "--since", "30d")
    assert {d["day"]: (d["calls"], d["cost_usd"]) for d in figures["cost_by_day"]} == {
        d["key"]: (d["calls"], pytest.approx(d["cost_usd"], rel=1e-12)) for d in by_day
    }
    total = figures["total"]
    assert total["calls"] == sum(d["calls"] for d in by_day)
    assert total["cost_usd"] == pytest.approx(sum(d["cost_usd"] for d in by_day), rel=1e-12)
    assert total["unpriced_calls"] == 2  # the llama run's two model calls
    for stack, dimension in (("cost_by_day_model", "model"), ("cost_by_day_feature", "feature")):
        per_key: dict[str | None, int] = {}
        for cell in figures[stack]:
            per_key[cell["key"]] = per_key.get(cell["key"], 0) + cell["calls"]
        assert per_key == {r["key"]: r["calls"] for r in cli_json(fleet.path, "cost", "--by", dimension)}


def test_runs_and_costliest_runs_are_the_runs_listing(fleet: Fleet, figures: dict[str, Any]) -> None:
    runs = cli_json(fleet.path, "runs", "--since", "30d", "--limit", "1000")
    assert figures["runs"] == len(runs) == 10  # trips x4, research, order desk, llama, demo, the adder, claude-code
    priced = sorted((r for r in runs if r["cost_usd"] is not None), key=lambda r: (-r["cost_usd"], -r["start_ns"]))
    assert figures["costly_runs"] == priced[: report_queries.LIMIT]
    assert figures["costly_runs"][0]["agent"] == "research"  # $2.59: its claude subagent's turns count in it


def test_tools_are_top_tools(fleet: Fleet, figures: dict[str, Any]) -> None:
    by_latency = cli_json(fleet.path, "top", "tools", "--by", "latency", "--since", "30d")
    by_errors = [t for t in cli_json(fleet.path, "top", "tools", "--by", "errors", "--since", "30d") if t["errors"]]
    for mine_all, theirs_all in ((figures["slowest_tools"], by_latency), (figures["failing_tools"], by_errors)):
        assert [t["tool"] for t in mine_all] == [t["tool"] for t in theirs_all]
        for mine, theirs in zip(mine_all, theirs_all, strict=True):
            for key in ("calls", "errors", "p50_ms", "p95_ms", "max_ms"):
                assert mine[key] == theirs[key], (key, mine, theirs)
    slowest = {t["tool"]: t for t in figures["slowest_tools"]}
    for theirs in by_latency:  # the slowest call comes first (the copied trips tie with their originals)
        calls = slowest[theirs["tool"]]["examples"]
        assert calls[0]["duration_ms"] == theirs["max_ms"]
        assert [c["duration_ms"] for c in calls] == sorted((c["duration_ms"] for c in calls), reverse=True)
    assert "Grep" in slowest
    assert "AskUserQuestion" not in slowest  # the user deciding, not a tool working
    (failing,) = figures["failing_tools"]
    assert (failing["tool"], failing["errors"], failing["calls"]) == ("lookup_order", 1, 1)
    assert [c["failed"] for c in failing["examples"]] == [True]


def _turns(fleet: Fleet) -> list[StoredSpan]:
    with SpanStore.open(fleet.path) as store:
        traces = {r.trace_id for r in store.runs(limit=1000)}
        return [s for t in traces for s in store.run_spans(t) if s.role == "turn"]


def _percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def test_costliest_turns_and_tokens_per_turn_are_the_turn_spans(fleet: Fleet, figures: dict[str, Any]) -> None:
    turns = _turns(fleet)
    priced = [t for t in turns if attr.TOTAL_COST_USD in t.attributes]
    priced.sort(key=lambda t: (-t.attributes[attr.TOTAL_COST_USD], -t.start_ns))
    assert [t["span_id"] for t in figures["costly_turns"]] == [t.span_id for t in priced[: report_queries.LIMIT]]
    top = figures["costly_turns"][0]
    assert (top["agent"], top["turn_index"], top["model"]) == ("research", 1, MINI)  # the turn that called claude
    per_model: dict[str, list[StoredSpan]] = {}
    for turn in turns:
        per_model.setdefault(turn.attributes[attr.GEN_AI_REQUEST_MODEL], []).append(turn)
    got = {t["model"]: t for t in figures["tokens_per_turn"]}
    assert set(got) == set(per_model)
    for model, spans in per_model.items():
        inputs = [s.attributes[attr.TOTAL_INPUT_TOKENS] for s in spans]
        outputs = [s.attributes[attr.TOTAL_OUTPUT_TOKENS] for s in spans]
        expected = {
            "turns": len(spans),
            "input_p50": _percentile(inputs, 0.5),
            "input_p95": _percentile(inputs, 0.95),
            "input_max": max(inputs),
            "output_p50": _percentile(outputs, 0.5),
            "output_p95": _percentile(outputs, 0.95),
            "output_max": max(outputs),
        }
        assert {k: got[model][k] for k in expected} == expected, model


def test_smells_are_alerts(fleet: Fleet, figures: dict[str, Any]) -> None:
    code, out, _ = cli(fleet.path, "--json", "alert", "--max-cost-usd", "1e9", "--per", "day", "--by", "feature")
    assert code == 0
    theirs = json.loads(out)["smells"]
    mine = figures["smells"]
    assert mine["unpriced_models"] == theirs["unpriced_models"] == [{"model": "my-llama-70b", "calls": 2}]
    assert [r["run_id"] for r in mine["runs_without_turns"]] == [r["run_id"] for r in theirs["runs_without_turns"]]
    assert [r["agent"] for r in mine["runs_without_turns"]] == ["adder"]
    assert [t["span_id"] for t in mine["tool_calls_without_turn"]] == [
        t["span_id"] for t in theirs["tool_calls_without_turn"]
    ]
    assert [t["tool"] for t in mine["tool_calls_without_turn"]] == ["get_weather"]


def test_every_report_query_reads_an_index(fleet: Fleet) -> None:
    """EXPLAIN QUERY PLAN: no statement of the report scans the spans table; the figures read indexes."""
    import sqlite3

    with SpanStore.open(fleet.path):  # migrated to the current schema
        pass
    connection = sqlite3.connect(f"file:{fleet.path}?mode=ro", uri=True)
    statements = [report_queries._CELLS, report_queries._TOOL_COUNTS, report_queries._NESTED_AGENTS]  # pyright: ignore[reportPrivateUsage]  # the statements themselves are under test
    plans: list[str] = []
    for sql in statements:
        params = (0,) * sql.count("?")
        plans += [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    connection.close()
    assert not [step for step in plans if re.match(r"SCAN (spans|a|t|p)\b", step)], plans
    assert any("COVERING INDEX spans_operation_columns" in step for step in plans)


def test_figures_hold_together_while_another_connection_writes(fleet: Fleet, tmp_path: Path) -> None:
    """The report reads on two connections (cost on one, in a thread; tools, runs and smells on the other). While a
    writer commits copies of a run as fast as it can, each report agrees with itself (every cost table adds up to
    its total), the figures only grow and both halves see the new runs, and the second connection is
    closed again every time."""
    import shutil
    import threading

    path = tmp_path / "traces.db"
    shutil.copy(fleet.path, path)
    with SpanStore.open(path) as store:
        trip = next(r for r in store.runs() if r.agent == "trip-1").run_id
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        with SpanStore.open(path) as store:
            while not stop.is_set():
                _copy_run(store, trip, days_back=0, salt=f"live-{len(written)}")
                written.append(1)

    thread = threading.Thread(target=writer)
    descriptors = len(os.listdir("/proc/self/fd"))
    thread.start()
    reports: list[Any] = []
    try:
        with SpanStore.open(path) as store:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (len(reports) < 8 or not _grew(reports)):
                reports.append(store.report(None))
    finally:
        stop.set()
        thread.join()
    assert len(os.listdir("/proc/self/fd")) == descriptors
    assert written, "the writer never committed while the reports ran"
    for figures in reports:
        for rows in (figures.by_model, figures.by_feature, figures.by_user, figures.by_agent_version):
            assert sum(round(row.cost_usd * 1e9) for row in rows) == round(figures.total.cost_usd * 1e9)
            assert sum(row.calls for row in rows) == figures.total.calls
        assert sum(day.calls for day in figures.cost_by_day) == figures.total.calls
    runs = [figures.runs for figures in reports]
    calls = [figures.total.calls for figures in reports]
    assert runs == sorted(runs)
    assert calls == sorted(calls)
    assert _grew(reports), (runs, calls)  # the writer's copies were seen, by both halves


def _grew(reports: list[Any]) -> bool:
    return reports[-1].runs > reports[0].runs and reports[-1].total.calls > reports[0].total.calls


# -- the page ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("page") / "monday.html"
    code, out, err = cli(fleet.path, "report", "--html", str(target))
    assert code == 0, err
    assert (
        out.strip()
        == f"wrote {target} and {len(list((target.parent / 'monday-runs').iterdir()))} run pages in "
        + str(target.parent / "monday-runs")
    )
    return target


def test_page_is_self_contained_and_its_links_open_the_run_pages(page: Path, figures: dict[str, Any]) -> None:
    source = page.read_text()
    parsed = Page(source)
    scripts = [a for tag, a in parsed.tags if tag == "script"]
    assert scripts == [{}]  # one inline script, the chart's switch
    assert not [tag for tag, _ in parsed.tags if tag in ("img", "link", "iframe", "object", "embed")]
    (policy,) = [a["content"] for tag, a in parsed.tags if tag == "meta" and a.get("http-equiv")]
    assert policy is not None
    assert policy.startswith("default-src 'none';")
    sources = [a.get("src") or a.get("href") for _, a in parsed.tags if "src" in a or "href" in a]
    assert sources
    assert all(s and not re.match(r"^([a-z]+:|//)", s) for s in sources), sources
    runs = page.parent / "monday-runs"
    linked = {s.split("#")[0] for s in sources if s and not s.startswith("#")}
    assert linked == {f"monday-runs/{p.name}" for p in runs.iterdir()}
    for href in (s for s in sources if s and "#span-" in s):  # an anchor into a run page is a row of it
        file, anchor = href.split("#")
        assert f'id="{anchor}"' in (page.parent / file).read_text()
    for run in figures["costly_runs"]:
        assert f'href="monday-runs/{run["run_id"]}.html"' in source
    text = "".join(parsed.text)
    assert HOSTILE in text  # shown as text, not as markup
    assert usd(figures["total"]["cost_usd"]) in text
    assert "my-llama-70b: 2 calls with tokens but no cost" in " ".join(text.split())


def test_stale_run_pages_go_and_other_files_stay(fleet: Fleet, tmp_path: Path) -> None:
    runs = tmp_path / "r-runs"
    runs.mkdir()
    (runs / "0123456789abcdef.html").write_text("an old report's run page")
    (runs / "notes.html").write_text("mine")
    code, _, err = cli(fleet.path, "report", "--html", str(tmp_path / "r.html"))
    assert code == 0, err
    assert not (runs / "0123456789abcdef.html").exists()
    assert (runs / "notes.html").read_text() == "mine"


class Day(TypedDict):
    day: str
    none: bool
    keys: list[str]
    height: float


class Layout(TypedDict):
    viewport: float
    page_width: float
    shown: list[str]
    pressed: list[list[str]]
    days: list[Day]
    overflowing: list[str]
    hash: str


# Appended to a test copy of the page (its policy then lets this script run too): it may press "by feature" as a
# user would; reading boxes makes the browser lay the page out first; the answer goes into the DOM for --dump-dom.
MEASURE = """
(() => {
  if (ACTION === "feature") document.querySelector('.switch button[data-stack="feature"]').click();
  const viewport = document.documentElement.clientWidth;
  const shown = [...document.querySelectorAll(".chart")].filter((c) => getComputedStyle(c).display !== "none");
  const days = shown.length ? [...shown[0].querySelectorAll(".day")].map((d) => ({
    day: d.dataset.day,
    none: d.classList.contains("none"),
    keys: [...d.querySelectorAll(".seg")].map((s) => s.dataset.key),
    height: d.querySelector(".stack") ? d.querySelector(".stack").getBoundingClientRect().height : 0,
  })) : [];
  const overflowing = [...document.body.querySelectorAll("*")]
    .filter((el) => !el.closest(".scroll") || el.matches(".scroll"))
    .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.right > viewport + 0.5; })
    .map((el) => `${el.tagName}.${el.className}`);
  const layout = {
    viewport, page_width: document.documentElement.scrollWidth, shown: shown.map((c) => c.dataset.stack),
    pressed: [...document.querySelectorAll(".switch button")]
      .map((b) => [b.dataset.stack, b.getAttribute("aria-pressed")]),
    days, overflowing, hash: location.hash,
  };
  const out = document.createElement("pre");
  out.id = "layout";
  out.textContent = JSON.stringify(layout);
  document.body.append(out);
})();
"""


def measure(tmp_path: Path, page: Path, width_px: int, *, action: str = "", fragment: str = "") -> Layout:
    script = f"const ACTION = {json.dumps(action)};{MEASURE}"
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    source = page.read_text()
    source = re.sub(r"script-src ('sha256-[^']+')", rf"script-src \1 'sha256-{digest}'", source, count=1)
    probe = page.with_name(f"probe-{width_px}-{action or 'none'}.html")
    probe.write_text(source.replace("</body>", f"<script>{script}</script></body>"))
    dom = chromium(tmp_path, probe, "--dump-dom", f"--window-size={width_px},900", fragment=fragment).stdout.decode()
    found = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S)
    assert found is not None, "the measuring script did not run: " + dom[-2000:]
    return cast(
        Layout,
        json.loads(
            found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        ),
    )


@pytest.mark.parametrize("width_px", WIDTHS_PX)
def test_chromium_lays_the_chart_out_a_bar_per_day(
    page: Path, fleet: Fleet, figures: dict[str, Any], tmp_path: Path, width_px: int
) -> None:
    layout = measure(tmp_path, page, width_px)
    assert width_px - 20 <= layout["viewport"] <= width_px  # the window less its scrollbar
    assert layout["page_width"] <= layout["viewport"], "the page scrolls sideways"
    assert layout["overflowing"] == []
    assert layout["shown"] == ["model"]
    assert layout["pressed"] == [["model", "true"], ["feature", "false"]]
    with_data = [d for d in layout["days"] if not d["none"]]
    assert [d["day"] for d in with_data] == fleet.days  # one bar group per day with model calls
    assert layout["days"][0]["day"] == fleet.days[0]  # then a slot for every day to today, calls or not
    assert all(d["height"] > 0 for d in with_data)
    priced_models = {c["key"] for c in figures["cost_by_day_model"] if c["cost_usd"] > 0}
    assert {k for d in with_data for k in d["keys"]} == priced_models
    costliest = max(figures["cost_by_day"], key=lambda d: d["cost_usd"])
    assert max(with_data, key=lambda d: d["height"])["day"] == costliest["day"]


@pytest.mark.parametrize("width_px", WIDTHS_PX)
def test_chromium_switch_stacks_the_bars_by_feature(
    page: Path, fleet: Fleet, figures: dict[str, Any], tmp_path: Path, width_px: int
) -> None:
    layout = measure(tmp_path, page, width_px, action="feature")
    assert layout["shown"] == ["feature"]
    assert layout["pressed"] == [["model", "false"], ["feature", "true"]]
    assert layout["hash"] == "#by-feature"  # a link to the page as it is now shown
    assert layout["overflowing"] == []
    with_data = [d for d in layout["days"] if not d["none"]]
    assert [d["day"] for d in with_data] == fleet.days
    by_feature = {(c["day"], c["key"] or "(untagged)") for c in figures["cost_by_day_feature"] if c["cost_usd"] > 0}
    assert {(d["day"], k) for d in with_data for k in d["keys"]} == by_feature
    assert {k for d in with_data for k in d["keys"]} & {"travel", "support"} == {"travel", "support"}


def test_chromium_opens_the_page_as_linked_by_feature(page: Path, tmp_path: Path) -> None:
    layout = measure(tmp_path, page, WIDTHS_PX[0], fragment="#by-feature")
    assert layout["shown"] == ["feature"]


@pytest.mark.parametrize("width_px", WIDTHS_PX)
def test_chromium_screenshot(page: Path, tmp_path: Path, width_px: int) -> None:
    png = tmp_path / "report.png"
    chromium(tmp_path, page, f"--screenshot={png}", f"--window-size={width_px},1400", "--hide-scrollbars")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (width_px, 1400)
    assert len(data) > 60_000, f"screenshot is only {len(data)} bytes: a blank page?"


# -- an empty window and bad input --------------------------------------------------------------------------------
def test_an_empty_window_says_what_exists_outside_it(fleet: Fleet, tmp_path: Path) -> None:
    future = "2200-01-01"
    empty = cli_json(fleet.path, "report", "--since", future)
    assert (empty["runs"], empty["total"]["calls"], empty["slowest_tools"]) == (0, 0, [])
    runs = cli_json(fleet.path, "runs", "--since", "30d", "--limit", "1000")
    assert empty["runs_before"] == {"count": len(runs), "latest_start_ns": max(r["start_ns"] for r in runs)}
    target = tmp_path / "empty.html"
    code, out, err = cli(fleet.path, "report", "--since", future, "--html", str(target))
    assert (code, err, out.strip()) == (0, "", f"wrote {target}")
    text = " ".join("".join(Page(target.read_text()).text).split())
    assert f"No agent runs, model calls or tool calls started in this window (--since {future})" in text
    assert f"The store holds {len(runs)} earlier agent runs" in text
    assert "Widen the window: turntrace report --since 1d --html FILE" in text
    assert not (tmp_path / "empty-runs").exists()


def test_an_empty_store_says_to_trace_a_run(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    SpanStore.open(path, create=True).close()
    with SpanStore.open(path) as store:
        figures = store.report(None)
    assert figures.empty
    page = render_report(figures, since="30d")
    assert "The store holds nothing older either: trace a run first, e.g. <code>turntrace demo</code>" in page


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["report", "--since", "yesterday", "--html", "x.html"],
            " report: argument --since: 'yesterday' is not understood",
        ),
        (["report"], " report: give --html FILE to write the report page, or --json for the figures"),
        (
            ["report", "--html", "/nonexistent/dir/r.html"],
            ": cannot write the report to '/nonexistent/dir/r.html': it is in",
        ),
        (["report", "--html", "/"], ": cannot write the report to '/': it is a directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(fleet: Fleet, args: list[str], says: str) -> None:
    result = turntrace_script(*args, store=fleet.path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"turntrace{says}")


def test_a_missing_store_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = turntrace_script("report", "--html", str(tmp_path / "r.html"), store=tmp_path / "none.db")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "no turntrace store at" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_help_names_every_option_and_its_default() -> None:
    result = turntrace_script("report", "--help", store=Path("/nonexistent.db"))
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "--since SINCE the window: 30m, 24h, 7d, 2w, or a UTC date like 2026-11-01 (default 30d)" in text
    assert "--html FILE write the page here (required unless --json; default: none)" in text


def _day(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d")


def test_the_window_starts_where_since_says(fleet: Fleet) -> None:
    """--since 1d leaves out the copies made two days back, from every figure."""
    everything = cli_json(fleet.path, "report", "--since", "30d")
    recent = cli_json(fleet.path, "report", "--since", "1d")
    assert (everything["runs"], recent["runs"]) == (10, 8)
    copies_day = _day(min(r["start_ns"] for r in cli_json(fleet.path, "runs", "--since", "30d", "--limit", "100")))
    assert copies_day in {d["day"] for d in everything["cost_by_day"]}
    assert copies_day not in {d["day"] for d in recent["cost_by_day"]}
    assert recent["total"]["calls"] == everything["total"]["calls"] - 6  # two three-turn trips
