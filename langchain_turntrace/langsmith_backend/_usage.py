"""LangSmith's usage_metadata for one model call: its tokens, and its cost split into input and output."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from langchain_turntrace import attributes as attr
from langchain_turntrace.pricing import COST_SOURCE_OVERRIDE, PriceBook, TokenUsage


def usage_metadata(attributes: Mapping[str, Any], prices: PriceBook) -> dict[str, Any] | None:
    """For a ``chat`` span's attributes; None when the call reported no usage. Only model calls carry usage,
    so LangSmith, which sums it up the tree, never counts a call twice."""
    input_tokens = _count(attributes, attr.GEN_AI_USAGE_INPUT_TOKENS)
    output_tokens = _count(attributes, attr.GEN_AI_USAGE_OUTPUT_TOKENS)
    if input_tokens is None and output_tokens is None:
        return None
    tokens = TokenUsage(
        input_tokens=input_tokens or 0,
        output_tokens=output_tokens or 0,
        cache_read_tokens=_count(attributes, attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS) or 0,
        cache_write_tokens=_count(attributes, attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS) or 0,
        reasoning_tokens=_count(attributes, attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS) or 0,
        cache_write_1h_tokens=_count(attributes, attr.USAGE_CACHE_WRITE_1H_INPUT_TOKENS) or 0,
        service_tier=tier if isinstance(tier := attributes.get(attr.SERVICE_TIER), str) else None,
    )
    usage: dict[str, Any] = {
        "input_tokens": tokens.input_tokens,
        "output_tokens": tokens.output_tokens,
        "total_tokens": tokens.input_tokens + tokens.output_tokens,
    }
    one_hour = tokens.cache_write_1h_tokens
    input_details = {
        key: count
        for key, count in (
            ("cache_read", tokens.cache_read_tokens),
            ("ephemeral_5m_input_tokens" if one_hour else "cache_creation", tokens.cache_write_tokens - one_hour),
            ("ephemeral_1h_input_tokens", one_hour),
        )
        if count
    }
    if input_details:
        usage["input_token_details"] = input_details
    if tokens.reasoning_tokens:
        usage["output_token_details"] = {"reasoning": tokens.reasoning_tokens}
    cost_usd = attributes.get(attr.COST_USD)
    if isinstance(cost_usd, (int, float)) and not isinstance(cost_usd, bool):
        usage["total_cost"] = float(cost_usd)
        input_cost = _input_cost(attributes, tokens, float(cost_usd), prices)
        if input_cost is not None:
            usage["input_cost"] = input_cost
            usage["output_cost"] = max(float(cost_usd) - input_cost, 0.0)
    return usage


def _input_cost(attributes: Mapping[str, Any], tokens: TokenUsage, cost_usd: float, prices: PriceBook) -> float | None:
    """The input tokens' share of the cost, priced again by the same table; None when this process cannot
    reprice the call exactly (the user's own rates, or a table that changed since), so only the total is sent."""
    model = _text(attributes, attr.GEN_AI_RESPONSE_MODEL)
    requested = _text(attributes, attr.GEN_AI_REQUEST_MODEL)
    source = attributes.get(attr.COST_SOURCE)
    if not isinstance(source, str) or source == COST_SOURCE_OVERRIDE:
        return None  # the user's own rates live in their handler, not here
    provider = _text(attributes, attr.GEN_AI_PROVIDER_NAME)
    whole = prices.price(model, provider, tokens, requested=requested)
    if whole.source != source or whole.cost_usd is None or not math.isclose(whole.cost_usd, cost_usd, rel_tol=1e-9):
        return None
    inputs_only = replace(tokens, output_tokens=0, reasoning_tokens=0)
    return prices.price(model, provider, inputs_only, requested=requested).cost_usd


def _text(attributes: Mapping[str, Any], key: str) -> str | None:
    value = attributes.get(key)
    return value if isinstance(value, str) and value else None


def _count(attributes: Mapping[str, Any], key: str) -> int | None:
    value = attributes.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
