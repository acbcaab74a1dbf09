"""Reads LangChain callback payloads into the turn model's plain facts (the only LangChain-aware reading)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage, convert_to_messages
from langchain_core.outputs import ChatGeneration, LLMResult
from langgraph.types import Command
from opentelemetry.util.types import AttributeValue

from langchain_turntrace.hashing import InputHasher, shape_hash
from langchain_turntrace.pricing import TokenUsage
from langchain_turntrace.turns import (
    GraphNamespace,
    ModelRequest,
    ModelResult,
    Tags,
    ToolRequest,
    ToolResult,
    normalised_stop_reason,
)

# LangChain's ls_provider values to OTel gen_ai.provider.name; unknown providers pass through as given.
_PROVIDERS: Final[Mapping[str, str]] = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "anthropic": "anthropic",
    "bedrock": "aws.bedrock",
    "amazon_bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "google_genai": "gcp.gen_ai",
    "google_vertexai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "google_anthropic_vertex": "gcp.vertex_ai",
    "mistralai": "mistral_ai",
    "mistral": "mistral_ai",
    "groq": "groq",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "perplexity": "perplexity",
    "watsonx": "ibm.watsonx.ai",
    "ibm": "ibm.watsonx.ai",
}

# First characters of text that json.loads can accept (NaN / Infinity included, leading whitespace allowed).
_JSON_STARTS: Final = frozenset('{["-0123456789tfnNI \t\n\r')

_SESSION_KEYS: Final = ("session_id", "thread_id", "conversation_id")

_ROLES: Final[Mapping[str, str]] = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def metadata_tags(metadata: Mapping[str, Any] | None) -> Tags:
    """The filter dimensions a run's metadata sets (the session under any of its usual keys)."""
    meta = metadata or {}
    session = next((str(meta[k]) for k in _SESSION_KEYS if meta.get(k) is not None), None)
    return Tags(
        session,
        str_or_none(meta.get("user_id")),
        str_or_none(meta.get("feature")),
        str_or_none(meta.get("agent_version")),
    )


def str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def agent_messages(value: object, *, last_only: bool) -> str | None:
    """The messages of a graph's input or output (its ``messages`` key) as GenAI JSON; the last one only for an
    answer (the whole list repeats every turn). None when there are none or they cannot be read."""
    raw = cast("Mapping[str, object]", value).get("messages") if isinstance(value, Mapping) else None
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        return None
    items = cast("Sequence[Any]", raw)
    try:
        messages = convert_to_messages(items[-1:] if last_only else items)
    except (ValueError, TypeError, NotImplementedError):  # not messages after all: nothing to record
        return None
    return _messages_json(messages)


def is_resume(inputs: object) -> bool:
    """A graph run's input that continues a paused thread: ``Command(resume=...)``, or none at all (go on from a
    breakpoint). Only meaningful on a thread (a run with a ``thread_id``)."""
    return inputs is None or (isinstance(inputs, Command) and inputs.resume is not None)


def graph_position(metadata: Mapping[str, Any] | None) -> tuple[GraphNamespace | None, int | None]:
    """The (sub)graph a run executes in and its LangGraph step, from the run's metadata."""
    if not metadata:
        return None, None
    raw_ns = metadata.get("langgraph_checkpoint_ns")
    namespace: GraphNamespace | None = None
    if isinstance(raw_ns, str):
        namespace = tuple(raw_ns.split("|")[:-1]) if "|" in raw_ns else ()  # most nodes: the top-level graph
    step = metadata.get("langgraph_step")
    return namespace, step if isinstance(step, int) else None


def model_request(
    operation: str,
    serialized: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    invocation_params: Mapping[str, Any] | None,
    messages: Sequence[Sequence[BaseMessage]] | None,
    capture_content: bool,
    run_attributes: Mapping[str, AttributeValue] | None = None,
) -> ModelRequest:
    metadata = metadata or {}
    params = invocation_params or {}
    model = metadata.get("ls_model_name") or params.get("model") or params.get("model_name") or params.get("model_id")
    provider = metadata.get("ls_provider")
    namespace, step = graph_position(metadata)
    return ModelRequest(
        operation=operation,
        request_model=str(model) if model else None,
        provider=_PROVIDERS.get(provider, provider) if isinstance(provider, str) else None,
        namespace=namespace,
        step=step,
        input_messages=_messages_json([m for batch in messages for m in batch])
        if capture_content and messages
        else None,
        run_attributes=run_attributes,
        input_roles=tuple(_ROLES.get(m.type, m.type) for batch in messages for m in batch) if messages else (),
    )


def model_result(response: LLMResult, capture_content: bool) -> ModelResult:
    messages: list[AIMessage] = []
    metered: list[AIMessage] = []  # per prompt, the first message with usage: n choices share one usage block
    finish: list[str] = []
    stop_reason: str | None = None
    for batch in response.generations:
        batch_metered = False
        for generation in batch:
            info = generation.generation_info or {}
            meta: Mapping[str, Any] = info
            calls_tools = False
            if isinstance(generation, ChatGeneration) and isinstance(generation.message, AIMessage):
                message = generation.message
                messages.append(message)
                if not batch_metered and message.usage_metadata:
                    metered.append(message)
                    batch_metered = True
                meta = {**message.response_metadata, **info}
                calls_tools = bool(message.tool_calls)
            reason = _finish_reason(meta)
            if reason is not None:
                finish.append(reason)
            stop_reason = normalised_stop_reason(reason, calls_tools=calls_tools) or stop_reason
    llm_output = response.llm_output or {}
    first_meta = messages[0].response_metadata if messages else {}
    response_model = (
        first_meta.get("model_name")
        or first_meta.get("model")
        or first_meta.get("model_version")
        or llm_output.get("model_name")
        or llm_output.get("model")
    )
    response_id = first_meta.get("id") or llm_output.get("id") or _request_id(first_meta)
    tier = first_meta.get("service_tier") or llm_output.get("service_tier")
    return ModelResult(
        response_model=str(response_model) if response_model else None,
        response_id=str(response_id) if response_id else None,
        finish_reasons=tuple(finish),
        usage=_usage(metered, llm_output, tier if isinstance(tier, str) and tier else None),
        tool_call_ids=tuple(call_id for m in messages for call in m.tool_calls if (call_id := call["id"])),
        output_messages=_messages_json(messages) if capture_content and messages else None,
        stop_reason=stop_reason,
    )


def _finish_reason(meta: Mapping[str, Any]) -> str | None:
    """The provider's own word for why a response ended: ``finish_reason`` (OpenAI, Gemini), ``stop_reason``
    (Anthropic), ``stopReason`` (Bedrock), ``done_reason`` (Ollama), or a Responses API status (why it is
    incomplete, when it is)."""
    for key in ("finish_reason", "stop_reason", "stopReason", "done_reason"):
        value = meta.get(key)
        if isinstance(value, str) and value:
            return value
    status = meta.get("status")
    if isinstance(status, str) and status:
        reason = _mapping(meta.get("incomplete_details")).get("reason")
        return reason if isinstance(reason, str) and reason else status
    return None


def _request_id(meta: Mapping[str, Any]) -> str | None:
    """Bedrock's responses have no id of their own: the AWS request id names the call."""
    request_id = _mapping(meta.get("ResponseMetadata")).get("RequestId")
    return request_id if isinstance(request_id, str) and request_id else None


def _count(value: object) -> int:
    """A token count we can trust: a non-negative int, else 0."""
    if type(value) is int:
        return value if value >= 0 else 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
        return 0
    return int(value)


def _mapping(value: object) -> Mapping[str, Any]:
    """Provider payloads are loosely typed: anything that is not a mapping reads as empty."""
    if type(value) is dict:
        return cast("Mapping[str, Any]", value)
    return cast("Mapping[str, Any]", value) if isinstance(value, Mapping) else {}


def _usage(messages: Sequence[AIMessage], llm_output: Mapping[str, Any], tier: str | None) -> TokenUsage | None:
    totals = [0, 0, 0, 0, 0, 0]
    found = False
    for message in messages:
        usage = _mapping(message.usage_metadata)
        if not usage:
            continue
        found = True
        totals[0] += _count(usage.get("input_tokens"))
        totals[1] += _count(usage.get("output_tokens"))
        tier = _input_details(_mapping(usage.get("input_token_details")), totals) or tier
        output_details = _mapping(usage.get("output_token_details"))
        for key, value in output_details.items():
            if key == "reasoning" or key.endswith("_reasoning"):  # langchain-openai: flex_reasoning, ...
                totals[4] += _count(value)
    if found:
        return TokenUsage(*totals, service_tier=tier)
    raw = _mapping(llm_output.get("token_usage") or llm_output.get("usage"))  # fallback: llm_output["token_usage"]
    if not raw:
        return None
    return TokenUsage(
        input_tokens=_count(raw.get("prompt_tokens", raw.get("input_tokens"))),
        output_tokens=_count(raw.get("completion_tokens", raw.get("output_tokens"))),
        cache_read_tokens=_count(_mapping(raw.get("prompt_tokens_details")).get("cached_tokens")),
        reasoning_tokens=_count(_mapping(raw.get("completion_tokens_details")).get("reasoning_tokens")),
        service_tier=tier,
    )


def _input_details(details: Mapping[str, Any], totals: list[int]) -> str | None:
    """Adds a message's cache reads and writes to ``totals`` (2: read, 3: write, 5: one-hour write); returns the
    service tier its keys name. langchain-openai prefixes the keys with the tier (``flex_cache_read``);
    langchain-anthropic and langchain-aws report writes by TTL (``ephemeral_5m_input_tokens``,
    ``ephemeral_1h_input_tokens``), with ``cache_creation`` then 0, or the same total."""
    if not details:
        return None
    tier: str | None = None
    created = by_ttl = one_hour = 0
    for key, value in details.items():
        if key == "cache_read" or key.endswith("_cache_read"):
            totals[2] += _count(value)
            tier = key[: -len("_cache_read")] or tier
        elif key == "cache_creation" or key.endswith("_cache_creation"):
            created += _count(value)
        elif key == "ephemeral_5m_input_tokens":
            by_ttl += _count(value)
        elif key == "ephemeral_1h_input_tokens":
            one_hour = _count(value)
            by_ttl += one_hour
    totals[3] += max(created, by_ttl)
    totals[5] += one_hour
    return tier


def tool_request(
    serialized: Mapping[str, Any] | None,
    input_str: str,
    inputs: Mapping[str, Any] | None,
    name: str | None,
    tool_call_id: str | None,
    metadata: Mapping[str, Any] | None,
    hasher: InputHasher,
    capture_content: bool,
    run_attributes: Mapping[str, AttributeValue] | None = None,
) -> ToolRequest:
    tool_name = name or serialized_name(serialized) or "tool"
    value: object = inputs if inputs is not None else input_str
    namespace, _ = graph_position(metadata)
    return ToolRequest(
        name=str(tool_name),
        tool_call_id=tool_call_id if isinstance(tool_call_id, str) and tool_call_id else None,
        input_hash=hasher.hash(value, len(input_str)),
        namespace=namespace,
        arguments=_json(value) if capture_content else None,
        run_attributes=run_attributes,
    )


def tool_result(output: object, capture_content: bool) -> ToolResult:
    handled_error = False
    value = output
    if isinstance(output, ToolMessage):
        handled_error = output.status == "error"
        value = output.artifact if output.artifact is not None else _parsed(output.content)
    return ToolResult(
        return_shape_hash=shape_hash(value),
        handled_error=handled_error,
        result=_json(output.content if isinstance(output, ToolMessage) else output) if capture_content else None,
    )


def _parsed(content: object) -> object:
    if isinstance(content, str):
        if content[:1] not in _JSON_STARTS:  # plain text: skip the parse, whose failure (an exception) costs more
            return content
        try:
            return json.loads(content)
        except ValueError:
            return content
    return content


def serialized_name(serialized: object) -> str | None:
    """The ``name`` of a run's ``serialized`` description, when LangChain gave one as a string."""
    name = cast("Mapping[str, object]", serialized).get("name") if isinstance(serialized, Mapping) else None
    return name if isinstance(name, str) and name else None


def _json(value: object) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):  # cyclic, or a str() that fails: say what it was, not why
        return f"<unencodable {type(value).__qualname__}>"


def _messages_json(messages: Sequence[BaseMessage]) -> str:
    """Messages in the GenAI conventions' JSON shape (role + parts). Only built when capture is on."""
    out: list[dict[str, Any]] = []
    for message in messages:
        parts: list[dict[str, Any]] = []
        if message.content:
            parts.append({"type": "text", "content": message.text})
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                parts.append({"type": "tool_call", "id": call["id"], "name": call["name"], "arguments": call["args"]})
        if isinstance(message, ToolMessage):
            parts = [{"type": "tool_call_response", "id": message.tool_call_id, "response": message.text}]
        out.append({"role": _ROLES.get(message.type, message.type), "parts": parts})
    return json.dumps(out, default=str, ensure_ascii=False)
