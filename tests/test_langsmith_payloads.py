"""Large payloads reach LangSmith: requests stay under its size limit (a LangSmith on 127.0.0.1 answers 413 to
anything larger, as the real one does) and go zstd-compressed when it takes that; a run too large on its own loses
its content, or is dropped alone and counted, and never takes the other runs of its trace with it."""

from __future__ import annotations

import os
import secrets
from typing import Any
from uuid import uuid4

import pytest
from langchain_core.tools import tool

from langchain_turntrace import dropped_spans
from langchain_turntrace.langsmith_backend._sender import RunSender
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from tests.agents import create_agent
from tests.langsmith_server import FakeLangSmith
from tests.test_langsmith import INPUT, KEY, connect

LIMIT = 1_000_000  # bytes per ingest request this LangSmith takes


@tool
def store_blob(blob: str) -> str:
    """Stores a blob."""
    return f"stored {len(blob)} characters"


def run_with_blob(monkeypatch: pytest.MonkeyPatch, server: FakeLangSmith, blob_chars: int) -> dict[str, Any]:
    """An agent that passes a blob of ``blob_chars`` random hex characters to a tool, with content capture on."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    blob = secrets.token_hex(blob_chars // 2)  # random: compresses to about half, no better
    model = ScriptedChatModel(
        script=[tool_calls_message(("store_blob", {"blob": blob}, "call_blob")), answer_message("Stored.")]
    )
    handler = connect(monkeypatch, server.url)
    create_agent(model, [store_blob]).invoke(INPUT, config={"callbacks": [handler]})
    assert handler.flush(timeout_s=30)
    return {str(run_id): run for run_id, run in server.runs().items()}


def ingests(server: FakeLangSmith) -> list[Any]:
    return [r for r in server.requests if r.path in ("/runs/multipart", "/runs/batch")]


def test_big_payloads_go_compressed_in_requests_under_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    dropped_before = dropped_spans()
    with FakeLangSmith(size_limit_bytes=LIMIT) as server:
        runs = run_with_blob(monkeypatch, server, 600_000)  # in the tool call, its request and its answer: ~1.8 MB
    assert server.problems == []
    sent = ingests(server)
    assert all(r.headers.get("Content-Encoding") == "zstd" for r in sent)
    assert all(r.wire_bytes <= LIMIT for r in sent), [r.wire_bytes for r in sent]
    assert sum(len(r.body) for r in sent) > LIMIT  # more than one request could hold uncompressed
    assert len(runs) == 6  # the agent, two turns, two model calls, the tool call: every run arrived
    (tool_run,) = [run for run in runs.values() if run["run_type"] == "tool"]
    assert len(tool_run["inputs"]["blob"]) == 600_000  # whole
    assert dropped_spans() == dropped_before


def test_a_run_too_large_alone_is_sent_without_its_content(monkeypatch: pytest.MonkeyPatch) -> None:
    dropped_before = dropped_spans()
    with FakeLangSmith(size_limit_bytes=LIMIT, zstd=False) as server:
        runs = run_with_blob(monkeypatch, server, 1_200_000)
    assert server.problems == []
    sent = ingests(server)
    assert all("Content-Encoding" not in r.headers for r in sent)  # this LangSmith takes no zstd
    assert all(r.wire_bytes <= LIMIT for r in sent)
    assert len(runs) == 6  # nothing dropped: the runs carrying the blob went without their content
    trimmed = {run["name"] for run in runs.values() if "left out" in str(run.get("inputs"))}
    assert trimmed == {"execute_tool store_blob", "chat gpt-4o-mini"}
    for run in runs.values():  # a trimmed model call keeps its usage, where hidden metadata cannot take it
        if run["run_type"] == "llm":
            assert run["outputs"]["usage_metadata"]["total_tokens"] > 0
    root = next(run for run in runs.values() if run.get("parent_run_id") is None)
    assert root["end_time"] is not None
    assert dropped_spans() == dropped_before


def test_a_run_still_too_large_without_its_content_is_dropped_alone_and_counted() -> None:
    """Metadata alone over the limit: that run is dropped and counted; the batch's other runs arrive."""
    with FakeLangSmith(size_limit_bytes=LIMIT) as server:
        lost: list[int] = []
        sender = RunSender(api_url=server.url, api_key=KEY, on_dropped=lost.append)
        trace_id = uuid4()
        for index, metadata_chars in enumerate((100, 2 * LIMIT, 100)):
            run_id = trace_id if index == 0 else uuid4()
            run = {
                "id": run_id,
                "trace_id": trace_id,
                "parent_run_id": None if index == 0 else trace_id,
                "dotted_order": f"20261206T000000000000Z{trace_id}"
                + ("" if index == 0 else f".20261206T000000000001Z{run_id}"),
                "name": f"run {index}",
                "run_type": "chain",
                "start_time": "2026-12-06T00:00:00+00:00",
                "end_time": "2026-12-06T00:00:01+00:00",
                "inputs": {"x": 1},
                "outputs": {"y": 2},
                "extra": {"metadata": {"huge": os.urandom(metadata_chars // 2).hex()}},
            }
            assert sender.put(lambda run=run: ("post", run))
        assert not sender.flush(10)  # not everything arrived: flush says so
        names = sorted(run["name"] for run in server.runs().values())
    assert names == ["run 0", "run 2"]
    assert sum(lost) == 1
    assert all(r.wire_bytes <= LIMIT for r in ingests(server))
