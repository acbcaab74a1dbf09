"""Every command at 80 columns and at 200, through the installed ``turntrace`` writing into a pipe.

The store holds the demo's run and real traced runs that push the layout: a long agent name and session that
must be cut, a failing tool (an error note), a model with no price (an ``unpriced`` note) and a nested agent
(a deep tree).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from rich.cells import cell_len

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.money import usd
from langchain_turntrace.store import SpanStore, SqliteSpanExporter
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from tests.agents import create_agent, explode, get_weather, research, state_graph_agent, three_turn_script

NARROW, WIDE = 80, 200
NARROWER, TOO_NARROW = 60, 40  # a split pane; a terminal no table fits
LONG_AGENT = "itinerary_planner_for_corporate_travel_requests"
LONG_SESSION = "7d1f0c2e-5b8a-4c3e-9f6d-2a4b8c1e0f37"


def turntrace(*args: str, store: Path, columns: int) -> subprocess.CompletedProcess[str]:
    """The installed console script, its output a pipe (so rich takes the width from $COLUMNS)."""
    script = Path(sys.executable).parent / "turntrace"
    env = {**os.environ, "COLUMNS": str(columns), "TURNTRACE_STORE": str(store)}
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def shown(*args: str, store: Path, columns: int) -> str:
    result = turntrace(*args, store=store, columns=columns)
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


@dataclass(frozen=True)
class Fleet:
    store: Path
    runs: dict[str, dict[str, Any]]  # agent name -> its `runs --json` row
    seen: dict[tuple[str, ...], str] = field(default_factory=lambda: dict[tuple[str, ...], str]())

    def shown(self, *args: str, columns: int) -> str:
        """A command's output, run once per width: the store does not change after the fixture."""
        key = (*args, str(columns))
        if key not in self.seen:
            self.seen[key] = shown(*args, store=self.store, columns=columns)
        return self.seen[key]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    store = tmp_path_factory.mktemp("width") / "traces.db"
    assert turntrace("demo", store=store, columns=WIDE).returncode == 0
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SqliteSpanExporter(store)))

    def handler(
        session_id: str, user_id: str | None = None, feature: str | None = None, agent_name: str | None = None
    ) -> dict[str, Any]:
        tracer = TurnTraceCallbackHandler(
            tracer_provider=provider, session_id=session_id, user_id=user_id, feature=feature, agent_name=agent_name
        )
        return {"callbacks": [tracer]}

    failing = ScriptedChatModel(script=[tool_calls_message(("explode", {"reason": "disk full"}, "x1"))])
    graph = state_graph_agent(failing, [explode], handle_tool_errors=False)
    with pytest.raises(RuntimeError, match="disk full"):
        graph.invoke(
            {"messages": [HumanMessage("go")]},
            config=handler(agent_name=LONG_AGENT, session_id=LONG_SESSION, user_id="ops"),
        )
    house = ScriptedChatModel(script=three_turn_script(), model_name="house-llm-7b", provider="house")
    create_agent(house, [get_weather], name="house_agent").invoke(
        {"messages": [HumanMessage("hi")]}, config=handler(session_id="s-house", user_id="someone@example.com")
    )
    outer = ScriptedChatModel(
        script=[tool_calls_message(("research", {"question": "Lima?"}, "r1")), answer_message("sunny")]
    )
    create_agent(outer, [research], name="lead").invoke(
        {"messages": [HumanMessage("weather in Lima")]}, config=handler(session_id="s-lead", feature="travel")
    )
    provider.shutdown()
    listed = json.loads(shown("--json", "runs", store=store, columns=WIDE))
    return Fleet(store, {run["agent"]: run for run in listed})


def commands(fleet: Fleet) -> list[list[str]]:
    demo = fleet.runs["travel_agent"]
    shows = [["show", run["run_id"][:10]] for run in fleet.runs.values()]
    return [
        ["runs"],
        ["runs", "--session", demo["session"]],
        ["runs", "--session", LONG_SESSION],
        *shows,
        *(["cost", "--by", by] for by in ("model", "user", "session")),
        ["top", "tools"],
        ["top", "tools", "--by", "errors"],
        ["alert", "--max-cost-usd", "0.001", "--per", "run", "--by", "feature"],
        ["alert", "--max-cost-usd", "5", "--per", "session", "--by", "user"],
        ["prices", "claude-sonnet-4-5"],
        ["prune"],
        ["runs", "--since", "2999-01-01"],
        ["cost", "--since", "2999-01-01"],
    ]


@pytest.mark.parametrize("columns", [NARROWER, NARROW, WIDE])
def test_no_line_is_wider_than_the_terminal(fleet: Fleet, columns: int, tmp_path: Path) -> None:
    outputs = [fleet.shown(*args, columns=columns) for args in commands(fleet)]
    outputs.append(shown("verify", "--store", str(tmp_path / "verify.db"), store=fleet.store, columns=columns))
    demo_store = tmp_path / "demo.db"
    outputs.append(shown("demo", store=demo_store, columns=columns))
    for args, output in zip([*commands(fleet), ["verify"], ["demo"]], outputs, strict=True):
        too_wide = [line for line in output.splitlines() if cell_len(line) > columns]
        assert not too_wide, (args, too_wide)


def waterfall(output: str) -> tuple[str, list[str]]:
    """The header row of a waterfall table and its rows (after the rule under the header)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("span ") and "timeline" in line)
    rows = [line for line in lines[start + 2 :] if line.strip() and not line.startswith(("resume", "next:"))]
    return lines[start], rows


def bar_cells(output: str) -> int:
    """The root row's bar: it spans the whole run, so its length is the timeline's width."""
    _, rows = waterfall(output)
    return rows[0].count("█")


@pytest.mark.parametrize("agent", ["travel_agent", LONG_AGENT, "house_agent", "lead"])
def test_the_timeline_keeps_20_cells_at_80_columns_and_grows_with_the_terminal(fleet: Fleet, agent: str) -> None:
    run = fleet.runs[agent]["run_id"]
    assert bar_cells(fleet.shown("show", run[:10], columns=NARROW)) >= 20
    assert bar_cells(fleet.shown("show", run[:10], columns=WIDE)) >= 80


def test_the_demo_waterfall_at_80_columns(tmp_path: Path) -> None:
    output = shown("demo", store=tmp_path / "demo.db", columns=NARROW)
    header, rows = waterfall(output)
    assert bar_cells(output) >= 20
    # Names lose their operation word before anything is cut; every column stays, but tokens (in the header).
    at = header.index("timeline")
    assert [row[:at].strip() for row in rows][:5] == [
        "agent travel_agent",
        "turn 1",
        "chat gpt-4o",
        "tool search_flights",
        "tool get_weather",
    ]
    assert header.split() == ["span", "timeline", "ms", "cost", "notes"]
    assert "4400→145 tokens" in output
    assert "stop=tool_calls" in output
    assert "…" not in output
    assert re.search(r"started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", output)


def test_the_wide_waterfall_shows_full_names_and_every_column(fleet: Fleet) -> None:
    output = fleet.shown("show", fleet.runs["lead"]["run_id"][:10], columns=WIDE)
    header, rows = waterfall(output)
    assert header.split() == ["span", "timeline", "ms", "tokens", "cost", "notes"]
    names = [row[: header.index("timeline")].strip() for row in rows]
    assert names[0] == "invoke_agent lead"
    assert "invoke_agent researcher" in names


def notes_cells(output: str) -> list[str]:
    header, rows = waterfall(output)
    at = header.index("notes")
    return [row[at:].strip() for row in rows]


@pytest.mark.parametrize("agent", [LONG_AGENT, "house_agent", "travel_agent"])
def test_cut_names_and_notes_end_in_an_ellipsis(fleet: Fleet, agent: str) -> None:
    run = fleet.runs[agent]["run_id"]
    narrow = fleet.shown("show", run[:10], columns=NARROW)
    wide = fleet.shown("show", run[:10], columns=WIDE)
    for cut, whole in zip(notes_cells(narrow), notes_cells(wide), strict=True):
        assert cut == whole or (cut.endswith("…") and whole.startswith(cut[:-1])), (cut, whole)
    if agent == LONG_AGENT:
        assert "ERROR RuntimeError" in wide
        header, rows = waterfall(narrow)
        first_name = rows[0][: header.index("timeline")].strip()
        assert first_name.endswith("…")
        assert f"agent {LONG_AGENT}".startswith(first_name[:-1])
    if agent == "house_agent":
        assert "unpriced" in narrow


def runs_rows(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("start "))
    return [line for line in lines[start + 2 :] if line.strip() and "limit" not in line]


def test_runs_at_80_columns_shows_when_each_run_started_and_cuts_long_names(fleet: Fleet) -> None:
    rows = runs_rows(fleet.shown("runs", columns=NARROW))
    assert len(rows) == len(fleet.runs)
    for run in fleet.runs.values():
        started = datetime.fromtimestamp(run["start_ns"] / 1e9, tz=timezone.utc)
        row = next(row for row in rows if run["run_id"][:8] in row)
        assert row.split()[:3] == [f"{started:%m-%d}", f"{started:%H:%M}", run["run_id"][:8]]
        assert row.split()[-1] in ("ok", "error")
        assert run["agent"] in row or LONG_AGENT.startswith(row.split()[3].removesuffix("…"))
    long_row = next(row for row in rows if fleet.runs[LONG_AGENT]["run_id"][:8] in row)
    agent_cell, session_cell = long_row.split()[3:5]
    assert agent_cell.endswith("…")
    assert LONG_AGENT.startswith(agent_cell[:-1])
    assert session_cell.endswith("…")
    assert LONG_SESSION.startswith(session_cell[:-1])


def test_a_wide_terminal_shows_more_columns_of_each_run(fleet: Fleet) -> None:
    narrow = runs_rows(fleet.shown("runs", columns=NARROW))
    wide_output = fleet.shown("runs", columns=WIDE)
    header = next(line for line in wide_output.splitlines() if line.startswith("start "))
    assert {"user", "tools", "tokens", "in→out", "feature"} <= set(header.split())
    assert LONG_AGENT in wide_output
    assert LONG_SESSION in wide_output
    assert len(runs_rows(wide_output)[0].split()) > len(narrow[0].split())


@pytest.mark.parametrize(
    ("args", "title"),
    [
        (["runs"], "agent runs in the last 7 days, newest first (limit 50)"),
        (["runs", "--since", "30d", "--limit", "2"], "agent runs in the last 30 days, newest first (limit 2)"),
        (["runs", "--session", "s-lead"], "agent runs of session s-lead in the last 7 days, oldest first (limit 50)"),
        (["runs", "--user", "ops", "--since", "2h"], "agent runs of user ops in the last 2 hours, newest first"),
        (["top", "tools"], "tools by p95 latency in the last 7 days (limit 10)"),
        (["top", "tools", "--by", "errors", "--since", "1d"], "tools by errors in the last day (limit 10)"),
        (["cost", "--by", "model"], "cost by model in the last 30 days"),
        (["cost", "--by", "user", "--since", "2026-01-01"], "cost by user since 2026-01-01"),
        (["alert", "--max-cost-usd", "0.001", "--per", "run", "--by", "feature"], "agent runs started since"),
    ],
)
def test_titles_state_the_window_and_the_limit(fleet: Fleet, args: list[str], title: str) -> None:
    output = fleet.shown(*args, columns=WIDE)
    assert title in output, output
    if "--limit" in args:
        assert "2 shown, the limit: raise --limit to see more" in output


@pytest.mark.parametrize(
    ("args", "older"),
    [
        (["runs"], "agent run"),
        (["runs", "--user", "ops"], "agent run"),
        (["cost", "--by", "model"], "model call"),
        (["top", "tools"], "tool call"),
    ],
)
def test_an_empty_window_says_what_is_older_and_which_since_reaches_it(
    fleet: Fleet, args: list[str], older: str
) -> None:
    output = shown(*args, "--since", "2999-01-01", store=fleet.store, columns=NARROW)
    message = " ".join(output.split())  # folded at 80 columns: read it as one line
    found = re.search(
        rf"since 2999-01-01 UTC; (\d+) older {older}s?, the latest (\S+) \d\d:\d\d UTC — try --since (\S+)", message
    )
    assert found, message
    assert found.group(2) == f"{datetime.now(timezone.utc):%Y-%m-%d}"
    assert "turntrace demo" not in message
    widened = json.loads(shown("--json", *args, "--since", found.group(3), store=fleet.store, columns=WIDE))
    if args[0] == "runs":
        assert len(widened) == int(found.group(1))
    else:
        assert widened  # the suggested window holds what the message counted


def test_an_empty_store_still_points_at_the_demo(tmp_path: Path) -> None:
    store = tmp_path / "empty.db"
    SpanStore.open(store, create=True).close()
    output = shown("runs", store=store, columns=NARROW)
    assert "no agent runs in" in output
    assert "`turntrace demo`" in output


def test_a_long_next_command_is_continued_not_cut(fleet: Fleet) -> None:
    """A command wider than the terminal goes on over lines ending in a backslash: it still pastes whole."""
    args = ("alert", "--max-cost-usd", "0", "--per", "session", "--by", "user")
    output = shown("--store", str(fleet.store), *args, store=Path("/nonexistent.db"), columns=NARROW)
    lines = output.splitlines()
    firsts = [i for i, line in enumerate(lines) if line.startswith("next: ")]
    assert firsts
    for first in firsts:
        block = [lines[first]]
        while block[-1].endswith(" \\"):
            block.append(lines[first + len(block)])
        assert all(cell_len(line) <= NARROW or len(line.split()) <= 2 for line in block), block  # only a long path
        argv = shlex.split(" ".join(line.removesuffix(" \\").strip() for line in block).removeprefix("next: "))
        assert argv[:3] == ["turntrace", "--store", str(fleet.store)]
        assert shown(*argv[1:], store=Path("/nonexistent.db"), columns=NARROW)
    assert any(lines[first].endswith(" \\") for first in firsts)  # the session's command is longer than 80


def cut_numbers(output: str) -> list[str]:
    """Cells that end in "…" and hold nothing but a number's characters: a figure cut short."""
    cells = re.split(r"[\s│┃]+", output)
    return [cell for cell in cells if cell.endswith("…") and re.fullmatch(r"[\d$.,:→<%-]*…", cell)]


TABLES = (("runs",), ("cost", "--by", "session"), ("cost", "--by", "user"), ("top", "tools"))


@pytest.mark.parametrize("columns", [NARROWER, TOO_NARROW])
@pytest.mark.parametrize("args", [*TABLES, ("alert", "--max-cost-usd", "0.001", "--per", "session", "--by", "user")])
def test_a_narrow_terminal_never_cuts_a_number(fleet: Fleet, args: tuple[str, ...], columns: int) -> None:
    """Under 80 columns a table abbreviates headers and leaves out what can go (the duration of a run, a column
    of zero unpriced calls, p50) rather than cut a figure; where no table fits, each row is a record."""
    output = fleet.shown(*args, columns=columns)
    assert not cut_numbers(output), output
    assert not [line for line in output.splitlines() if cell_len(line) > columns and "turntrace" not in line]
    if args == ("runs",):
        for run in fleet.runs.values():
            assert usd(run["cost_usd"]) in output
            assert run["run_id"][:8] in output
    if args[0] == "cost":
        total = json.loads(fleet.shown("--json", *args, columns=WIDE))
        assert usd(sum(r["cost_usd"] for r in total)) in output
    tabled = "┏" in output or "──" in output  # a box, or the rule under a table's header
    assert tabled == (columns == NARROWER), output  # 60 columns still hold every table; 40 hold none


def test_60_columns_keep_what_triage_needs(fleet: Fleet) -> None:
    header = next(line for line in fleet.shown("runs", columns=NARROWER).splitlines() if line.startswith("start"))
    assert header.split() == ["start", "(UTC)", "run", "agent", "session", "turns", "cost", "status"]
    cost = fleet.shown("cost", "--by", "session", columns=NARROWER)
    assert "unpriced" in cost  # house-llm's calls have no price: the column stays, under a shorter header
    tools = fleet.shown("top", "tools", columns=NARROWER)
    assert "p95" in tools
    assert "p50" not in tools


def test_a_waterfall_too_narrow_for_its_table_is_a_record_per_span(fleet: Fleet) -> None:
    run = fleet.runs["travel_agent"]["run_id"]
    narrower = fleet.shown("show", run[:10], columns=NARROWER)
    assert bar_cells(narrower) >= 10
    assert not cut_numbers(narrower)
    records = fleet.shown("show", run[:10], columns=TOO_NARROW)
    assert not cut_numbers(records)
    assert all(cell_len(line) <= TOO_NARROW for line in records.splitlines() if not line.startswith("trace "))
    spans = [line for line in records.splitlines() if line.startswith("span ")]
    assert len(spans) == 10  # one record per span, each headed by its name
    assert re.search(r"^  cost +\$0\.0036$", records, re.MULTILINE)
