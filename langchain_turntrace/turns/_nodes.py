"""The spans of the tree: agent run, turn, model call, tool call; each closes itself and rolls usage up."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from langchain_turntrace import attributes as attr
from langchain_turntrace.pricing import PriceBook
from langchain_turntrace.turns._budget import RunBudget
from langchain_turntrace.turns._clock import now_ns
from langchain_turntrace.turns._facts import GraphNamespace, ModelRequest, ModelResult, ToolRequest, ToolResult
from langchain_turntrace.turns._metrics import TurnMetrics


class Trace:
    """What every node of one agent run's tree shares: the lock, the tracer, the price book, the tags."""

    __slots__ = ("budget", "capture_content", "lock", "metrics", "on_interrupted", "prices", "tag_attributes", "tracer")

    def __init__(
        self,
        tracer: Tracer,
        prices: PriceBook,
        tag_attributes: Mapping[str, AttributeValue],
        capture_content: bool,
        on_interrupted: Callable[[SpanContext], None] | None = None,
        metrics: TurnMetrics | None = None,
    ) -> None:
        self.lock = threading.RLock()  # parallel tool calls of one run end on different threads
        self.tracer = tracer
        self.prices = prices
        self.tag_attributes = dict(tag_attributes)
        self.capture_content = capture_content
        self.on_interrupted = on_interrupted  # told the root's span context when an interrupted run ends
        self.metrics = metrics  # None when metrics are off: nothing runs per node then
        self.budget: RunBudget | None = None  # an agent run's, when the handler has a budget


class _SpanStart(NamedTuple):
    name: str
    kind: SpanKind
    attributes: dict[str, AttributeValue]
    context: Context | None
    links: Sequence[Link]


class Node:
    """A span in the tree with inclusive token/cost totals and the open children it must close.

    The SDK span starts when first needed: when a child needs it as parent, else at the end, with every
    attribute in one go (the SDK validates and locks per attribute set after the start, and most spans are
    leaves). Its start time is the event's either way. Attributes known only at the end collect in one dict.
    """

    __slots__ = (
        "_child_context",
        "_end_attributes",
        "_open_children",
        "_span",
        "_unstarted",
        "cost_usd",
        "ended",
        "input_tokens",
        "output_tokens",
        "parent",
        "start_ns",
        "trace",
    )

    def __init__(self, trace: Trace, parent: Node | None, start_ns: int) -> None:
        self.trace = trace
        self.parent = nearest_open(parent)  # events out of order: an ended parent could never close it
        self.start_ns = start_ns
        self._span: Span | None = None  # see span
        self._unstarted: _SpanStart | None = None  # set by _start_span, until the span starts
        self.ended = False
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd = 0.0
        self._open_children: dict[Node, None] = {}  # insertion-ordered set
        self._end_attributes: dict[str, AttributeValue] = {}
        self._child_context: Context | None = None

    def _start_span(
        self,
        name: str,
        kind: SpanKind,
        attributes: dict[str, AttributeValue],
        context: Context | None = None,
        links: Sequence[Link] = (),
    ) -> None:
        """What the span starts with, when it starts (see Node)."""
        attributes.update(self.trace.tag_attributes)
        if context is None and self.parent is None:
            context = otel_context.get_current()  # a root's parent is the span current now, not at its start
        self._unstarted = _SpanStart(name, kind, attributes, context, links)
        if self.parent is not None:
            self.parent._open_children[self] = None

    @property
    def span(self) -> Span:
        """The SDK span, started now if it was not yet."""
        span = self._span
        return span if span is not None else self._start({})

    def _start(self, end_attributes: dict[str, AttributeValue]) -> Span:
        start = self._unstarted
        assert start is not None, "_start_span sets what the span starts with"
        self._unstarted = None
        context = start.context
        if context is None and self.parent is not None:
            context = self.parent.context_for_children()
        start.attributes.update(end_attributes)
        span = self._span = self.trace.tracer.start_span(
            start.name,
            context=context,
            kind=start.kind,
            attributes=start.attributes,
            start_time=self.start_ns,
            links=start.links,
        )
        return span

    def context_for_children(self) -> Context:
        """The OTel context naming this span as parent, made once for all its children."""
        context = self._child_context
        if context is None:
            context = self._child_context = trace.set_span_in_context(self.span)
        return context

    def add_usage(self, input_tokens: int, output_tokens: int, cost_usd: float) -> None:
        node: Node | None = self
        while node is not None:
            node.input_tokens += input_tokens
            node.output_tokens += output_tokens
            node.cost_usd += cost_usd
            node = node.parent

    def _add_totals(self, out: dict[str, AttributeValue]) -> None:
        out[attr.TOTAL_INPUT_TOKENS] = self.input_tokens
        out[attr.TOTAL_OUTPUT_TOKENS] = self.output_tokens
        out[attr.TOTAL_COST_USD] = self.cost_usd

    def _finish(self, end_ns: int) -> None:
        """Ends the span once; force-closes children whose own end never came."""
        if self.ended:
            return
        self.ended = True  # first: closing the last child must not make a turn end itself a second time
        if self._open_children:
            for child in list(self._open_children):
                child.close_incomplete(end_ns)
        out = self._end_attributes
        self._before_end(end_ns, out)
        span = self._span
        if span is None:
            span = self._start(out)  # a leaf: one attribute pass
        elif out:
            span.set_attributes(out)
        if attr.ERROR_TYPE in out:  # a raised or a handled error: every failure names its type
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=end_ns)
        if self.parent is not None:
            self.parent._open_children.pop(self, None)
            self.parent._child_ended(end_ns)

    def _before_end(self, end_ns: int, out: dict[str, AttributeValue]) -> None:
        """Last attributes before the span ends, added to ``out``."""

    def _child_ended(self, end_ns: int) -> None:
        """A child span ended; a turn uses this to see whether it is complete."""

    def close_incomplete(self, end_ns: int) -> None:
        """Closed for a parent that is ending, or for a run cut short: not an error, but marked."""
        if not self.ended:
            self._end_attributes[attr.INCOMPLETE] = True
            self._finish(end_ns)

    def _mark_interrupted(self) -> None:
        """A LangGraph interrupt here pauses the whole run: the run's root says so too, for the resume to link."""
        self._end_attributes[attr.INTERRUPTED] = True
        root: Node = self
        while root.parent is not None:
            root = root.parent
        if isinstance(root, AgentRun):
            root.interrupted = True

    def _fail(self, error: BaseException, end_ns: int) -> None:
        self._end_attributes[attr.ERROR_TYPE] = error_type(error)
        self._finish(end_ns)


def nearest_open(node: Node | None) -> Node | None:
    """The node, else its nearest ancestor not yet ended (ends out of order close a run before its parts)."""
    while node is not None and node.ended:
        node = node.parent
    return node


def error_type(error: BaseException) -> str:
    cls = type(error)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


class AgentRun(Node):
    """``invoke_agent {name}``: one agent run with its own turn numbering."""

    __slots__ = (
        "_latest_turn",
        "_pending_tool_calls",
        "_turn_by_key",
        "base_namespace",
        "interrupted",
        "name",
        "tool_call_count",
        "turn_count",
    )

    def __init__(
        self,
        trace: Trace,
        parent: Node | None,
        name: str,
        *,
        start_ns: int,
        base_namespace: GraphNamespace | None = None,
        context: Context | None = None,
        links: Sequence[Link] = (),
    ) -> None:
        super().__init__(trace, parent, start_ns)
        self.name = name
        self.interrupted = False
        self.base_namespace = base_namespace
        self.turn_count = 0
        self.tool_call_count = 0
        self._turn_by_key: dict[tuple[GraphNamespace | None, int], Turn] = {}
        self._pending_tool_calls: dict[str, Turn] = {}  # tool_call_id -> the turn that requested it
        self._latest_turn: Turn | None = None
        self._start_span(
            f"invoke_agent {name}",
            SpanKind.INTERNAL,
            {attr.GEN_AI_OPERATION_NAME: "invoke_agent", attr.GEN_AI_AGENT_NAME: name},
            context,
            links,
        )

    # -- turns -------------------------------------------------------------------------------------------
    def turn_for(self, namespace: GraphNamespace | None, step: int | None, host: object | None, start_ns: int) -> Turn:
        """The turn a model call joins: the open one of the same model step, else a new one."""
        key = (namespace, step) if step is not None else None
        if key is not None:
            turn = self._turn_by_key.get(key)
            if turn is not None and not turn.ended:
                return turn
        if self.trace.budget is not None:
            self.trace.budget.turn_starting(self)  # may raise BudgetExceededError: then no turn starts
        for open_turn in [child for child in self._open_children if isinstance(child, Turn)]:
            open_turn.settle()  # a new model step: tool calls not started by now never will be
        self.turn_count += 1
        turn = Turn(self, self.turn_count, host, start_ns)
        if key is not None:
            self._turn_by_key = {k: t for k, t in self._turn_by_key.items() if not t.ended}
            self._turn_by_key[key] = turn
        self._latest_turn = turn
        return turn

    def expect_tool_calls(self, turn: Turn, tool_call_ids: tuple[str, ...]) -> None:
        for tool_call_id in tool_call_ids:
            self._pending_tool_calls[tool_call_id] = turn

    def parent_for_tool_call(self, tool_call_id: str | None) -> Node:
        """The turn whose model call asked for this tool call; else the latest open turn; else the run."""
        if tool_call_id is not None:
            turn = self._pending_tool_calls.pop(tool_call_id, None)
            if turn is not None and not turn.ended:
                turn.pending_ids.discard(tool_call_id)
                return turn
        return self.open_turn_or_self()

    def open_turn_or_self(self) -> Node:
        """The latest turn while it is open, else the run: where an id-less tool call or a subgraph agent nests."""
        latest = self._latest_turn
        return latest if latest is not None and not latest.ended else self

    def start_tool_call(self, request: ToolRequest, start_ns: int) -> ToolCall:
        self.tool_call_count += 1
        return ToolCall(self.trace, self.parent_for_tool_call(request.tool_call_id), request, start_ns)

    # -- end ---------------------------------------------------------------------------------------------
    def end(self, end_ns: int | None = None) -> None:
        self._finish(now_ns() if end_ns is None else end_ns)

    def fail(self, error: BaseException, end_ns: int | None = None) -> None:
        if not self.ended:  # closed already, for a parent that ended first: the late error changes nothing
            self._fail(error, now_ns() if end_ns is None else end_ns)

    def interrupt(self, end_ns: int | None = None) -> None:
        if not self.ended:
            self._mark_interrupted()
            self._finish(now_ns() if end_ns is None else end_ns)

    def _finish(self, end_ns: int) -> None:
        if self.ended:
            return
        for child in list(self._open_children):
            if isinstance(child, Turn):
                child.settle()  # turns whose parts all ended close normally, not as incomplete
        super()._finish(end_ns)
        self._pending_tool_calls.clear()
        self._turn_by_key.clear()
        self._latest_turn = None

    def _before_end(self, end_ns: int, out: dict[str, AttributeValue]) -> None:
        self._add_totals(out)
        out[attr.TURN_COUNT] = self.turn_count
        out[attr.TOOL_CALL_COUNT] = self.tool_call_count
        if self.trace.metrics is not None:
            self.trace.metrics.agent_run_ended(
                self.name, self.turn_count, self.tool_call_count, self.trace.tag_attributes
            )
        if self.interrupted:
            out[attr.INTERRUPTED] = True
            if self.parent is None and self.trace.on_interrupted is not None:
                self.trace.on_interrupted(self.span.get_span_context())


class Turn(Node):
    """``turn {n}``: the model call(s) of one model step and the tool calls they requested."""

    __slots__ = ("_host", "_last_end_ns", "agent", "error_type", "index", "pending_ids", "request_model", "stop_reason")

    def __init__(self, agent: AgentRun, index: int, host: object | None, start_ns: int) -> None:
        super().__init__(agent.trace, agent, start_ns)
        self.agent = agent
        self.index = index
        self._host = host  # the graph node running this model step; the turn outlives it
        self.pending_ids: set[str] = set()
        self.request_model: str | None = None
        self.stop_reason: str | None = None
        self.error_type: str | None = None
        self._last_end_ns = start_ns
        self._start_span(f"turn {index}", SpanKind.INTERNAL, {attr.TURN_INDEX: index})

    def host_ended(self, host: object) -> None:
        """The node that ran the model step ended: no more model calls can join (the end time is the parts')."""
        if self._host is host:
            self._host = None
            self._end_if_complete()

    def settle(self) -> None:
        """Gives up on requested tool calls that never started; ends the turn if nothing else is open."""
        self.pending_ids.clear()
        self._host = None
        self._end_if_complete()

    def _child_ended(self, end_ns: int) -> None:
        self._last_end_ns = max(self._last_end_ns, end_ns)
        self._end_if_complete()

    def _end_if_complete(self) -> None:
        if not self.ended and not self._open_children and not self.pending_ids and self._host is None:
            self._finish(self._last_end_ns)

    def _before_end(self, end_ns: int, out: dict[str, AttributeValue]) -> None:
        self._add_totals(out)
        out[attr.LATENCY_MS] = (end_ns - self.start_ns) / 1e6
        if self.request_model is not None:
            out[attr.GEN_AI_REQUEST_MODEL] = self.request_model
        if self.stop_reason is not None:
            out[attr.STOP_REASON] = self.stop_reason
        if self.error_type is not None:
            out[attr.ERROR_TYPE] = self.error_type


class ModelCall(Node):
    """``chat {model}``: one LLM call; the leaf that carries usage and cost."""

    __slots__ = ("_first_chunk_ns", "provider", "request", "turn")

    def __init__(
        self, trace: Trace, parent: Node | None, request: ModelRequest, start_ns: int, context: Context | None = None
    ) -> None:
        super().__init__(trace, parent, start_ns)
        self.request = request
        self.turn = self.parent if isinstance(self.parent, Turn) else None  # the open one, see Node
        self._first_chunk_ns: int | None = None
        attributes: dict[str, AttributeValue] = {attr.GEN_AI_OPERATION_NAME: request.operation}
        if request.provider is not None:
            attributes[attr.GEN_AI_PROVIDER_NAME] = request.provider
        if request.request_model is not None:
            attributes[attr.GEN_AI_REQUEST_MODEL] = request.request_model
        if request.input_messages is not None:
            attributes[attr.GEN_AI_INPUT_MESSAGES] = request.input_messages
        name = f"{request.operation} {request.request_model}" if request.request_model else request.operation
        self._start_span(name, SpanKind.CLIENT, attributes, context)
        if self.turn is not None and self.turn.request_model is None:
            self.turn.request_model = request.request_model

    def first_chunk(self) -> None:
        # Called per streamed token: no lock. Two racing first tokens would both write a near-equal time.
        if self._first_chunk_ns is None:
            self._first_chunk_ns = now_ns()

    def end(self, result: ModelResult) -> None:
        with self.trace.lock:
            if self.ended:
                return
            end_ns = now_ns()
            model = result.response_model or self.request.request_model
            out = self._end_attributes
            if result.response_model is not None:
                out[attr.GEN_AI_RESPONSE_MODEL] = result.response_model
            if result.response_id is not None:
                out[attr.GEN_AI_RESPONSE_ID] = result.response_id
            if result.finish_reasons:
                out[attr.GEN_AI_RESPONSE_FINISH_REASONS] = result.finish_reasons
            if result.output_messages is not None:
                out[attr.GEN_AI_OUTPUT_MESSAGES] = result.output_messages
            if self._first_chunk_ns is not None:
                out[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = (self._first_chunk_ns - self.start_ns) / 1e9
            usage = result.usage
            price = self.trace.prices.price(model, self.request.provider, usage)
            out[attr.COST_SOURCE] = price.source
            if usage is not None:
                out[attr.GEN_AI_USAGE_INPUT_TOKENS] = usage.input_tokens
                out[attr.GEN_AI_USAGE_OUTPUT_TOKENS] = usage.output_tokens
                if usage.cache_read_tokens:
                    out[attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = usage.cache_read_tokens
                if usage.cache_write_tokens:
                    out[attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] = usage.cache_write_tokens
                if usage.reasoning_tokens:
                    out[attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoning_tokens
                if price.cost_usd is not None:
                    out[attr.COST_USD] = price.cost_usd
                if self.parent is not None:
                    self.parent.add_usage(usage.input_tokens, usage.output_tokens, price.cost_usd or 0.0)
                    if self.trace.budget is not None and price.cost_usd:
                        self.trace.budget.cost_added(price.cost_usd)
            turn = self.turn
            if turn is not None:
                if result.finish_reasons:
                    turn.stop_reason = result.finish_reasons[-1]
                turn.error_type = None
                if result.tool_call_ids:
                    turn.pending_ids.update(result.tool_call_ids)
                    turn.agent.expect_tool_calls(turn, result.tool_call_ids)
            self._finish(end_ns)

    def fail(self, error: BaseException) -> None:
        with self.trace.lock:
            if self.ended:
                return
            if self.turn is not None:
                self.turn.error_type = error_type(error)
            self._fail(error, now_ns())

    def abandon(self) -> None:
        """The call was cancelled or its stream dropped: closed as incomplete, not as an error."""
        with self.trace.lock:
            self.close_incomplete(now_ns())

    def _before_end(self, end_ns: int, out: dict[str, AttributeValue]) -> None:
        out[attr.LATENCY_MS] = (end_ns - self.start_ns) / 1e6
        if self.trace.metrics is not None:
            self.trace.metrics.model_call_ended(self.request, end_ns - self.start_ns, out, self.trace.tag_attributes)


class ToolCall(Node):
    """``execute_tool {name}``: one tool call under the turn that requested it."""

    __slots__ = ("tool_name",)

    def __init__(
        self, trace: Trace, parent: Node | None, request: ToolRequest, start_ns: int, context: Context | None = None
    ) -> None:
        super().__init__(trace, parent, start_ns)
        self.tool_name = request.name
        attributes: dict[str, AttributeValue] = {
            attr.GEN_AI_OPERATION_NAME: "execute_tool",
            attr.GEN_AI_TOOL_NAME: request.name,
            attr.GEN_AI_TOOL_TYPE: "function",
            attr.INPUT_HASH: request.input_hash,
        }
        if request.tool_call_id is not None:
            attributes[attr.GEN_AI_TOOL_CALL_ID] = request.tool_call_id
        if request.arguments is not None:
            attributes[attr.GEN_AI_TOOL_CALL_ARGUMENTS] = request.arguments
        self._start_span(f"execute_tool {request.name}", SpanKind.INTERNAL, attributes, context)

    def end(self, result: ToolResult) -> None:
        with self.trace.lock:
            if self.ended:
                return
            out = self._end_attributes
            out[attr.RETURN_SHAPE_HASH] = result.return_shape_hash
            if result.result is not None:
                out[attr.GEN_AI_TOOL_CALL_RESULT] = result.result
            if result.handled_error:
                out[attr.ERROR_TYPE] = "tool_error"
            self._finish(now_ns())

    def fail(self, error: BaseException) -> None:
        with self.trace.lock:
            if not self.ended:
                self._fail(error, now_ns())

    def interrupt(self) -> None:
        with self.trace.lock:
            if not self.ended:
                self._mark_interrupted()
                self._finish(now_ns())

    def abandon(self) -> None:
        with self.trace.lock:
            self.close_incomplete(now_ns())

    def _before_end(self, end_ns: int, out: dict[str, AttributeValue]) -> None:
        self._add_totals(out)
        out[attr.LATENCY_MS] = (end_ns - self.start_ns) / 1e6
        if self.trace.metrics is not None:
            self.trace.metrics.tool_call_ended(self.tool_name, end_ns - self.start_ns, out)
