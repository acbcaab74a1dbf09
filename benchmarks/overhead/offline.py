"""No byte leaves the machine: benchmark processes refuse every internet connection and name lookup, and count
the attempts, so a peer whose network write was not stubbed shows up as an invalid measurement, not a slow one."""

from __future__ import annotations

import os
import socket
import threading
from typing import Any, cast

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
_lock = threading.Lock()
_attempts: list[str] = []
_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex

# Variables that would switch tracing on behind a subject's back (LangSmith's env tracing, our zero-code hook)
# or point an exporter somewhere: benchmark processes start without them.
_TRACING_PREFIXES = ("LANGSMITH_", "LANGCHAIN_", "LANGFUSE_", "TURNTRACE_", "OTEL_", "TRACELOOP_")


def clean_environment() -> dict[str, str]:
    """This process's environment less every tracing switch, for a benchmark child process."""
    return {name: value for name, value in os.environ.items() if not name.startswith(_TRACING_PREFIXES)}


def network_attempts() -> list[str]:
    with _lock:
        return list(_attempts)


def _refuse(what: str) -> OSError:
    with _lock:
        if len(_attempts) < 100:
            _attempts.append(what)
    return OSError(f"benchmarks: network access is disabled ({what})")


def _host(address: object) -> str:
    if isinstance(address, tuple):
        parts = cast("tuple[object, ...]", address)  # a socket address: (host, port, ...)
        return str(parts[0]) if parts else ""
    return str(address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and str(host) not in _LOOPBACK:
        raise _refuse(f"name lookup {host}")
    return _real_getaddrinfo(host, *args, **kwargs)


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and _host(address) not in _LOOPBACK:
        raise _refuse(f"connect {_host(address)}")
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6) and _host(address) not in _LOOPBACK:
        raise _refuse(f"connect {_host(address)}")
    return _real_connect_ex(self, address)


def forbid_network() -> None:
    """Refuse name lookups and connections to anything but loopback for the rest of this process."""
    socket.getaddrinfo = _guarded_getaddrinfo
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]  # the guard is the point
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
