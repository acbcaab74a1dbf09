"""Plain facts the handler hands to the turn model: what a model or tool call asked for and returned.

NamedTuples: made several times per agent run, and a tuple is built in C (a frozen dataclass sets each field
through object.__setattr__)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from opentelemetry.util.types import AttributeValue

from langchain_turntrace.pricing import TokenUsage

GraphNamespace = tuple[str, ...]
"""A LangGraph checkpoint namespace without the node's own task: which (sub)graph a node runs in."""


class ModelRequest(NamedTuple):
    operation: str  # "chat" or "text_completion"
    request_model: str | None
    provider: str | None
    namespace: GraphNamespace | None
    step: int | None
    input_messages: str | None = None  # JSON, only when content capture is on
    run_attributes: Mapping[str, AttributeValue] | None = None  # the LangChain run's id, metadata and tags
    input_roles: tuple[str, ...] = ()  # the role of each input message, in order: safe to keep without content


class ModelResult(NamedTuple):
    response_model: str | None
    response_id: str | None
    finish_reasons: tuple[str, ...]
    usage: TokenUsage | None
    tool_call_ids: tuple[str, ...]
    output_messages: str | None = None  # JSON, only when content capture is on
    stop_reason: str | None = None  # finish_reasons normalised across providers (tool_calls, stop, length, ...)


class ToolRequest(NamedTuple):
    name: str
    tool_call_id: str | None
    input_hash: str
    namespace: GraphNamespace | None
    arguments: str | None = None  # only when content capture is on
    run_attributes: Mapping[str, AttributeValue] | None = None  # the LangChain run's id, metadata and tags


class ToolResult(NamedTuple):
    return_shape_hash: str
    handled_error: bool  # the tool caught its own error and returned it (ToolMessage.status == "error")
    result: str | None = None  # only when content capture is on
