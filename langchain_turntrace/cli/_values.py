"""Option values: argparse types that refuse a bad value before any store is touched, and UsageError for the rest.

A type's ArgumentTypeError reaches the parser's error(): one line naming the command and the option, exit 2.
"""

from __future__ import annotations

import argparse
import math
from typing import Final

from langchain_turntrace.cli._since import SinceError, since_ns
from langchain_turntrace.money import amount

MAX_COUNT: Final = 1_000_000_000  # a --limit or a number of days; SQLite's integers overflow far above it
MAX_USD: Final = 1e12  # a budget beyond any bill; a bigger number is a typo, and would not fit a terminal
MAX_TIMEOUT_S: Final = 3600.0


class UsageError(Exception):
    """Bad input found once the command runs (a file that cannot be written, a missing --html): one line on
    stderr and exit 2. Any other exception is a bug and keeps its traceback."""


def positive_int(text: str) -> int:
    """An option's value that counts something: 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give 1 or more") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small; give 1 or more")
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{value} is too large; give at most {MAX_COUNT:,}")
    return value


def usd(text: str) -> float:
    """US dollars: a finite number, 0 or more."""
    value = _number(text, "a number of US dollars, e.g. 50")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text.strip()} is below zero; give US dollars >= 0, e.g. 50")
    if value > MAX_USD:
        raise argparse.ArgumentTypeError(f"{text.strip()} is too large; give at most {amount(MAX_USD)}")
    return value + 0.0  # -0.0 is 0.0


def seconds(text: str) -> float:
    """A timeout: a finite number of seconds above 0, at most an hour."""
    value = _number(text, "a number of seconds, e.g. 30")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text.strip()} is too small; give a number of seconds above 0, e.g. 30")
    if value > MAX_TIMEOUT_S:
        raise argparse.ArgumentTypeError(f"{text.strip()} is too large; give at most {MAX_TIMEOUT_S:.0f} seconds")
    return value


def since(text: str) -> str:
    """A --since value we can read (kept as given: titles state it); a window of zero is refused."""
    try:
        since_ns(text)
    except SinceError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _number(text: str, wanted: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give {wanted}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text.strip()} is not a finite number; give {wanted}")
    return value
