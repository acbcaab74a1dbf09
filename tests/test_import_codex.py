"""``turntrace import codex``: rollouts built line by line (tests/codex_transcripts.py) become the span tree of a
live trace, priced the same, stored once however often they are imported or grow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import pytest
from genai_prices import Usage as PricesUsage
from genai_prices import calc_price
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from langchain_turntrace.hashing import InputHasher
from langchain_turntrace.pricing import PriceBook
from langchain_turntrace.store import SpanStore, SqliteSpanExporter
from langchain_turntrace.transcripts import ImportReport, exporter_for_import, import_transcripts, shutdown_within
from tests.codex_transcripts import (
    ABORTED,
    EXEC_FAILED,
    EXEC_OK,
    GPT5,
    GPT5_CODEX,
    REJECTED,
    Rollout,
    Usage,
    legacy_lines,
)
from tests.contract import check_contract
from tests.imported import stored_counts
from tests.spans import Spans, tree_text

_START = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=2)


def imported(*paths: Path, **options: Any) -> tuple[ImportReport, Spans]:
    """Imports into the SDK's in-memory exporter; every span is held to DESIGN.md's contract."""
    memory = InMemorySpanExporter()
    report = import_transcripts(
        "codex", list(paths), memory, prices=PriceBook({}), hasher=InputHasher(None), user_id="dev", **options
    )
    spans = Spans(memory)
    check_contract(spans.all())
    return report, spans


def into_store(store: Path, *paths: Path) -> ImportReport:
    exporter = exporter_for_import("local", store_path=store, retention_days=None)
    assert isinstance(exporter, SqliteSpanExporter)
    report = import_transcripts(
        "codex", list(paths), exporter, prices=PriceBook({}), hasher=InputHasher(None), user_id="dev"
    )
    assert shutdown_within(exporter, 5.0)
    return report


def two_prompt_rollout(**options: Any) -> tuple[Rollout, list[str]]:
    """Prompt 1: a request for two commands at once (one fails), then the answer, reading most of its input from
    the cache; prompt 2: one answer. Returns the rollout and the two commands' call ids."""
    r = Rollout(start=_START, **options)
    r.prompt("why do the tests fail?")
    calls = r.response(
        tools=[("shell", {"command": ["pytest", "-q"]}), ("shell", {"command": ["git", "status"]})],
        usage=Usage(12_000, 0, 300, 128),
    )
    r.output(calls[0], "Exit code: 1\nWall time: 4.2 seconds\nOutput:\n1 failed", seconds=4.2)
    r.output(calls[1], "Exit code: 0\nWall time: 0.1 seconds\nOutput:\nclean", seconds=0.1)
    r.response(usage=Usage(13_000, 11_776, 900, 512), text="The fixture is stale.")
    r.prompt("fix it")
    r.response(usage=Usage(14_000, 12_800, 400, 0), text="Done.")
    return r, calls


# -- the tree ---------------------------------------------------------------------------------------------------
def test_one_run_per_prompt_a_turn_per_request_tools_under_the_turn_that_asked(tmp_path: Path) -> None:
    r, calls = two_prompt_rollout()
    report, spans = imported(r.write(tmp_path))

    assert spans.tree(by_name=True) == tree_text(
        "invoke_agent codex",
        "  turn 1",
        f"    chat {GPT5_CODEX}",
        "    execute_tool shell",
        "    execute_tool shell",
        "  turn 2",
        f"    chat {GPT5_CODEX}",
        "invoke_agent codex",
        "  turn 1",
        f"    chat {GPT5_CODEX}",
    )
    assert (report.sessions, report.runs, report.model_calls, report.tool_calls) == (1, 2, 3, 2)
    assert report.notes == []
    first, second = spans.named("invoke_agent")
    assert spans.attrs(first)["session.id"] == r.session_id
    assert spans.attrs(first)["turntrace.agent_version"] == "0.46.0"
    assert spans.attrs(first)["turntrace.feature"] == "shop"  # the session cwd's last folder
    assert spans.attrs(first)["user.id"] == "dev"
    assert (spans.attrs(first)["turntrace.turn_count"], spans.attrs(first)["turntrace.tool_call_count"]) == (2, 2)
    assert spans.attrs(second)["turntrace.turn_count"] == 1
    tools = {spans.attrs(s)["gen_ai.tool.call.id"]: s for s in spans.named("execute_tool")}
    failed, fine = tools[calls[0]], tools[calls[1]]
    assert spans.attrs(failed)["error.type"] == "tool_error"
    assert "error.type" not in spans.attrs(fine)
    assert spans.attrs(failed)["turntrace.latency_ms"] == pytest.approx(4200)
    assert spans.attrs(spans.parent(failed))["turntrace.stop_reason"] == "tool_calls"  # type: ignore[arg-type]


def test_tokens_map_to_otel_words_and_cost_is_the_price_tables_on_the_calls_date(tmp_path: Path) -> None:
    """Codex's input counts its cached input and its output its reasoning, as OTel's do: cached tokens are cache
    reads, priced at the cached rate, and reasoning is not priced twice."""
    r, _ = two_prompt_rollout()
    _, spans = imported(r.write(tmp_path))
    cached = spans.named(f"chat {GPT5_CODEX}")[1]
    a = spans.attrs(cached)
    assert a["gen_ai.usage.input_tokens"] == 13_000
    assert a["gen_ai.usage.output_tokens"] == 900
    assert a["gen_ai.usage.cache_read.input_tokens"] == 11_776
    assert a["gen_ai.usage.reasoning.output_tokens"] == 512
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == a["gen_ai.response.model"] == GPT5_CODEX
    expected = calc_price(
        PricesUsage(input_tokens=13_000, cache_read_tokens=11_776, output_tokens=900),
        model_ref=GPT5_CODEX,
        provider_id="openai",
        genai_request_timestamp=_START,
    ).total_price
    assert a["turntrace.cost_usd"] == pytest.approx(float(expected))
    assert a["turntrace.cost_source"].startswith("genai-prices")
    run = spans.named("invoke_agent")[0]
    chats = [s for s in spans.named("chat") if spans.parent(spans.parent(s)) == run]  # type: ignore[arg-type]
    assert spans.attrs(run)["turntrace.total_cost_usd"] == pytest.approx(
        sum(spans.attrs(s)["turntrace.cost_usd"] for s in chats)
    )
    assert spans.attrs(run)["turntrace.total_input_tokens"] == 25_000


def test_a_token_count_repeated_with_its_total_unchanged_is_one_call(tmp_path: Path) -> None:
    """Codex re-emits token_count with the running total unchanged (ccusage/ccusage#876): no new request."""
    r = Rollout(start=_START)
    r.prompt()
    r.response(usage=Usage(5000, 0, 100), text="One.", repeat_count=3)
    r.prompt("again")
    r.response(usage=Usage(6000, 4000, 100), text="Two.", repeat_count=1)
    report, spans = imported(r.write(tmp_path))
    assert report.model_calls == 2
    assert [spans.attrs(s)["gen_ai.usage.input_tokens"] for s in spans.named("chat")] == [5000, 6000]


def test_a_prompt_written_as_item_and_event_is_one_run_and_injected_context_is_none(tmp_path: Path) -> None:
    r = Rollout(start=_START)
    r.prompt("first")
    r.response(text="a")
    r.prompt("second", item=False)  # an event alone starts a run too
    r.response(text="b")
    r.prompt("third", context_event=True)  # the injected context as an event of its own is no prompt
    r.response(text="c")
    r.prompt("<Button> does not render in Safari, why?")  # typed: only Codex's own tags are context
    r.response(text="d")
    report, _ = imported(r.write(tmp_path / "events"))
    assert report.runs == 4

    items_only = Rollout(start=_START)
    items_only.prompt("<div> or <span>?")
    items_only.response(text="span")
    lines = [line for line in items_only.lines if line["payload"].get("type") != "user_message"]
    report, _ = imported(items_only.write(tmp_path / "items", lines=lines))
    assert report.runs == 1


def test_tools_join_the_right_request_whichever_side_of_the_items_its_token_count_is(tmp_path: Path) -> None:
    """Older versions wrote a response's token_count before its items, newer ones after: tools belong to the
    request that asked for them either way."""
    orders: tuple[Literal["items_first", "count_first"], ...] = ("items_first", "count_first")
    for order in orders:
        r = Rollout(start=_START, order=order)
        r.prompt()
        (first,) = r.response(tools=[("shell", {"command": ["ls"]})], usage=Usage(1000, 0, 10))
        r.output(first)
        (second,) = r.response(tools=[("apply_patch", {"input": "*** Begin Patch"})], usage=Usage(2000, 0, 20))
        r.output(second, "Success. Updated the following files:\nM a.py")
        r.response(usage=Usage(3000, 0, 30), text="done")
        _, spans = imported(r.write(tmp_path / order))
        turns = {
            spans.attrs(spans.parent(t))["turntrace.turn_index"]: t.name  # type: ignore[arg-type]
            for t in spans.named("execute_tool")
        }
        assert turns == {1: "execute_tool shell", 2: "execute_tool apply_patch"}, order


def test_parallel_tools_written_beside_their_outputs_after_the_token_count_stay_in_one_turn(tmp_path: Path) -> None:
    """Older versions recorded a request's items after its tools ran, each call beside its output (codex-rs
    core/src/codex.rs ``run_task``): calls after an output are still the same request's until its next item."""
    r = Rollout(start=_START, order="count_first")
    r.prompt()
    calls = r.response(
        tools=[("shell", {"command": ["ls"]}), ("shell", {"command": ["pwd"]}), ("shell", {"command": ["id"]})],
        outputs=["Exit code: 0\nOutput:\na", "Exit code: 0\nOutput:\nb", "Exit code: 1\nOutput:\nc"],
        usage=Usage(1000, 0, 10),
    )
    r.response(usage=Usage(2000, 0, 20), text="done")
    report, spans = imported(r.write(tmp_path))
    assert report.model_calls == 2
    turns = {
        str(spans.attrs(t)["gen_ai.tool.call.id"]): spans.attrs(spans.parent(t))["turntrace.turn_index"]  # type: ignore[arg-type]
        for t in spans.named("execute_tool")
    }
    assert turns == dict.fromkeys(calls, 1)


# -- how tool calls end ------------------------------------------------------------------------------------------
def test_a_no_at_the_approval_prompt_an_interrupt_and_a_turn_aborted_before_the_output(tmp_path: Path) -> None:
    r = Rollout(start=_START)
    r.prompt("deploy")
    rejected, interrupted = r.response(
        tools=[("shell", {"command": ["make", "deploy"]}), ("shell", {"command": ["sleep", "60"]})]
    )
    r.output(rejected, REJECTED, seconds=30)
    r.output(interrupted, ABORTED)
    r.response(tools=[("shell", {"command": ["make", "test"]})])
    r.aborted(seconds=2)  # Esc before the command's output came
    r.prompt("never mind")
    r.response(text="OK.")
    _, spans = imported(r.write(tmp_path))
    by_command = {str(spans.attrs(s)["gen_ai.tool.call.id"]): spans.attrs(s) for s in spans.named("execute_tool")}
    assert by_command[rejected]["error.type"] == "rejected_by_user"
    assert by_command[rejected]["turntrace.tool.kind"] == "human_wait"  # the user deciding, not the tool working
    assert by_command[interrupted]["turntrace.incomplete"] is True
    assert "error.type" not in by_command[interrupted]
    (never_finished,) = (a for cid, a in by_command.items() if cid not in (rejected, interrupted))
    assert never_finished["turntrace.incomplete"] is True
    assert never_finished["turntrace.latency_ms"] == pytest.approx(2000)


def test_exec_command_end_events_say_how_a_command_ended_when_the_rollout_keeps_them(tmp_path: Path) -> None:
    """Without the event, exec_command's own output says it: its exit code is a header line below ``Chunk ID`` and
    ``Wall time`` (or ``Command``), never the command's own output after ``Output:``."""
    r = Rollout(start=_START)
    r.prompt()
    failed, lint, declined = r.response(
        tools=[("exec_command", {"cmd": "pytest"}), ("exec_command", {"cmd": "make lint"}), ("exec_command", {})]
    )
    r.output(failed, EXEC_FAILED)
    r.output(lint, EXEC_OK)
    r.exec_end(declined, exit_code=-1, status="declined")
    r.output(declined, "declined")
    r.response(text="ok")
    _, spans = imported(r.write(tmp_path))
    errors = {
        str(spans.attrs(s)["gen_ai.tool.call.id"]): spans.attrs(s).get("error.type")
        for s in spans.named("execute_tool")
    }
    assert errors == {failed: "tool_error", lint: None, declined: "rejected_by_user"}


def test_a_shell_output_of_the_older_json_shape_gives_its_exit_code(tmp_path: Path) -> None:
    r = Rollout(start=_START, version="0.30.0")
    r.prompt()
    bad, good = r.response(tools=[("shell", {"command": ["false"]}), ("shell", {"command": ["true"]})])
    r.output(bad, json.dumps({"output": "", "metadata": {"exit_code": 1, "duration_seconds": 0.1}}))
    r.output(good, json.dumps({"output": "", "metadata": {"exit_code": 0, "duration_seconds": 0.1}}))
    r.response(text="ok")
    _, spans = imported(r.write(tmp_path))
    errors = {
        str(spans.attrs(s)["gen_ai.tool.call.id"]): spans.attrs(s).get("error.type")
        for s in spans.named("execute_tool")
    }
    assert errors == {bad: "tool_error", good: None}


def test_a_call_id_used_again_in_this_file_or_another_session_is_a_tool_call_of_its_own(tmp_path: Path) -> None:
    """Call ids are the model's (a local model's server may number them ``call_0`` in every response): the store
    keeps one tool span per call, whichever session and request it is in, each ended by its own output."""
    one = Rollout(start=_START)
    one.prompt()
    one.response(tools=[("shell", {"command": ["false"]})], call_ids=["call_0"])
    one.output("call_0", "Exit code: 1\nOutput:\nno")
    one.response(tools=[("shell", {"command": ["true"]})], call_ids=["call_0"])
    one.output("call_0", "Exit code: 0\nOutput:\nyes")
    one.response(text="done")
    other = Rollout(start=_START + timedelta(hours=1))
    other.prompt()
    other.response(tools=[("shell", {"command": ["ls"]})], call_ids=["call_0"])
    other.output("call_0")
    other.response(text="listed")
    sessions = tmp_path / "sessions"
    one.write(sessions)
    other.write(sessions)
    store = tmp_path / "traces.db"
    report = into_store(store, sessions)
    assert report.tool_calls == 3
    assert stored_counts(store)["tool"] == 3
    with SpanStore.open(store, create=False) as opened:
        run = next(r for r in opened.runs(None) if r.session == one.session_id)
        tools = sorted(
            (s.start_ns, s.attributes.get("error.type")) for s in opened.run_spans(run.run_id) if s.role == "tool"
        )
    assert [error for _, error in tools] == ["tool_error", None]


def test_a_local_models_calls_keep_their_tokens_and_are_unpriced(tmp_path: Path) -> None:
    """``model_provider`` ``ollama`` serves gpt-oss on the user's machine: the cloud's price for the same model
    name is no cost of it. As a live call with no price: ``cost_source`` unpriced, no cost, tokens kept."""
    r = Rollout(start=_START, provider="ollama", model="gpt-oss-20b")
    r.prompt()
    r.response(usage=Usage(1_000_000, 0, 100_000), text="hi")
    _, spans = imported(r.write(tmp_path))
    (chat,) = spans.named("chat")
    a = spans.attrs(chat)
    assert a["turntrace.cost_source"] == "unpriced"
    assert "turntrace.cost_usd" not in a
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (1_000_000, 100_000)
    assert spans.attrs(spans.named("invoke_agent")[0])["turntrace.total_cost_usd"] == 0.0


# -- idempotent and incremental -----------------------------------------------------------------------------------
def test_importing_again_adds_nothing_and_a_grown_session_adds_only_its_new_runs(tmp_path: Path) -> None:
    """``codex resume`` appends to the same file (codex-rs/core/src/rollout/recorder.rs): the runs already
    imported keep their ids, so only the new prompt's run is added."""
    store = tmp_path / "traces.db"
    sessions = tmp_path / "sessions"
    r, _ = two_prompt_rollout()
    path = r.write(sessions)
    assert into_store(store, sessions).runs == 2
    before = stored_counts(store)
    assert before == {"runs": 2, "spans": 10, "chat": 3, "tool": 2}
    into_store(store, sessions)
    assert stored_counts(store) == before

    r.prompt("and the docs?", seconds=3600)  # resumed an hour later: the same file grows
    r.response(usage=Usage(20_000, 19_000, 300), text="Updated.")
    assert r.write(sessions) == path
    into_store(store, sessions)
    assert stored_counts(store) == {"runs": 3, "spans": 13, "chat": 4, "tool": 2}
    into_store(store, path)
    assert stored_counts(store)["spans"] == 13


def test_a_run_still_going_at_the_last_import_is_completed_by_the_next(tmp_path: Path) -> None:
    """The file is read while Codex writes it: the run in progress is imported as far as it got (its command
    without output incomplete), and the next import replaces it with the whole run, under the same ids."""
    store = tmp_path / "traces.db"
    sessions = tmp_path / "sessions"
    r = Rollout(start=_START)
    r.prompt("run the tests")
    (pytest_call,) = r.response(tools=[("shell", {"command": ["pytest"]})], usage=Usage(5000, 0, 100))
    r.write(sessions)
    into_store(store, sessions)
    with SpanStore.open(store, create=False) as opened:
        (run,) = opened.runs(None)
        waiting = next(s for s in opened.run_spans(run.run_id) if s.role == "tool")
    assert (run.turns, run.tool_calls) == (1, 1)
    assert waiting.attributes["turntrace.incomplete"] is True

    r.output(pytest_call, seconds=30)
    r.response(usage=Usage(6000, 4800, 300), text="All green.")
    r.write(sessions)
    into_store(store, sessions)
    with SpanStore.open(store, create=False) as opened:
        (grown,) = opened.runs(None)
        tool = next(s for s in opened.run_spans(grown.run_id) if s.role == "tool")
    assert grown.run_id == run.run_id
    assert (grown.turns, grown.tool_calls, grown.input_tokens) == (2, 1, 11_000)
    assert tool.duration_ms == pytest.approx(30_000)
    assert "turntrace.incomplete" not in tool.attributes
    assert stored_counts(store) == {"runs": 1, "spans": 6, "chat": 2, "tool": 1}


def test_a_forks_copy_of_its_parents_history_is_counted_once(tmp_path: Path) -> None:
    """A fork's file starts with a copy of its parent's history, token counts and all, re-stamped at the fork's
    time (ccusage/ccusage#1370): only the fork's own calls are its, however the two files are imported."""
    parent, _ = two_prompt_rollout()
    fork = parent.fork()
    fork.prompt("try another way")
    fork.response(usage=Usage(16_000, 14_000, 500), text="Another way.")
    sessions = tmp_path / "sessions"
    parent_path = parent.write(sessions)
    fork_path = fork.write(sessions)
    report, spans = imported(sessions)
    assert report.copied_calls == 3
    assert (report.runs, report.model_calls) == (3, 4)
    by_session = sorted(str(spans.attrs(s)["session.id"]) for s in spans.named("invoke_agent"))
    assert by_session == sorted([parent.session_id, parent.session_id, fork.session_id])

    totals: list[tuple[dict[str, int], list[tuple[str, int, int]]]] = []
    for order in ((fork_path,), (parent_path, fork_path)), ((parent_path, fork_path),), ((fork_path, parent_path),):
        store = tmp_path / f"order{len(totals)}.db"
        for paths in order:
            into_store(store, *paths)
        with SpanStore.open(store, create=False) as opened:
            runs = sorted((run.session or "", run.input_tokens, run.turns) for run in opened.runs(None))
        totals.append((stored_counts(store), runs))
    assert totals[0] == totals[1] == totals[2]
    assert totals[0][0] == {"runs": 3, "spans": 13, "chat": 4, "tool": 2}


def test_a_subagent_threads_copy_of_its_parent_is_counted_once_with_or_without_its_parent(tmp_path: Path) -> None:
    """A spawned subagent thread names its parent in ``source`` and keeps the copied lines' own times
    (getagentseal/codeburn#1383): the copy is the lines before its own session_meta's moment."""
    parent, _ = two_prompt_rollout()
    child = parent.fork(spawned=True)
    child.prompt("review the fix")
    child.response(usage=Usage(8_000, 0, 200), text="Looks right.")
    sessions = tmp_path / "sessions"
    parent.write(sessions)
    child_path = child.write(sessions)
    report, _ = imported(sessions)
    assert (report.copied_calls, report.runs, report.model_calls) == (3, 3, 4)
    assert report.notes == []

    alone, spans = imported(child_path)
    assert (alone.copied_calls, alone.runs, alone.model_calls) == (3, 1, 1)
    assert alone.notes == []
    (chat,) = spans.named("chat")
    assert spans.attrs(chat)["gen_ai.usage.input_tokens"] == 8_000


# -- bad input --------------------------------------------------------------------------------------------------
def test_a_type_that_is_no_string_and_values_out_of_range_are_bad_lines_and_the_store_keeps_the_rest(
    tmp_path: Path,
) -> None:
    """A list or an object as a line's or a payload's ``type``, a token count past 64 bits, a year 9999 timestamp:
    each is one bad line, never a failed import nor a store error."""
    r, _ = two_prompt_rollout()
    r.line("event_msg", {"type": "token_count", "info": None})
    r.lines[-1]["type"] = ["event_msg"]
    r.item({"type": ["message"], "role": "user"})
    r.line("response_item", {"type": "reasoning"})
    r.lines[-1]["type"] = {"kind": "response_item"}
    huge = Usage(10**20, 0, 10).as_codex()
    r.event({"type": "token_count", "info": {"total_token_usage": huge, "last_token_usage": huge}})
    r.event({"type": "agent_message", "message": "late"})
    r.lines[-1]["timestamp"] = "9999-12-31T23:59:59.000Z"
    r.prompt("and then?")
    r.response(usage=Usage(1000, 0, 10), text="Then this.")
    store = tmp_path / "traces.db"
    report = into_store(store, r.write(tmp_path / "sessions"))
    assert (report.runs, report.model_calls) == (3, 4)
    assert [note.reason for note in report.notes] == [
        "5 line(s) are not JSON records or are damaged (a value out of range): skipped"
    ]
    assert stored_counts(store) == {"runs": 3, "spans": 13, "chat": 4, "tool": 2}


def test_bad_lines_other_files_and_older_formats_are_notes_never_tracebacks(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    good, _ = two_prompt_rollout()
    path = good.write(sessions)
    with path.open("a") as file:
        file.write("not json\n")
        file.write('{"timestamp": "2025-10-01T00:00:00Z", "type": "shiny_new_thing", "payload": {}}\n')
        file.write('{"timestamp": "2025-10-01T00:00:00Z", "type": "event_msg", "payload": {"type": "tok')  # cut short
    folder = path.parent
    (folder / "rollout-2025-01-01T00-00-00-notes.jsonl").write_text("# my notes\nhello\n")
    legacy = Rollout(start=_START)
    legacy.write(sessions, lines=legacy_lines(legacy.session_id, start=_START))
    no_counts = Rollout(start=_START + timedelta(minutes=5))
    no_counts.prompt()
    no_counts.item({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hi"}]})
    no_counts.write(sessions, lines=[line for line in no_counts.lines if line["payload"].get("type") != "token_count"])

    report, _ = imported(sessions)
    assert report.runs == 2
    reasons: dict[str, str] = {}
    for note in report.notes:
        reasons[note.path.name] = f"{reasons.get(note.path.name, '')}{note.reason}; "
    assert "2 line(s) are not JSON records" in reasons[path.name]
    assert "1 line(s) of a type this version does not know (shiny_new_thing)" in reasons[path.name]
    assert reasons["rollout-2025-01-01T00-00-00-notes.jsonl"].startswith("not a Codex rollout")
    assert reasons[legacy.file_name].startswith("a Codex rollout of the first format")
    assert reasons[no_counts.file_name].startswith("records no token usage")
    assert report.files_skipped == 3


def test_a_missing_path_is_a_note(tmp_path: Path) -> None:
    report, spans = imported(tmp_path / "nowhere")
    assert spans.all() == []
    assert report.notes[0].reason == "no such file or folder"


# -- the CLI on an imported store ------------------------------------------------------------------------------
def turntrace(*args: str, store: Path, home: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "turntrace"
    env = {**os.environ, "COLUMNS": "200", "TURNTRACE_STORE": str(store), "CODEX_HOME": str(home)}
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def test_the_cli_imports_then_answers_runs_show_cost_and_top_tools(tmp_path: Path) -> None:
    home = tmp_path / ".codex"
    r, _ = two_prompt_rollout()
    r.write(home / "sessions")
    other = Rollout(start=_START + timedelta(hours=1), model=GPT5, cwd="/home/dev/api")
    other.prompt("list the endpoints")
    (grep,) = other.response(tools=[("shell", {"command": ["rg", "route"]})], usage=Usage(3000, 0, 50))
    other.output(grep, seconds=0.5)
    other.response(usage=Usage(4000, 2000, 300), text="Three endpoints.")
    other.write(home / "sessions")
    store = tmp_path / "traces.db"

    first = turntrace("import", "codex", store=store, home=home)  # the default folder: $CODEX_HOME/sessions
    assert first.returncode == 0, first.stderr
    assert "imported 3 agent run(s) of 2 session(s): 5 model call(s), 3 tool call(s)" in " ".join(first.stdout.split())
    again = turntrace("import", "codex", "--json", "--feature", "audit", str(home / "sessions"), store=store, home=home)
    assert json.loads(again.stdout)["runs"] == 3

    runs = json.loads(turntrace("runs", "--session", r.session_id, "--json", store=store, home=home).stdout)
    assert sorted((x["agent"], x["feature"], x["turns"], x["tool_calls"]) for x in runs) == [
        ("codex", "audit", 1, 0),
        ("codex", "audit", 2, 2),
    ]
    shown = turntrace("show", runs[0]["run_id"][:8], store=store, home=home)
    assert shown.returncode == 0, shown.stderr
    assert "invoke_agent codex" in shown.stdout

    cost = json.loads(turntrace("cost", "--by", "model", "--since", "30d", "--json", store=store, home=home).stdout)
    assert {row["key"]: row["calls"] for row in cost} == {GPT5_CODEX: 3, GPT5: 2}
    assert all(row["cost_usd"] > 0 for row in cost)
    top = json.loads(turntrace("top", "tools", "--since", "7d", "--json", store=store, home=home).stdout)
    assert {row["tool"]: row["calls"] for row in top} == {"shell": 3}
