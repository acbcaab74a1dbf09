"""A span of the tree: started when its work starts, closing its open children, rolling usage up to its parents."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from langchain_turntrace import attributes as attr
from langchain_turntrace.pricing import PriceBook
from langchain_turntrace.redaction import redacted
from langchain_turntrace.turns._facts import ModelRequest, ModelResult
from langchain_turntrace.turns._metrics import TurnMetrics

if TYPE_CHECKING:
    from langchain_turntrace.turns._budget import RunBudget


_MAX_ERROR_MESSAGE: Final = 2000


class Trace:
    """What every node of one agent run's tree shares: the lock, the tracer, the price book, the tags."""

    __slots__ = (
        "budget",
        "capture_content",
        "lock",
        "metrics",
        "on_interrupted",
        "prices",
        "resuming",
        "tag_attributes",
        "tracer",
    )

    def __init__(
        self,
        tracer: Tracer,
        prices: PriceBook,
        tag_attributes: Mapping[str, AttributeValue],
        capture_content: bool,
        on_interrupted: Callable[[SpanContext], None] | None = None,
        metrics: TurnMetrics | None = None,
    ) -> None:
        self.lock = threading.RLock()  # parallel tool calls of one run start and end on different threads
        self.tracer = tracer
        self.prices = prices
        self.tag_attributes = dict(tag_attributes)
        self.capture_content = capture_content
        self.on_interrupted = on_interrupted  # told the root's span context when an interrupted run ends
        self.metrics = metrics  # None when metrics are off: nothing runs per node then
        self.budget: RunBudget | None = None  # an agent run's, when the handler has a budget
        self.resuming = False  # the run continues a paused one: tool calls its model call requested may come first


class Node:
    """A span in the tree with inclusive token/cost totals and the open children it must close.

    The SDK span starts with the node: what runs inside its work (an HTTP call, the user's own spans) needs it
    as parent then. Attributes known only at the end collect in one dict, set in one pass as the span ends.
    """

    __slots__ = (
        "_child_context",
        "_end_attributes",
        "_error_message",
        "_open_children",
        "cost_usd",
        "ended",
        "input_tokens",
        "output_tokens",
        "parent",
        "span",
        "start_ns",
        "trace",
    )

    span: Span

    def __init__(self, trace: Trace, parent: Node | None, start_ns: int) -> None:
        self.trace = trace
        self.parent = nearest_open(parent)  # events out of order: an ended parent could never close it
        self.start_ns = start_ns
        self.ended = False
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd = 0.0
        self._open_children: dict[Node, None] = {}  # insertion-ordered set
        self._end_attributes: dict[str, AttributeValue] = {}
        self._error_message: str | None = None  # the status description of a failure, when content is captured
        self._child_context: Context | None = None

    def _start_span(
        self,
        name: str,
        kind: SpanKind,
        attributes: dict[str, AttributeValue],
        links: Sequence[Link] = (),
    ) -> None:
        """Starts the SDK span: under the parent node's span, or (a root) under the span current now."""
        attributes.update(self.trace.tag_attributes)
        context = None
        if self.parent is not None:
            self.parent._open_children[self] = None
            context = self.parent.context_for_children()
        self.span = self.trace.tracer.start_span(
            name, context=context, kind=kind, attributes=attributes, start_time=self.start_ns, links=links
        )

    def context_for_children(self) -> Context:
        """The OTel context naming this span as parent (what is current while its work runs), made once."""
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
        span = self.span
        span.set_attributes(out)
        if attr.ERROR_TYPE in out:  # a raised or a handled error: every failure names its type
            span.set_status(Status(StatusCode.ERROR, self._error_message))
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
        root.root_interrupted()

    def model_call_started(self, request: ModelRequest) -> None:
        """A model call started below this node; a turn takes its model from the first."""

    def model_call_ended(self, result: ModelResult, call: SpanContext) -> None:
        """A model call below this node ended (``call`` is its span); a turn takes its stop reason and the tool
        calls it requested from it."""

    def model_call_failed(self, error_type: str) -> None:
        """A model call below this node failed with ``error_type``."""

    def root_interrupted(self) -> None:
        """Something below this root was interrupted; an agent run remembers it for the run that resumes it."""

    def _fail(self, error: BaseException, end_ns: int) -> None:
        self._end_attributes[attr.ERROR_TYPE] = error_type(error)
        if self.trace.capture_content:  # an error's message may quote what the agent was handling, or a key
            self._error_message = redacted(str(error))[:_MAX_ERROR_MESSAGE] or None
        self._finish(end_ns)


def nearest_open(node: Node | None) -> Node | None:
    """The node, else its nearest ancestor not yet ended (ends out of order close a run before its parts)."""
    while node is not None and node.ended:
        node = node.parent
    return node


def error_type(error: BaseException) -> str:
    cls = type(error)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
