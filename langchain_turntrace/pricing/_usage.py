"""Token usage of one model call, in OTel's terms: input_tokens includes cached tokens."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """``cache_write_tokens`` counts every cache write; ``cache_write_1h_tokens`` is the part of it kept for an
    hour (Anthropic, Bedrock), priced at its own rate; the rest is priced as five-minute writes.
    ``service_tier`` is the provider's tier the call was served in (OpenAI ``flex`` / ``priority``, ...): the
    same tokens cost differently per tier."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_1h_tokens: int = 0
    service_tier: str | None = None
