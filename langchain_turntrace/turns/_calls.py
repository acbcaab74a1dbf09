"""The leaves' spans: ``chat {model}`` (usage and cost) and ``execute_tool {tool}`` (hashes, latency, errors)."""

from __future__ import annotations

from collections.abc import Sequence
from time import time_ns

from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import AttributeValue

from langchain_turntrace import attributes as attr
from langchain_turntrace.pricing import TokenUsage
from langchain_turntrace.turns._facts import ModelRequest, ModelResult, ToolRequest, ToolResult
from langchain_turntrace.turns._node import Node, Trace, error_type


class ModelCall(Node):
    """``chat {model}``: one LLM call; the leaf that carries usage and cost."""

    __slots__ = ("_first_chunk_ns", "request")

    def __init__(self, trace: Trace, parent: Node | None, request: ModelRequest, start_ns: int) -> None:
        super().__init__(trace, parent, start_ns)
        self.request = request
        self._first_chunk_ns: int | None = None
        attributes: dict[str, AttributeValue] = {attr.GEN_AI_OPERATION_NAME: request.operation}
        if request.provider is not None:
            attributes[attr.GEN_AI_PROVIDER_NAME] = request.provider
        if request.request_model is not None:
            attributes[attr.GEN_AI_REQUEST_MODEL] = request.request_model
        if request.input_messages is not None:
            attributes[attr.GEN_AI_INPUT_MESSAGES] = request.input_messages
        if request.input_roles:
            attributes[attr.INPUT_ROLES] = request.input_roles
        if request.run_attributes:
            attributes.update(request.run_attributes)
        name = f"{request.operation} {request.request_model}" if request.request_model else request.operation
        self._start_span(name, SpanKind.CLIENT, attributes)
        if self.parent is not None:
            self.parent.model_call_started(request)

    def first_chunk(self) -> None:
        # Called per streamed token: no lock. Two racing first tokens would both write a near-equal time.
        if self._first_chunk_ns is None:
            self._first_chunk_ns = time_ns()

    def end(self, result: ModelResult) -> None:
        with self.trace.lock:
            if self.ended:
                return
            end_ns = time_ns()
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
            price = self.trace.prices.price(model, self.request.provider, usage, requested=self.request.request_model)
            out[attr.COST_SOURCE] = price.source
            if usage is not None:
                out.update(usage_attributes(usage, price.cost_usd))
                if self.parent is not None:
                    self.parent.add_usage(usage.input_tokens, usage.output_tokens, price.cost_usd or 0.0)
                    if self.trace.budget is not None and price.cost_usd:
                        self.trace.budget.cost_added(price.cost_usd)
            if self.parent is not None:
                self.parent.model_call_ended(result, self.span.get_span_context())
            self._finish(end_ns)

    def fail(self, error: BaseException) -> None:
        with self.trace.lock:
            if self.ended:
                return
            if self.parent is not None:
                self.parent.model_call_failed(error_type(error))
            self._fail(error, time_ns())

    def abandon(self) -> None:
        """The call was cancelled or its stream dropped: closed as incomplete, not as an error."""
        with self.trace.lock:
            self.close_incomplete(time_ns())

    def _before_end(self, end_ns: int, out: dict[str, AttributeValue]) -> None:
        out[attr.LATENCY_MS] = (end_ns - self.start_ns) / 1e6
        if self.trace.metrics is not None:
            self.trace.metrics.model_call_ended(self.request, end_ns - self.start_ns, out, self.trace.tag_attributes)


class ToolCall(Node):
    """``execute_tool {name}``: one tool call under the turn that requested it, linked to the requesting chat."""

    __slots__ = ("tool_name",)

    def __init__(
        self,
        trace: Trace,
        parent: Node | None,
        request: ToolRequest,
        start_ns: int,
        links: Sequence[Link] = (),
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
        if request.run_attributes:
            attributes.update(request.run_attributes)
        self._start_span(f"execute_tool {request.name}", SpanKind.INTERNAL, attributes, links)

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
            self._finish(time_ns())

    def fail(self, error: BaseException) -> None:
        with self.trace.lock:
            if not self.ended:
                self._fail(error, time_ns())

    def interrupt(self) -> None:
        with self.trace.lock:
            if not self.ended:
                self._mark_interrupted()
                self._finish(time_ns())

    def abandon(self) -> None:
        with self.trace.lock:
            self.close_incomplete(time_ns())

    def _before_end(self, end_ns: int, out: dict[str, AttributeValue]) -> None:
        self._add_totals(out)
        out[attr.LATENCY_MS] = (end_ns - self.start_ns) / 1e6
        if self.trace.metrics is not None:
            self.trace.metrics.tool_call_ended(self.tool_name, end_ns - self.start_ns, out)


def usage_attributes(usage: TokenUsage, cost_usd: float | None) -> dict[str, AttributeValue]:
    """A model call's usage and cost as its span's attributes (only ``chat`` spans carry them: leaf facts)."""
    out: dict[str, AttributeValue] = {
        attr.GEN_AI_USAGE_INPUT_TOKENS: usage.input_tokens,
        attr.GEN_AI_USAGE_OUTPUT_TOKENS: usage.output_tokens,
    }
    if usage.cache_read_tokens:
        out[attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = usage.cache_read_tokens
    if usage.cache_write_tokens:
        out[attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] = usage.cache_write_tokens
        if usage.cache_write_1h_tokens:
            out[attr.USAGE_CACHE_WRITE_1H_INPUT_TOKENS] = usage.cache_write_1h_tokens
    if usage.reasoning_tokens:
        out[attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoning_tokens
    if usage.service_tier is not None:
        out[attr.SERVICE_TIER] = usage.service_tier
    if cost_usd is not None:
        out[attr.COST_USD] = cost_usd
    return out
