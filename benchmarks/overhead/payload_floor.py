"""The same-payload floor: the least a hand-written LangChain handler does to emit turntrace's spans for this
benchmark's workload (same names, kinds, tree, attribute keys and value types), and the check that it still does."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.util.types import AttributeValue

from benchmarks.overhead.workload import Workload, run_once
from langchain_turntrace import attributes as attr
from langchain_turntrace.pricing import PriceBook, TokenUsage

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def run_identity(run_id: UUID, callback_kwargs: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """The LangChain run's id, metadata and tags as ours records them (without ours' secret filtering)."""
    out: dict[str, AttributeValue] = {attr.LANGCHAIN_RUN_ID: str(run_id)}
    metadata: dict[str, Any] = callback_kwargs.get("metadata") or {}
    as_json: list[str] = []
    for key, value in metadata.items():
        if value is None:
            continue
        if isinstance(value, (str, bool, int, float)):
            out[attr.LANGSMITH_METADATA_PREFIX + key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in cast("list[object]", value)):
            out[attr.LANGSMITH_METADATA_PREFIX + key] = tuple(cast("list[str]", value))
        else:
            out[attr.LANGSMITH_METADATA_PREFIX + key] = json.dumps(value, default=str)
            as_json.append(key)
    if as_json:
        out[attr.METADATA_JSON_KEYS] = tuple(as_json)
    tags = callback_kwargs.get("tags")
    if tags:
        out[attr.LANGSMITH_TAGS] = tuple(tags)
    return out


SHAPE_CHECK_TURNS = 2  # turns of the run compared: a tool turn after a tool turn, then the answer


class PayloadFloorHandler(BaseCallbackHandler):
    """turntrace's spans for this workload only: one agent graph, no subgraphs, interrupts or failures, events in
    order, one model call per turn. LangGraph runs a turn's tool calls on worker threads, hence the one lock."""

    _tool_links: Sequence[Link] = ()  # none here; the live floor (live_floor.py) links each tool to its chat

    def __init__(self, tracer: trace.Tracer, *, session_id: str, feature: str, model: str, provider: str) -> None:
        self._tracer = tracer
        self._tags: dict[str, AttributeValue] = {
            attr.SESSION_ID: session_id,
            attr.GEN_AI_CONVERSATION_ID: session_id,
            attr.FEATURE: feature,
        }
        # The workload has one model: price it once, here, and multiply per call.
        book = PriceBook({})
        input_price = book.price(model, provider, TokenUsage(input_tokens=1, output_tokens=0))
        output_price = book.price(model, provider, TokenUsage(input_tokens=0, output_tokens=1))
        if input_price.cost_usd is None or output_price.cost_usd is None:
            raise ValueError(f"genai-prices has no price for {model!r}; give the payload floor a priced model")
        self._input_usd_per_token = input_price.cost_usd
        self._output_usd_per_token = output_price.cost_usd
        self._cost_source = input_price.source
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._agent: Span | None = None
        self._agent_run_id: UUID | None = None
        self._agent_context: Context | None = None
        self._turn: Span | None = None
        self._turn_context: Context | None = None
        self._turn_started_ns = 0
        self._turn_end: dict[str, AttributeValue] = {}
        self._turn_count = 0
        self._tool_call_count = 0
        self._input_tokens = 0
        self._output_tokens = 0
        self._cost_usd = 0.0
        self._open: dict[UUID, tuple[Span, int]] = {}  # model and tool calls by run id, with their start

    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        if parent_run_id is not None:
            return
        name = str(kwargs.get("name"))
        attributes = {
            **self._tags,
            attr.GEN_AI_OPERATION_NAME: "invoke_agent",
            attr.GEN_AI_AGENT_NAME: name,
            **run_identity(run_id, kwargs),
        }
        with self._lock:
            self._agent = self._tracer.start_span(f"invoke_agent {name}", attributes=attributes)
            self._agent_run_id = run_id
            self._agent_context = trace.set_span_in_context(self._agent)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        if run_id == self._agent_run_id:
            self._end_agent()

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        if run_id == self._agent_run_id:
            self._end_agent()

    def _end_agent(self) -> None:
        with self._lock:
            self._end_turn()
            if self._agent is not None:
                self._agent.set_attributes(
                    {
                        attr.TOTAL_INPUT_TOKENS: self._input_tokens,
                        attr.TOTAL_OUTPUT_TOKENS: self._output_tokens,
                        attr.TOTAL_COST_USD: self._cost_usd,
                        attr.TURN_COUNT: self._turn_count,
                        attr.TOOL_CALL_COUNT: self._tool_call_count,
                    }
                )
                self._agent.end()
            self._reset()

    def _end_turn(self) -> None:
        if self._turn is None:
            return
        self._turn_end[attr.LATENCY_MS] = (time.perf_counter_ns() - self._turn_started_ns) / 1e6
        self._turn.set_attributes(self._turn_end)
        self._turn.end()
        self._turn = self._turn_context = None

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        metadata = metadata or {}
        model, provider = str(metadata.get("ls_model_name")), str(metadata.get("ls_provider"))
        with self._lock:
            self._end_turn()
            self._turn_count += 1
            self._turn_started_ns = time.perf_counter_ns()
            self._turn = self._tracer.start_span(
                f"turn {self._turn_count}",
                context=self._agent_context,
                attributes={**self._tags, attr.TURN_INDEX: self._turn_count, attr.GEN_AI_REQUEST_MODEL: model},
            )
            self._turn_context = trace.set_span_in_context(self._turn)
            self._turn_end = {}
            chat = self._tracer.start_span(
                f"chat {model}",
                context=self._turn_context,
                kind=SpanKind.CLIENT,
                attributes={
                    **self._tags,
                    attr.GEN_AI_OPERATION_NAME: "chat",
                    attr.GEN_AI_PROVIDER_NAME: provider,
                    attr.GEN_AI_REQUEST_MODEL: model,
                    attr.INPUT_ROLES: tuple(_ROLES.get(m.type, m.type) for batch in messages for m in batch),
                    **run_identity(run_id, {"metadata": metadata, **kwargs}),
                },
            )
            self._open[run_id] = (chat, time.perf_counter_ns())

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        message = cast("AIMessage", cast("ChatGeneration", response.generations[0][0]).message)
        usage = message.usage_metadata or {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
        input_tokens, output_tokens = usage["input_tokens"], usage["output_tokens"]
        cost_usd = input_tokens * self._input_usd_per_token + output_tokens * self._output_usd_per_token
        meta = message.response_metadata
        finish_reason = str(meta.get("finish_reason"))
        with self._lock:
            chat, started_ns = self._open.pop(run_id)
            chat.set_attributes(
                {
                    attr.GEN_AI_RESPONSE_MODEL: str(meta.get("model_name")),
                    attr.GEN_AI_RESPONSE_ID: str(meta.get("id")),
                    attr.GEN_AI_RESPONSE_FINISH_REASONS: (finish_reason,),
                    attr.GEN_AI_USAGE_INPUT_TOKENS: input_tokens,
                    attr.GEN_AI_USAGE_OUTPUT_TOKENS: output_tokens,
                    attr.COST_USD: cost_usd,
                    attr.COST_SOURCE: self._cost_source,
                    attr.LATENCY_MS: (time.perf_counter_ns() - started_ns) / 1e6,
                }
            )
            chat.end()
            self._turn_end = {
                attr.TOTAL_INPUT_TOKENS: input_tokens,
                attr.TOTAL_OUTPUT_TOKENS: output_tokens,
                attr.TOTAL_COST_USD: cost_usd,
                attr.STOP_REASON: finish_reason,
            }
            self._input_tokens += input_tokens
            self._output_tokens += output_tokens
            self._cost_usd += cost_usd

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_call(run_id)

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, *, run_id: UUID, **kwargs: Any) -> None:
        name = str(kwargs.get("name") or serialized.get("name"))
        attributes: dict[str, AttributeValue] = {
            **self._tags,
            attr.GEN_AI_OPERATION_NAME: "execute_tool",
            attr.GEN_AI_TOOL_NAME: name,
            attr.GEN_AI_TOOL_CALL_ID: str(kwargs.get("tool_call_id")),
            attr.GEN_AI_TOOL_TYPE: "function",
            attr.INPUT_HASH: hashlib.sha256(input_str.encode()).hexdigest(),
            **run_identity(run_id, kwargs),
            # ours rolls up the model calls beneath a tool call; this workload's tools make none
            attr.TOTAL_INPUT_TOKENS: 0,
            attr.TOTAL_OUTPUT_TOKENS: 0,
            attr.TOTAL_COST_USD: 0.0,
        }
        with self._lock:
            span = self._tracer.start_span(
                f"execute_tool {name}", context=self._turn_context, attributes=attributes, links=self._tool_links
            )
            self._open[run_id] = (span, time.perf_counter_ns())
            self._tool_call_count += 1

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        shape_hash = hashlib.sha256(type(output).__name__.encode()).hexdigest()
        with self._lock:
            span, started_ns = self._open.pop(run_id)
            span.set_attributes(
                {attr.RETURN_SHAPE_HASH: shape_hash, attr.LATENCY_MS: (time.perf_counter_ns() - started_ns) / 1e6}
            )
            span.end()

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_call(run_id)

    def _end_call(self, run_id: UUID) -> None:
        with self._lock:
            opened = self._open.pop(run_id, None)
            if opened is not None:
                opened[0].end()


HandlerFactory = Callable[[TracerProvider], BaseCallbackHandler]
# More of a span to compare than its attributes: given the span and each span id's "name under parent name".
SpanFacts = Callable[[ReadableSpan, Mapping[int, str]], Iterable[str]]


def payload_mismatch(ours: HandlerFactory, floor: HandlerFactory) -> str | None:
    """None when ``floor`` emits the spans ``ours`` emits on one run of the workload (names, kinds, status, parent
    names, attribute keys and value types); else what differs. Keeps the yardstick honest when the contract moves."""
    workload = Workload(SHAPE_CHECK_TURNS)
    agent = workload.agent()
    return shape_mismatch(span_shapes(agent, workload, ours), span_shapes(agent, workload, floor))


def shape_mismatch(expected: dict[str, frozenset[str]], got: dict[str, frozenset[str]]) -> str | None:
    """None when two runs' ``span_shapes`` are the same; else, span by span, what ``got`` lacks and adds."""
    if expected == got:
        return None
    differences: list[str] = []
    for span in sorted(expected.keys() | got.keys()):
        if span not in got:
            differences.append(f"{span}: missing")
        elif span not in expected:
            differences.append(f"{span}: not one of ours")
        elif expected[span] != got[span]:
            lacks = ", ".join(sorted(expected[span] - got[span])) or "-"
            adds = ", ".join(sorted(got[span] - expected[span])) or "-"
            differences.append(f"{span}: lacks {lacks}; adds {adds}")
    return " | ".join(differences) or "the same spans, in different numbers"


def span_shapes(
    agent: Any, workload: Workload, make: HandlerFactory, facts: SpanFacts | None = None
) -> dict[str, frozenset[str]]:
    """Each span of one run, as "name (kind, status) under parent name", to its attribute keys and value types
    (and whatever ``facts`` adds)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        run_once(agent, workload, [make(provider)])
    finally:
        provider.shutdown()
    spans = exporter.get_finished_spans()
    names = {span.context.span_id: span.name for span in spans if span.context is not None}

    def parent_name(span: ReadableSpan) -> str:
        return "-" if span.parent is None else names.get(span.parent.span_id, "(outside the run)")

    placed = {
        span.context.span_id: f"{span.name} under {parent_name(span)}" for span in spans if span.context is not None
    }
    shapes: dict[str, frozenset[str]] = {}
    seen: Counter[str] = Counter()
    for span in spans:
        where = f"{span.name} ({span.kind.name}, {span.status.status_code.name}) under {parent_name(span)}"
        seen[where] += 1  # a name repeated under one parent: each one is compared
        where += f" #{seen[where]}" if seen[where] > 1 else ""
        shape = {f"{key}: {_type(value)}" for key, value in (span.attributes or {}).items()}
        shape.update(facts(span, placed) if facts is not None else ())
        shapes[where] = frozenset(shape)
    return shapes


def _type(value: object) -> str:
    if isinstance(value, tuple):
        items = cast("tuple[object, ...]", value)
        return f"tuple[{', '.join(sorted({type(item).__name__ for item in items}))}]"
    return type(value).__name__
