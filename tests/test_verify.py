"""assert_well_wired for users' own suites: passes on a well-wired run, names what is wrong otherwise."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from opentelemetry.sdk.trace import TracerProvider

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.testing import ScriptedChatModel, answer_message
from langchain_turntrace.verify import WiringError, assert_well_wired, check_run, verify_backend
from tests.agents import three_turn_agent
from tests.spans import Spans

INPUT = {"messages": [HumanMessage("hi")]}


def tagged(provider: TracerProvider) -> TurnTraceCallbackHandler:
    return TurnTraceCallbackHandler(
        tracer_provider=provider, session_id="s", user_id="u", feature="f", agent_version="v"
    )


def test_well_wired_run_passes(provider: TracerProvider, spans: Spans) -> None:
    three_turn_agent().invoke(INPUT, config={"callbacks": [tagged(provider)]})
    assert_well_wired(spans.all())
    assert all(c.passed for c in check_run(spans.all(), retention_days=30))


def test_missing_tags_are_named(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider, session_id="s")
    three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})
    with pytest.raises(WiringError, match=r"tags on every span: missing turntrace.agent_version on 10 span\(s\)"):
        assert_well_wired(spans.all())


def test_unpriced_model_and_bare_model_call_fail(provider: TracerProvider, spans: Spans) -> None:
    handler = tagged(provider)
    model = ScriptedChatModel(script=[answer_message("x")], model_name="acme-verify-model", provider="acme")
    model.invoke("x", config={"callbacks": [handler]})  # no agent around it: a lone chat span
    failed = {c.name: c.detail for c in check_run(spans.all()) if not c.passed}
    assert set(failed) == {"one root per run", "turns under the agent", "tokens and cost on every model call"}
    assert "unpriced models ['chat acme-verify-model']" in failed["tokens and cost on every model call"]
    assert "outermost invoke" in failed["one root per run"]


def test_verify_of_the_local_store_leaves_no_thread_file_or_run_behind(tmp_path: Path) -> None:
    """verify_backend("local") runs its session into a scratch store it closes and deletes, every time."""
    store = tmp_path / "traces.db"
    verify_backend("local", store, timeout_s=10)  # warm: imports, the price table's loader
    threads = threading.active_count()
    for _ in range(3):
        _, checks = verify_backend("local", store, timeout_s=10)
        assert all(check.passed for check in checks), checks
    assert threading.active_count() == threads
    open_files = [os.readlink(fd) for fd in Path("/proc/self/fd").iterdir() if fd.is_symlink()]
    assert [name for name in open_files if "turntrace-verify-" in name] == []
    assert not store.exists()
