"""Escaping and the report's number and time formats; every value that reaches the HTML goes through ``esc``."""

from __future__ import annotations

import html
from datetime import datetime, timezone

from langchain_turntrace.money import usd

__all__ = ["count", "day", "esc", "minute", "moment", "ms", "share", "tokens", "usd"]


def esc(value: object) -> str:
    """Text and attribute-value safe (``quote=True``)."""
    return html.escape(str(value), quote=True)


def count(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def tokens(input_tokens: float, output_tokens: float) -> str:
    return f"{count(input_tokens)} → {count(output_tokens)}"


def ms(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1_000:,.1f} s"
    return f"{value:,.0f} ms" if value >= 100 else f"{value:,.1f} ms"


def share(part: float, whole: float) -> float:
    """``part`` as a percentage of ``whole``; 0 when the whole is 0 (nothing priced)."""
    return 100 * part / whole if whole > 0 else 0.0


def minute(ns: int) -> str:
    """``2026-11-08 14:02 UTC``."""
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def moment(ns: int) -> str:
    """A start time in a table whose header says UTC: ``12-06 13:55``."""
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%m-%d %H:%M")


def day(ns: int) -> str:
    """The UTC day, as the store's day grouping writes it: ``2026-11-08``."""
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d")
