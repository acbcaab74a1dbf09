"""Escaping and number formats for the page: every value that reaches the HTML goes through ``esc``."""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone

from langchain_turntrace.money import usd

MAX_VALUE_CHARS = 2_000  # captured message content can be megabytes; the page shows the start


def esc(value: object) -> str:
    """Text and attribute-value safe: quote=True also covers values placed inside quoted attributes."""
    return html.escape(str(value), quote=True)


def ms(value: float) -> str:
    if value == 0:
        return "0 ms"
    return f"{value:,.2f} ms" if value < 10 else f"{value:,.1f} ms"


def tick(value_ms: float) -> str:
    """An axis label, at most eight characters whatever the run's length, so that the stylesheet's room per label
    holds: ``0``, ``4.25 ms``, ``850 ms``, ``12.5 s``, ``20m 05s``, ``3h 07m``."""
    if value_ms <= 0:
        return "0"
    if value_ms < 999.5:
        places = 2 if value_ms < 9.995 else 1 if value_ms < 99.95 else 0
        return f"{value_ms:.{places}f} ms"
    seconds = value_ms / 1_000
    if seconds < 59.95:
        return f"{seconds:.{2 if seconds < 9.995 else 1}f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(round(value_ms / 60_000), 60)
    return f"{hours}h {minutes:02d}m"


def tokens(input_tokens: int | None, output_tokens: int | None) -> str:
    if input_tokens is None and output_tokens is None:
        return ""
    return f"{_count(input_tokens)} → {_count(output_tokens)}"


def cost(value: float | None) -> str:
    return usd(value, missing="")


def percent(part: float | None, whole: float | None) -> str:
    return f"{100 * part / whole:.0f}%" if part is not None and whole else ""


def utc(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def attribute_value(value: object) -> str:
    """JSON for sequences (how they were exported), the plain string otherwise; cut at MAX_VALUE_CHARS."""
    text = json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (list, tuple)) else str(value)
    if len(text) > MAX_VALUE_CHARS:
        return f"{text[:MAX_VALUE_CHARS]}… ({len(text) - MAX_VALUE_CHARS:,} more characters)"
    return text


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"
