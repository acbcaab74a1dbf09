"""``turntrace import claude-code``: transcripts built record by record (tests/claude_code_transcripts.py) become
the span tree of a live trace, priced the same, stored once however often they are imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage as PricesUsage
from genai_prices import calc_price
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from langchain_turntrace.hashing import InputHasher
from langchain_turntrace.pricing import PriceBook
from langchain_turntrace.store import SpanStore, SqliteSpanExporter
from langchain_turntrace.transcripts import ImportReport, exporter_for_import, import_transcripts, shutdown_within
from tests.claude_code_transcripts import (
    HAIKU,
    INTERRUPTED_FOR_TOOL_USE,
    REJECT_MESSAGE,
    SONNET,
    Transcript,
    Usage,
    project_folder,
)
from tests.contract import check_contract
from tests.imported import stored_counts
from tests.spans import Spans


def imported(*paths: Path, **options: Any) -> tuple[ImportReport, Spans]:
    """Imports into an in-memory exporter; every span is held to DESIGN.md's contract."""
    memory = InMemorySpanExporter()
    report = import_transcripts(
        "claude-code", list(paths), memory, prices=PriceBook({}), hasher=InputHasher(None), user_id="dev", **options
    )
    spans = Spans(memory)
    check_contract(spans.all())
    return report, spans


def into_store(store: Path, *paths: Path, retention_days: int | None = None) -> ImportReport:
    exporter = exporter_for_import("local", store_path=store, retention_days=retention_days)
    assert isinstance(exporter, SqliteSpanExporter)
    report = import_transcripts(
        "claude-code",
        list(paths),
        exporter,
        prices=PriceBook({}),
        hasher=InputHasher(None),
        user_id="dev",
        retention_days=exporter.retention_days,
    )
    assert shutdown_within(exporter, 5.0)
    return report


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def two_prompt_session() -> Transcript:
    """Prompt 1: a response asking for two tools at once (their results come back in the other order), then an
    answer. Prompt 2: an answer straight away."""
    t = Transcript()
    t.prompt("why does the build fail?")
    read, grep = t.response(tools=[("Read", {"file_path": "setup.py"}), ("Grep", {"pattern": "TODO"})])
    t.tool_result(grep, seconds=1)
    t.tool_result(read, seconds=2)
    t.response(text="The import is wrong.")
    t.wait(120).prompt("thanks, fix it")
    t.response(text="Fixed.", usage=Usage(input_tokens=20, output_tokens=5, cache_read=3000))
    return t


# -- the tree -------------------------------------------------------------------------------------------------
def test_a_session_becomes_one_agent_run_per_prompt_with_a_turn_per_model_request(tmp_path: Path) -> None:
    t = two_prompt_session()
    path = t.write(project_folder(tmp_path))
    report, spans = imported(path)

    assert spans.tree(by_name=True) == "\n".join(
        [
            "invoke_agent claude-code",
            f"  turn 1\n    chat {SONNET}\n    execute_tool Grep\n    execute_tool Read",
            f"  turn 2\n    chat {SONNET}",
            "invoke_agent claude-code",
            f"  turn 1\n    chat {SONNET}",
        ]
    )
    assert (report.sessions, report.runs, report.model_calls, report.tool_calls, report.notes) == (1, 2, 3, 2, [])
    first, second = spans.named("invoke_agent")
    assert first.context is not None
    assert second.context is not None
    assert first.context.trace_id != second.context.trace_id  # a run is a trace, as a live agent run is
    agent = attrs(first)
    assert agent["session.id"] == agent["gen_ai.conversation.id"] == t.session_id
    assert (agent["turntrace.agent_version"], agent["turntrace.feature"], agent["user.id"]) == ("2.0.31", "shop", "dev")
    assert (agent["gen_ai.agent.name"], agent["turntrace.turn_count"], agent["turntrace.tool_call_count"]) == (
        "claude-code",
        2,
        2,
    )
    chat = attrs(spans.named("chat")[0])
    assert chat["gen_ai.provider.name"] == "anthropic"
    assert chat["gen_ai.response.id"].startswith("msg_")
    assert chat["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert attrs(spans.named("turn 1")[0])["turntrace.stop_reason"] == "tool_calls"
    assert attrs(spans.named("turn 2")[0])["turntrace.stop_reason"] == "stop"


def test_tool_calls_join_their_turn_by_tool_use_id_and_time_from_use_to_result(tmp_path: Path) -> None:
    t = Transcript()
    t.prompt()
    first, second = t.response(
        text=None, tools=[("Bash", {"command": "make"}), ("Bash", {"command": "make test"})], seconds=2
    )
    t.response(text="while they run")  # another model call in between: the results still find their turn
    t.tool_result(second, seconds=3)
    t.tool_result(first, seconds=4)
    _, spans = imported(t.write(tmp_path))

    turn1 = spans.named("turn 1")[0]
    tools = {attrs(s)["gen_ai.tool.call.id"]: s for s in spans.named("execute_tool")}
    assert [spans.parent(s) for s in tools.values()] == [turn1, turn1]
    # the first tool use line is written 1 s into the 2 s response, the second at its end
    assert attrs(tools[first])["turntrace.latency_ms"] == pytest.approx(1000 + 2000 + 3000 + 4000)
    assert attrs(tools[second])["turntrace.latency_ms"] == pytest.approx(2000 + 3000)
    chat = spans.named("chat")[0]
    link = tools[first].links[0]
    assert chat.context is not None
    assert link.context.span_id == chat.context.span_id
    assert dict(link.attributes or {}) == {"gen_ai.attribution.link_type": "CAUSED_BY_GENERATION"}


def test_streamed_lines_of_one_response_are_one_call_with_the_last_lines_output_tokens(tmp_path: Path) -> None:
    t = Transcript()
    t.prompt()
    usage = Usage(input_tokens=12, output_tokens=480, cache_read=5000, cache_write_5m=700)
    ids = t.response(
        text="Let me look.", tools=[("Read", {"file_path": "a"}), ("Read", {"file_path": "b"})], usage=usage
    )
    for tool_id in ids:
        t.tool_result(tool_id)
    assert sum(1 for r in t.records if r["type"] == "assistant") == 3  # three lines, one message.id
    _, spans = imported(t.write(tmp_path))

    (chat,) = spans.named("chat")
    values = attrs(chat)
    assert values["gen_ai.usage.input_tokens"] == 12 + 5000 + 700  # OTel: input counts cached tokens
    assert values["gen_ai.usage.output_tokens"] == 480  # not the placeholder 1 of the earlier lines
    assert values["gen_ai.usage.cache_read.input_tokens"] == 5000
    assert values["gen_ai.usage.cache_write.input_tokens"] == 700
    assert "turntrace.usage.cache_write_1h.input_tokens" not in values


def test_cache_writes_of_both_kinds_are_priced_as_genai_prices_prices_them(tmp_path: Path) -> None:
    t = Transcript()
    t.prompt()
    usage = Usage(input_tokens=30, output_tokens=200, cache_read=9000, cache_write_5m=1500, cache_write_1h=2500)
    t.response(usage=usage)
    _, spans = imported(t.write(tmp_path))

    values = attrs(spans.named("chat")[0])
    assert values["gen_ai.usage.cache_write.input_tokens"] == 4000
    assert values["turntrace.usage.cache_write_1h.input_tokens"] == 2500
    expected = calc_price(
        PricesUsage(
            input_tokens=30 + 9000 + 4000,
            output_tokens=200,
            cache_read_tokens=9000,
            cache_write_tokens=4000,
            cache_write_1h_tokens=2500,
        ),
        SONNET,
        provider_id="anthropic",
    )
    assert values["turntrace.cost_usd"] == pytest.approx(float(expected.total_price), abs=1e-9)
    assert values["turntrace.cost_source"].startswith("genai-prices@")
    run = attrs(spans.named("invoke_agent")[0])
    assert run["turntrace.total_cost_usd"] == pytest.approx(values["turntrace.cost_usd"])


def test_a_call_is_priced_at_the_rates_in_force_on_its_date(tmp_path: Path) -> None:
    """genai-prices changed claude-opus-4-6's rates on 2026-03-13: a call before that date keeps the old ones."""
    costs: list[float] = []
    for day in (datetime(2026, 3, 1, 12, tzinfo=timezone.utc), datetime(2026, 4, 1, 12, tzinfo=timezone.utc)):
        t = Transcript(start=day)
        t.prompt()
        t.response(model="claude-opus-4-6", usage=Usage(input_tokens=300_000, output_tokens=1000))
        _, spans = imported(t.write(tmp_path / day.strftime("%m")))
        cost = attrs(spans.named("chat")[0])["turntrace.cost_usd"]
        expected = calc_price(
            PricesUsage(input_tokens=300_000, output_tokens=1000),
            "claude-opus-4-6",
            provider_id="anthropic",
            genai_request_timestamp=day + timedelta(seconds=1),
        )
        assert cost == pytest.approx(float(expected.total_price), abs=1e-9)
        costs.append(cost)
    assert costs[0] != costs[1]


def test_user_overrides_price_imported_calls_too(tmp_path: Path) -> None:
    from langchain_turntrace.pricing import parse_price_overrides

    t = Transcript()
    t.prompt()
    t.response(usage=Usage(input_tokens=1_000_000, output_tokens=0))
    memory = InMemorySpanExporter()
    book = PriceBook(parse_price_overrides({SONNET: {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}, setting="t"))
    import_transcripts("claude-code", [t.write(tmp_path)], memory, prices=book, hasher=InputHasher(None))
    chat = next(s for s in memory.get_finished_spans() if s.name.startswith("chat"))
    assert (attrs(chat)["turntrace.cost_usd"], attrs(chat)["turntrace.cost_source"]) == (1.0, "override")


# -- how tool calls end -----------------------------------------------------------------------------------------
def test_errors_rejections_interruptions_and_missing_results_are_told_apart(tmp_path: Path) -> None:
    t = Transcript()
    t.prompt()
    failed, rejected, interrupted, lost = t.response(
        tools=[
            ("Bash", {"command": "false"}),
            ("Edit", {"file_path": "x"}),
            ("Bash", {"command": "sleep 99"}),
            ("Read", {"file_path": "y"}),
        ]
    )
    t.tool_result(failed, "Error: exit code 1", is_error=True)
    t.reject(rejected)
    t.interrupt(interrupted)
    t.wait(5).prompt("never mind")  # the fourth result never came
    t.response(text="OK.")
    _, spans = imported(t.write(tmp_path))

    by_id = {attrs(s)["gen_ai.tool.call.id"]: s for s in spans.named("execute_tool")}
    failure = attrs(by_id[failed])
    assert failure["error.type"] == "tool_error"
    assert by_id[failed].status.status_code.name == "ERROR"
    assert "turntrace.tool.kind" not in failure
    refusal = attrs(by_id[rejected])
    assert refusal["error.type"] == "rejected_by_user"  # Edit asks permission, and no interrupt followed: a "No"
    assert refusal["turntrace.tool.kind"] == "human_wait"  # its span is the user deciding
    assert attrs(by_id[interrupted])["turntrace.incomplete"] is True
    assert "error.type" not in attrs(by_id[interrupted])
    missing = attrs(by_id[lost])
    assert missing["turntrace.incomplete"] is True
    assert "error.type" not in missing


def test_cancelled_denied_and_turned_down_calls_are_told_apart_by_claude_codes_own_words(tmp_path: Path) -> None:
    """Each text Claude Code writes for a call that did not run (its message constants, _records.py), and the
    ``toolDenialKind`` newer versions add, maps to one outcome; only a real failure is a tool_error."""
    t = Transcript()
    t.prompt()
    calls = {
        "cancelled": (
            "The user doesn't want to take this action right now. STOP what you are doing and wait for "
            "the user to tell you how to proceed.",
            None,
        ),
        "dont_ask": (
            "Permission to use Bash has been denied because Claude Code is running in don't ask mode. "
            "IMPORTANT: You *may* attempt to accomplish this action using other tools.",
            None,
        ),
        "headless": ("Claude requested permissions to use Edit, but you haven't granted it yet.", None),
        "hook": ("PreToolUse:Glob hook error: [tg] test deny", "permission-rule"),
        "prompt_no": ("[Request interrupted by user for tool use]", "user-rejected"),
        "aborted": ("[Request interrupted by user for tool use]", "interrupted"),
        "subagent_no": (
            "Permission for this tool use was denied. The tool use was rejected (eg. if it was a file "
            "edit, the new_string was NOT written to the file). Try a different approach.",
            None,
        ),
        "failed": ("Exit code 2\nmake: *** [test] Error 2", None),
    }
    ids = t.response(tools=[("Bash", {"command": name}) for name in calls])
    (plan,) = t.response(tools=[("ExitPlanMode", {"plan": "1. rewrite it all"})])
    for tool_id, (text, kind) in zip(ids, calls.values(), strict=True):
        t.tool_result(tool_id, text, is_error=True, denial_kind=kind)
    t.tool_result(
        plan,
        "The agent proposed a plan that was rejected by the user. The user chose to stay in plan mode rather than "
        "proceed with implementation.\n\nRejected plan:\n1. rewrite it all",
        is_error=True,
        seconds=30,
    )
    t.response(text="OK.")
    _, spans = imported(t.write(tmp_path))

    by_id = {attrs(s)["gen_ai.tool.call.id"]: attrs(s) for s in spans.named("execute_tool")}
    seen = {
        name: (by_id[i].get("error.type"), by_id[i].get("turntrace.tool.kind"), by_id[i].get("turntrace.incomplete"))
        for name, i in zip(calls, ids, strict=True)
    }
    assert seen == {
        "cancelled": (None, None, True),
        "dont_ask": ("permission_denied", None, None),
        "headless": ("permission_denied", None, None),
        "hook": ("permission_denied", None, None),
        "prompt_no": ("rejected_by_user", "human_wait", None),
        "aborted": (None, None, True),
        "subagent_no": ("rejected_by_user", "human_wait", None),
        "failed": ("tool_error", None, None),
    }
    assert (by_id[plan]["error.type"], by_id[plan]["turntrace.tool.kind"]) == ("rejected_by_user", "human_wait")


def outcomes(spans: Spans) -> dict[str, tuple[object, object, object]]:
    """Each tool call's (error.type, tool kind, incomplete), by its id."""
    return {
        attrs(s)["gen_ai.tool.call.id"]: (
            attrs(s).get("error.type"),
            attrs(s).get("turntrace.tool.kind"),
            attrs(s).get("turntrace.incomplete"),
        )
        for s in spans.named("execute_tool")
    }


INCOMPLETE = (None, None, True)
REJECTED = ("rejected_by_user", "human_wait", None)


def test_esc_while_a_tool_runs_is_an_interrupt_not_a_rejection(tmp_path: Path) -> None:
    """Esc while a tool runs writes REJECT_MESSAGE too (anthropics/claude-code#47282): without ``toolDenialKind``
    it is a "No" only on a tool that asks permission, with no interrupt marker after it."""
    t = Transcript()
    t.prompt("run the slow build")
    (build,) = t.response(tools=[("Bash", {"command": "sleep 100"})])
    t.reject(build, seconds=30)
    t.user_text(INTERRUPTED_FOR_TOOL_USE)  # what Esc writes after the result
    t.wait(5).prompt("read it instead")
    read, said_no, marked_no = t.response(
        tools=[("Read", {"file_path": "build.log"}), ("Write", {"file_path": "b.py"}), ("Bash", {"command": "rm"})]
    )
    t.reject(read, seconds=2)  # Read never asks permission: nobody was asked, so nobody said no
    reason = REJECT_MESSAGE.split("STOP")[0] + "To tell you how to proceed, the user said:\nnot there"
    t.tool_result(said_no, reason, is_error=True)  # a reason typed at the prompt: a "No" whatever follows
    t.reject(marked_no, denial_kind="user-rejected")  # the record says so, whatever follows
    t.user_text(INTERRUPTED_FOR_TOOL_USE)
    (edit,) = t.response(tools=[("Edit", {"file_path": "a.py"})])
    t.reject(edit)  # a tool that asks, no marker after it: the prompt's "No"
    t.response(text="OK.")
    _, spans = imported(t.write(tmp_path))

    assert outcomes(spans) == {
        build: INCOMPLETE,
        read: INCOMPLETE,
        edit: REJECTED,
        said_no: REJECTED,
        marked_no: REJECTED,
    }
    build_span = next(s for s in spans.named("execute_tool") if attrs(s)["gen_ai.tool.call.id"] == build)
    assert build_span.status.status_code.name == "UNSET"  # tool latency, not a human wait, not a failure


def test_calls_that_did_not_run_and_texts_on_a_good_result_are_read_as_claude_code_means_them(tmp_path: Path) -> None:
    """``[Tool call skipped: ...]`` (a parallel sibling failed) and ``[Tool call did not complete: ...]`` are no
    failure; Claude Code's texts count only on an error result, and Bash's ``interrupted`` flag is an interrupt."""
    t = Transcript()
    t.prompt()
    failed, skipped, unfinished, echoed, cut = t.response(
        tools=[
            ("Bash", {"command": "make"}),
            ("Bash", {"command": "make test"}),
            ("Bash", {"command": "make docs"}),
            ("Bash", {"command": "cat notes.txt"}),
            ("Bash", {"command": "tail -f log"}),
        ]
    )
    t.tool_result(failed, "Exit code 2\nmake: *** [all] Error 2", is_error=True)
    t.tool_result(skipped, "[Tool call skipped: a sibling tool call errored]", is_error=True, seconds=0.1)
    t.tool_result(
        unfinished,
        "[Tool call did not complete: the turn was ended to deliver the message that follows.]",
        is_error=True,
    )
    t.tool_result(echoed, "[Request interrupted by user] appears in transcripts when ...\n" + REJECT_MESSAGE)
    t.tool_result(
        cut,
        "line 1\nline 2",
        tool_use_result={"stdout": "line 1\nline 2", "stderr": "", "interrupted": True, "isImage": False},
    )
    t.response(text="done")
    _, spans = imported(t.write(tmp_path))

    assert outcomes(spans) == {
        failed: ("tool_error", None, None),
        skipped: INCOMPLETE,
        unfinished: INCOMPLETE,
        echoed: (None, None, None),
        cut: INCOMPLETE,
    }


def test_a_tool_that_asks_the_user_is_a_human_wait(tmp_path: Path) -> None:
    t = Transcript()
    t.prompt()
    (ask,) = t.response(tools=[("AskUserQuestion", {"questions": [{"question": "Which DB?"}]})])
    t.tool_result(ask, "Postgres", seconds=95)
    (plan,) = t.response(tools=[("ExitPlanMode", {"plan": "1. do it"})])
    t.tool_result(plan, "User has approved your plan.", seconds=40)
    t.response()
    _, spans = imported(t.write(tmp_path))

    kinds = {s.name: attrs(s).get("turntrace.tool.kind") for s in spans.named("execute_tool")}
    assert kinds == {"execute_tool AskUserQuestion": "human_wait", "execute_tool ExitPlanMode": "human_wait"}


def test_a_prompt_that_fails_with_an_api_error_is_a_run_with_a_failed_chat(tmp_path: Path) -> None:
    t = Transcript()
    t.prompt("summarise the diff")
    t.api_error("rate_limit", 429)
    t.wait(60).prompt("summarise the diff")
    t.response()
    report, spans = imported(t.write(tmp_path))

    assert (report.runs, report.model_calls) == (2, 2)
    assert spans.tree() == "\n".join(
        [
            "invoke_agent claude-code",
            "  turn 1",
            "    chat",
            "invoke_agent claude-code",
            "  turn 1",
            f"    chat {SONNET}",
        ]
    )
    failed = spans.one("chat")
    assert attrs(failed)["error.type"] == "rate_limit"
    assert failed.status.status_code.name == "ERROR"
    assert not any(k.startswith("gen_ai.usage.") for k in attrs(failed))
    first_turn = spans.named("turn 1")[0]
    assert attrs(first_turn)["error.type"] == "rate_limit"
    assert attrs(first_turn)["turntrace.latency_ms"] == pytest.approx(1500)


def test_a_response_cut_at_its_token_limit_is_that_call_not_a_failed_one(tmp_path: Path) -> None:
    """After a ``max_tokens`` stop Claude Code writes an "API Error: ... output token maximum" record with error
    ``max_output_tokens`` and asks again: the cut response was the call, and the run that went on did not fail."""
    t = Transcript()
    t.prompt("write the whole module")
    t.response(text="Here is", stop_reason="max_tokens", usage=Usage(200, 32_000))
    t.api_error(
        "max_output_tokens",
        None,
        text="API Error: Claude's response exceeded the 32000 output token maximum. To configure this behavior, "
        "set the CLAUDE_CODE_MAX_OUTPUT_TOKENS environment variable.",
        seconds=0.1,
    )
    t.response(text="Done, in two parts.")
    report, spans = imported(t.write(tmp_path))

    assert (report.runs, report.model_calls) == (1, 2)
    assert spans.tree() == f"invoke_agent claude-code\n  turn 1\n    chat {SONNET}\n  turn 2\n    chat {SONNET}"
    assert [attrs(s)["gen_ai.response.finish_reasons"] for s in spans.named("chat")] == [("max_tokens",), ("end_turn",)]
    assert [s.name for s in spans.all() if s.status.status_code.name == "ERROR"] == []
    assert attrs(spans.named("turn 1")[0])["turntrace.stop_reason"] == "length"


# -- subagents ------------------------------------------------------------------------------------------------
SPAWNING_TREE = "\n".join(
    [
        "invoke_agent claude-code",
        "  turn 1",
        f"    chat {SONNET}",
        "    execute_tool Task",
        "      invoke_agent Explore",
        "        turn 1",
        f"          chat {HAIKU}",
        "          execute_tool Grep",
        "        turn 2",
        f"          chat {HAIKU}",
        "  turn 2",
        f"    chat {SONNET}",
    ]
)
"""``spawning_session``'s spans: its subagent under the Task call that spawned it, whatever the layout or backend."""


def spawning_session(
    tmp_path: Path, *, layout: str, prompt: str = "List every TODO in the repo and report back."
) -> tuple[Transcript, Transcript]:
    """A session whose Task call runs a subagent (with a tool call of its own), in one of the three layouts."""
    t = Transcript()
    t.prompt("audit the repo")
    (task,) = t.response(tools=[("Task", {"description": "find TODOs", "prompt": prompt, "subagent_type": "Explore"})])
    agent_id = "a1b2c3d"
    sub = Transcript(t.session_id, start=t.now, sidechain=True, agent_id=agent_id if layout != "inline" else None)
    sub.wait(0.5).prompt(prompt)
    (grep,) = sub.response(model=HAIKU, tools=[("Grep", {"pattern": "TODO"})], usage=Usage(500, 100))
    sub.tool_result(grep, "3 matches")
    sub.response(model=HAIKU, text="3 TODOs.", usage=Usage(600, 40))
    t.now = sub.now + timedelta(seconds=1)
    result = {"status": "completed", "agentId": agent_id} if layout != "inline" else None
    t.tool_result(task, f"3 TODOs.\nagentId: {agent_id}", tool_use_result=result, seconds=0)
    t.response(text="There are 3 TODOs.")
    folder = project_folder(tmp_path)
    if layout == "inline":
        t.records[3:3] = sub.records  # a sidechain written into the session's own file, between its lines
    elif layout == "subagents-folder":
        sub.write(folder / t.session_id / "subagents", f"agent-{agent_id}.jsonl")
    else:  # 2.0-era: beside the session's file
        sub.write(folder, f"agent-{agent_id}.jsonl")
    t.write(folder)
    return t, sub


@pytest.mark.parametrize("layout", ["subagents-folder", "beside", "inline"])
def test_a_subagent_nests_under_the_tool_call_that_spawned_it_with_its_cost_in_every_total(
    tmp_path: Path, layout: str
) -> None:
    spawning_session(tmp_path, layout=layout)
    report, spans = imported(tmp_path)

    assert spans.tree() == SPAWNING_TREE
    assert (report.model_calls, report.tool_calls, report.notes) == (4, 2, [])
    sub_cost = sum(attrs(s)["turntrace.cost_usd"] for s in spans.named(f"chat {HAIKU}"))
    assert attrs(spans.one("invoke_agent Explore"))["turntrace.total_cost_usd"] == pytest.approx(sub_cost)
    assert attrs(spans.one("execute_tool Task"))["turntrace.total_cost_usd"] == pytest.approx(sub_cost)
    assert attrs(spans.one("execute_tool Task"))["turntrace.total_input_tokens"] == 1100
    first_turn = next(s for s in spans.named("turn 1") if spans.parent(s) == spans.one("invoke_agent claude-code"))
    sonnet_1 = attrs(spans.named(f"chat {SONNET}")[0])["turntrace.cost_usd"]
    assert attrs(first_turn)["turntrace.total_cost_usd"] == pytest.approx(sonnet_1 + sub_cost)
    all_calls = sum(attrs(s)["turntrace.cost_usd"] for s in spans.named("chat"))
    assert attrs(spans.one("invoke_agent claude-code"))["turntrace.total_cost_usd"] == pytest.approx(all_calls)


def test_a_task_prompt_longer_than_200_characters_still_links_its_subagent(tmp_path: Path) -> None:
    prompt = "Audit the error handling of every module under src/. " * 8  # 432 characters
    spawning_session(tmp_path, layout="inline", prompt=prompt)  # no agent id: linked by its prompt alone
    report, spans = imported(tmp_path)

    task = spans.one("execute_tool Task")
    assert spans.parent(spans.one("invoke_agent Explore")) == task
    sub_cost = sum(attrs(s)["turntrace.cost_usd"] for s in spans.named(f"chat {HAIKU}"))
    assert sub_cost > 0
    assert attrs(task)["turntrace.total_cost_usd"] == pytest.approx(sub_cost)
    assert report.notes == []


def test_side_agents_that_replay_the_parent_count_each_call_once_with_unique_span_ids(tmp_path: Path) -> None:
    """A ``/btw`` aside (inline) and the compacting agent (``agent-acompact-*``) write the parent's conversation
    again, same message ids under new request ids: each call is counted once, in the agent that made it."""
    t = Transcript()
    t.prompt("why does the build fail?")
    (read,) = t.response(tools=[("Read", {"file_path": "setup.py"})], usage=Usage(100, 50, cache_write_5m=900))
    t.tool_result(read)
    t.response(text="The import is wrong.")
    t.wait(120).prompt("thanks, fix it")
    conversation = list(t.records)
    aside = Transcript(t.session_id, start=t.now, sidechain=True)
    aside.replay(conversation)
    aside.wait(1).prompt("btw, which python is this?")
    aside.response(model=HAIKU, text="3.12", usage=Usage(40, 5))
    t.records.extend(aside.records)
    t.now = aside.now
    t.response(text="Fixed.", usage=Usage(20, 5, cache_read=3000))
    compact = Transcript(t.session_id, start=t.now, sidechain=True, agent_id="acompact-7e1f2a")
    compact.replay([r for r in t.records if not r["isSidechain"]])
    compact.wait(1).prompt("Your task is to create a detailed summary of the conversation so far.")
    compact.response(text="Summary: ...", usage=Usage(30, 400, cache_read=5000))
    folder = project_folder(tmp_path)
    t.write(folder)
    compact.write(folder / t.session_id / "subagents", "agent-acompact-7e1f2a.jsonl")
    report, spans = imported(tmp_path)

    assert report.model_calls == 3 + 1 + 1  # the session's three, the aside's answer, the summary
    assert len(spans.named("chat")) == 5
    ids = [s.context.span_id for s in spans.all() if s.context is not None]
    assert len(ids) == len(set(ids)) == len(spans.all())
    first_run, second_run = (s for s in spans.named("invoke_agent claude-code"))
    side_agents = [s for s in spans.named("invoke_agent") if s not in (first_run, second_run)]
    assert len(side_agents) == 2
    assert all(spans.parent(s) == second_run for s in side_agents)  # they ran during the second prompt
    assert attrs(first_run)["turntrace.turn_count"] == 2
    all_calls = sum(attrs(s)["turntrace.cost_usd"] for s in spans.named("chat"))
    runs_total = attrs(first_run)["turntrace.total_cost_usd"] + attrs(second_run)["turntrace.total_cost_usd"]
    assert runs_total == pytest.approx(all_calls)

    store = tmp_path / "traces.db"
    into_store(store, tmp_path)
    into_store(store, tmp_path)
    assert stored_counts(store)["chat"] == 5


def test_what_the_harness_writes_as_a_user_record_is_part_of_the_run_going_on(tmp_path: Path) -> None:
    """One run per prompt the user typed: a background task's ``<task-notification>`` and a record whose
    ``origin.kind`` names another source start no run; the calls they lead to count in the run going on."""
    t = Transcript()
    t.prompt("run the tests in the background and fix what fails")
    (bash,) = t.response(tools=[("Bash", {"command": "pytest", "run_in_background": True})])
    t.tool_result(bash, "Command running in background with ID: b2f8b9")
    t.response(text="Started; I will look when it finishes.")
    t.wait(60).prompt(
        "<task-notification>\n<task-id>b2f8b9</task-id>\n<status>completed</status>\n</task-notification>"
    )
    t.response(text="2 tests fail; fixing.")
    t.wait(5).prompt("[from build-bot] main is green again", origin={"kind": "peer"})
    t.response(text="Noted.")
    t.wait(60).prompt("thanks", origin={"kind": "human"})
    t.response(text="You're welcome.")
    report, spans = imported(t.write(tmp_path))

    assert report.runs == 2
    first, second = spans.named("invoke_agent claude-code")
    assert (attrs(first)["turntrace.turn_count"], attrs(second)["turntrace.turn_count"]) == (4, 1)


def test_a_warmup_before_the_first_prompt_counts_in_the_first_run(tmp_path: Path) -> None:
    """2.0.x starts "Warmup" sidechains at launch to write the prompt cache (anthropics/claude-code#17457): they
    begin before any prompt, and their cost (nearly all cache writes) belongs to the session's first run."""
    t = Transcript()
    warmup = Transcript(t.session_id, start=t.now, sidechain=True, agent_id="5d0c9e1")
    warmup.prompt("Warmup")
    warmup.response(model=HAIKU, text="Ready.", usage=Usage(3, 12, cache_write_5m=11_200))
    t.now = warmup.now + timedelta(seconds=20)
    t.prompt("fix the failing test")
    t.response(usage=Usage(5, 80, cache_read=11_200))
    folder = project_folder(tmp_path)
    t.write(folder)
    warmup.write(folder, "agent-5d0c9e1.jsonl")  # 2.0-era: beside the session's file
    report, spans = imported(tmp_path)

    assert report.notes == []
    assert spans.tree() == "\n".join(
        [
            "invoke_agent claude-code",
            "  invoke_agent warmup",
            "    turn 1",
            f"      chat {HAIKU}",
            "  turn 1",
            f"    chat {SONNET}",
        ]
    )
    warm = attrs(spans.one(f"chat {HAIKU}"))
    assert warm["gen_ai.usage.cache_write.input_tokens"] == 11_200
    all_calls = sum(attrs(s)["turntrace.cost_usd"] for s in spans.named("chat"))
    assert attrs(spans.one("invoke_agent claude-code"))["turntrace.total_cost_usd"] == pytest.approx(all_calls)


# -- continued sessions, idempotency, growth ----------------------------------------------------------------------
def continued(original: Transcript, *, rewrite_session_id: bool) -> Transcript:
    """``claude --resume``: a new session whose file starts with copies of the earlier lines, then goes on."""
    resumed = Transcript(start=original.now + timedelta(hours=1))
    for record in original.records:
        copy = dict(record)
        if rewrite_session_id:
            copy["sessionId"] = resumed.session_id
        resumed.records.append(copy)
    resumed.prompt("and now the docs")
    resumed.response(text="Docs updated.")
    return resumed


@pytest.mark.parametrize("rewrite_session_id", [False, True])
def test_lines_copied_into_a_continued_session_are_counted_once(tmp_path: Path, rewrite_session_id: bool) -> None:
    original = two_prompt_session()
    folder = project_folder(tmp_path)
    first = original.write(folder)
    resumed = continued(original, rewrite_session_id=rewrite_session_id)
    second = resumed.write(folder)
    os.utime(first, (1, 1))  # the original was written first

    report, spans = imported(folder)
    assert (report.runs, report.model_calls, report.copied_calls) == (3, 4, 3)
    sessions = [attrs(s)["session.id"] for s in spans.named("invoke_agent")]
    assert sessions == [original.session_id, original.session_id, resumed.session_id]

    store = tmp_path / "traces.db"
    into_store(store, first)
    into_store(store, second)  # another day, the continued session alone: its copies land on the same spans
    counts = stored_counts(store)
    assert counts["chat"] == 4


def test_importing_twice_adds_nothing_and_a_grown_session_adds_only_its_new_runs(tmp_path: Path) -> None:
    t = two_prompt_session()
    path = t.write(project_folder(tmp_path))
    store = tmp_path / "traces.db"
    into_store(store, tmp_path)
    before = stored_counts(store)
    again = into_store(store, tmp_path)
    assert stored_counts(store) == before == {"runs": 2, "spans": 10, "chat": 3, "tool": 2}
    assert again.runs == 2

    t.wait(300).prompt("one more thing")
    (bash,) = t.response(tools=[("Bash", {"command": "ls"})])
    t.tool_result(bash)
    t.response()
    t.write(path.parent)
    into_store(store, path)
    assert stored_counts(store) == {"runs": 3, "spans": 16, "chat": 5, "tool": 3}


def test_a_run_still_going_when_imported_is_completed_by_the_next_import(tmp_path: Path) -> None:
    t = Transcript()
    t.prompt()
    (bash,) = t.response(tools=[("Bash", {"command": "make"})])
    path = t.write(tmp_path)
    store = tmp_path / "traces.db"
    into_store(store, path)
    with SpanStore.open(store, create=False) as opened:
        (run,) = opened.runs(None)
        tool = next(s for s in opened.run_spans(run.run_id) if s.role == "tool")
    assert tool.attributes["turntrace.incomplete"] is True

    t.tool_result(bash, seconds=7)
    t.response()
    t.write(tmp_path)
    into_store(store, path)
    with SpanStore.open(store, create=False) as opened:
        (run,) = opened.runs(None)
        spans = opened.run_spans(run.run_id)
    tool = next(s for s in spans if s.role == "tool")
    assert "turntrace.incomplete" not in tool.attributes
    assert tool.duration_ms == pytest.approx(7000)
    assert run.turns == 2


def test_runs_past_the_stores_retention_are_counted_not_written(tmp_path: Path) -> None:
    old = Transcript(start=datetime.now(timezone.utc) - timedelta(days=45))
    old.prompt()
    old.response()
    recent = two_prompt_session()
    old.write(tmp_path)
    recent.write(tmp_path)
    store = tmp_path / "traces.db"
    report = into_store(store, tmp_path)
    assert (report.runs, report.runs_past_retention, report.retention_days) == (2, 1, 30)
    assert stored_counts(store)["runs"] == 2
    kept = into_store(store, tmp_path, retention_days=60)
    assert (kept.runs, kept.runs_past_retention) == (3, 0)


# -- bad input ------------------------------------------------------------------------------------------------
def test_bad_input_is_skipped_with_one_line_per_file_and_the_rest_imported(tmp_path: Path) -> None:
    good = two_prompt_session()
    good.write(tmp_path)
    cut = two_prompt_session()
    cut.raw_lines.append('{"type":"assistant","message":{"id":"msg_x","content":[{"ty')  # being written
    cut_path = cut.write(tmp_path)
    cut_path.write_text(cut_path.read_text().rstrip("\n"))
    odd = two_prompt_session()
    odd.other("teleport-marker", where="elsewhere")  # a record type this version does not know
    odd.write(tmp_path)
    (tmp_path / "notes.jsonl").write_text('{"a": 1}\n[1, 2]\nplain text\n')
    (tmp_path / "binary.jsonl").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "unreadable.jsonl").symlink_to("/proc/self/mem")  # reading it fails (EIO), even for root

    report, spans = imported(tmp_path)
    reasons = {note.path.name: note.reason for note in report.notes}
    assert reasons[cut_path.name].startswith("its last line is cut short")
    assert reasons[f"{odd.session_id}.jsonl"].startswith("1 record(s) of a type this version does not know")
    assert reasons["notes.jsonl"].startswith("not a Claude Code transcript")
    assert reasons["binary.jsonl"].startswith("not a Claude Code transcript")
    assert reasons["unreadable.jsonl"].startswith("cannot be read")
    assert report.files_skipped == 3
    assert report.runs == 6
    assert len(spans.named("invoke_agent")) == 6


def test_a_time_out_of_range_or_a_type_that_is_no_string_is_a_bad_line_and_the_store_keeps_the_rest(
    tmp_path: Path,
) -> None:
    """A year 9999 timestamp would stand for the run's time and does not fit the store's 64-bit nanoseconds; a
    ``type`` that is a list cannot name a record: each is one bad line, never a failed import."""
    t = two_prompt_session()
    t.other("summary")
    t.records[-1]["type"] = ["summary"]
    t.response(text="One more thing.")
    t.records[-1]["timestamp"] = "9999-12-31T23:59:59.000Z"
    t.other("summary", summary="the build")
    path = t.write(tmp_path / "project")
    store = tmp_path / "traces.db"
    report = into_store(store, path)
    assert report.runs == 2
    assert [note.reason for note in report.notes] == ["2 line(s) are not JSON records: skipped"]
    assert stored_counts(store)["runs"] == 2


def test_claude_code_2_1_metadata_records_are_known(tmp_path: Path) -> None:
    t = two_prompt_session()
    t.other("tag", tag="release", sessionId=t.session_id)
    t.other("agent-name", agentName="build-fixer", sessionId=t.session_id)
    t.other("agent-color", agentColor="cyan", sessionId=t.session_id)
    t.other("attribution-snapshot", messageId="m1", surface="cli", fileStates={}, promptCount=2)
    report, spans = imported(t.write(tmp_path))
    assert report.notes == []
    assert len(spans.named("invoke_agent claude-code")) == 2


def test_a_lone_surrogate_is_replaced_and_the_session_stored_whole(tmp_path: Path) -> None:
    """JSON may escape half a surrogate pair (``"\\ud800"``); no UTF-8 text can hold it, so it becomes U+FFFD
    wherever it is (here the tool's name, the project folder and the prompt) and the session is stored."""
    t = Transcript(cwd="/home/dev/sh\ud800op")
    t.prompt("fix \udfff this")
    (tool,) = t.response(tools=[("Re\ud800ad", {"file_path": "a\udc00b"})])
    t.tool_result(tool)
    t.response()
    path = t.write(tmp_path)
    assert "\\ud800" in path.read_text()  # escaped, as json writes it
    store = tmp_path / "traces.db"
    report = into_store(store, path)
    assert (report.runs, report.notes) == (1, [])
    with SpanStore.open(store, create=False) as opened:
        (run,) = opened.runs(None)
        spans = opened.run_spans(run.run_id)
    assert {s.name for s in spans if s.role == "tool"} == {"execute_tool Re\ufffdad"}
    assert run.feature == "sh\ufffdop"


@pytest.mark.parametrize("leaf", ['"\\ud800"', '"\\\\ud800"'], ids=["lone-surrogate", "escaped-backslash"])
def test_a_deeply_nested_line_is_read_whole_without_a_traceback(tmp_path: Path, leaf: str) -> None:
    """A tool input nested 900 deep, holding a lone surrogate (or only the letters after an escaped backslash):
    json reads it, and so does the surrogate clean-up, whatever the depth json allows."""
    t = Transcript()
    t.prompt()
    (tool,) = t.response(tools=[("Bash", {"command": "x"})])
    t.tool_result(tool)
    t.response()
    lines = t.lines()
    use = next(i for i, line in enumerate(lines) if '"tool_use"' in line)
    lines[use] = lines[use].replace('{"command": "x"}', "[" * 900 + leaf + "]" * 900)
    path = tmp_path / f"{t.session_id}.jsonl"
    path.write_text("".join(line + "\n" for line in lines))

    report, spans = imported(path)
    assert (report.runs, report.tool_calls, report.notes) == (1, 1, [])
    assert len(spans.named("execute_tool Bash")) == 1


def test_a_last_line_cut_inside_a_character_is_a_line_cut_short(tmp_path: Path) -> None:
    t = two_prompt_session()
    t.prompt("caf\u00e9 au lait")
    *lines, last = t.lines()
    last_bytes = last.replace("\\u00e9", "\u00e9").encode()  # as Claude Code writes it: UTF-8, not escaped
    path = tmp_path / f"{t.session_id}.jsonl"
    cut = last_bytes.index("\u00e9".encode()) + 1  # the file ends half-way through the é
    path.write_bytes("".join(line + "\n" for line in lines).encode() + last_bytes[:cut])
    report, _ = imported(path)
    assert [note.reason for note in report.notes] == [
        "its last line is cut short (a session still being written?): that line skipped"
    ]
    assert report.runs == 2


def test_a_line_that_is_not_utf8_is_reported_as_such(tmp_path: Path) -> None:
    t = two_prompt_session()
    lines = [line.encode() for line in t.lines()]
    lines.insert(2, b'{"type":"user","message":{"content":"caf\xe9"}}')  # Latin-1, not UTF-8
    path = tmp_path / f"{t.session_id}.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    report, _ = imported(path)
    assert [note.reason for note in report.notes] == ["1 line(s) are not UTF-8: skipped"]
    assert report.runs == 2


def test_a_session_whose_file_cannot_be_read_writes_none_of_its_runs(tmp_path: Path) -> None:
    t = two_prompt_session()
    folder = tmp_path / "project"
    folder.mkdir()
    path = t.write(folder)
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: fail the read the way a disk does instead
        path.unlink()
        path.symlink_to("/proc/self/mem")
    report, spans = imported(folder)
    assert report.runs == 0
    assert spans.all() == []
    assert report.notes[0].skipped_file
    assert report.notes[0].reason.startswith("cannot be read")


# -- the CLI on an imported store ------------------------------------------------------------------------------
def turntrace(*args: str, store: Path, projects: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "turntrace"
    env = {**os.environ, "COLUMNS": "200", "TURNTRACE_STORE": str(store), "CLAUDE_CONFIG_DIR": str(projects.parent)}
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def test_the_cli_imports_then_answers_runs_show_cost_and_top_tools(tmp_path: Path) -> None:
    projects = tmp_path / ".claude" / "projects"
    t, _ = spawning_session(projects, layout="subagents-folder")
    (ask,) = t.response(tools=[("AskUserQuestion", {"questions": []})])
    t.tool_result(ask, "yes", seconds=600)
    t.response()
    t.write(project_folder(projects))
    (project_folder(projects) / "broken.jsonl").write_text("not a transcript\n")
    store = tmp_path / "traces.db"

    first = turntrace("import", "claude-code", "--feature", "audit", store=store, projects=projects)  # default path
    assert first.returncode == 0, first.stderr
    assert "imported 1 agent run(s) of 1 session(s): 6 model call(s), 3 tool call(s)" in " ".join(first.stdout.split())
    assert "broken.jsonl: not a Claude Code transcript" in " ".join(first.stdout.split())
    assert "\x1b" not in first.stdout + first.stderr  # a pipe: no progress bar
    again = turntrace(
        "import", "claude-code", "--json", "--feature", "audit", str(projects), store=store, projects=projects
    )
    assert json.loads(again.stdout)["runs"] == 1

    runs = json.loads(turntrace("runs", "--session", t.session_id, "--json", store=store, projects=projects).stdout)
    assert [(r["agent"], r["feature"], r["turns"], r["tool_calls"]) for r in runs] == [("claude-code", "audit", 4, 2)]
    shown = turntrace("show", runs[0]["run_id"][:8], store=store, projects=projects)
    assert shown.returncode == 0, shown.stderr
    assert "invoke_agent Explore" in shown.stdout
    assert "execute_tool Grep" in shown.stdout

    cost = json.loads(
        turntrace("cost", "--by", "model", "--since", "30d", "--json", store=store, projects=projects).stdout
    )
    assert {row["key"]: row["calls"] for row in cost} == {SONNET: 4, HAIKU: 2}
    assert sum(row["cost_usd"] for row in cost) == pytest.approx(runs[0]["cost_usd"])

    top = json.loads(turntrace("top", "tools", "--since", "7d", "--json", store=store, projects=projects).stdout)
    assert {row["tool"] for row in top} == {"Task", "Grep"}  # the ten-minute question is the user, not a tool
    waits = turntrace("top", "tools", "--since", "7d", "--human-waits", "--json", store=store, projects=projects)
    assert json.loads(waits.stdout)[0]["tool"] == "AskUserQuestion"


def test_a_prompt_line_logged_twice_is_one_run_and_every_total_agrees(tmp_path: Path) -> None:
    """Claude Code can log a prompt's line again during a long turn (same uuid, same time): it is the same
    prompt, so one run, whose cost is every call's, as ``cost --by model`` counts them; importing again adds
    nothing."""
    projects = tmp_path / ".claude" / "projects"
    t = Transcript()
    t.prompt("refactor the parser")
    prompt_line = dict(t.records[-1])
    (read,) = t.response(tools=[("Read", {"file_path": "p.py"})], usage=Usage(1000, 200))
    t.tool_result(read)
    t.records.append(prompt_line)  # the same record again, mid-turn
    t.response(text="Done.", usage=Usage(2000, 300))
    t.write(project_folder(projects))
    store = tmp_path / "traces.db"

    first = turntrace("import", "claude-code", "--json", str(projects), store=store, projects=projects)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["runs"] == 1
    runs = json.loads(turntrace("runs", "--json", store=store, projects=projects).stdout)
    assert [(r["turns"], r["tool_calls"]) for r in runs] == [(2, 1)]
    cost = json.loads(turntrace("cost", "--by", "model", "--json", store=store, projects=projects).stdout)
    assert {row["key"]: row["calls"] for row in cost} == {SONNET: 2}
    assert runs[0]["cost_usd"] == pytest.approx(cost[0]["cost_usd"])
    assert runs[0]["cost_usd"] > 0

    before = stored_counts(store)
    again = turntrace("import", "claude-code", str(projects), store=store, projects=projects)
    assert again.returncode == 0, again.stderr
    assert stored_counts(store) == before == {"runs": 1, "spans": 6, "chat": 2, "tool": 1}


def test_two_prompts_without_ids_at_one_moment_are_two_runs_with_span_ids_of_their_own(tmp_path: Path) -> None:
    """A run's ids come from its prompt's uuid, else from the session and the time: two such prompts in the same
    millisecond still make two traces, no span id shared."""
    t = Transcript()
    t.prompt("first")
    t.response()
    t.prompt("second")
    t.response()
    prompts = [r for r in t.records if r["type"] == "user"]
    for record in prompts:
        del record["uuid"]
        record["timestamp"] = prompts[0]["timestamp"]
    report, spans = imported(t.write(tmp_path))

    assert report.runs == 2
    ids = [(s.context.trace_id, s.context.span_id) for s in spans.all() if s.context is not None]
    assert len({span_id for _, span_id in ids}) == len(ids) == 6
    assert len({trace_id for trace_id, _ in ids}) == 2


def test_long_context_calls_are_priced_at_their_tier(tmp_path: Path) -> None:
    """Claude Sonnet 4.5 costs more per token above 200,000 input tokens, for every token of the call."""
    t = Transcript()
    t.prompt()
    sizes = (150_000, 200_000, 200_001, 260_000)
    for size in sizes:
        t.response(usage=Usage(input_tokens=size - 50_000, output_tokens=900, cache_read=40_000, cache_write_1h=10_000))
    _, spans = imported(t.write(tmp_path))

    for size, chat in zip(sizes, spans.named("chat"), strict=True):
        expected = calc_price(
            PricesUsage(
                input_tokens=size,
                output_tokens=900,
                cache_read_tokens=40_000,
                cache_write_tokens=10_000,
                cache_write_1h_tokens=10_000,
            ),
            SONNET,
            provider_id="anthropic",
        )
        assert attrs(chat)["turntrace.cost_usd"] == pytest.approx(float(expected.total_price), abs=1e-9)


def test_the_otlp_backend_receives_every_span_and_a_collector_down_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.otlp_receiver import OtlpReceiver, closed_port

    projects = tmp_path / "projects"
    spawning_session(projects, layout="subagents-folder")
    store = tmp_path / "unused.db"
    with OtlpReceiver() as collector:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.base_url())
        sent = turntrace("import", "claude-code", "--backend", "otlp", str(projects), store=store, projects=projects)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert collector.spans == 12  # the run's 6 spans and its subagent's 6
    assert not store.exists()

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    lost = turntrace("import", "claude-code", "--backend", "otlp", str(projects), store=store, projects=projects)
    assert lost.returncode == 1
    assert "1 run(s) were not taken by the otlp backend" in " ".join(lost.stdout.split())
    assert "Traceback" not in lost.stderr


def test_the_langsmith_backend_gets_each_run_whole_in_its_tree(tmp_path: Path) -> None:
    """Through the real langsmith client to a LangSmith on loopback that checks every payload: one trace per
    prompt, turns under the run, tools under their turn, the subagent under its Task call; each run posted once."""
    from tests.langsmith_server import FakeLangSmith
    from tests.test_langsmith import KEY, run_tree

    projects = tmp_path / "projects"
    spawning_session(projects, layout="subagents-folder")
    with FakeLangSmith() as server:
        env = {
            "TURNTRACE_BACKEND": "langsmith",
            "LANGSMITH_ENDPOINT": server.url,
            "LANGSMITH_API_KEY": KEY,
            "LANGSMITH_PROJECT": "imported",
            "LANGSMITH_TRACING": "false",
        }
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            sent = turntrace("import", "claude-code", str(projects), store=tmp_path / "unused.db", projects=projects)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        runs = server.runs()
    assert server.problems == []
    assert len(runs) == 12
    assert run_tree(runs) == SPAWNING_TREE
    assert all(run["end_time"] is not None for run in runs.values())
    assert not (tmp_path / "unused.db").exists()
