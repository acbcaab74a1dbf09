"""The real ``langgraph dev`` server (langgraph-cli[inmem]) with zero-code tracing, in a project folder of its own:
started, driven through langgraph-sdk, stopped by SIGTERM. Its in-memory checkpointer is saved in the folder at
shutdown and loaded at the next start: two servers in turn share a thread's checkpoints, as two processes over
one database would."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Generator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.fresh_python import ROOT

LANGGRAPH_CLI = "needs langgraph-cli[inmem] (the test extra)"
LANGGRAPH = Path(sys.executable).parent / "langgraph"

needs_langgraph_dev = pytest.mark.skipif(
    shutil.which("langgraph", path=str(LANGGRAPH.parent)) is None, reason=LANGGRAPH_CLI
)


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_project(folder: Path, graphs: Mapping[str, str]) -> None:
    """``graphs``: graph name -> the source of a module defining ``graph``."""
    for name, source in graphs.items():
        (folder / f"{name}.py").write_text(source)
    entries = {name: f"./{name}.py:graph" for name in graphs}
    (folder / "langgraph.json").write_text(json.dumps({"dependencies": ["."], "graphs": entries}))


class Server:
    """One running ``langgraph dev``: ``client`` is a langgraph-sdk sync client on it."""

    def __init__(self, process: subprocess.Popen[bytes], client: Any) -> None:
        self.process = process
        self.client = client

    def sigterm(self) -> int:
        """SIGTERM, as docker stop or Kubernetes sends it; the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@contextmanager
def langgraph_dev(folder: Path, store: Path, extra_env: Mapping[str, str] | None = None) -> Generator[Server]:
    """``langgraph dev`` serving the project in ``folder``, tracing zero-code into ``store``; killed on the way out
    if the test has not stopped it. A failure shows the end of the server's output."""
    from langgraph_sdk import get_sync_client

    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TURNTRACE_TRACING": "true",
        "TURNTRACE_STORE": str(store),
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        **(extra_env or {}),
    }
    env.pop("TURNTRACE_STRICT", None)
    port = free_port()
    command = [str(LANGGRAPH), "dev", "--no-browser", "--no-reload", "--port", str(port)]
    log = folder / "server.log"
    with (
        log.open("ab") as output,
        subprocess.Popen(command, cwd=folder, env=env, stdout=output, stderr=output) as process,
    ):
        try:
            with get_sync_client(url=f"http://127.0.0.1:{port}") as client:
                _wait_until_up(process, client)
                yield Server(process, client)
        except BaseException:
            print(f"langgraph dev output:\n{log.read_text(errors='replace')[-3000:]}")  # pytest shows it on failure
            raise
        finally:
            if process.poll() is None:
                process.kill()


def _wait_until_up(process: subprocess.Popen[bytes], client: Any) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            client.assistants.search()
            return
        except Exception:  # noqa: BLE001  # not up yet
            assert process.poll() is None, "langgraph dev exited at start"
            assert time.monotonic() < deadline, "langgraph dev did not start within 90 s"
            time.sleep(0.25)
