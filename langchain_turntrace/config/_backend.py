"""Which backend spans go to, and how long exit waits for it: argument > ``TURNTRACE_*`` env > default."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, cast, get_args

from langchain_turntrace import env
from langchain_turntrace.config._settings import ConfigError, parse_flag

Backend = Literal["local", "otlp", "langsmith", "console", "none"]
BACKENDS: Final[tuple[str, ...]] = get_args(Backend)
DEFAULT_FLUSH_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class BackendSettings:
    backend: Backend
    flush_timeout_s: float


def resolve_backend(
    backend: str | None = None, flush_timeout_s: float | None = None, environ: Mapping[str, str] | None = None
) -> BackendSettings:
    """Bad values raise ConfigError naming the setting and the values it takes."""
    environ = os.environ if environ is None else environ
    if backend is not None:
        name, setting = backend, "backend="
    else:
        name, setting = environ.get(env.TURNTRACE_BACKEND, "").strip().lower() or "local", f"{env.TURNTRACE_BACKEND}="
    if name not in BACKENDS:
        raise ConfigError(f"{setting}{name!r} is not a backend; use one of {', '.join(BACKENDS)}.")
    return BackendSettings(cast("Backend", name), resolve_flush_timeout_s(flush_timeout_s, environ))


def tracing_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """``TURNTRACE_TRACING``: zero-code tracing of every run in the process."""
    environ = os.environ if environ is None else environ
    return parse_flag(env.TURNTRACE_TRACING, environ.get(env.TURNTRACE_TRACING, ""))


def resolve_flush_timeout_s(arg: float | None = None, environ: Mapping[str, str] | None = None) -> float:
    """How long a flush, or the program's exit, waits for the backend: argument > env > 5 s."""
    environ = os.environ if environ is None else environ
    if arg is not None:
        value, setting = arg, "flush_timeout_s="
    else:
        raw = environ.get(env.TURNTRACE_FLUSH_TIMEOUT_S, "").strip()
        if not raw:
            return DEFAULT_FLUSH_TIMEOUT_S
        setting = f"{env.TURNTRACE_FLUSH_TIMEOUT_S}="
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{setting}{raw!r} is not a number of seconds; use e.g. 5.") from None
    if isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{setting}{value!r} must be a positive number of seconds; use e.g. 5.")
    return float(value)
