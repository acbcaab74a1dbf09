"""The waterfall rows and HTML page, from real agent runs: tree order, totals, markers, escaping, and the page
as headless Chromium renders it."""

from __future__ import annotations

import html
import itertools
import json
import re
import struct
from pathlib import Path
from typing import Any, TypedDict, cast

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.tools import StructuredTool, ToolException, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import interrupt
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

from langchain_turntrace import Budget, BudgetExceededError, TurnTraceCallbackHandler
from langchain_turntrace import attributes as attr
from langchain_turntrace.money import usd
from langchain_turntrace.store._records import StoredSpan
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from langchain_turntrace.waterfall import WaterfallRow, build_rows, render_html
from langchain_turntrace.waterfall._format import tick
from tests.agents import create_agent, get_weather, research, three_turn_agent
from tests.browser import Page, chromium
from tests.spans import Spans

INPUT = {"messages": [HumanMessage("go")]}
EVIL_NAME = "<script>alert(1)</script>"
EVIL_NAME_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
EVIL_VALUE = "say \"hi\" & 'bye' <img src=x onerror=alert(1)>"
EVIL_VALUE_ESCAPED = "say &quot;hi&quot; &amp; &#x27;bye&#x27; &lt;img src=x onerror=alert(1)&gt;"
WIDTHS_PX = (800, 1_024, 1_400)  # a small laptop window, an old screen, the width the page was first drawn for
TIMELINE_SHARE = 0.45  # of the waterfall table, at any width
MIN_BAR_PX = 2


# -- helpers ------------------------------------------------------------------------------------------------
def stored(spans: Spans) -> list[StoredSpan]:
    return [_stored(span) for span in spans.all()]


def _stored(span: ReadableSpan) -> StoredSpan:
    assert span.context is not None
    return StoredSpan(
        trace_id=format(span.context.trace_id, "032x"),
        span_id=format(span.context.span_id, "016x"),
        parent_span_id=format(span.parent.span_id, "016x") if span.parent is not None else None,
        name=span.name,
        kind=span.kind.name,
        start_ns=span.start_time or 0,
        end_ns=span.end_time or 0,
        status=span.status.status_code.name,
        attributes={k: list(v) if isinstance(v, tuple) else v for k, v in (span.attributes or {}).items()},
    )


def outline(rows: list[WaterfallRow]) -> str:
    return "\n".join("  " * row.depth + row.label for row in rows)


def _explode_evil() -> str:
    raise ToolException("the evil tool always fails")


# A tool whose name is markup; handle_tool_error makes it an error span the run survives.
evil_tool = StructuredTool.from_function(
    _explode_evil, name=EVIL_NAME, description="A tool with a hostile name.", handle_tool_error=True
)


def run_showcase(provider: TracerProvider) -> None:
    """Turn 1: three parallel tool calls (weather, the hostile tool that fails, a nested agent); turn 2: answer.
    The feature tag carries quotes, an ampersand and an <img> tag."""
    model = ScriptedChatModel(
        script=[
            tool_calls_message(
                ("get_weather", {"city": "Paris"}, "call_1"),
                (EVIL_NAME, {}, "call_2"),
                ("research", {"question": "Weather in Lima?"}, "call_3"),
                input_tokens=1_200,
                output_tokens=80,
            ),
            answer_message("Paris and Lima are sunny.", input_tokens=1_900, output_tokens=40),
        ]
    )
    handler = TurnTraceCallbackHandler(
        tracer_provider=provider, session_id="sess-42", user_id="u-7", feature=EVIL_VALUE, agent_version="2.3.1"
    )
    agent = create_agent(model, [get_weather, evil_tool, research], name="support_bot")
    agent.invoke(INPUT, config={"callbacks": [handler]})


# -- rows -----------------------------------------------------------------------------------------------------
def test_rows_follow_the_span_tree(provider: TracerProvider, spans: Spans) -> None:
    three_turn_agent().invoke(INPUT, config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
    rows = build_rows(stored(spans))

    assert outline(rows) == spans.tree()  # parent before children, siblings by start time
    assert [row.kind for row in rows] == [
        "agent",
        "turn",
        "chat",
        "tool",
        "tool",
        "turn",
        "chat",
        "tool",
        "turn",
        "chat",
    ]
    by_id = {row.span.span_id: row for row in rows}
    for index, row in enumerate(rows):
        if row.depth == 0:
            assert row.span.parent_span_id is None
            continue
        parent = by_id[row.span.parent_span_id or ""]
        assert rows.index(parent) < index
        assert parent.depth == row.depth - 1
    root = rows[0]
    assert root.offset_ms == 0
    assert all(r.offset_ms >= 0 for r in rows)
    assert all(r.offset_ms + r.duration_ms <= root.duration_ms + 1e-6 for r in rows)

    chats = [r for r in rows if r.kind == "chat"]
    assert [(c.input_tokens, c.output_tokens) for c in chats] == [(100, 20), (150, 30), (200, 40)]
    assert [c.stop_reason for c in chats] == ["tool_calls", "tool_calls", "stop"]
    assert all(c.cost_usd == c.span.attributes[attr.COST_USD] for c in chats)
    assert (root.input_tokens, root.output_tokens) == (450, 90)
    assert root.cost_usd == root.span.attributes[attr.TOTAL_COST_USD]
    assert [r.stop_reason for r in rows if r.kind == "turn"] == ["tool_calls", "tool_calls", "stop"]
    assert not any(r.error or r.incomplete or r.interrupted for r in rows)


def test_nested_agent_rows_and_orphans(provider: TracerProvider, spans: Spans) -> None:
    run_showcase(provider)
    rows = build_rows(stored(spans))

    assert outline(rows) == spans.tree()
    sub = next(r for r in rows if r.label == "invoke_agent researcher")
    assert sub.depth == 3  # invoke_agent (0) > turn (1) > execute_tool research (2) > invoke_agent researcher
    assert rows[rows.index(sub) - 1].label == "execute_tool research"

    # The root missing from an export: its turns become the roots, in start order, with their subtrees.
    without_root = [s for s in stored(spans) if s.parent_span_id is not None]
    orphan_rows = build_rows(without_root)
    assert [r.label for r in orphan_rows if r.depth == 0] == ["turn 1", "turn 2"]
    assert len(orphan_rows) == len(rows) - 1


def test_markers_for_errors_interrupts_and_cut_short_runs(provider: TracerProvider, spans: Spans) -> None:
    run_showcase(provider)
    evil = next(r for r in build_rows(stored(spans)) if r.label == f"execute_tool {EVIL_NAME}")
    assert (evil.error, evil.error_type) == (True, "tool_error")
    page = render_html(stored(spans))
    assert '<tr class="k-tool err">' in page
    assert '<span class="badge error" title="tool_error">✕ tool_error</span>' in page
    assert '<span class="badge error">1 failed tool call</span>' in page  # on its turn, in the cost table

    spans_before = len(spans.all())

    @tool
    def approve(amount: int) -> str:
        """Asks a human to approve a payment."""
        return f"approved: {interrupt({'amount': amount})}"

    model = ScriptedChatModel(script=[tool_calls_message(("approve", {"amount": 10}, "c1")), answer_message("ok")])
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    config: dict[str, Any] = {"callbacks": [handler], "configurable": {"thread_id": "t-1"}}
    create_agent(model, [approve], checkpointer=InMemorySaver()).invoke(INPUT, config=config)
    interrupted = stored(spans)[spans_before:]
    assert [r.label for r in build_rows(interrupted) if r.interrupted] == ["invoke_agent agent", "execute_tool approve"]
    assert '<span class="badge interrupted">⏸ interrupted</span>' in render_html(interrupted)

    spans_before = len(spans.all())
    stream = three_turn_agent().stream(INPUT, config={"callbacks": [handler]}, stream_mode="updates")
    next(stream)  # the consumer reads turn 1's model step, then walks away
    stream.close()
    cut_short = stored(spans)[spans_before:]
    cut_rows = build_rows(cut_short)
    assert cut_rows[0].incomplete
    assert not any(r.error for r in cut_rows)
    assert '<span class="badge incomplete">incomplete</span>' in render_html(cut_short)


# -- page -----------------------------------------------------------------------------------------------------
def test_an_error_badge_names_the_class_and_holds_the_full_type(provider: TracerProvider, spans: Spans) -> None:
    """The notes column is narrow: the badge shows the exception's class name, its module on hover."""
    handler = TurnTraceCallbackHandler(
        tracer_provider=provider, budget=Budget(max_cost_usd_per_run=0.0000001, on_exceed="raise")
    )
    with pytest.raises(BudgetExceededError):
        three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})
    (agent,) = [r for r in build_rows(stored(spans)) if r.kind == "agent"]
    assert agent.error_type is not None
    module, _, name = agent.error_type.rpartition(".")
    assert (module, name) == ("langchain_turntrace", "BudgetExceededError")
    page = render_html(stored(spans))
    badge = f'<span class="badge error" title="{agent.error_type}">✕ BudgetExceededError</span>'
    assert badge in page


BADGES = """<script>
(() => {
  const badges = [...document.querySelectorAll("td.notes .badge.error")].map((badge) => {
    const cell = badge.closest("td").getBoundingClientRect();
    const own = badge.getBoundingClientRect();
    const whole = badge.scrollWidth <= badge.clientWidth && own.right <= cell.right + 0.5;
    return { text: badge.textContent, title: badge.title, whole };
  });
  const out = document.createElement("pre");
  out.id = "badges";
  out.textContent = JSON.stringify(badges);
  document.body.append(out);
})();
</script>"""


@pytest.mark.parametrize("width_px", [*WIDTHS_PX, 2_560])
def test_chromium_shows_an_error_badge_whole(
    provider: TracerProvider, spans: Spans, tmp_path: Path, width_px: int
) -> None:
    handler = TurnTraceCallbackHandler(
        tracer_provider=provider, budget=Budget(max_cost_usd_per_run=0.0000001, on_exceed="raise")
    )
    with pytest.raises(BudgetExceededError):
        three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})
    page = tmp_path / "budget.html"
    page.write_text(render_html(stored(spans)).replace("</body>", BADGES + "</body>"), encoding="utf-8")
    dom = chromium(tmp_path, page, "--dump-dom", f"--window-size={width_px},900").stdout.decode()
    found = re.search(r'<pre id="badges">(.*?)</pre>', dom)
    assert found is not None, "the measuring script wrote nothing"
    badges = json.loads(html.unescape(found.group(1)))
    assert [(b["text"], b["title"], b["whole"]) for b in badges] == [
        ("✕ BudgetExceededError", "langchain_turntrace.BudgetExceededError", True)
    ]


def test_header_and_turn_table_show_the_run_totals(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(
        tracer_provider=provider, session_id="s-1", user_id="u-1", feature="travel", agent_version="1.0"
    )
    three_turn_agent(name="planner").invoke(INPUT, config={"callbacks": [handler]})
    page = render_html(stored(spans))
    root = spans.attrs(spans.roots()[0])

    def fact(key: str) -> str:
        found = re.search(rf'<div class="k">{re.escape(key)}</div><div class="v">([^<]*)</div>', page)
        assert found is not None, key
        return found.group(1)

    assert (fact("Agent"), fact("Session"), fact("User")) == ("planner", "s-1", "u-1")
    assert (fact("Feature"), fact("Agent version")) == ("travel", "1.0")
    assert (fact("Turns"), fact("Tool calls"), fact("Tokens in → out")) == ("3", "3", "450 → 90")
    assert fact("Cost") == usd(root[attr.TOTAL_COST_USD])  # one money format: langchain_turntrace.money
    assert fact("Status") == "ok"
    assert fact("Duration").endswith(" ms")
    assert "<title>planner · turntrace waterfall</title>" in page
    turn_table = page[page.index('<table class="turns">') :]
    turn_table = turn_table[: turn_table.index("</table>")]
    assert turn_table.count("<tr") == 1 + 3 + 1  # header, three turns, the run's total
    assert len(re.findall(r'<tr class="k-\w+', page)) == len(spans.all())


def test_names_values_and_title_are_escaped(provider: TracerProvider, spans: Spans) -> None:
    run_showcase(provider)
    page = render_html(stored(spans), title=f"incident {EVIL_NAME} {EVIL_VALUE}")

    assert EVIL_NAME not in page
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "onerror=alert(1)>" not in page
    assert EVIL_NAME_ESCAPED in page
    assert f"execute_tool {EVIL_NAME_ESCAPED}" in page
    assert EVIL_VALUE_ESCAPED in page
    assert f"<title>incident {EVIL_NAME_ESCAPED} {EVIL_VALUE_ESCAPED}</title>" in page
    # Inside attribute values too (tooltips): quote=True leaves no raw quote to break out of title="..."
    assert f'title="execute_tool {EVIL_NAME_ESCAPED}"' in page
    assert f'title="{EVIL_VALUE_ESCAPED}"' in page

    parsed = Page(page)
    assert {tag for tag, _ in parsed.tags}.isdisjoint({"script", "img", "iframe", "object", "embed"})
    assert not [a for _, attrs in parsed.tags for a in attrs if a.startswith("on")]
    text = "".join(parsed.text)
    assert f"execute_tool {EVIL_NAME}" in text  # a browser shows the name as text
    assert EVIL_VALUE in text


def test_page_is_self_contained(provider: TracerProvider, spans: Spans) -> None:
    run_showcase(provider)
    page = render_html(stored(spans))

    for external in ("http://", "https://", "//", "url(", "@import", "@font-face"):
        assert external not in page, external
    parsed = Page(page)
    tags = [tag for tag, _ in parsed.tags]
    assert {"link", "script", "img", "iframe", "base", "object", "embed", "svg", "video", "audio"}.isdisjoint(tags)
    assert tags.count("style") == 1
    ids = {attrs["id"] for _, attrs in parsed.tags if attrs.get("id")}
    for tag, attrs in parsed.tags:
        assert not {"src", "srcset", "action", "formaction"} & attrs.keys(), tag
        href = attrs.get("href")
        if href is not None:
            assert href.startswith("#"), href
            assert href[1:] in ids, href
    assert page.lstrip().startswith("<!DOCTYPE html>")


def test_corrupt_spans_still_get_a_row_each() -> None:
    """Hand-made spans: a parent cycle (reachable from no root) and an end before the start."""

    def span(span_id: str, parent: str | None, start: int, end: int) -> StoredSpan:
        return StoredSpan("0" * 32, span_id, parent, f"s{span_id}", "INTERNAL", start, end, "UNSET")

    spans_ = [span("a", None, 10, 50), span("b", "c", 20, 30), span("c", "b", 25, 5), span("d", "a", 40, 45)]
    rows = build_rows(spans_)
    assert [(r.label, r.depth) for r in rows] == [("sa", 0), ("sd", 1), ("sb", 0), ("sc", 1)]
    assert rows[-1].duration_ms == 0
    assert "sc" in render_html(spans_)


def test_empty_input_renders_an_empty_page() -> None:
    assert build_rows([]) == []
    page = render_html([])
    assert "No spans to show." in page
    assert "<title>turntrace waterfall</title>" in page


# -- in a real browser ----------------------------------------------------------------------------------------
def showcase_page(provider: TracerProvider, spans: Spans, tmp_path: Path) -> Path:
    run_showcase(provider)
    path = tmp_path / "waterfall.html"
    path.write_text(render_html(stored(spans), title="support_bot · incident review"), encoding="utf-8")
    return path


@pytest.mark.parametrize("width_px", WIDTHS_PX)
def test_chromium_screenshot_of_the_page(provider: TracerProvider, spans: Spans, tmp_path: Path, width_px: int) -> None:
    page = showcase_page(provider, spans, tmp_path)
    png = tmp_path / "waterfall.png"
    chromium(tmp_path, page, f"--screenshot={png}", f"--window-size={width_px},900", "--hide-scrollbars")

    assert png.exists(), "chromium wrote no screenshot"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (width_px, 900)
    assert len(data) > 30_000, f"screenshot is only {len(data)} bytes: a blank page?"


class Box(TypedDict):
    left: float
    right: float
    width: float


class Label(Box):
    text: str


class Layout(TypedDict):
    """What the browser laid out, in CSS px: see MEASURE."""

    viewport: float  # the window less its scrollbar
    page_width: float
    section_overflow: float
    table: Box
    tracks: list[Box]
    bars: list[Box]
    axis: Box
    labels: list[Label]


# Appended to a test copy of the page (the page itself has no scripts): reading the boxes makes the browser lay
# the page out first, and the answer goes into the DOM for --dump-dom to bring back.
MEASURE = """<script>
(() => {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return { left: r.left, right: r.right, width: r.width };
  };
  const shown = (el) => getComputedStyle(el).display !== "none";
  const section = document.querySelector("table.wf").closest("section");
  const tracks = [...document.querySelectorAll(".wf .track")];
  const layout = {
    viewport: document.documentElement.clientWidth,
    page_width: document.documentElement.scrollWidth,
    section_overflow: section.scrollWidth - section.clientWidth,
    table: box(document.querySelector("table.wf")),
    tracks: tracks.map(box),
    bars: tracks.map((track) => box(track.querySelector(".bar"))),
    axis: box(document.querySelector(".wf .axis")),
    labels: [...document.querySelectorAll(".wf .axis span")]
      .filter(shown)
      .map((label) => ({ ...box(label), text: label.textContent })),
  };
  const out = document.createElement("pre");
  out.id = "layout";
  out.textContent = JSON.stringify(layout);
  document.body.append(out);
})();
</script>"""


def measure(tmp_path: Path, page: Path, width_px: int) -> Layout:
    measured = tmp_path / f"measured-{page.name}"
    measured.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = chromium(tmp_path, measured, "--dump-dom", f"--window-size={width_px},900").stdout.decode()
    found = re.search(r'<pre id="layout">(.*?)</pre>', dom)
    assert found is not None, "the measuring script wrote nothing"
    return cast(Layout, json.loads(html.unescape(found.group(1))))


def long_run_page(tmp_path: Path) -> Path:
    """A 20-minute run, for the widest axis labels: eleven tool calls, alternately 0.3 ms and 50 s long."""
    ns_per_ms = 1_000_000
    root_id = f"{0:016x}"

    def span(span_id: str, parent_id: str | None, name: str, start_ms: float, duration_ms: float) -> StoredSpan:
        start_ns = round(start_ms * ns_per_ms)
        end_ns = start_ns + round(duration_ms * ns_per_ms)
        return StoredSpan("0" * 32, span_id, parent_id, name, "INTERNAL", start_ns, end_ns, "UNSET")

    run = span(root_id, None, "invoke_agent long_runner", 0, 1_234_567.8)
    steps = [
        span(f"{n:016x}", root_id, f"execute_tool step_{n}", 100_000 * n, 0.3 if n % 2 else 50_000)
        for n in range(1, 12)
    ]
    path = tmp_path / "long-run.html"
    path.write_text(render_html([run, *steps]), encoding="utf-8")
    return path


def assert_labels_apart(layout: Layout) -> None:
    labels = sorted(layout["labels"], key=lambda label: label["left"])
    assert len(labels) >= 3, labels
    for before, after in itertools.pairwise(labels):
        assert before["right"] <= after["left"], f"axis labels overlap: {before} and {after}"
    assert layout["axis"]["left"] - 0.5 <= labels[0]["left"]
    assert labels[-1]["right"] <= layout["axis"]["right"] + 0.5


def assert_bars_visible(layout: Layout) -> None:
    for bar, track in zip(layout["bars"], layout["tracks"], strict=True):
        assert bar["width"] >= MIN_BAR_PX, bar
        assert track["left"] - 0.5 <= bar["left"], (bar, track)
        assert bar["right"] <= track["right"] + 0.5, (bar, track)


@pytest.mark.parametrize("width_px", WIDTHS_PX)
def test_chromium_layout_keeps_the_timeline_wide(
    provider: TracerProvider, spans: Spans, tmp_path: Path, width_px: int
) -> None:
    layout = measure(tmp_path, showcase_page(provider, spans, tmp_path), width_px)

    viewport = layout["viewport"]
    assert width_px - 20 <= viewport <= width_px  # the window size took; a scrollbar may take its share
    assert layout["page_width"] <= viewport, "the page scrolls sideways"
    assert layout["section_overflow"] <= 0, "the waterfall sticks out of its section"
    assert len(layout["tracks"]) == len(spans.all())
    timeline = layout["tracks"][0]["width"]
    assert {round(track["width"]) for track in layout["tracks"]} == {round(timeline)}
    assert timeline >= TIMELINE_SHARE * layout["table"]["width"], (timeline, layout["table"])
    assert layout["table"]["right"] <= viewport
    assert_labels_apart(layout)
    run = build_rows(stored(spans))[0]
    assert (layout["labels"][0]["text"], layout["labels"][-1]["text"]) == ("0", tick(run.duration_ms))
    assert_bars_visible(layout)


def test_chromium_timeline_grows_with_the_window(provider: TracerProvider, spans: Spans, tmp_path: Path) -> None:
    page = showcase_page(provider, spans, tmp_path)
    timelines = [measure(tmp_path, page, width)["tracks"][0]["width"] for width in (*WIDTHS_PX, 2_560)]

    assert timelines == sorted(timelines), timelines
    assert timelines[-1] >= 0.55 * 2_560  # a wide screen's extra width goes to the timeline


@pytest.mark.parametrize("width_px", WIDTHS_PX)
def test_chromium_axis_of_a_long_run(tmp_path: Path, width_px: int) -> None:
    layout = measure(tmp_path, long_run_page(tmp_path), width_px)

    assert_labels_apart(layout)
    assert layout["labels"][-1]["text"] == "20m 35s"
    assert_bars_visible(layout)  # a 0.3 ms call in a 20-minute run still shows
    assert layout["page_width"] <= layout["viewport"]


@pytest.mark.parametrize(
    ("value_ms", "label"),
    [
        (0, "0"),
        (4.249, "4.25 ms"),
        (9.996, "10.0 ms"),
        (850.2, "850 ms"),
        (999.6, "1.00 s"),  # rounds into the next unit instead of "1000 ms"
        (12_345, "12.3 s"),
        (59_951, "1m 00s"),
        (1_234_567.8, "20m 35s"),
        (3_599_600, "1h 00m"),
        (11_234_567, "3h 07m"),
    ],
)
def test_axis_labels_stay_short(value_ms: float, label: str) -> None:
    assert tick(value_ms) == label
    assert len(label) <= 8


def test_chromium_dom_shows_the_hostile_tool_name_as_text(
    provider: TracerProvider, spans: Spans, tmp_path: Path
) -> None:
    page = showcase_page(provider, spans, tmp_path)
    dom = chromium(tmp_path, page, "--dump-dom").stdout.decode()

    assert "invoke_agent support_bot" in dom  # the page did render
    assert f"execute_tool {EVIL_NAME_ESCAPED}" in dom
    assert "<script" not in dom.lower()
    assert "<img" not in dom.lower()
    parsed = Page(dom)
    assert {"script", "img"}.isdisjoint(tag for tag, _ in parsed.tags)
    assert f"execute_tool {EVIL_NAME}" in "".join(parsed.text)
