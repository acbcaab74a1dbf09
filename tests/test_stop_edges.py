"""Stopping at awkward moments loses nothing silently and never hangs: a fork while an export waits on another
process's write lock, traces and metrics to a hung collector, an app's SIGTERM handler that calls ours first, Ctrl-C
while the stop flushes. Each case runs in a fresh interpreter (never by signalling or forking the test runner)."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Generator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from tests.fresh_python import run_python
from tests.otlp_receiver import OtlpReceiver
from tests.test_stopping import SPANS_PER_RUN, stored_names

POSIX = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="fork and SIGTERM to oneself are POSIX-only")

# Another process holds the store's write lock for argv[2] seconds. Not a connection in the forking process: its
# child would inherit SQLite's in-process lock bookkeeping and find the file locked for good.
FORK_WHILE_EXPORTING = """
    import multiprocessing, multiprocessing.util, subprocess, sys, time
    from langchain_core.messages import HumanMessage
    from langchain_turntrace import configure, dropped_spans
    from tests.agents import three_turn_agent

    BLOCKER = '''
    import sqlite3, sys, time
    connection = sqlite3.connect(sys.argv[1], isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    connection.execute("COMMIT")
    '''

    handler = configure("local")

    def run(name):
        three_turn_agent(name).invoke({"messages": [HumanMessage("go")]}, config={"callbacks": [handler]})

    def report():
        print("child dropped", dropped_spans(), flush=True)

    def child():
        multiprocessing.util.Finalize(None, report, exitpriority=-1)  # after the stop hooks (exit priority 0)
        run("child")

    if __name__ == "__main__":
        run("parent-before")
        assert handler.flush(timeout_s=10)  # the store exists, with its schema
        store, hold_s = sys.argv[1], sys.argv[2]
        blocker = subprocess.Popen([sys.executable, "-c", BLOCKER, store, hold_s], stdout=subprocess.PIPE, text=True)
        assert blocker.stdout.readline() == "held\\n"
        run("parent-blocked")
        time.sleep(0.5)  # the schedule delay is 0.1 s: the export worker waits in export(), holding its lock
        print("parent flushed while blocked:", handler.flush(timeout_s=0.2), flush=True)
        worker = multiprocessing.get_context("fork").Process(target=child)
        forked = time.monotonic()
        worker.start()
        worker.join(30)
        print(f"child exit {worker.exitcode} in {time.monotonic() - forked:.1f} s", flush=True)
        if worker.exitcode is None:
            worker.kill()
        blocker.wait()
"""


@POSIX
@pytest.mark.parametrize(
    ("hold_s", "flush_timeout_s", "child_stored"),
    [
        (3, 10, True),  # the lock goes within the flush timeout: the child's stop waits for it, then writes
        (8, 1, False),  # it does not: the child gives up after the flush timeout and counts its run dropped
    ],
)
def test_a_worker_forked_while_an_export_waits_on_the_store_exits_in_bound_and_loses_nothing_silently(
    hold_s: int, flush_timeout_s: int, child_stored: bool, tmp_path: Path
) -> None:
    """The parent's export worker held the exporter's lock at the fork, waiting on SQLite's busy timeout: the
    child's copy of that lock (and of the drop counter's) must not stay held, nor the child's stop wait unbounded
    on an export of its own that waits for the same lock."""
    store = tmp_path / "traces.db"
    env = {
        "TURNTRACE_STORE": str(store),
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "TURNTRACE_FLUSH_TIMEOUT_S": str(flush_timeout_s),
    }
    result = run_python(FORK_WHILE_EXPORTING, env, str(store), str(hold_s), timeout_s=90)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "parent flushed while blocked: False", result.stdout  # the export did wait at the fork
    exit_line = lines[-1].split()
    assert exit_line[:3] == ["child", "exit", "0"], result.stdout + result.stderr
    child_s = float(exit_line[4])
    roots = sorted(name for name in stored_names(store) if name.startswith("invoke_agent"))
    parent_roots = ["invoke_agent parent-before", "invoke_agent parent-blocked"]
    if child_stored:
        assert "child dropped 0" in lines, result.stdout
        assert roots == ["invoke_agent child", *parent_roots]
        assert child_s < hold_s + 2  # it waited for the lock, no longer
    else:
        assert f"child dropped {SPANS_PER_RUN}" in lines, result.stdout
        assert roots == parent_roots
        assert "10 span(s) not yet sent were lost" in result.stderr
        assert child_s < flush_timeout_s + 3  # the flush timeout and the give-up bound, not the lock's 8 s
    assert len(stored_names(store)) == len(roots) * SPANS_PER_RUN


@contextmanager
def silent_collector() -> Generator[str, None, None]:
    """An address that accepts connections and never answers: a hung metrics endpoint (OtlpReceiver answers
    metrics at once)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        host, port = listener.getsockname()[:2]
        yield f"http://{host}:{port}/v1/metrics"


# Prints when it sends SIGTERM; the test times the stop from there to the process's end.
STOP_BY_SIGTERM = """
    import os, signal, time
    from langchain_core.messages import HumanMessage
    from langchain_turntrace import configure
    from tests.agents import three_turn_agent

    handler = configure("otlp")
    three_turn_agent("agent").invoke({"messages": [HumanMessage("go")]}, config={"callbacks": [handler]})
    print(time.time(), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)
    signal.pause()
"""


@POSIX
def test_a_stop_with_traces_and_metrics_to_a_hung_collector_takes_one_flush_timeout_not_one_each() -> None:
    flush_timeout_s = 3.0
    with OtlpReceiver(delay_s=30) as traces, silent_collector() as metrics_url:
        env = {
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": traces.url(),
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": metrics_url,
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_BSP_SCHEDULE_DELAY": "60000",  # nothing leaves before the stop
            "OTEL_METRIC_EXPORT_INTERVAL": "600000",
            "TURNTRACE_FLUSH_TIMEOUT_S": str(flush_timeout_s),
        }
        result = run_python(STOP_BY_SIGTERM, env, timeout_s=60)
        stop_s = time.time() - float(result.stdout.split()[0])
    assert result.returncode == -signal.SIGTERM, result.stderr
    assert "the trace backend did not finish within 3.0 s of stopping" in result.stderr
    assert flush_timeout_s <= stop_s < 1.5 * flush_timeout_s, stop_s


# argv[1]: "chained" (the app's handler, installed later, calls ours first, then cleans up and exits 3) or
# "interrupted" (Ctrl-C arrives while our handler flushes to a collector that hangs).
STOP_EDGES = """
    import os, signal, sys, threading, time
    from langchain_core.messages import HumanMessage
    from langchain_turntrace import configure
    from tests.agents import three_turn_agent

    handler = configure(sys.argv[2])
    three_turn_agent("agent").invoke({"messages": [HumanMessage("go")]}, config={"callbacks": [handler]})
    if sys.argv[1] == "chained":
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum, frame):
            previous(signum, frame)
            print("the app cleaned up", flush=True)
            sys.exit(3)

        signal.signal(signal.SIGTERM, on_sigterm)
    else:
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
    os.kill(os.getpid(), signal.SIGTERM)
    signal.pause()
"""


@POSIX
def test_an_app_handler_that_calls_ours_first_goes_on_and_decides_how_the_process_ends(tmp_path: Path) -> None:
    store = tmp_path / "traces.db"
    env = {"TURNTRACE_STORE": str(store), "OTEL_BSP_SCHEDULE_DELAY": "60000"}
    result = run_python(STOP_EDGES, env, "chained", "local", timeout_s=60)
    assert result.stdout.splitlines() == ["the app cleaned up"], result.stderr
    assert result.returncode == 3, result.stderr
    assert len(stored_names(store)) == SPANS_PER_RUN  # flushed by our handler, before the app's cleanup


@POSIX
def test_ctrl_c_while_sigterm_flushes_still_ends_the_process_by_sigterm() -> None:
    with OtlpReceiver(delay_s=30) as receiver:
        env = {
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.url(),
            "OTEL_BSP_SCHEDULE_DELAY": "60000",
            "TURNTRACE_FLUSH_TIMEOUT_S": "20",
        }
        started = time.perf_counter()
        result = run_python(STOP_EDGES, env, "interrupted", "otlp", timeout_s=60)
        elapsed_s = time.perf_counter() - started
        assert receiver.requests  # the flush was under way when Ctrl-C came
    assert result.returncode == -signal.SIGTERM, result.stderr
    assert elapsed_s < 20  # Ctrl-C cut the 20 s flush short
