"""One money format for every command, page and report: US dollars to four decimal places.

Four places make every figure a whole number of hundredths of a cent, so a column of costs lines up on its point,
a total reads the same under every grouping (`cost --by model` and `--by session` round the same sum the same
way) and a model call of a fraction of a cent still shows. A cost under $0.00005 that is not zero reads
``<$0.0001`` rather than a misleading ``$0.0000``; machine output (``--json``) keeps the full float.
"""

from __future__ import annotations

SMALLEST = 0.0001


def usd(value: float | None, *, missing: str = "—") -> str:
    """``$0.0124``, ``$1,234.5000``; ``missing`` when no cost is known (an unpriced model)."""
    if value is None:
        return missing
    if value == 0:
        return "$0.0000"
    if abs(value) < SMALLEST / 2:
        return "<$0.0001"
    return f"${value:,.4f}"
