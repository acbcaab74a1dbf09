"""``turntrace.stop_reason``: a model call's finish reason in one vocabulary across providers, for live and
imported calls alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# Provider finish reasons (lowercased) to the words of turntrace.stop_reason (README, "Stop reasons"). Words not
# listed pass through lowercased; gen_ai.response.finish_reasons keeps the provider's own.
_STOP_REASONS: Final[Mapping[str, str]] = {
    # OpenAI Chat Completions: stop, length, tool_calls, content_filter are already ours
    "function_call": "tool_calls",
    # Cohere: COMPLETE, STOP_SEQUENCE, MAX_TOKENS, TOOL_CALL, ERROR
    "complete": "stop",
    # OpenAI Responses: the response status, or why it is incomplete
    "completed": "stop",
    "max_output_tokens": "length",
    "failed": "error",
    # Anthropic Messages, Bedrock Converse
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "tool_call": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "pause_turn": "paused",
    # Gemini (upper case on the wire)
    "finish_reason_unspecified": "other",
    "safety": "content_filter",
    "recitation": "content_filter",
    "blocklist": "content_filter",
    "prohibited_content": "content_filter",
    "spii": "content_filter",
    "image_safety": "content_filter",
    "language": "content_filter",
    "malformed_function_call": "error",
    "unexpected_tool_call": "error",
}


def normalised_stop_reason(finish_reason: str | None, *, calls_tools: bool) -> str | None:
    """``finish_reason`` in turntrace.stop_reason's words; a call that asked for tools is ``tool_calls`` when its
    provider said only that it stopped (Gemini says STOP, a Responses turn "completed", a streamed transcript
    often never got a word)."""
    normalised = _STOP_REASONS.get(finish_reason.lower(), finish_reason.lower()) if finish_reason else None
    if calls_tools and normalised in (None, "stop"):
        return "tool_calls"
    return normalised
