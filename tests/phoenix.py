"""A real Arize Phoenix on 127.0.0.1 for the session: the OTLP backend the integration test sends to and reads."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PHOENIX_ENV = "TURNTRACE_TEST_PHOENIX"
STARTUP_TIMEOUT_S = 180.0  # measured 8-21 s on a 2-CPU machine (heavy imports, migrations of a fresh database)
STOP_TIMEOUT_S = 15.0
LOG_TAIL_LINES = 40

# Phoenix's own switches: only what the test needs, and nothing that reaches the internet.
PHOENIX_SETTINGS = {
    "PHOENIX_HOST": "127.0.0.1",
    "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",  # no fonts, telemetry pixels or sandbox downloads
    "PHOENIX_TELEMETRY_ENABLED": "false",
    "PHOENIX_DISABLE_AGENT_ASSISTANT": "true",
    "PHOENIX_ENABLE_MCP_SERVER": "false",
}

# Straight to 127.0.0.1 whatever *_PROXY the environment sets.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def request_json(url: str, body: object = None, *, timeout_s: float = 10.0) -> Any:
    """GET ``url`` (POST ``body`` as JSON when given) on the local Phoenix; the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with _direct.open(request, timeout=timeout_s) as response:
        return json.load(response)


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL (``http://127.0.0.1:PORT``) of a Phoenix started for this session and stopped after it,
    whatever happens. Skips unless ``TURNTRACE_TEST_PHOENIX`` names the ``phoenix`` script (``.ci/run`` sets it).
    """
    executable = os.environ.get(PHOENIX_ENV)
    if not executable:
        pytest.skip(
            f"{PHOENIX_ENV} is not set: python -m venv .phoenix-venv && .phoenix-venv/bin/pip install "
            f"'arize-phoenix>=20.26,<21' && export {PHOENIX_ENV}=$PWD/.phoenix-venv/bin/phoenix (.ci/run does this)"
        )
    path = Path(executable)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{PHOENIX_ENV}={executable!r} is not an executable file (the phoenix script of its venv)")

    workdir = tmp_path_factory.mktemp("phoenix")
    http_port, grpc_port = _free_ports(2)
    url = f"http://127.0.0.1:{http_port}"
    log_path = workdir / "phoenix.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(path), "serve"],
            env=_phoenix_env(workdir, http_port, grpc_port),
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole, spared the terminal's Ctrl-C
        )
    try:
        _wait_until_healthy(url, process, log_path)
        yield url
    finally:
        _stop(process)


def _phoenix_env(workdir: Path, http_port: int, grpc_port: int) -> dict[str, str]:
    """The test's environment minus what would steer Phoenix (its own settings, OTel exporter settings it reads
    for its self-instrumentation, a Python path meant for our venv), plus ports and a throwaway working dir."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PHOENIX_", "OTEL_")) and key not in ("PYTHONPATH", "PYTHONHOME")
    }
    return {
        **inherited,
        **PHOENIX_SETTINGS,
        "PHOENIX_WORKING_DIR": str(workdir),
        "PHOENIX_PORT": str(http_port),
        "PHOENIX_GRPC_PORT": str(grpc_port),  # Phoenix always serves OTLP/gRPC too (on every interface)
    }


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    started = time.monotonic()
    while time.monotonic() - started < STARTUP_TIMEOUT_S:
        if process.poll() is not None:
            pytest.fail(f"Phoenix exited with code {process.returncode} while starting\n{_tail(log_path)}")
        try:
            with _direct.open(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass  # not listening yet
        time.sleep(0.25)
    pytest.fail(f"Phoenix did not answer {url}/healthz within {STARTUP_TIMEOUT_S:.0f} s\n{_tail(log_path)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to Phoenix's process group, a bounded wait, then SIGKILL; always reaps the process."""
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
            return
        except subprocess.TimeoutExpired:
            pass
    _signal_group(process, signal.SIGKILL)  # also whatever it left behind in its group
    process.wait()


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone, group and all
        os.killpg(process.pid, signum)  # the group id is Phoenix's pid (start_new_session)


def _tail(log_path: Path) -> str:
    lines = log_path.read_text(errors="replace").splitlines()
    return f"--- last {LOG_TAIL_LINES} lines of {log_path} ---\n" + "\n".join(lines[-LOG_TAIL_LINES:])
