"""Stopping a traced process loses nothing that finished: SIGTERM (docker stop, Kubernetes, uvicorn re-raising it
after its graceful shutdown) and SIGINT deliver every span of finished runs, then the process ends as it would
have; a worker forked after configuration traces its own runs and the parent goes on tracing. Each case runs in a
fresh interpreter (never by signalling or forking the test runner)."""

from __future__ import annotations

import signal
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.agents import THREE_TURN_TREE
from tests.fresh_python import run_python

SPANS_PER_RUN = len(THREE_TURN_TREE.splitlines())  # invoke_agent, 3 turns, 3 chats, 3 tool calls


def stored_names(store: Path) -> list[str]:
    if not store.exists():
        return []
    with closing(sqlite3.connect(store)) as connection:
        return [row[0] for row in connection.execute("SELECT name FROM spans ORDER BY start_ns")]


# A long schedule delay: nothing is exported before the signal unless the stop itself flushes.
SCRIPT = """
    import os, signal, sys
    os.environ["OTEL_BSP_SCHEDULE_DELAY"] = "60000"
    from langchain_core.messages import HumanMessage
    from langchain_turntrace import configure
    from tests.agents import three_turn_agent
    handler = configure("local")
    for _ in range(int(sys.argv[2])):
        three_turn_agent("agent").invoke({"messages": [HumanMessage("go")]}, config={"callbacks": [handler]})
    print("ran", flush=True)
    if sys.argv[1] == "handled":  # the app's own SIGTERM handler: its way out is sys.exit
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(3))
    os.kill(os.getpid(), getattr(signal, sys.argv[3]))
    signal.pause() if hasattr(signal, "pause") else None
"""


@pytest.mark.parametrize(
    ("how", "signame", "returncode"),
    [
        ("default", "SIGTERM", -signal.SIGTERM),  # killed by the signal, as without tracing
        ("handled", "SIGTERM", 3),  # the app's handler decides
        ("default", "SIGINT", -signal.SIGINT),  # KeyboardInterrupt, then killed by SIGINT, as without tracing
    ],
)
def test_a_stopped_script_delivers_every_finished_run(how: str, signame: str, returncode: int, tmp_path: Path) -> None:
    store = tmp_path / "traces.db"
    result = run_python(SCRIPT, {"TURNTRACE_STORE": str(store)}, how, "2", signame, timeout_s=60)
    assert result.stdout.splitlines()[:1] == ["ran"], result.stderr
    assert result.returncode == returncode, result.stderr
    names = stored_names(store)
    assert len(names) == 2 * SPANS_PER_RUN, names
    assert names.count("invoke_agent agent") == 2
    if signame == "SIGINT":
        assert "KeyboardInterrupt" in result.stderr


FORK_SCRIPT = """
    import multiprocessing, sys
    from langchain_core.messages import HumanMessage
    from langchain_turntrace import configure
    from tests.agents import three_turn_agent

    handler = configure("local")

    def run(name):
        three_turn_agent(name).invoke({"messages": [HumanMessage("go")]}, config={"callbacks": [handler]})

    if __name__ == "__main__":
        run("parent-before")
        context = multiprocessing.get_context("fork")
        workers = [context.Process(target=run, args=(f"child-{i}",)) for i in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        print([worker.exitcode for worker in workers], flush=True)
        run("parent-after")
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="fork is POSIX-only")
def test_workers_forked_after_configure_trace_their_runs_and_the_parent_goes_on(tmp_path: Path) -> None:
    store = tmp_path / "traces.db"
    result = run_python(FORK_SCRIPT, {"TURNTRACE_STORE": str(store)}, timeout_s=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[0, 0]"], result.stdout
    roots = sorted(name for name in stored_names(store) if name.startswith("invoke_agent"))
    assert roots == [
        "invoke_agent child-0",
        "invoke_agent child-1",
        "invoke_agent parent-after",
        "invoke_agent parent-before",
    ], roots
    assert len(stored_names(store)) == 4 * SPANS_PER_RUN
