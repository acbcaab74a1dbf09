"""User price overrides (self-hosted or negotiated rates), from a mapping or a TOML/JSON file."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

_REQUIRED = ("input_per_mtok", "output_per_mtok")
_OPTIONAL = ("cache_read_per_mtok", "cache_write_per_mtok", "cache_write_1h_per_mtok")
_EXAMPLE = '{"my-model": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}'


class PriceFileError(ValueError):
    """Price overrides that cannot be used; the message says which entry and how to fix it."""


@dataclass(frozen=True, slots=True)
class ModelRates:
    """USD per million tokens. Cache rates default to the input rate when not given; one-hour cache writes
    default to the (five-minute) cache write rate."""

    input_per_mtok: float
    output_per_mtok: float
    cache_read_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    cache_write_1h_per_mtok: float | None = None


def load_price_overrides(path: Path, *, setting: str) -> dict[str, ModelRates]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PriceFileError(
            f"{setting}: cannot read price file {str(path)!r} ({exc.strerror}); check the path."
        ) from None
    try:
        data: object = tomllib.loads(raw.decode()) if path.suffix.lower() == ".toml" else json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON (use a .toml suffix for TOML)"
        raise PriceFileError(f"{setting}: {str(path)!r} is not valid {kind}: {exc}") from None
    if not isinstance(data, Mapping):
        raise PriceFileError(f"{setting}: {str(path)!r} must hold a table of models, like {_EXAMPLE}.")
    return parse_price_overrides(data, setting=f"{setting} {str(path)!r}")  # pyright: ignore[reportUnknownArgumentType]


def parse_price_overrides(data: Mapping[str, object], *, setting: str) -> dict[str, ModelRates]:
    rates: dict[str, ModelRates] = {}
    for model, entry in data.items():
        if not isinstance(model, str) or not model:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise PriceFileError(f"{setting}: model names must be non-empty strings, got {model!r}.")
        if not isinstance(entry, Mapping):
            raise PriceFileError(f"{setting}: entry for {model!r} must be a table like {_EXAMPLE}.")
        rates[model] = _parse_entry(model, entry, setting)  # pyright: ignore[reportUnknownArgumentType]
    return rates


def _parse_entry(model: str, entry: Mapping[str, object], setting: str) -> ModelRates:
    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        allowed = ", ".join(_REQUIRED + _OPTIONAL)
        raise PriceFileError(f"{setting}: {model!r} has unknown keys {unknown}; allowed: {allowed}.")
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise PriceFileError(f"{setting}: {model!r} is missing {missing}; give USD per million tokens.")
    values = {key: _rate(model, key, entry[key], setting) for key in entry}
    return ModelRates(
        input_per_mtok=values["input_per_mtok"],
        output_per_mtok=values["output_per_mtok"],
        cache_read_per_mtok=values.get("cache_read_per_mtok"),
        cache_write_per_mtok=values.get("cache_write_per_mtok"),
        cache_write_1h_per_mtok=values.get("cache_write_1h_per_mtok"),
    )


def _rate(model: str, key: str, value: object, setting: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise PriceFileError(
            f"{setting}: {model!r}.{key} = {value!r}; it must be a non-negative number (USD per 1M tokens)."
        )
    return float(value)
