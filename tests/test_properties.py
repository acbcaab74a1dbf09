"""Arbitrary callback sequences never break the handler: it never raises, keeps no state, ends every span it starts."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Generator, Sequence, Sized
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, Generation, LLMResult
from langgraph.errors import GraphBubbleUp, GraphInterrupt
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from langchain_turntrace import TurnTraceCallbackHandler
from tests.contract import check_contract

# Content we feed in; none of it may reach a span unless content capture is on.
RAW_INPUT = "RAW-TOOL-INPUT"
RAW_OUTPUT = "RAW-TOOL-OUTPUT"
RAW_ERROR = "RAW-ERROR-MESSAGE"
RAW_SECRET = "RAW-API-KEY"
RAW_MARKERS = (RAW_INPUT, RAW_OUTPUT, RAW_ERROR, RAW_SECRET)
POOL = 8  # garbage events pick run ids 0..7, the ids well-formed runs use first: starts, ends and parents collide
CALL_IDS = ("call_0", "call_1", "call_2")


def run_uuid(run: int) -> UUID:
    return UUID(int=run + 1)


@dataclass
class Event:
    """One callback: ``kind`` names the handler method (``tool_end`` is ``on_tool_end``) for run ``run``."""

    kind: str
    run: int
    parent: int | None = None
    payload: Any = None  # inputs, messages, prompt, token, response, output, error, query or documents
    metadata: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=lambda: dict[str, Any]())  # name, serialized, tool_call_id, ...


START_KINDS = ("chain_start", "chat_model_start", "llm_start", "tool_start", "retriever_start")


def send(handler: TurnTraceCallbackHandler, event: Event) -> None:
    """Calls the handler the way LangChain's callback manager does (positional payload, keyword ids)."""
    callback = getattr(handler, f"on_{event.kind}")
    run_id = run_uuid(event.run)
    if event.kind in START_KINDS:
        options = dict(event.options)
        serialized = options.pop("serialized", None)
        parent_run_id = None if event.parent is None else run_uuid(event.parent)
        callback(
            serialized, event.payload, run_id=run_id, parent_run_id=parent_run_id, metadata=event.metadata, **options
        )
    else:
        callback(event.payload, run_id=run_id)


def closing_events(events: Sequence[Event]) -> list[Event]:
    """The end the caller owes each run it started (by the kind of its latest start), latest start first."""
    latest: dict[int, str] = {}
    for event in events:
        if event.kind in START_KINDS:
            latest.pop(event.run, None)
            latest[event.run] = event.kind
    ends = {
        "chain_start": Event("chain_end", 0),
        "retriever_start": Event("retriever_end", 0, payload=[]),
        "chat_model_start": Event("llm_end", 0, payload=llm_result()),
        "llm_start": Event("llm_end", 0, payload=llm_result()),
        "tool_start": Event("tool_end", 0, payload="done"),
    }
    return [Event(ends[kind].kind, run, payload=ends[kind].payload) for run, kind in reversed(latest.items())]


# -- payloads ------------------------------------------------------------------------------------------


def llm_result(
    *,
    tool_call_ids: Sequence[str | None] = (),
    usage: Any = None,
    model: Any = "gpt-4o-mini",
    finish_reason: Any = None,
    llm_output: Any = None,
) -> LLMResult:
    """A chat model's response; ``model_construct`` so garbage usage and metadata reach the handler as given."""
    calls = [
        {"name": "get_weather", "args": {"city": f"{RAW_OUTPUT} Paris"}, "id": i, "type": "tool_call"}
        for i in tool_call_ids
    ]
    message = AIMessage.model_construct(
        content=f"{RAW_OUTPUT} answer",
        tool_calls=calls,
        usage_metadata=usage,
        response_metadata={"model_name": model, "finish_reason": finish_reason, "id": "resp-1"},
    )
    return LLMResult(generations=[[ChatGeneration(message=message)]], llm_output=llm_output)


class Unprintable:
    """A tool value whose str() raises."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        return "Unprintable()"  # so hypothesis can still show a failing example


def cyclic() -> dict[str, Any]:
    value: dict[str, Any] = {"query": f"{RAW_INPUT} loop"}
    value["self"] = value
    return value


def deeply_nested(value: object, depth: int) -> object:
    for _ in range(depth):
        value = [value]
    return value


def marked(marker: str) -> st.SearchStrategy[str]:
    return st.text(max_size=12).map(lambda text: f"{marker} {text}")


def json_like(marker: str) -> st.SearchStrategy[Any]:
    leaves = st.none() | st.booleans() | st.integers() | st.floats() | marked(marker)
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=10,
    )


def odd_values(marker: str) -> st.SearchStrategy[Any]:
    """Values no JSON encoder takes as they are: cyclic, unhashable keys, bytes, sets, NaN, objects, huge."""
    return st.one_of(
        st.builds(cyclic),
        st.sampled_from([object(), {1, 2}, b"\xff\x00", float("nan"), float("inf"), Unprintable()]),
        st.just({1: "int key", None: "none key", "k": f"{marker} v"}),
        st.just({"nested": deeply_nested(marker, 40)}),
        st.just(f"{marker} " + "x" * 200_000),
        st.just(ToolMessage(content=f"{marker} text", tool_call_id="call_0")),
        st.just(ToolMessage(content=json.dumps({"v": marker}), tool_call_id="call_1", status="error")),
        st.just(ToolMessage(content="", tool_call_id="call_2", artifact={"rows": [marker]})),
        st.just(ToolMessage(content=[{"type": "text", "text": marker}], tool_call_id="call_0")),
    )


model_names = (
    st.none()
    | st.integers()
    | st.text(max_size=10)
    | st.sampled_from(
        [
            "gpt-4o",
            "gpt-4o-mini",
            "claude-sonnet-4-5",
            "",
            " ",
            "GPT-4O",
            "gpt-4o\n",
            "unknown/model:v1",
            "模型",
            "m" * 300,
        ]
    )
)
token_counts = (
    st.none()
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["12", True, [1]])
)
token_details = (
    st.none()
    | st.just("garbage")
    | st.fixed_dictionaries(
        {}, optional={"cache_read": token_counts, "cache_creation": token_counts, "reasoning": token_counts}
    )
)
usages = (
    st.none()
    | st.just("garbage")
    | st.fixed_dictionaries(
        {},
        optional={
            "input_tokens": token_counts,
            "output_tokens": token_counts,
            "total_tokens": token_counts,
            "input_token_details": token_details,
            "output_token_details": token_details,
        },
    )
)
llm_outputs = st.none() | st.fixed_dictionaries(
    {},
    optional={
        "token_usage": st.none()
        | st.just("garbage")
        | st.fixed_dictionaries({}, optional={"prompt_tokens": token_counts, "completion_tokens": token_counts}),
        "model_name": model_names,
        "id": st.none() | st.integers() | st.text(max_size=4),
    },
)
finish_reasons = st.none() | st.integers() | st.sampled_from(["stop", "tool_use", "length", "end_turn", "", "WEIRD"])
tool_call_ids = st.none() | st.sampled_from([*CALL_IDS, ""]) | st.integers()
responses = st.one_of(
    st.builds(
        llm_result,
        tool_call_ids=st.lists(st.none() | st.sampled_from(CALL_IDS), max_size=3),
        usage=usages,
        model=model_names,
        finish_reason=finish_reasons,
        llm_output=llm_outputs,
    ),
    st.just(LLMResult(generations=[])),
    st.just(
        LLMResult(generations=[[Generation(text=f"{RAW_OUTPUT} completion", generation_info={"finish_reason": 3})]])
    ),
    st.just(LLMResult.model_construct(generations=[[5]])),
    st.sampled_from([None, "not a result", 42]),
)
errors = st.sampled_from(
    [
        RuntimeError(f"{RAW_ERROR} boom"),
        ValueError(RAW_ERROR),
        asyncio.CancelledError(),
        GeneratorExit(),
        KeyboardInterrupt(),
        GraphInterrupt(),
        GraphBubbleUp(),
    ]
)
metadatas = st.none() | st.fixed_dictionaries(
    {},
    optional={
        "langgraph_step": st.none() | st.integers(-1, 4) | st.booleans() | st.text(max_size=2),
        "langgraph_checkpoint_ns": st.none()
        | st.integers()
        | st.text(max_size=8)
        | st.sampled_from(["", "|", "model:1", "tools:2", "tools:2|model:3", "research:1|tools:4|model:5"]),
        "ls_model_name": model_names,
        "ls_provider": st.none() | st.integers() | st.sampled_from(["openai", "anthropic", "bedrock", "somebody"]),
        "session_id": st.none() | st.integers() | st.text(max_size=4),
        "thread_id": st.none() | st.text(max_size=4),
        "user_id": st.none() | st.integers() | st.text(max_size=4),
        "feature": st.none() | st.text(max_size=4),
    },
)
invocation_params = st.none() | st.fixed_dictionaries(
    {},
    optional={
        "model": model_names,
        "model_name": model_names,
        "temperature": st.floats(),
        "api_key": marked(RAW_SECRET),
    },
)
serializeds = (
    st.none()
    | st.sampled_from([dict[str, Any](), ["not", "a", "dict"]])
    | st.fixed_dictionaries({"name": st.none() | st.text(max_size=6)})
)
run_names = st.none() | st.text(max_size=6) | st.sampled_from(["LangGraph", "agent", "model", "tools", "retriever"])
messages = st.sampled_from([[], [[]], [[HumanMessage(f"{RAW_INPUT} hi")]]])
runs = st.integers(0, POOL - 1)
parents = st.none() | runs
tool_values = json_like(RAW_INPUT) | odd_values(RAW_INPUT)


def _event(kind: str, *, parent: bool = False, **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Event]:
    return st.builds(Event, st.just(kind), runs, parents if parent else st.none(), **fields)


garbage_events = st.one_of(
    _event(
        "chain_start",
        parent=True,
        payload=st.none() | json_like(RAW_INPUT),
        metadata=metadatas,
        options=st.fixed_dictionaries({"name": run_names, "serialized": serializeds}),
    ),
    _event("chain_end", payload=st.none() | json_like(RAW_OUTPUT)),
    _event("chain_error", payload=errors),
    _event(
        "chat_model_start",
        parent=True,
        payload=messages,
        metadata=metadatas,
        options=st.fixed_dictionaries({"invocation_params": invocation_params, "serialized": serializeds}),
    ),
    _event(
        "llm_start",
        parent=True,
        payload=st.lists(marked(RAW_INPUT), max_size=2),
        metadata=metadatas,
        options=st.fixed_dictionaries({"invocation_params": invocation_params}),
    ),
    _event("llm_new_token", payload=st.none() | st.text(max_size=3)),
    _event("llm_end", payload=responses),
    _event("llm_error", payload=errors),
    _event(
        "tool_start",
        parent=True,
        payload=marked(RAW_INPUT),
        metadata=metadatas,
        options=st.fixed_dictionaries(
            {
                "inputs": st.none() | tool_values,
                "name": run_names,
                "tool_call_id": tool_call_ids,
                "serialized": serializeds,
            }
        ),
    ),
    _event("tool_end", payload=json_like(RAW_OUTPUT) | odd_values(RAW_OUTPUT)),
    _event("tool_error", payload=errors),
    _event("retriever_start", parent=True, payload=marked(RAW_INPUT), metadata=metadatas),
    _event("retriever_end", payload=st.sampled_from([[], [f"{RAW_OUTPUT} doc"], None])),
    _event("retriever_error", payload=errors),
)


# -- well-formed runs: every run started once and ended once, inside its parent ------------------------------

Outcome = tuple[list[Event], BaseException | None]  # a run's events, and the error it raised to its caller

PROPAGATING = (GraphInterrupt, asyncio.CancelledError)  # a ToolNode hands these on; other tool errors it handles


def _namespace(prefix: str, node: str, run: int) -> str:
    return f"{prefix}|{node}:{run}" if prefix else f"{node}:{run}"


class _RunBuilder:
    """Draws the callback sequence of a LangGraph agent (``create_agent``-like) with nesting and parallel tools."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.ids = itertools.count()

    def agent(self, parent: int | None, metadata: dict[str, Any], prefix: str, depth: int) -> Outcome:
        """An agent loop: model steps, each followed by a tools step while the model asks for tools."""
        draw = self.draw
        root = next(self.ids)
        name = draw(st.sampled_from(["LangGraph", "travel_agent", "researcher"]))
        events = [Event("chain_start", root, parent, {"messages": []}, metadata, {"name": name})]
        step = 0
        for _ in range(draw(st.integers(1, 3))):
            step += 1
            kind = draw(st.sampled_from(["model", "model", "model", "subgraph", "retrieve"])) if depth < 2 else "model"
            if kind == "retrieve":
                events += self.retrieve_node(root, prefix, step)
                continue
            if kind == "subgraph":
                block, error = self.subgraph_node(root, prefix, step, depth)
                tool_call_ids: list[str] = []
            else:
                block, tool_call_ids, error = self.model_node(root, prefix, step)
            events += block
            if error is None and tool_call_ids:
                step += 1
                block, error = self.tools_node(root, prefix, step, tool_call_ids, depth)
                events += block
            if error is not None:
                events.append(Event("chain_error", root, payload=error))
                return events, error
            if kind == "model" and not tool_call_ids:
                break  # the model answered: the loop ends
        if draw(st.integers(0, 9)) == 0:  # cancelled as it finished
            error = asyncio.CancelledError()
            events.append(Event("chain_error", root, payload=error))
            return events, error
        events.append(Event("chain_end", root, payload={"messages": []}))
        return events, None

    def model_node(self, agent: int, prefix: str, step: int) -> tuple[list[Event], list[str], BaseException | None]:
        draw = self.draw
        node = next(self.ids)
        metadata = {"langgraph_step": step, "langgraph_checkpoint_ns": _namespace(prefix, "model", node)}
        events = [Event("chain_start", node, agent, {}, metadata, {"name": "model"})]
        tool_call_ids: list[str] = []
        for _ in range(draw(st.integers(1, 2))):  # a middleware may call a model in the same step
            call_events, tool_call_ids, error = self.model_call(node, metadata)
            events += call_events
            if error is not None:
                events.append(Event("chain_error", node, payload=error))
                return events, [], error
        events.append(Event("chain_end", node))
        return events, tool_call_ids, None

    def model_call(
        self, parent: int | None, metadata: dict[str, Any]
    ) -> tuple[list[Event], list[str], BaseException | None]:
        draw = self.draw
        call = next(self.ids)
        model = draw(st.sampled_from(["gpt-4o-mini", "claude-sonnet-4-5", "my-llama"]))
        provider = draw(st.sampled_from(["openai", "anthropic", "ollama"]))
        chat = draw(st.integers(0, 3)) > 0  # else a completion model: on_llm_start, prompts as strings
        prompt = [[HumanMessage(f"{RAW_INPUT} question")]] if chat else [f"{RAW_INPUT} question"]
        events = [
            Event(
                "chat_model_start" if chat else "llm_start",
                call,
                parent,
                prompt,
                {**metadata, "ls_model_name": model, "ls_provider": provider},
                {"invocation_params": {"model": model, "api_key": f"{RAW_SECRET} sk-1"}},
            )
        ]
        events += [Event("llm_new_token", call, payload="tok") for _ in range(draw(st.integers(0, 2)))]
        outcome = draw(st.sampled_from(["answer", "answer", "tools", "tools", "tools", "tools", "error", "cancelled"]))
        if outcome in ("error", "cancelled"):
            error = RuntimeError(RAW_ERROR) if outcome == "error" else asyncio.CancelledError()
            events.append(Event("llm_error", call, payload=error))
            return events, [], error
        count = draw(st.integers(1, 3)) if outcome == "tools" else 0
        tool_call_ids = [f"call_{call}_{i}" for i in range(count)]
        usage = {"input_tokens": draw(st.integers(0, 5000)), "output_tokens": draw(st.integers(0, 500))}
        events.append(Event("llm_end", call, payload=llm_result(tool_call_ids=tool_call_ids, usage=usage, model=model)))
        return events, tool_call_ids, None

    def tools_node(self, agent: int, prefix: str, step: int, requested: list[str], depth: int) -> Outcome:
        draw = self.draw
        node = next(self.ids)
        namespace = _namespace(prefix, "tools", node)
        metadata = {"langgraph_step": step, "langgraph_checkpoint_ns": namespace}
        ran = draw(st.lists(st.sampled_from(requested), unique=True, min_size=1)) + draw(st.sampled_from([[], [None]]))
        outcomes = [self.tool_call(node, metadata, namespace, call_id, depth) for call_id in ran]
        events = [Event("chain_start", node, agent, {}, metadata, {"name": "tools"})]
        events += self.interleave([block for block, _ in outcomes])  # parallel tool calls
        error = next((error for _, error in outcomes if isinstance(error, PROPAGATING)), None)
        events.append(Event("chain_end", node) if error is None else Event("chain_error", node, payload=error))
        return events, error

    def tool_call(
        self, parent: int, metadata: dict[str, Any], namespace: str, tool_call_id: str | None, depth: int
    ) -> Outcome:
        draw = self.draw
        tool = next(self.ids)
        inputs = {"city": f"{RAW_INPUT} Paris"}
        name = draw(st.sampled_from(["get_weather", "research"]))
        options = {"inputs": inputs, "name": name, "tool_call_id": tool_call_id}
        events = [Event("tool_start", tool, parent, json.dumps(inputs), metadata, options)]
        inner = draw(st.sampled_from(["none", "none", "agent", "model"])) if depth < 2 else "none"
        if inner == "agent":  # a subagent invoked with the tool's config
            block, error = self.agent(tool, metadata, namespace, depth + 1)
            events += block
            if error is not None:
                events.append(Event("tool_error", tool, payload=error))
                return events, error
        elif inner == "model":
            events += self.model_call(tool, metadata)[0]  # its error, if any, the tool handles
        end = draw(st.sampled_from(["output", "message", "handled_error", "raised", "interrupt"]))
        if end in ("raised", "interrupt"):
            error = RuntimeError(RAW_ERROR) if end == "raised" else GraphInterrupt()
            events.append(Event("tool_error", tool, payload=error))
            return events, error
        output: object = {"temp_c": 21, "note": RAW_OUTPUT}
        if end != "output":
            status = "error" if end == "handled_error" else "success"
            output = ToolMessage(content=json.dumps(output), tool_call_id=tool_call_id or "", status=status)
        events.append(Event("tool_end", tool, payload=output))
        return events, None

    def subgraph_node(self, agent: int, prefix: str, step: int, depth: int) -> Outcome:
        """A compiled subgraph used as a node, running its own model loop one namespace deeper."""
        node = next(self.ids)
        namespace = _namespace(prefix, "research", node)
        metadata = {"langgraph_step": step, "langgraph_checkpoint_ns": namespace}
        events = [Event("chain_start", node, agent, {}, metadata, {"name": "research"})]
        block, error = self.agent(node, metadata, namespace, depth + 1)
        events += block
        events.append(Event("chain_end", node) if error is None else Event("chain_error", node, payload=error))
        return events, error

    def retrieve_node(self, agent: int, prefix: str, step: int) -> list[Event]:
        node, retriever = next(self.ids), next(self.ids)
        metadata = {"langgraph_step": step, "langgraph_checkpoint_ns": _namespace(prefix, "retrieve", node)}
        return [
            Event("chain_start", node, agent, {}, metadata, {"name": "retrieve"}),
            Event("retriever_start", retriever, node, f"{RAW_INPUT} query", metadata, {"name": "docs"}),
            Event("retriever_end", retriever, payload=[]),
            Event("chain_end", node),
        ]

    def interleave(self, blocks: list[list[Event]]) -> list[Event]:
        """Merges the blocks in a drawn order, each block's own events staying in order."""
        order = self.draw(st.permutations([i for i, block in enumerate(blocks) for _ in block]))
        pending = [iter(block) for block in blocks]
        return [next(pending[i]) for i in order]


@st.composite
def well_formed_sequences(draw: st.DrawFn) -> list[Event]:
    """One to three agent runs on one handler, one after another or overlapping, sometimes a lone model call."""
    builder = _RunBuilder(draw)
    blocks = [builder.agent(None, {}, "", 0)[0] for _ in range(draw(st.integers(1, 3)))]
    if draw(st.booleans()):
        blocks.append(builder.model_call(None, {})[0])
    return builder.interleave(blocks) if draw(st.booleans()) else [e for block in blocks for e in block]


FAMILIES = {
    "chain_start": {"chain_end", "chain_error", "retriever_end", "retriever_error"},
    "retriever_start": {"chain_end", "chain_error", "retriever_end", "retriever_error"},
    "chat_model_start": {"llm_end", "llm_error"},
    "llm_start": {"llm_end", "llm_error"},
    "tool_start": {"tool_end", "tool_error"},
}


@st.composite
def malformed_sequences(draw: st.DrawFn) -> list[Event]:
    """Garbage events, or a well-formed sequence with events dropped, repeated, swapped and garbage inserted."""
    if draw(st.booleans()):
        return draw(st.lists(garbage_events, max_size=30))
    events = draw(well_formed_sequences())
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(events)))
        op = draw(st.sampled_from(["drop", "repeat", "swap", "insert"]))
        if op == "insert" or at >= len(events) - 1:
            events.insert(at, draw(garbage_events))
        elif op == "drop":
            del events[at]
        elif op == "repeat":
            events.insert(at + 1, events[at])
        else:
            events[at], events[at + 1] = events[at + 1], events[at]
    return events


# -- what the SDK saw ------------------------------------------------------------------------------------


class SpanLedger(SpanProcessor):
    """Every span the SDK started and every span it ended, by span id."""

    def __init__(self) -> None:
        self.started: dict[int, str] = {}
        self.ended: set[int] = set()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        assert span.context is not None
        self.started[span.context.span_id] = span.name

    def on_end(self, span: ReadableSpan) -> None:
        assert span.context is not None
        self.ended.add(span.context.span_id)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def sdk_complaints() -> Generator[list[logging.LogRecord], None, None]:
    """What the OTel SDK logs about misuse: ending a span twice, writing to an ended span, an invalid attribute."""
    collector = _Records()
    logger = logging.getLogger("opentelemetry")
    logger.addHandler(collector)
    try:
        yield collector.records
    finally:
        logger.removeHandler(collector)


def is_attribute_value(value: object) -> bool:
    """An OTel attribute value: str, bool, int, float, or a homogeneous sequence of one of them."""
    if isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, (tuple, list)):
        items = cast("Sequence[object]", value)  # OTel's attribute sequences are untyped
        return len({type(item) for item in items}) <= 1 and all(isinstance(v, (str, bool, int, float)) for v in items)
    return False


def strings_of(span: ReadableSpan) -> list[str]:
    """Every string a backend would receive from this span: its name, attribute and event values."""
    out = [span.name]
    for attributes in [span.attributes or {}, *[event.attributes or {} for event in span.events]]:
        for value in attributes.values():
            items = cast("Sequence[object]", value) if isinstance(value, (tuple, list)) else [value]
            out += [str(item) for item in items]
    out += [event.name for event in span.events]
    return out


def run_and_check(
    events: Sequence[Event], *, capture_content: bool, tolerated: frozenset[str] = frozenset()
) -> Sequence[ReadableSpan]:
    """Sends ``events`` to a fresh handler; afterwards it must be idle, every span it started ended, every span
    well-formed and (capture off) free of raw content. Returns the finished spans."""
    exporter = InMemorySpanExporter()
    ledger = SpanLedger()
    provider = TracerProvider()
    provider.add_span_processor(ledger)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handler = TurnTraceCallbackHandler(tracer_provider=provider, capture_content=capture_content)
    try:
        with sdk_complaints() as complaints:
            for event in events:
                send(handler, event)
        assert handler.open_runs == 0
        owners = [handler, handler._runs]  # pyright: ignore[reportPrivateUsage]  # the open-run table's own state
        containers = {
            f"{type(owner).__name__}.{k}": cast("Sized", v)
            for owner in owners
            for k, v in vars(owner).items()
            if isinstance(v, (dict, list, set))
        }
        leftovers = [name for name, container in containers.items() if len(container)]
        assert not leftovers, f"per-run state left after every run ended: {leftovers}"
        unended = sorted(name for span_id, name in ledger.started.items() if span_id not in ledger.ended)
        assert not unended, f"spans started and never ended: {unended}"
        assert [r.getMessage() for r in complaints if r.getMessage() not in tolerated] == []
        spans = exporter.get_finished_spans()
        for span in spans:
            bad = {k: v for k, v in (span.attributes or {}).items() if not is_attribute_value(v)}
            assert not bad, f"{span.name}: not OTel attribute values: {bad}"
        if not capture_content:
            leaked = [s for span in spans for s in strings_of(span) if any(m in s for m in RAW_MARKERS)]
            assert not leaked, f"raw content in spans: {[s[:80] for s in leaked]}"
        check_contract(spans)
        return spans
    finally:
        provider.shutdown()


CYCLIC_INPUT = [
    Event("chain_start", 0, None, {}, None, {"name": "agent"}),
    Event(
        "tool_start", 1, 0, f"{RAW_INPUT} cyclic", None, {"inputs": cyclic(), "name": "loop", "tool_call_id": "call_0"}
    ),
]
HUGE_OUTPUT = [
    Event("tool_start", 0, None, f"{RAW_INPUT} q", None, {"inputs": {"q": RAW_INPUT}, "name": "dump"}),
    Event("tool_end", 0, payload=f"{RAW_OUTPUT} " + "x" * 10_000_000),
]
NEGATIVE_USAGE = [
    Event("chain_start", 0, None, {}, {"session_id": "s"}, {"name": "agent"}),
    Event("chat_model_start", 1, 0, [[HumanMessage("hi")]], {"langgraph_step": 1, "ls_model_name": "gpt-4o"}),
    Event("llm_end", 1, payload=llm_result(usage={"input_tokens": -100, "output_tokens": -5, "total_tokens": -105})),
]
NO_MODEL_NAME = [
    Event(
        "chat_model_start",
        0,
        None,
        [[HumanMessage("hi")]],
        {"ls_model_name": None},
        {"invocation_params": {"model": None}},
    ),
    Event(
        "llm_end", 0, payload=llm_result(model=None, usage={"input_tokens": 3, "output_tokens": 1, "total_tokens": 4})
    ),
]
UNKNOWN_TOOL_END = [Event("tool_end", 5, payload=f"{RAW_OUTPUT} orphan")]
DUPLICATE_CHAIN_END = [
    Event("chain_start", 0, None, {}, None, {"name": "agent"}),
    Event("chain_start", 1, 0, {}, {"langgraph_step": 1, "langgraph_checkpoint_ns": "model:1"}, {"name": "model"}),
    Event("chain_end", 1),
    Event("chain_end", 0),
    Event("chain_end", 0),
    Event("chain_end", 1),
]


@contextmanager
def production_mode() -> Generator[None, None, None]:
    """Internal errors logged once and swallowed, as in a user's program (the suite itself runs strict)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TURNTRACE_STRICT", "false")
        yield


@settings(max_examples=300, deadline=None, database=None)
@given(events=malformed_sequences(), capture_content=st.booleans(), roots_first=st.booleans())
@example(events=CYCLIC_INPUT, capture_content=False, roots_first=False)
@example(events=CYCLIC_INPUT, capture_content=True, roots_first=False)
@example(events=HUGE_OUTPUT, capture_content=False, roots_first=False)
@example(events=HUGE_OUTPUT, capture_content=True, roots_first=False)
@example(events=NEGATIVE_USAGE, capture_content=False, roots_first=False)
@example(events=NO_MODEL_NAME, capture_content=False, roots_first=False)
@example(events=UNKNOWN_TOOL_END, capture_content=False, roots_first=False)
@example(events=DUPLICATE_CHAIN_END, capture_content=False, roots_first=True)
def test_malformed_sequences_never_raise_leak_or_leave_spans_open(
    events: list[Event], capture_content: bool, roots_first: bool
) -> None:
    with production_mode():
        closing = closing_events(events)
        run_and_check([*events, *(reversed(closing) if roots_first else closing)], capture_content=capture_content)


@settings(max_examples=200, deadline=None, database=None)
@given(events=well_formed_sequences())
def test_well_formed_sequences_run_clean_in_strict_mode(events: list[Event]) -> None:
    """Strict (the suite's default): an internal error raises here instead of being logged and swallowed. Every
    run ends by itself: no help from ``closing_events``."""
    run_and_check(events, capture_content=False)


# -- bugs these properties found, each pinned by its smallest sequence ------------------------------------------


def test_a_turn_closed_with_its_model_call_still_open_is_ended_once() -> None:
    """An agent run ends while its model call's own end never came (a run cut short): each span ends once."""
    run_and_check(
        [
            Event("chain_start", 0, None, {}, None, {"name": "agent"}),
            Event("chat_model_start", 1, 0, [[HumanMessage("hi")]], {"langgraph_step": 1, "ls_model_name": "gpt-4o"}),
            Event("chain_end", 0),
        ],
        capture_content=False,
    )


def test_a_run_id_started_twice_leaves_no_span_open() -> None:
    """A caller reusing a run id (a config with a fixed run_id, shared by two invocations)."""
    events = [Event("chain_start", 0, None, {}, None, {"name": "agent"})] * 2 + [Event("chain_end", 0)]
    with production_mode():
        run_and_check(events, capture_content=False)


def test_an_end_for_another_kind_of_run_still_ends_its_span() -> None:
    events = [
        Event("chat_model_start", 0, None, [[HumanMessage("hi")]], {"ls_model_name": "gpt-4o"}),
        Event("chain_error", 0, payload=asyncio.CancelledError()),
    ]
    with production_mode():
        run_and_check([*events, *closing_events(events)], capture_content=False)


def test_a_model_call_below_an_ended_subgraph_still_ends_its_turn() -> None:
    """The subgraph node's end arrives before its inner model node's (an end out of order)."""
    node = {"langgraph_step": 1, "langgraph_checkpoint_ns": "research:1"}
    inner = {"langgraph_step": 1, "langgraph_checkpoint_ns": "research:1|model:2"}
    events = [
        Event("chain_start", 0, None, {}, None, {"name": "agent"}),
        Event("chain_start", 1, 0, {}, node, {"name": "research"}),  # a compiled subgraph as a node
        Event("chain_start", 2, 1, {}, inner, {"name": "model"}),  # its model node
        Event("chat_model_start", 3, 2, [[HumanMessage("hi")]], inner),
        Event("chain_end", 1),
        Event("chat_model_start", 4, 2, [[HumanMessage("hi")]], inner),
    ]
    run_and_check([*events, *closing_events(events)], capture_content=False)


def test_a_cyclic_tool_input_is_traced_with_content_capture_on() -> None:
    spans = run_and_check([*CYCLIC_INPUT, *closing_events(CYCLIC_INPUT)], capture_content=True)
    # A tool call with an id before any model call, in a run that resumes nothing: under the run, where verify
    # finds it (in a resumed run it would get a turn marked resumed: tests/test_pauses.py).
    assert sorted(s.name for s in spans) == ["execute_tool loop", "invoke_agent agent"]


def test_a_model_call_of_an_agent_that_ended_first_is_not_a_turn_outside_an_agent() -> None:
    """The agent inside a tool ends before its model node does; a model call there then joins the tool call."""
    events = [
        Event("tool_start", 0, None, "q", None, {"name": "research"}),
        Event("chain_start", 1, 0, {}, None, {"name": "researcher"}),  # a subagent inside the tool
        Event("chain_start", 2, 1, {}, None, {"name": "model"}),  # its model node
        Event("chain_end", 1),
        Event("chat_model_start", 3, 2, [[HumanMessage("hi")]], None),
    ]
    spans = run_and_check([*events, *closing_events(events)], capture_content=False)
    names = {s.context.span_id: s.name for s in spans if s.context is not None}
    parents = {s.name: names[s.parent.span_id] for s in spans if s.parent is not None}
    assert parents == {"invoke_agent researcher": "execute_tool research", "chat": "execute_tool research"}


def test_a_model_call_in_a_tool_whose_parents_ended_first_gets_a_turn() -> None:
    """A tool inside a tool: the outer tool's end closes the inner one, whose model call then needs a turn."""
    events = [
        Event("chain_start", 0, None, {}, None, {"name": "agent"}),
        Event("tool_start", 1, 0, "q", None, {"name": "outer"}),
        Event("tool_start", 2, 1, "q", None, {"name": "inner"}),
        Event("tool_end", 1, payload="done"),
        Event("chat_model_start", 3, 2, [[HumanMessage("hi")]], None),
    ]
    spans = run_and_check([*events, *closing_events(events)], capture_content=False)
    assert sorted(s.name for s in spans) == [
        "chat",
        "execute_tool inner",
        "execute_tool outer",
        "invoke_agent agent",
        "turn 1",
    ]
