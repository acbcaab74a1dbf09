"""What LangSmith receives for one agent run from our LangSmith backend and from LangChain's LangChainTracer, traced
at once (the same LangChain run ids), each through the real ``langsmith`` client to a LangSmith on 127.0.0.1.

    python -m benchmarks.langsmith_vs_tracer [--capture]

Prints, per run type, the runs each sends, their inputs/outputs keys, tags, metadata size, and the bytes sent."""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from typing import Any
from uuid import UUID, uuid4

from langchain_core.tracers.langchain import LangChainTracer
from langsmith import Client

from langchain_turntrace import configure
from tests.agents import three_turn_agent
from tests.langsmith_server import FakeLangSmith
from tests.test_langsmith import INPUT

FAKE_KEY = "sk-FAKEmodelKEYnotREALatALL"  # in the run's metadata, as LangGraph copies configurable keys there


def main() -> None:
    parser = argparse.ArgumentParser(description="What LangSmith receives from turntrace and from LangChainTracer")
    parser.add_argument("--capture", action="store_true", help="content capture on (default: off)")
    capture = parser.parse_args().capture
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = str(capture).lower()
    api_key = "lsv2_pt_" + uuid4().hex
    with FakeLangSmith() as ours, FakeLangSmith() as reference:
        os.environ.update(LANGSMITH_ENDPOINT=ours.url, LANGSMITH_API_KEY=api_key, LANGSMITH_PROJECT=f"ours-{capture}")
        handler = configure("langsmith")
        client = Client(api_url=reference.url, api_key=api_key, auto_batch_tracing=False)
        tracer = LangChainTracer(client=client, project_name="reference")
        run_id = uuid4()
        metadata = {"session_id": "s-1", "tenant": "acme", "openai_api_key": FAKE_KEY}
        config: Any = {"callbacks": [handler, tracer], "run_id": run_id, "metadata": metadata, "tags": ["nightly"]}
        three_turn_agent().invoke(INPUT, config=config)
        handler.flush(10)
        tracer.wait_for_futures()
        for name, server in (("turntrace", ours), ("LangChainTracer", reference)):
            runs = server.runs()
            sent = sum(len(request.body) for request in server.requests)
            leaked = sum(request.body.count(FAKE_KEY.encode()) for request in server.requests)
            print(
                f"{name}: {len(runs)} runs, {sent} bytes, config run_id is a run: {run_id in runs}, key sent {leaked}x"
            )
            _by_type(runs)


def _by_type(runs: dict[UUID, dict[str, Any]]) -> None:
    kinds: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs.values():
        kinds[run["run_type"]].append(run)
    for kind, of_kind in sorted(kinds.items()):
        run = of_kind[-1]
        extra: dict[str, Any] = run.get("extra") or {}
        metadata: dict[str, Any] = extra.get("metadata") or {}
        events: list[dict[str, Any]] = run.get("events") or []
        print(
            f"  {kind:5} x{len(of_kind)}: inputs {sorted(run.get('inputs') or {})}, outputs "
            f"{sorted(run.get('outputs') or {})}, tags {run.get('tags')}, {len(metadata)} metadata keys, events "
            f"{[event['name'] for event in events]}"
        )


if __name__ == "__main__":
    main()
