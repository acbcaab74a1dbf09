"""``--since`` values (a span back from now: 30m, 24h, 7d, 2w; or a date: 2026-11-01) and times as printed: UTC.

A date without a zone is a UTC date, as `cost --by day`, `alert --per day` and the HTML pages count days; every time
the CLI prints is UTC and says so, whatever the machine's zone.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

_UNITS_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_INT64 = (-(2**63), 2**63 - 1)  # SQLite's integers: nanoseconds reach only the years 1677 to 2262
_UNIT_WORDS = {"m": "minute", "h": "hour", "d": "day", "w": "week"}
_USUAL = ("1d", "7d", "30d", "90d", "365d")  # what an empty window suggests instead, shortest first


class SinceError(ValueError):
    """A --since value we cannot read (or an empty window); the message shows the accepted forms."""


def since_ns(value: str | None, now_s: float | None = None) -> int | None:
    if value is None:
        return None
    now = time.time() if now_s is None else now_s
    match = _RELATIVE.match(value.lower())
    if match:
        count = int(match.group(1))
        if count == 0:
            raise SinceError(f"{value!r} is an empty window; give 1 or more, e.g. 30m, 24h or 7d")
        return _clamped(int(now * 1e9) - count * _UNITS_S[match.group(2)] * 10**9)  # ints: no overflow
    moment = _parsed(value)
    if moment is None:
        raise SinceError(f"{value!r} is not understood; use 30m, 24h, 7d, 2w or a date like 2026-11-01 (UTC)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return _clamped(int(moment.timestamp() * 1e9))


def _parsed(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def utc(ns: int) -> datetime:
    """A stored time (ns since the epoch) as the CLI prints times: UTC."""
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)


def _clamped(ns: int) -> int:
    return min(max(ns, _INT64[0]), _INT64[1])


def window_words(value: str) -> str:
    """The window a --since value names, as a title states it: "in the last 7 days", "since 2026-11-01 UTC"."""
    match = _RELATIVE.match(value.lower())
    if match is None:
        moment = _parsed(value)
        return f"since {value.strip()}{' UTC' if moment is not None and moment.tzinfo is None else ''}"
    count, unit = int(match.group(1)), _UNIT_WORDS[match.group(2)]
    return f"in the last {unit}" if count == 1 else f"in the last {count} {unit}s"


def since_covering(start_ns: int, now_s: float | None = None) -> str:
    """The shortest usual --since value whose window reaches back to ``start_ns``; a date when none does."""
    age_s = (time.time() if now_s is None else now_s) - start_ns / 1e9
    for value in _USUAL:
        # An hour to spare: the suggestion must still hold when the user runs it a moment later.
        if age_s + 3600 <= int(value[:-1]) * _UNITS_S[value[-1]]:
            return value
    return f"{utc(start_ns):%Y-%m-%d}"
