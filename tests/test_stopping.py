"""Stopping a traced process loses nothing that finished: SIGTERM (docker stop, Kubernetes, uvicorn re-raising it
after its graceful shutdown) and SIGINT deliver every span of finished runs, then the process ends as it would
have; a worker forked after configuration traces its own runs and the parent goes on tracing. Each case runs in a
fresh interpreter (never by signalling or forking the test runner)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.agents import THREE_TURN_TREE
from tests.fresh_python import ROOT, run_python
from tests.langgraph_server import LANGGRAPH_CLI, free_port, langgraph_dev, needs_langgraph_dev, write_project
from tests.otlp_receiver import OtlpReceiver

GUNICORN = "needs gunicorn (the test extra; POSIX only)"
UVICORN = "needs uvicorn (comes with langgraph-cli[inmem], the test extra)"

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


LANGGRAPH_GRAPH = """
from tests.agents import three_turn_agent

graph = three_turn_agent("agent")
"""


@needs_langgraph_dev
def test_sigterm_to_langgraph_dev_right_after_a_run_delivers_every_span(tmp_path: Path) -> None:
    """The real ``langgraph dev`` (uvicorn inside) with zero-code tracing: uvicorn shuts down on SIGTERM, then
    re-raises it with the handler it found at start, which kills the process before any exit hook."""
    pytest.importorskip("langgraph_sdk", reason=LANGGRAPH_CLI)
    write_project(tmp_path, {"agent": LANGGRAPH_GRAPH})
    store = tmp_path / "traces.db"
    # A long schedule delay: nothing is exported before the signal unless the stop flushes.
    with langgraph_dev(tmp_path, store, {"OTEL_BSP_SCHEDULE_DELAY": "60000"}) as server:
        result = server.client.runs.wait(None, "agent", input={"messages": [{"role": "human", "content": "go"}]})
        assert len(result["messages"]) == 7, result  # the prompt, three answers, three tool results
        assert server.sigterm() == -signal.SIGTERM
    names = stored_names(store)
    assert len(names) == SPANS_PER_RUN, names
    assert names.count("invoke_agent agent") == 1


GUNICORN_APP = """
from langchain_core.messages import HumanMessage

from langchain_turntrace import configure
from tests.agents import three_turn_agent

handler = configure("local")  # with --preload: before the workers fork


def app(environ, start_response):
    three_turn_agent("agent").invoke({"messages": [HumanMessage("go")]}, config={"callbacks": [handler]})
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"done"]
"""


def _served(port: int, *, timeout_s: float) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=timeout_s) as response:
            return response.read() == b"done"
    except OSError:
        return False


@pytest.mark.skipif(shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None, reason=GUNICORN)
def test_sigterm_to_gunicorn_with_preloaded_tracing_delivers_every_workers_spans(tmp_path: Path) -> None:
    """``gunicorn --preload``: tracing is configured in the master, the workers are forked from it; SIGTERM to
    the master stops the workers gracefully, and every run they traced reaches the store."""
    (tmp_path / "traced_app.py").write_text(GUNICORN_APP)
    store = tmp_path / "traces.db"
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}", "TURNTRACE_STORE": str(store)}
    env["OTEL_BSP_SCHEDULE_DELAY"] = "60000"
    env.pop("TURNTRACE_STRICT", None)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [gunicorn, "--preload", "--workers", "2", "--bind", f"127.0.0.1:{port}", "traced_app:app"]
    with subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as server:
        try:
            deadline = time.monotonic() + 60
            while not _served(port, timeout_s=10):  # the first run; until the server listens
                assert server.poll() is None, "gunicorn exited at start"
                assert time.monotonic() < deadline, "gunicorn did not start within 60 s"
                time.sleep(0.25)
            # Two more, each answered at once: a worker deadlocked at fork would hold its request.
            assert _served(port, timeout_s=10)
            assert _served(port, timeout_s=10)
            server.send_signal(signal.SIGTERM)
            returncode = server.wait(timeout=20)  # a worker that cannot stop makes the master wait 30 s
        finally:
            if server.poll() is None:
                server.kill()
            output = server.stdout.read().decode(errors="replace") if server.stdout else ""
    assert output.count("Worker exiting") == 2, output[-2000:]  # both workers stopped gracefully
    assert returncode == 0, output[-2000:]
    names = stored_names(store)
    assert names.count("invoke_agent agent") == 3, (names, output[-2000:])
    assert len(names) == 3 * SPANS_PER_RUN


# A bare ASGI app: each request runs the agent once, on a worker thread, and answers with its message count.
UVICORN_APP = """
import asyncio

from langchain_core.messages import HumanMessage

from tests.agents import three_turn_agent


def run_agent() -> bytes:
    result = three_turn_agent("agent").invoke({"messages": [HumanMessage("go")]})
    return str(len(result["messages"])).encode()


async def app(scope, receive, send):
    if scope["type"] == "lifespan":  # spoken, so uvicorn's shutdown goes through every one of its steps
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = await asyncio.to_thread(run_agent)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})
"""

UVICORN_GRACEFUL_SHUTDOWN = ("Shutting down", "Application shutdown complete.", "Finished server process")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _uvicorn_run_then_sigterm(tmp_path: Path, env: dict[str, str], receiver: OtlpReceiver) -> tuple[int, str]:
    """Starts uvicorn on the app, runs the agent by one request, checks that nothing reached the receiver yet,
    sends SIGTERM right after the response; the exit status and uvicorn's output."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "uvicorn_app:app", "--host", "127.0.0.1", "--port", str(port)]
    with subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as server:
        try:
            deadline = time.monotonic() + 60
            while not _listening(port):
                assert server.poll() is None, "uvicorn exited at start"
                assert time.monotonic() < deadline, "uvicorn did not start within 60 s"
                time.sleep(0.1)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60) as response:
                assert response.read() == b"7"  # the prompt, three answers, three tool results
            assert (receiver.spans, receiver.metrics) == (0, [])  # held back: only the stop can send them now
            server.send_signal(signal.SIGTERM)
            returncode = server.wait(timeout=30)
        finally:
            if server.poll() is None:
                server.kill()
            output = server.stdout.read().decode(errors="replace") if server.stdout else ""
    return returncode, output


def _points(metric: Any) -> list[Any]:
    return list(getattr(metric, metric.WhichOneof("data")).data_points)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGTERM to a child is POSIX-only")
def test_sigterm_to_uvicorn_right_after_a_run_delivers_every_span_and_metric_and_exits_as_untraced(
    tmp_path: Path,
) -> None:
    """A plain ASGI app under uvicorn with zero-code tracing to an OTLP collector, stopped by SIGTERM right after
    the response: every span of the run and its metrics reach the collector (nothing was exported before the
    signal), and uvicorn shuts down gracefully and exits with the very status the same app has untraced: our
    hook runs under uvicorn's own signal handling, which goes on as before."""
    pytest.importorskip("uvicorn", reason=UVICORN)
    (tmp_path / "uvicorn_app.py").write_text(UVICORN_APP)
    with OtlpReceiver() as receiver:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TURNTRACE_BACKEND": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.base_url(),
            "OTEL_METRICS_EXPORTER": "otlp",
            # nothing is exported before the signal unless the stop flushes
            "OTEL_BSP_SCHEDULE_DELAY": "60000",
            "OTEL_METRIC_EXPORT_INTERVAL": "600000",
        }
        env.pop("TURNTRACE_STRICT", None)
        env.pop("TURNTRACE_TRACING", None)
        untraced_returncode, untraced_output = _uvicorn_run_then_sigterm(tmp_path, env, receiver)
        assert (receiver.spans, receiver.metrics) == (0, []), untraced_output[-2000:]  # untraced indeed
        returncode, output = _uvicorn_run_then_sigterm(tmp_path, {**env, "TURNTRACE_TRACING": "true"}, receiver)
        received = [metric for scope, metric in receiver.metrics if scope == "langchain_turntrace"]
        spans = receiver.spans
    for line in UVICORN_GRACEFUL_SHUTDOWN:
        assert line in untraced_output, untraced_output[-2000:]
        assert line in output, output[-2000:]
    assert returncode == untraced_returncode, (returncode, untraced_returncode, output[-2000:])
    assert spans == SPANS_PER_RUN, output[-2000:]
    last = {metric.name: metric for metric in received}  # cumulative: the last export holds the totals
    tokens = {
        attribute.value.string_value: point.sum
        for point in _points(last["gen_ai.client.token.usage"])
        for attribute in point.attributes
        if attribute.key == "gen_ai.token.type"
    }
    assert tokens == {"input": 450, "output": 90}, last.keys()
    assert sum(point.count for point in _points(last["gen_ai.client.operation.duration"])) == 3  # the chat calls
    [turns] = _points(last["turntrace.agent_run.turns"])
    assert (turns.count, turns.sum) == (1, 3)


FORK_DURING_PRICE_LOAD = """
    import os, sys, time
    from langchain_turntrace.pricing import PriceBook, TokenUsage

    book = PriceBook({})  # starts loading genai-prices' table on a thread of its own
    children = []
    for pause_s in (0.0, 0.01, 0.03, 0.06, 0.1, 0.2, 0.3):  # forks at moments along the load
        time.sleep(pause_s)
        pid = os.fork()
        if pid == 0:
            book.price("gpt-4o", "openai", TokenUsage(1000, 100))
            os._exit(0)
        children.append(pid)
    deadline = time.monotonic() + 20
    hung = 0
    for pid in children:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                hung += 1
                break
            time.sleep(0.02)
    print(f"{hung} of {len(children)} children hung", flush=True)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_a_fork_while_the_price_table_loads_leaves_the_child_able_to_price() -> None:
    result = run_python(FORK_DURING_PRICE_LOAD, timeout_s=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["0 of 7 children hung"], result.stdout
