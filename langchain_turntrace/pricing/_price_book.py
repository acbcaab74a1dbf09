"""Prices a model call from cached per-token rates; genai-prices is consulted once per model."""

from __future__ import annotations

import bisect
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from typing import TYPE_CHECKING, Final

from langchain_turntrace import money
from langchain_turntrace.pricing._overrides import ModelRates
from langchain_turntrace.pricing._usage import TokenUsage

if TYPE_CHECKING:
    from genai_prices import Usage as GenAIUsage
    from genai_prices.types import ModelInfo, ModelPrice, Provider

_log = logging.getLogger("langchain_turntrace")

COST_SOURCE_OVERRIDE: Final = "override"
COST_SOURCE_UNPRICED: Final = "unpriced"
COST_SOURCE_NO_USAGE: Final = "no_usage"
"""The call reported no token usage, so there is nothing to price (a provider or streaming setting)."""

_MTOK = 1_000_000
_CACHE_TTL_S = 3600.0  # genai-prices rates can change on a date; re-resolve hourly
_MAX_CACHED_MODELS = 4096
_MAX_WARNED_MODELS = 1024
_LOAD_WAIT_AT_FORK_S = 30.0  # the table loads in about a second; a fork never waits longer than this

# OTel provider names (gen_ai.provider.name) to genai-prices provider ids.
_GENAI_PRICES_PROVIDER: Final[Mapping[str, str]] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "aws.bedrock": "aws",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "gcp.gen_ai": "google",
    "gcp.vertex_ai": "google",
    "gcp.gemini": "google",
    "mistral_ai": "mistral",
    "groq": "groq",
    "deepseek": "deepseek",
    "x_ai": "x-ai",
    "cohere": "cohere",
    "perplexity": "perplexity",
}

# Warn once per unknown model per process, across handlers.
_warned_models: set[str] = set()
_warned_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Price:
    cost_usd: float | None
    source: str


@dataclass(frozen=True, slots=True)
class _LinearRates:
    """USD per token, valid for any usage of a model without tiered prices."""

    input: float
    output: float
    cache_read: float
    cache_write: float
    cache_write_1h: float
    source: str

    def cost(self, usage: TokenUsage) -> float:
        uncached = max(usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens, 0)
        one_hour = min(usage.cache_write_1h_tokens, usage.cache_write_tokens)
        return (
            uncached * self.input
            + usage.cache_read_tokens * self.cache_read
            + (usage.cache_write_tokens - one_hour) * self.cache_write
            + one_hour * self.cache_write_1h
            + usage.output_tokens * self.output
        )


class _ExactRates:
    """A model whose price is not a fixed rate per token we count: long-context tiers (the call's size picks the
    rate), a fee per request, reasoning tokens at a rate of their own. genai-prices prices every call, except
    when tiers are all there is: genai-prices picks a tier by the call's input tokens alone (a "cliff": the tier's
    rate for every token), so within one tier a call's cost is linear, and each tier's rates are probed once
    (a call priced by genai-prices costs ~0.5 ms; an import prices thousands)."""

    __slots__ = ("_by_tier", "_model_price", "_starts", "source")

    def __init__(self, model_price: ModelPrice, source: str) -> None:
        self._model_price = model_price
        self.source = source
        self._by_tier: dict[int, _LinearRates] = {}
        self._starts: list[int] | None = None  # None: priced by genai-prices, call by call
        if not any(getattr(model_price, name, None) is not None for name in _NOT_PER_TOKEN):
            from genai_prices.types import TieredPrices

            starts = {
                tier.start
                for _, name in _PRICE_FIELDS
                if isinstance(value := getattr(model_price, name, None), TieredPrices)
                for tier in value.tiers
            }
            self._starts = sorted(starts)

    def cost(self, usage: TokenUsage) -> float:
        starts = self._starts
        if starts is None:
            return float(self._model_price.calc_price(_genai_usage(usage))["total_price"])
        tier = bisect.bisect_left(starts, usage.input_tokens)  # tiers apply above their start: > start
        rates = self._by_tier.get(tier)
        if rates is None:
            # A probe size inside the tier: 1 above the tier's start (its first size), the base tier's at 1.
            size = starts[tier - 1] + 1 if tier else 1
            rates = self._by_tier[tier] = _probed_rates(self._model_price, self.source, size)
        return rates.cost(usage)


def _genai_usage(usage: TokenUsage) -> GenAIUsage:
    from genai_prices import Usage

    counts = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
    }
    if usage.reasoning_tokens:  # part of output_tokens; priced apart only where the table says so
        counts["output_reasoning_tokens"] = min(usage.reasoning_tokens, usage.output_tokens)
    if usage.cache_write_1h_tokens:
        counts["cache_write_1h_tokens"] = min(usage.cache_write_1h_tokens, usage.cache_write_tokens)
    return Usage(**counts)


_Rates = _LinearRates | _ExactRates | None


class PriceBook:
    """Cost of a model call: overrides first, then genai-prices (bundled data, never the network).

    >>> book = PriceBook({})
    >>> book.price("gpt-4o-mini", "openai", TokenUsage(input_tokens=1000, output_tokens=100)).source
    'genai-prices@...'
    """

    def __init__(self, overrides: Mapping[str, ModelRates]) -> None:
        _warm_price_table()
        self._overrides = {model.lower(): rates for model, rates in overrides.items()}
        self._cache: dict[tuple[tuple[str, ...], str | None, str | None, int | None], tuple[_Rates, float]] = {}
        self._table_source = f"genai-prices@{version('genai-prices')}"
        self._rates_of_price: dict[int, tuple[ModelPrice, _Rates]] = {}  # by the table's price object, kept alive

    def price(
        self,
        model: str | None,
        provider: str | None,
        usage: TokenUsage | None,
        *,
        requested: str | None = None,
        at: datetime | None = None,
    ) -> Price:
        """``model``: the name the response gave (a dated snapshot, often); ``requested``: the name the call asked
        for. An override for either wins over the table; the table is tried under both names. ``at``: when the
        call was made, for a call priced after the fact (an imported transcript): the table's price in force then,
        where it knows one (default: now)."""
        if usage is None:
            return Price(None, COST_SOURCE_NO_USAGE)
        names = _names(model, requested)
        if not names:
            _warn_unpriced("<no model name>")
            return Price(None, COST_SOURCE_UNPRICED)
        rates = self._rates(names, provider, usage.service_tier, at)
        if rates is None:
            _warn_unpriced(names[0])
            return Price(None, COST_SOURCE_UNPRICED)
        return Price(rates.cost(usage), rates.source)

    def rate_card(self, model: str, provider: str | None = None, service_tier: str | None = None) -> RateCard | None:
        """The rates a call to ``model`` is priced at and where they come from, found as ``price`` finds them;
        None when nothing prices it. ``provider`` is an OTel ``gen_ai.provider.name`` (``openai``, ...)."""
        found = self._find((model,), provider, service_tier)
        if found is None:
            return None
        if isinstance(found, ModelRates):
            return RateCard(model, COST_SOURCE_OVERRIDE, None, service_tier, True, _override_lines(found))
        provider_id, model_info, model_price, tier_applied = found
        return RateCard(
            model,
            self._table_source,
            f"{provider_id} / {model_info.id} ({model_info.name or model_info.id})",
            service_tier,
            tier_applied,
            _table_lines(model_price),
        )

    def _rates(
        self, names: tuple[str, ...], provider: str | None, service_tier: str | None, at: datetime | None = None
    ) -> _Rates:
        # A past call's rates by the minute it was made in: genai-prices' prices change on a date, some by time of day.
        key = (names, provider, service_tier, None if at is None else int(at.timestamp()) // 60)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        found = self._find(names, provider, service_tier, at)
        if found is None:
            rates: _Rates = None
        elif isinstance(found, ModelRates):
            rates = _override_rates(found)
        else:
            rates = self._table_rates(found[2])
        if len(self._cache) >= _MAX_CACHED_MODELS:
            self._cache.clear()
        self._cache[key] = (rates, now + _CACHE_TTL_S)
        return rates

    def _table_rates(self, model_price: ModelPrice) -> _Rates:
        """Rates from one of the table's prices, worked out once per price: a past call's minute is a new cache key,
        but its price is most often one already seen."""
        known = self._rates_of_price.get(id(model_price))
        if known is not None and known[0] is model_price:
            return known[1]
        rates = _rates_from(model_price, self._table_source)
        if len(self._rates_of_price) >= _MAX_CACHED_MODELS:
            self._rates_of_price.clear()
        self._rates_of_price[id(model_price)] = (model_price, rates)
        return rates

    def _find(
        self, names: tuple[str, ...], provider: str | None, service_tier: str | None, at: datetime | None = None
    ) -> ModelRates | tuple[str, ModelInfo, ModelPrice, bool] | None:
        """The user's rates for any of ``names``, else the table's entry for the first name it knows: (provider
        id, model, its price at ``at`` (default now) in ``service_tier``, whether the tier changed the price)."""
        for name in names:
            override = self._overrides.get(name.lower())
            if override is not None:
                return override
        provider_id = _GENAI_PRICES_PROVIDER.get(provider, provider) if provider else None
        for name in names:
            found = _table_entry(name, provider_id)
            if found is not None:
                provider_entry, model_info = found
                # Like genai-prices: a tier prices a model only under the provider that lists it (Azure serves
                # OpenAI's models at OpenAI's rates, without OpenAI's tiers).
                own = any(m is model_info for m in provider_entry.models)
                context = {"service_tier": service_tier} if service_tier and own else None
                model_price = model_info.get_prices(at or datetime.now(tz=timezone.utc), context)
                applied = context is not None and any(
                    all(context.get(k) == v for k, v in variant.when.items())
                    for variant in model_info.price_variants or ()
                )
                return provider_entry.id, model_info, model_price, applied
        return None


def _names(model: str | None, requested: str | None) -> tuple[str, ...]:
    if model and requested and requested != model:
        return (model, requested)
    name = model or requested
    return (name,) if name else ()


def _table_entry(model: str, provider_id: str | None) -> tuple[Provider, ModelInfo] | None:
    from genai_prices import data_snapshot  # heavy: the whole price table

    snapshot = data_snapshot.get_snapshot()
    try:
        return snapshot.find_provider_model(model, None, provider_id, None)
    except LookupError:
        if provider_id is None:
            return None
    try:  # a provider that resells the model under its own name, or a provider genai-prices does not know
        return snapshot.find_provider_model(model, None, None, None)
    except LookupError:
        return None


@dataclass(frozen=True, slots=True)
class RateCard:
    """What ``turntrace prices MODEL`` prints: the rates, per million tokens, and their source."""

    model: str
    source: str  # "override", or "genai-prices@<version>"
    matched: str | None  # genai-prices' provider / model id the name matched
    service_tier: str | None
    tier_applied: bool  # False: the table has no price for that tier of this model; the default rates apply
    rates: tuple[tuple[str, str], ...]  # (what, "$3.00 / MTok" or with its long-context tiers): money.per_mtok


_PRICE_FIELDS: Final = (
    ("input", "input_mtok"),
    ("output", "output_mtok"),
    ("cache read", "cache_read_mtok"),
    ("cache write (5 min)", "cache_write_mtok"),
    ("cache write (1 h)", "cache_write_1h_mtok"),
)


# Prices a probe per token cannot turn into a rate: a fee per request (it would land on every probe), reasoning
# tokens at their own rate (the linear rates price them as output).
_NOT_PER_TOKEN: Final = ("requests_kcount", "output_reasoning_mtok")


def _table_lines(model_price: ModelPrice) -> tuple[tuple[str, str], ...]:
    from genai_prices.types import TieredPrices

    lines: list[tuple[str, str]] = []
    for label, name in _PRICE_FIELDS:
        value = getattr(model_price, name, None)
        if isinstance(value, TieredPrices):
            tiers = "; ".join(f"{money.amount(tier.price)} above {tier.start:,} input tokens" for tier in value.tiers)
            lines.append((label, f"{money.per_mtok(value.base)} ({tiers})"))
        elif value is not None:
            lines.append((label, money.per_mtok(value)))
    return tuple(lines)


def _override_per_mtok(rates: ModelRates) -> dict[str, float]:
    """USD per million tokens of each kind; a cache rate not given is the input rate (one-hour writes: the
    five-minute write rate)."""
    write = rates.input_per_mtok if rates.cache_write_per_mtok is None else rates.cache_write_per_mtok
    return {
        "input": rates.input_per_mtok,
        "output": rates.output_per_mtok,
        "cache read": rates.input_per_mtok if rates.cache_read_per_mtok is None else rates.cache_read_per_mtok,
        "cache write (5 min)": write,
        "cache write (1 h)": write if rates.cache_write_1h_per_mtok is None else rates.cache_write_1h_per_mtok,
    }


def _override_lines(rates: ModelRates) -> tuple[tuple[str, str], ...]:
    return tuple((what, money.per_mtok(rate)) for what, rate in _override_per_mtok(rates).items())


def _rates_from(model_price: ModelPrice, source: str) -> _Rates:
    from genai_prices.types import TieredPrices

    if any(isinstance(getattr(model_price, name, None), TieredPrices) for _, name in _PRICE_FIELDS) or any(
        getattr(model_price, name, None) is not None for name in _NOT_PER_TOKEN
    ):
        return _ExactRates(model_price, source)
    return _probed_rates(model_price, source, _MTOK)


def _probed_rates(model_price: ModelPrice, source: str, size: int) -> _LinearRates:
    """Per-token rates for calls of ``size`` input tokens (the size picks a tier; without tiers any size will do)."""
    from genai_prices import Usage

    def per_token(**usage: int) -> float:
        # Probe genai-prices with unit usages of ``size`` input tokens (cached ones count in input_tokens), so its
        # fallbacks (e.g. cache reads at the input rate) stay its own.
        return float(model_price.calc_price(Usage(input_tokens=size, **usage))["total_price"]) / size

    input_rate = per_token()
    return _LinearRates(
        input=input_rate,
        output=per_token(output_tokens=size) - input_rate,
        cache_read=per_token(cache_read_tokens=size),
        cache_write=per_token(cache_write_tokens=size),
        cache_write_1h=per_token(cache_write_tokens=size, cache_write_1h_tokens=size),
        source=source,
    )


def _override_rates(rates: ModelRates) -> _LinearRates:
    per_mtok = _override_per_mtok(rates)
    return _LinearRates(
        input=per_mtok["input"] / _MTOK,
        output=per_mtok["output"] / _MTOK,
        cache_read=per_mtok["cache read"] / _MTOK,
        cache_write=per_mtok["cache write (5 min)"] / _MTOK,
        cache_write_1h=per_mtok["cache write (1 h)"] / _MTOK,
        source=COST_SOURCE_OVERRIDE,
    )


_warm_started = threading.Event()


def _warm_price_table() -> None:
    """Loads genai-prices' bundled table (a large module, ~0.3-1 s) off the agent's thread, once per process,
    so the first model call does not stall on it. Local data only: no network.

    A fork while the load runs would leave the child a module lock held by a thread it does not have: its first
    model call would hang (gunicorn ``--preload``). So a fork waits for the load to finish first."""
    if _warm_started.is_set():
        return
    _warm_started.set()

    def load() -> None:
        from genai_prices import data_snapshot

        data_snapshot.get_snapshot()

    loader = threading.Thread(target=load, name="turntrace-price-table", daemon=True)
    loader.start()
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=lambda: loader.join(_LOAD_WAIT_AT_FORK_S))


def _warn_unpriced(model: str) -> None:
    with _warned_lock:
        if model in _warned_models or len(_warned_models) >= _MAX_WARNED_MODELS:
            return
        _warned_models.add(model)
    _log.warning(
        "langchain-turntrace: no price for model %r; its calls get turntrace.cost_source='unpriced' and no cost. "
        "Add it with prices={%r: {'input_per_mtok': ..., 'output_per_mtok': ...}} or TURNTRACE_PRICES.",
        model,
        model,
    )
