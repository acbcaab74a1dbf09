"""Resolves a handler's settings once, at construction: argument > ``TURNTRACE_*`` env > default."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

from langchain_turntrace import env
from langchain_turntrace.pricing import ModelRates, PriceFileError, load_price_overrides, parse_price_overrides

N = TypeVar("N", int, float)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_CAPTURE_ON = frozenset({"span_only", "span_and_event"})
_CAPTURE_OFF = frozenset({"no_content", "event_only"})


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names the setting and the fix."""


@dataclass(frozen=True, slots=True)
class Settings:
    capture_content: bool
    hash_key: bytes | None
    prices: Mapping[str, ModelRates]
    default_feature: str | None
    default_agent_version: str | None
    strict: bool
    max_run_s: float
    max_open_runs: int


def resolve_settings(
    *,
    capture_content: bool | None,
    hash_key: str | bytes | None,
    prices: Mapping[str, Mapping[str, float]] | str | Path | None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Reads the environment once; bad values raise ConfigError here rather than misbehave per event."""
    environ = os.environ if environ is None else environ
    return Settings(
        capture_content=_capture_content(capture_content, environ),
        hash_key=_hash_key(hash_key, environ),
        prices=_prices(prices, environ),
        default_feature=environ.get(env.TURNTRACE_FEATURE) or None,
        default_agent_version=environ.get(env.TURNTRACE_AGENT_VERSION) or None,
        strict=parse_flag(env.TURNTRACE_STRICT, environ.get(env.TURNTRACE_STRICT, "")),
        max_run_s=_positive(env.TURNTRACE_MAX_RUN_S, environ, DEFAULT_MAX_RUN_S, float),
        max_open_runs=_positive(env.TURNTRACE_MAX_OPEN_RUNS, environ, DEFAULT_MAX_OPEN_RUNS, int),
    )


DEFAULT_MAX_RUN_S: Final = 6 * 3600.0
"""Deep-research agents run for an hour or more; a run open for six is taken to have lost its end event."""
DEFAULT_MAX_OPEN_RUNS: Final = 10_000


def _positive(name: str, environ: Mapping[str, str], default: N, kind: type[N]) -> N:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not value > 0 or (kind is float and not math.isfinite(value)):
        raise ConfigError(
            f"{name}={raw!r} is not a positive {'number' if kind is float else 'whole number'}; "
            f"unset it for the default ({default})."
        )
    return value


def parse_flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; set it to true or false.")


def _capture_content(arg: bool | None, environ: Mapping[str, str]) -> bool:
    if arg is not None:
        return arg
    name = env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
    raw = environ.get(name, "")
    value = raw.strip().lower()
    if value in _CAPTURE_ON:
        return True
    if value in _CAPTURE_OFF:
        return False
    try:
        return parse_flag(name, raw)
    except ConfigError:
        raise ConfigError(f"{name}={raw!r} is not understood; use true/false (or SPAN_ONLY / NO_CONTENT).") from None


def _hash_key(arg: str | bytes | None, environ: Mapping[str, str]) -> bytes | None:
    key = arg if arg is not None else environ.get(env.TURNTRACE_HASH_KEY)
    if key is None or key == "":
        return None
    key_bytes = key.encode() if isinstance(key, str) else key
    if len(key_bytes) < 16:
        raise ConfigError(
            f"{env.TURNTRACE_HASH_KEY} is {len(key_bytes)} bytes; use at least 16 random bytes "
            "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)."
        )
    return key_bytes


def resolve_price_overrides(environ: Mapping[str, str] | None = None) -> Mapping[str, ModelRates]:
    """The user's own rates from ``TURNTRACE_PRICES`` (what a handler built without ``prices=`` uses)."""
    return _prices(None, os.environ if environ is None else environ)


def _prices(
    arg: Mapping[str, Mapping[str, float]] | str | Path | None, environ: Mapping[str, str]
) -> Mapping[str, ModelRates]:
    try:
        if arg is None:
            path = environ.get(env.TURNTRACE_PRICES)
            return load_price_overrides(Path(path), setting=env.TURNTRACE_PRICES) if path else {}
        if isinstance(arg, (str, Path)):
            return load_price_overrides(Path(arg), setting="prices=")
        return parse_price_overrides(arg, setting="prices=")
    except PriceFileError as exc:
        raise ConfigError(str(exc)) from None
