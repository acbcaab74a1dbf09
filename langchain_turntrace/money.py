"""Money as every command, page and report prints it: costs to four decimal places, chosen amounts exactly."""

from __future__ import annotations

import math
from decimal import Context, Decimal

# Two formats, both US dollars with thousands separators and never an exponent:
# - usd(): a cost that was measured (a call's, a run's, a total) to four decimal places, "$0.0124". Every figure is
#   then a whole number of hundredths of a cent, so a column lines up on its point; the store sums exact
#   nano-dollars, so a total reads the same under every grouping. A cost under $0.00005 that is not zero reads
#   "<$0.0001" rather than a misleading "$0.0000"; machine output (--json) keeps the full float.
# - amount(): an amount someone chose (a price per million tokens, a budget, an alert threshold) as it was given,
#   with at least two decimal places: "$2.50 / MTok", "$0.075 / MTok", "over $1,234,567.00", "over $0.00001".
#   Rounding it to four places would misstate a cheap rate or a tiny threshold.

SMALLEST = 0.0001

_CENTS = Decimal("0.01")
_WIDE = Context(prec=400)  # quantize() needs room for every digit of the largest float (about 1.8e308)


def usd(value: float | None, *, missing: str = "—") -> str:
    """``$0.0124``, ``$1,234.5000``; ``missing`` when no cost is known (an unpriced model)."""
    if value is None:
        return missing
    if value == 0:
        return "$0.0000"
    if abs(value) < SMALLEST / 2:
        return "<$0.0001"
    return f"${value:,.4f}"


def amount(value: float | Decimal) -> str:
    """``$2.50``, ``$0.075``, ``$1,234,567.00``, ``$0.00001``: a price or a threshold exactly as chosen."""
    if isinstance(value, Decimal):
        exact = value
    else:
        if not math.isfinite(value):
            return f"${value}"
        exact = Decimal(
            repr(value)
        )  # the shortest decimal that reads back as this float: 0.1, not 0.1000000000000000055
    if not exact.is_finite():
        return f"${exact}"
    if exact.is_zero():
        exact = Decimal(0)  # not "-0.00"
    if exact.as_tuple().exponent > -2:  # pyright: ignore[reportOperatorIssue]  # finite, so an int
        exact = exact.quantize(_CENTS, context=_WIDE)
    return f"${exact:,f}"


def per_mtok(value: float | Decimal) -> str:
    """A rate: ``$2.50 / MTok`` (US dollars per million tokens)."""
    return f"{amount(value)} / MTok"
