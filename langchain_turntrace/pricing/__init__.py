"""Cost in USD for a model call: the genai-prices table, overridden by the user's own rates."""

from langchain_turntrace.pricing._overrides import (
    ModelRates,
    PriceFileError,
    load_price_overrides,
    parse_price_overrides,
)
from langchain_turntrace.pricing._price_book import (
    COST_SOURCE_NO_USAGE,
    COST_SOURCE_OVERRIDE,
    COST_SOURCE_UNPRICED,
    Price,
    PriceBook,
    RateCard,
)
from langchain_turntrace.pricing._usage import TokenUsage

__all__ = [
    "COST_SOURCE_NO_USAGE",
    "COST_SOURCE_OVERRIDE",
    "COST_SOURCE_UNPRICED",
    "ModelRates",
    "Price",
    "PriceBook",
    "PriceFileError",
    "RateCard",
    "TokenUsage",
    "load_price_overrides",
    "parse_price_overrides",
]
