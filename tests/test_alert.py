"""``turntrace alert`` over store files filled by real agent runs: groups over a threshold, smells, exit codes."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.graph import START
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.cli import main
from langchain_turntrace.store import SpanStore, SqliteSpanExporter
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from tests.agents import create_agent, get_weather, graph_builder, research, three_turn_agent

INPUT = {"messages": [HumanMessage("Weather in Paris and Rome?")]}
# $1 per 1,000 tokens, in or out, so a group's cost in dollars is its tokens / 1,000:
# a three-turn run has 540 tokens ($0.54); the research run 240 on gpt-4o-mini ($0.24) and 2,350 on its
# claude subagent ($2.35), $2.59 in all.
PRICES = {
    model: {"input_per_mtok": 1000.0, "output_per_mtok": 1000.0} for model in ("gpt-4o-mini", "claude-sonnet-4-5")
}
MINI, CLAUDE = "gpt-4o-mini", "claude-sonnet-4-5"
TODAY = "<the day the runs started>"

Run = Callable[[TurnTraceCallbackHandler], object]


class Tags(TypedDict, total=False):
    session_id: str
    user_id: str
    feature: str


@dataclass(frozen=True)
class Fleet:
    """A store of three agent runs: two trips (travel, alice, session s-1) and one research run (support, bob, s-2)."""

    path: Path
    run_ids: dict[str, str]  # agent name -> run id
    day: str  # the UTC day the runs started


def fill_store(path: Path, *runs: tuple[Run, Tags]) -> None:
    """Each run through a real handler -> TracerProvider -> SqliteSpanExporter pipeline, tagged as given."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SqliteSpanExporter(path)))
    try:
        for run, tags in runs:
            run(TurnTraceCallbackHandler(tracer_provider=provider, prices=PRICES, **tags))
    finally:
        provider.shutdown()


def agent_run(agent: Any) -> Run:
    return lambda handler: agent.invoke(INPUT, config={"callbacks": [handler]})


def research_agent() -> Any:
    """gpt-4o-mini asks the research tool once (its claude subagent runs two turns), then answers."""
    model = ScriptedChatModel(
        script=[tool_calls_message(("research", {"question": "Lima?"}, "r_1")), answer_message("Lima is sunny")]
    )
    return create_agent(model, [research], name="research")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    alice = Tags(session_id="s-1", user_id="alice", feature="travel")
    days: set[str] = set()
    for _ in range(2):  # runs that straddle midnight UTC fall into two days: fill a fresh store once more
        path = tmp_path_factory.mktemp("fleet") / "traces.db"
        fill_store(
            path,
            (agent_run(three_turn_agent("trip-1")), alice),
            (agent_run(three_turn_agent("trip-2")), alice),
            (agent_run(research_agent()), Tags(session_id="s-2", user_id="bob", feature="support")),
        )
        with SpanStore.open(path) as store:
            runs = store.runs()
        days = {datetime.fromtimestamp(r.start_ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d") for r in runs}
        assert len(runs) == 3
        if len(days) == 1:
            return Fleet(path, {r.agent or "": r.run_id for r in runs}, days.pop())
    raise AssertionError(f"the runs fell into several UTC days twice: {sorted(days)}")


def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("COLUMNS", "200")
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def alert(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store: Path, *args: str
) -> tuple[int, str, str]:
    return cli(capsys, monkeypatch, "--store", str(store), "alert", *args)


def console_script(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    """The installed ``turntrace``, as cron or CI runs it."""
    script = Path(sys.executable).parent / "turntrace"
    env = {**os.environ, "COLUMNS": "200", "TURNTRACE_STORE": str(store)}
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=120, check=False)


# -- groups over the threshold -----------------------------------------------------------------------------

# At $1 a run of $0.54 is under, but the session of two such runs ($1.08) is over.
OVER_1_USD: dict[tuple[str, str], dict[tuple[str, str], float]] = {
    ("run", "feature"): {("support", "research"): 2.59},
    ("run", "user"): {("bob", "research"): 2.59},
    ("run", "model"): {(CLAUDE, "research"): 2.35},
    ("session", "feature"): {("support", "s-2"): 2.59, ("travel", "s-1"): 1.08},
    ("session", "user"): {("bob", "s-2"): 2.59, ("alice", "s-1"): 1.08},
    ("session", "model"): {(CLAUDE, "s-2"): 2.35, (MINI, "s-1"): 1.08},
    ("day", "feature"): {("support", TODAY): 2.59, ("travel", TODAY): 1.08},
    ("day", "user"): {("bob", TODAY): 2.59, ("alice", TODAY): 1.08},
    ("day", "model"): {(CLAUDE, TODAY): 2.35, (MINI, TODAY): 1.32},
}
GROUPS_CHECKED = {
    ("run", "feature"): 3,
    ("run", "user"): 3,
    ("run", "model"): 4,  # the research run spent on two models
    ("session", "feature"): 2,
    ("session", "user"): 2,
    ("session", "model"): 3,
    ("day", "feature"): 2,
    ("day", "user"): 2,
    ("day", "model"): 2,
}


def per_label(fleet: Fleet, per: str, value: str) -> str:
    """The --per value as the tables above name it: the run's agent name, the session, or TODAY."""
    if per == "run":
        return next(name for name, run_id in fleet.run_ids.items() if run_id == value)
    return TODAY if per == "day" and value == fleet.day else value


@pytest.mark.parametrize(("per", "by"), list(OVER_1_USD))
def test_groups_over_the_threshold_exit_1_and_under_it_exit_0(
    fleet: Fleet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, per: str, by: str
) -> None:
    code, out, err = alert(capsys, monkeypatch, fleet.path, "--json", "--max-cost-usd", "1", "--per", per, "--by", by)
    assert (code, err) == (1, "")
    report = json.loads(out)
    over = [((g["by_value"], per_label(fleet, per, g["per_value"])), g["cost_usd"]) for g in report["over"]]
    expected = OVER_1_USD[per, by]
    assert [key for key, _ in over] == list(expected)  # costliest first
    assert dict(over) == pytest.approx(expected)
    assert (report["status"], report["exit_code"], report["groups_checked"]) == ("over", 1, GROUPS_CHECKED[per, by])

    code, out, err = alert(capsys, monkeypatch, fleet.path, "--json", "--max-cost-usd", "3", "--per", per, "--by", by)
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert (report["status"], report["exit_code"], report["over"]) == ("ok", 0, [])


def test_over_means_strictly_over(
    fleet: Fleet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("--json", "--per", "run", "--by", "model", "--max-cost-usd")
    _, out, _ = alert(capsys, monkeypatch, fleet.path, *args, "1")
    claude = json.loads(out)["over"][0]
    assert claude["by_value"] == CLAUDE
    # A budget is kept by spending exactly that much (JSON's float text round-trips exactly).
    code, out, _ = alert(capsys, monkeypatch, fleet.path, *args, repr(claude["cost_usd"]))
    assert (code, json.loads(out)["over"]) == (0, [])
    code, out, _ = alert(capsys, monkeypatch, fleet.path, *args, repr(claude["cost_usd"] - 1e-9))
    assert (code, [g["by_value"] for g in json.loads(out)["over"]]) == (1, [CLAUDE])


def test_cost_is_counted_on_model_calls_only(
    fleet: Fleet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The research run's agent, turn and tool spans (and its subagent's) all carry inclusive totals: summing
    # any of them with the model calls would count the $2.59 two or three times.
    _, out, _ = alert(capsys, monkeypatch, fleet.path, "--json", "--max-cost-usd", "0", "--per", "run", "--by", "model")
    research_run = fleet.run_ids["research"]
    groups = [g for g in json.loads(out)["over"] if g["per_value"] == research_run]
    assert {g["by_value"]: g["calls"] for g in groups} == {CLAUDE: 2, MINI: 2}
    assert sum(g["cost_usd"] for g in groups) == pytest.approx(2.59)
    _, out, _ = cli(capsys, monkeypatch, "--store", str(fleet.path), "--json", "runs", "--session", "s-2")
    assert json.loads(out)[0]["cost_usd"] == pytest.approx(2.59)  # the turn model's own total agrees


def test_json_shape(fleet: Fleet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, _ = alert(
        capsys,
        monkeypatch,
        fleet.path,
        "--json",
        "--max-cost-usd",
        "1",
        "--per",
        "day",
        "--by",
        "user",
        "--since",
        "2d",
    )
    report = json.loads(out)
    assert report == report | {
        "status": "over",
        "exit_code": 1,
        "store": str(fleet.path),
        "max_cost_usd": 1.0,
        "per": "day",
        "by": "user",
        "since": "2d",
        "groups_checked": 2,
        "strict": False,
    }
    assert list(report) == [
        "status",
        "exit_code",
        "store",
        "max_cost_usd",
        "per",
        "by",
        "since",
        "window_start",
        "groups_checked",
        "over",
        "smells",
        "strict",
    ]
    # --per day checks whole UTC days: the window starts at the midnight before --since.
    assert report["window_start"].endswith("T00:00:00+00:00")
    group = report["over"][0]
    assert {k: type(v) for k, v in group.items()} == {
        "by_value": str,
        "per_value": str,
        "calls": int,
        "input_tokens": int,
        "output_tokens": int,
        "cost_usd": float,
        "unpriced_calls": int,
        "next": str,
    }
    assert (group["by_value"], group["per_value"], group["calls"]) == ("bob", fleet.day, 4)
    assert (group["input_tokens"], group["output_tokens"], group["unpriced_calls"]) == (2400, 190, 0)
    assert report["smells"] == {"unpriced_models": [], "runs_without_turns": [], "tool_calls_without_turn": []}


# -- what the user reads, and the command to run next ------------------------------------------------------


@pytest.mark.parametrize(
    ("per", "by", "window", "row", "drilled"),
    [
        ("run", "feature", "agent runs started since", "support", ["invoke_agent research", "chat claude-sonnet-4-5"]),
        ("session", "user", "sessions with a model call since", "bob", ["research", "s-2"]),
        ("day", "model", "whole UTC days from", CLAUDE, ["cost by feature", "support", "travel"]),
    ],
)
def test_text_names_window_threshold_grouping_and_a_working_next_command(
    fleet: Fleet,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    per: str,
    by: str,
    window: str,
    row: str,
    drilled: list[str],
) -> None:
    code, out, _ = alert(capsys, monkeypatch, fleet.path, "--max-cost-usd", "1", "--per", per, "--by", by)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"turntrace alert: model-call cost per {per} by {by} over $1.00; {window}")
    assert "(--since 1d)" in lines[0]
    assert f"{len(OVER_1_USD[per, by])} of {GROUPS_CHECKED[per, by]} group(s) over $1.00" in out
    first_cells = [line.split("│")[1].strip() for line in lines if line.count("│") > 2]
    assert row in first_cells
    commands = [line.removeprefix("next: ") for line in lines if line.startswith("next: ")]
    assert len(commands) == len(OVER_1_USD[per, by])
    argv = shlex.split(commands[0])  # the costliest group's
    assert argv[:3] == ["turntrace", "--store", str(fleet.path)]
    code, out, err = cli(capsys, monkeypatch, *argv[1:])
    assert (code, err) == (0, "")
    for text in drilled:
        assert text in out
    if per == "session":
        assert "trip-" not in out  # only bob's session


def test_nothing_over_says_which_group_came_closest(
    fleet: Fleet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = alert(capsys, monkeypatch, fleet.path, "--max-cost-usd", "50", "--per", "session", "--by", "feature")
    assert code == 0
    assert "ok: none of 2 group(s) is over $50.00; the costliest is feature support, session s-2: $2.5900" in out
    assert "next:" not in out
    assert "warning" not in out


# -- nothing to check --------------------------------------------------------------------------------------


def test_empty_store_is_not_an_alert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "empty.db"
    SpanStore.open(path, create=True).close()
    code, out, err = alert(capsys, monkeypatch, path, "--max-cost-usd", "0", "--per", "day", "--by", "feature")
    assert (code, err) == (0, "")
    assert f"the store {path} holds no traces yet: nothing to check" in out
    code, out, _ = alert(capsys, monkeypatch, path, "--json", "--max-cost-usd", "0", "--per", "day", "--by", "feature")
    report = json.loads(out)
    assert (code, report["status"], report["groups_checked"], report["over"]) == (0, "nothing_to_check", 0, [])


def test_nothing_in_the_window_is_not_an_alert(
    fleet: Fleet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("--max-cost-usd", "0", "--per", "run", "--by", "user", "--since", "2999-01-01")
    code, out, err = alert(capsys, monkeypatch, fleet.path, *args)
    assert (code, err) == (0, "")
    assert "no model calls in that window: nothing to check. Widen --since" in out


def test_since_before_1677_or_after_2262_is_clamped_not_a_crash(
    fleet: Fleet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nanoseconds in SQLite's 64-bit integers reach only those years; a date outside them means "all" or "none".
    args = ("--json", "--max-cost-usd", "1", "--per", "day", "--by", "user", "--since")
    code, out, err = alert(capsys, monkeypatch, fleet.path, *args, "0001-01-01")
    assert (code, err, json.loads(out)["window_start"][:4]) == (1, "", "1677")
    code, out, err = alert(capsys, monkeypatch, fleet.path, *args, "2999-01-01")
    assert (code, err, json.loads(out)["status"]) == (0, "", "nothing_to_check")


# -- bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-cost-usd", "-5"], "argument --max-cost-usd: -5 is below zero; give US dollars >= 0, e.g. 50"),
        (["--max-cost-usd", "nan"], "argument --max-cost-usd: nan is not a finite number; give a number of US dollars"),
        (["--max-cost-usd", "1", "--since", "last tuesday"], "argument --since: 'last tuesday' is not understood"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(fleet: Fleet, args: list[str], message: str) -> None:
    result = console_script("alert", *args, "--per", "run", "--by", "feature", store=fleet.path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(f"turntrace alert: {message}")
    assert result.stderr.rstrip().endswith("(see `turntrace alert --help`)")
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_threshold_is_refused_before_the_store_is_read(tmp_path: Path) -> None:
    result = console_script(
        "alert", "--max-cost-usd", "-1", "--per", "day", "--by", "model", store=tmp_path / "none.db"
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "turntrace alert: argument --max-cost-usd: -1 is below zero; give US dollars >= 0, e.g. 50 "
        "(see `turntrace alert --help`)"
    )
    missing = console_script(
        "alert", "--max-cost-usd", "1", "--per", "day", "--by", "model", store=tmp_path / "none.db"
    )
    assert missing.returncode == 2
    assert "turntrace demo" in missing.stderr
    assert not (tmp_path / "none.db").exists()


# -- wiring smells -----------------------------------------------------------------------------------------


def unpriced_model(handler: TurnTraceCallbackHandler) -> object:
    model = ScriptedChatModel(model_name="my-llama-70b", script=[answer_message("hi", 300, 30)])
    return create_agent(model, [], name="llama").invoke(INPUT, config={"callbacks": [handler]})


def bare_tool(handler: TurnTraceCallbackHandler) -> object:
    return get_weather.invoke({"city": "Oslo"}, config={"callbacks": [handler]})


def add_one(number: int) -> int:
    return number + 1


def chain_without_a_model(handler: TurnTraceCallbackHandler) -> object:
    return RunnableLambda(add_one, name="adder").invoke(1, config={"callbacks": [handler]})


@pytest.mark.parametrize(
    ("run", "kind", "says"),
    [
        (
            unpriced_model,
            "unpriced_models",
            ["my-llama-70b (1 call(s))", "prices={'my-llama-70b':", "TURNTRACE_PRICES"],
        ),
        (chain_without_a_model, "runs_without_turns", ["1 agent run(s) with no turn", "adder → turntrace --store"]),
        (bare_tool, "tool_calls_without_turn", ["1 tool call(s) without a turn", "get_weather → turntrace --store"]),
    ],
)
def test_each_smell_warns_and_fails_only_with_strict(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    run: Run,
    kind: str,
    says: list[str],
) -> None:
    smelly = tmp_path / "smelly.db"
    fill_store(smelly, (run, Tags(feature="lab")))
    args = ("--max-cost-usd", "1", "--per", "day", "--by", "model")
    code, out, _ = alert(capsys, monkeypatch, smelly, "--json", *args)
    smells = json.loads(out)["smells"]
    assert code == 0
    assert [name for name, found in smells.items() if found] == [kind]
    assert len(smells[kind]) == 1

    code, out, _ = alert(capsys, monkeypatch, smelly, *args)
    assert code == 0
    for text in says:
        assert text in out
    assert "these warnings do not change the exit code; add --strict to make them fail it" in out

    code, out, _ = alert(capsys, monkeypatch, smelly, "--json", "--strict", *args)
    assert (code, json.loads(out)["status"], json.loads(out)["exit_code"]) == (1, "smells", 1)

    if kind != "unpriced_models":  # the other two name a run or trace to open, and that command works
        shown = smells[kind][0]["next"]
        code, out, err = cli(capsys, monkeypatch, *shlex.split(shown)[1:])
        assert (code, err) == (0, "")
        assert ("invoke_agent adder" if kind == "runs_without_turns" else "execute_tool get_weather") in out


def lookup(city: str, config: RunnableConfig) -> object:
    return get_weather.invoke({"city": city}, config=config)


def test_a_tool_called_by_a_chain_sits_in_a_run_without_a_turn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "chain-tool.db"
    fill_store(
        path, (lambda handler: RunnableLambda(lookup, name="lookup").invoke("Oslo", {"callbacks": [handler]}), Tags())
    )
    with SpanStore.open(path) as store:
        (run,) = store.runs()
    code, out, _ = alert(capsys, monkeypatch, path, "--json", "--max-cost-usd", "1", "--per", "run", "--by", "user")
    smells = json.loads(out)["smells"]
    assert code == 0
    assert [r["run_id"] for r in smells["runs_without_turns"]] == [run.run_id]
    # Its parent is stored, and is the agent span, not a turn: the call opens through its run.
    (call,) = smells["tool_calls_without_turn"]
    assert (call["tool"], call["run_id"], call["next"]) == (
        "get_weather",
        run.run_id,
        f"turntrace --store {path} show {run.run_id[:12]}",
    )


def test_unpriced_calls_show_in_their_group(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "unpriced.db"
    fill_store(path, (unpriced_model, Tags(feature="lab")))
    _, out, _ = alert(capsys, monkeypatch, path, "--json", "--max-cost-usd", "0", "--per", "day", "--by", "model")
    report = json.loads(out)
    assert report["over"] == []  # its cost is unknown, not over: the smell is what flags it
    assert report["smells"]["unpriced_models"] == [{"model": "my-llama-70b", "calls": 1}]


def test_a_clean_fleet_has_no_smells(
    fleet: Fleet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The research run nests an agent inside a tool: its tool calls still sit under turns.
    code, out, _ = alert(
        capsys, monkeypatch, fleet.path, "--json", "--strict", "--max-cost-usd", "9", "--per", "run", "--by", "model"
    )
    assert code == 0
    assert json.loads(out)["smells"] == {"unpriced_models": [], "runs_without_turns": [], "tool_calls_without_turn": []}


def test_a_run_whose_turns_are_a_subgraphs_is_not_a_smell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = graph_builder()
    graph.add_node("inner", three_turn_agent("inner"))
    graph.add_edge(START, "inner")
    path = tmp_path / "subgraph.db"
    fill_store(path, (agent_run(graph.compile(name="outer")), Tags()))
    with SpanStore.open(path) as store:
        (run,) = store.runs()
    assert (run.agent, run.turns) == ("outer", 0)  # its own turn count is 0: the turns are the subgraph's
    code, out, _ = alert(
        capsys, monkeypatch, path, "--json", "--strict", "--max-cost-usd", "9", "--per", "run", "--by", "model"
    )
    assert code == 0
    assert json.loads(out)["smells"]["runs_without_turns"] == []


# -- the installed command ---------------------------------------------------------------------------------


def test_alert_on_the_demo_data_names_the_run(tmp_path: Path) -> None:
    store = tmp_path / "demo.db"
    assert console_script("demo", store=store).returncode == 0
    run_id = json.loads(console_script("--json", "runs", store=store).stdout)[0]["run_id"]
    result = console_script("alert", "--max-cost-usd", "0.001", "--per", "run", "--by", "feature", store=store)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == ""
    assert "1 of 1 group(s) over $0.001" in result.stdout
    assert f"next: turntrace show {run_id[:12]}" in result.stdout
    row = next(line for line in result.stdout.splitlines() if run_id[:12] in line and "travel" in line)
    assert "$0.0124" in row
    under = console_script("alert", "--max-cost-usd", "0.02", "--per", "run", "--by", "feature", store=store)
    assert under.returncode == 0, under.stdout + under.stderr


def test_options_go_before_or_after_the_command(fleet: Fleet) -> None:
    nowhere = Path("/nonexistent.db")
    args = ("--max-cost-usd", "1", "--per", "session", "--by", "user")
    after = console_script("alert", *args, "--json", "--store", str(fleet.path), store=nowhere)
    before = console_script("--json", "--store", str(fleet.path), "alert", *args, store=nowhere)
    assert after.returncode == before.returncode == 1, after.stderr + before.stderr
    assert json.loads(after.stdout)["over"] == json.loads(before.stdout)["over"]
    assert [g["per_value"] for g in json.loads(after.stdout)["over"]] == ["s-2", "s-1"]
