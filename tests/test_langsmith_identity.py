"""LangSmith runs on the run ids, metadata and tags LangSmith users already hold: the same agent run traced at once
by our LangSmith backend and by LangChain's own LangChainTracer (each through the real ``langsmith`` client to a
LangSmith on 127.0.0.1 of its own), compared run by run."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from langchain_core.tracers.langchain import LangChainTracer
from langsmith import Client

from langchain_turntrace import configure
from langchain_turntrace.langsmith_backend._runs import run_uuid
from tests.agents import three_turn_agent
from tests.langsmith_server import FakeLangSmith
from tests.test_langsmith import INPUT, KEY, META, connect, metadata

FAKE_OPENAI_KEY = "sk-FAKEmetaKEYqZrXwVuTsRmPoN"
APP_METADATA = {
    **META,
    "tenant": "acme",
    "plan": {"tier": "gold", "api_key": "sk-FAKEnestedKEYzYxWvUtSr"},
    "openai_api_key": FAKE_OPENAI_KEY,  # LangGraph copies configurable keys into metadata: a real way keys leak
    "retries": 3,
    "labels": ["beta", "eu"],
    "note": '{"looks": "like JSON", "but": "is text"}',  # a string stays a string
}
TAGS = ["nightly", "team:search"]
# What LangChainTracer adds to a model call's metadata besides the run's own: the model's invocation parameters
# (the class name, stop words; an API key when the model takes one: we send none of them) and its usage (ours is
# under the same key, with costs).
REFERENCE_ONLY = {"_type", "stop", "usage_metadata"}


def both(monkeypatch: pytest.MonkeyPatch, ours: FakeLangSmith, reference: FakeLangSmith, **config: Any) -> UUID:
    """One run of the three-turn agent under both tracers; returns its config run id."""
    handler = connect(monkeypatch, ours.url)
    tracer = LangChainTracer(
        client=Client(api_url=reference.url, api_key=KEY, auto_batch_tracing=False), project_name="reference"
    )
    run_id = uuid4()
    three_turn_agent().invoke(INPUT, config={"callbacks": [handler, tracer], "run_id": run_id, **config})
    assert handler.flush(timeout_s=10)
    tracer.wait_for_futures()
    return run_id


def test_runs_carry_langchain_run_ids_metadata_and_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLangSmith() as ours, FakeLangSmith() as reference:
        run_id = both(monkeypatch, ours, reference, metadata=APP_METADATA, tags=TAGS)
        our_runs, reference_runs = ours.runs(), reference.runs()
        # Feedback an app records on the run id it passed in config attaches to our run.
        feedback_client = Client(api_url=ours.url, api_key=KEY, auto_batch_tracing=False)
        project_id = uuid4()  # the project's id, which the client now asks for (this LangSmith keeps no projects)
        feedback_client.create_feedback(run_id=run_id, key="helpful", score=1.0, session_id=project_id)  # pyright: ignore[reportUnknownMemberType]  # langsmith types some parameters as bare dicts
    assert ours.problems == []
    assert reference.problems == []
    assert [(f["run_id"], f["key"]) for f in ours.feedback] == [(str(run_id), "helpful")]

    (root,) = [run for run in our_runs.values() if run["parent_run_id"] is None]
    assert UUID(root["id"]) == run_id == UUID(root["trace_id"])
    assert run_id in reference_runs

    ours_by_type = {kind: [r for r in our_runs.values() if r["run_type"] == kind] for kind in ("llm", "tool")}
    assert (len(ours_by_type["llm"]), len(ours_by_type["tool"])) == (3, 3)
    for run in [*ours_by_type["llm"], *ours_by_type["tool"], root]:
        reference_run = reference_runs[UUID(run["id"])]  # the same LangChain run, under the same id
        assert reference_run["run_type"] == run["run_type"]
        assert sorted(run.get("tags") or []) == sorted(reference_run.get("tags") or []), run["name"]
        ours_meta, reference_meta = metadata(run), metadata(reference_run)
        for key, value in reference_meta.items():
            if key in REFERENCE_ONLY:
                continue
            if key == "openai_api_key":
                assert key not in ours_meta  # the reference sends the key; we never do
            elif key == "plan":
                assert ours_meta[key] == {"tier": "gold"}  # the nested key left out
            else:
                assert ours_meta.get(key) == value, (run["name"], key)
    assert root["tags"] == TAGS

    # Turns are ours alone: ids of their own, made from their spans, so the same span always gets the same one;
    # the agent run's metadata and tags, so a filter on them finds the turns too.
    turns = [r for r in our_runs.values() if r["name"].startswith("turn ")]
    assert len(turns) == 3
    for turn in turns:
        assert UUID(turn["id"]) not in reference_runs
        meta = metadata(turn)
        assert (meta["tenant"], meta["plan"], meta["labels"], turn["tags"]) == (
            "acme",
            {"tier": "gold"},
            ["beta", "eu"],
            TAGS,
        )
        started = datetime.fromisoformat(str(turn["start_time"]).replace("Z", "+00:00"))
        start_ns = round(started.timestamp() * 1e6) * 1000
        assert UUID(turn["id"]) == run_uuid(int(meta["otel_trace_id"], 16), int(meta["otel_span_id"], 16), start_ns)
    assert FAKE_OPENAI_KEY not in json.dumps(list(our_runs.values()), default=str)
    assert FAKE_OPENAI_KEY in json.dumps(list(reference_runs.values()), default=str)  # the check above can fail


def test_with_langchains_own_tracing_on_too_the_runs_never_clash(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """LANGSMITH_TRACING=true as well: LangChain's tracer sends each run under its run id, so ours keep ids of their
    own (one LangSmith gets both trees, none of whose runs is posted twice), and the app is told how to keep one."""
    with FakeLangSmith() as server:
        connect(monkeypatch, server.url)  # the variables, with LangChain's own tracing cleared...
        monkeypatch.setenv("LANGSMITH_PROJECT", f"both-{uuid4().hex[:8]}")  # ...a backend of this test's own...
        monkeypatch.setenv("LANGSMITH_TRACING", "true")  # ...built with LangChain's tracing on
        with caplog.at_level("WARNING", logger="langchain_turntrace"):
            handler = configure("langsmith")
        tracer = LangChainTracer(client=Client(api_url=server.url, api_key=KEY, auto_batch_tracing=False))
        run_id = uuid4()
        three_turn_agent().invoke(INPUT, config={"callbacks": [handler, tracer], "run_id": run_id})
        assert handler.flush(timeout_s=10)
        tracer.wait_for_futures()
        runs = server.runs()
    assert server.problems == []  # no run posted twice
    ours = [run for run in runs.values() if "otel_span_id" in metadata(run)]
    assert len(ours) == 10
    assert all(UUID(run["id"]) != run_id for run in ours)
    assert run_id in runs  # LangChain's own run keeps the config run id
    assert any("LANGSMITH_TRACING=false" in record.getMessage() for record in caplog.records)
