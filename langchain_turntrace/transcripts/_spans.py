"""An imported agent run as finished SDK spans: the tree and attributes of a live trace (DESIGN.md §2, §3), with
trace and span ids derived from the transcript's own ids, so a run imported twice is stored once."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Final

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util.types import AttributeValue

from langchain_turntrace import attributes as attr
from langchain_turntrace.pricing import COST_SOURCE_NO_USAGE, COST_SOURCE_UNPRICED, Price, PriceBook
from langchain_turntrace.transcripts._model import AgentRun, ModelCall, ToolCall
from langchain_turntrace.turns import Tags, normalised_stop_reason, usage_attributes
from langchain_turntrace.version import INSTRUMENTATION_SCOPE, __version__

# error.type of a tool call that did not give its result; how each is told apart: each reader's outcome_of
# (_records.py for Claude Code, _codex_records.py for Codex).
TOOL_ERROR: Final = "tool_error"
"""The result is an error (as a live ``ToolMessage`` with status error)."""
REJECTED_BY_USER: Final = "rejected_by_user"
"""The user turned it down (a permission prompt's "No", a plan not approved): no failure of the tool, and its span
is the user deciding (``turntrace.tool.kind=human_wait``). Only where the transcript tells a "No" from Esc while the
tool ran, which writes the same text: ``toolDenialKind`` "user-rejected", a reason typed at the prompt, or a tool
that asks permission with no interrupt marker after its result. Otherwise the call was interrupted."""
PERMISSION_DENIED: Final = "permission_denied"
"""A rule turned it down without asking (a deny rule, a hook, don't-ask mode, a prompt nobody could answer)."""
# An interrupted or cancelled call has no error.type: like a live call cut short, it is turntrace.incomplete.

_SAMPLED: Final = TraceFlags(TraceFlags.SAMPLED)
_UNSET: Final = Status(StatusCode.UNSET)
_ERROR: Final = Status(StatusCode.ERROR)
_CAUSED_BY: Final[Mapping[str, AttributeValue]] = {attr.GEN_AI_ATTRIBUTION_LINK_TYPE: attr.CAUSED_BY_GENERATION}


@dataclass(frozen=True, slots=True)
class Totals:
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cost_usd + other.cost_usd,
        )

    def attributes(self) -> dict[str, AttributeValue]:
        return {
            attr.TOTAL_INPUT_TOKENS: self.input_tokens,
            attr.TOTAL_OUTPUT_TOKENS: self.output_tokens,
            attr.TOTAL_COST_USD: self.cost_usd,
        }


# Every id comes from an id the transcript gave a record (a message's uuid, a response's message.id and requestId,
# a tool use's id), never from the file it is in: a run copied into a continued session has its original's ids,
# so however the two files are imported, the store keeps one of each span.
def trace_id_of(run_key: str) -> int:
    return _id(16, "trace", run_key)


def agent_span_id_of(run_key: str) -> int:
    return _id(8, "agent", run_key)


def _id(size: int, *parts: str) -> int:
    """A non-zero id of ``size`` bytes from ``parts``: the same transcript ids give the same span ids."""
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=size).digest()
    return int.from_bytes(digest, "big") or 1


class SpanBuilder:
    """Makes the spans of one imported agent run, each tagged as live spans are (session, user, feature, agent
    version) and priced from ``prices`` at the call's own date."""

    def __init__(self, prices: PriceBook, *, user_id: str | None) -> None:
        self._prices = prices
        self._user_id = user_id
        self._resource = Resource.create()
        self._scope = InstrumentationScope(INSTRUMENTATION_SCOPE, __version__)

    def spans(self, run: AgentRun, *, feature: str | None) -> list[ReadableSpan]:
        """Every span of ``run``, its subagents' included, in one trace; ``feature`` tags them all."""
        out: list[ReadableSpan] = []
        trace_id = trace_id_of(run.key)
        self._agent(run, trace_id, None, feature, out)
        return out

    # -- spans -------------------------------------------------------------------------------------------------
    def _agent(
        self, run: AgentRun, trace_id: int, parent: SpanContext | None, feature: str | None, out: list[ReadableSpan]
    ) -> Totals:
        context = _context(trace_id, agent_span_id_of(run.key))
        tags = self._tags(run, feature)
        totals = Totals()
        tool_calls = 0
        for index, call in enumerate(run.model_calls, start=1):
            totals += self._turn(call, index, run, tags, feature, context, out)
            tool_calls += len(call.tool_calls)
        for subagent in run.subagents:
            totals += self._agent(subagent, trace_id, context, feature, out)
        attributes: dict[str, AttributeValue] = {
            attr.GEN_AI_OPERATION_NAME: "invoke_agent",
            attr.GEN_AI_AGENT_NAME: run.name,
            attr.TURN_COUNT: len(run.model_calls),
            attr.TOOL_CALL_COUNT: tool_calls,
            **totals.attributes(),
            **tags,
        }
        out.append(self._span(f"invoke_agent {run.name}", context, parent, attributes, run.start_ns, run.end_ns))
        return totals

    def _turn(
        self,
        call: ModelCall,
        index: int,
        run: AgentRun,
        tags: dict[str, AttributeValue],
        feature: str | None,
        parent: SpanContext,
        out: list[ReadableSpan],
    ) -> Totals:
        context = _context(parent.trace_id, _id(8, "turn", call.key))
        chat = _context(parent.trace_id, _id(8, "chat", call.key))
        totals = self._chat(call, tags, chat, context, out)
        end_ns = call.end_ns
        run_end_ns = run.end_ns
        for tool in call.tool_calls:
            tool_totals, tool_end_ns = self._tool(tool, run_end_ns, tags, feature, chat, context, out)
            totals += tool_totals
            end_ns = max(end_ns, tool_end_ns)
        attributes: dict[str, AttributeValue] = {
            attr.TURN_INDEX: index,
            attr.LATENCY_MS: (end_ns - call.start_ns) / 1e6,
            **totals.attributes(),
            **tags,
        }
        if call.model:
            attributes[attr.GEN_AI_REQUEST_MODEL] = call.model
        stop_reason = normalised_stop_reason(call.finish_reason, calls_tools=bool(call.tool_calls))
        if stop_reason is not None:
            attributes[attr.STOP_REASON] = stop_reason
        if call.error_type is not None:  # as a live turn whose model call failed
            attributes[attr.ERROR_TYPE] = call.error_type
        out.append(self._span(f"turn {index}", context, parent, attributes, call.start_ns, end_ns))
        return totals

    def _chat(
        self,
        call: ModelCall,
        tags: dict[str, AttributeValue],
        context: SpanContext,
        parent: SpanContext,
        out: list[ReadableSpan],
    ) -> Totals:
        attributes: dict[str, AttributeValue] = {
            attr.GEN_AI_OPERATION_NAME: "chat",
            attr.GEN_AI_PROVIDER_NAME: call.provider,
            attr.LATENCY_MS: (call.end_ns - call.start_ns) / 1e6,
        }
        if call.response_id is not None:
            attributes[attr.GEN_AI_RESPONSE_ID] = call.response_id
        if call.model:
            attributes[attr.GEN_AI_REQUEST_MODEL] = call.model
            if call.error_type is None:
                attributes[attr.GEN_AI_RESPONSE_MODEL] = call.model
        if call.error_type is not None:
            attributes[attr.ERROR_TYPE] = call.error_type
        if call.finish_reason is not None:
            attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = (call.finish_reason,)
        usage = call.usage
        at = datetime.fromtimestamp(call.start_ns / 1e9, tz=timezone.utc)
        if call.priced:
            price = self._prices.price(call.model or None, call.provider, usage, at=at)
        else:
            price = Price(None, COST_SOURCE_NO_USAGE if usage is None else COST_SOURCE_UNPRICED)
        attributes[attr.COST_SOURCE] = price.source
        totals = Totals()
        if usage is not None:
            attributes.update(usage_attributes(usage, price.cost_usd))
            totals = Totals(usage.input_tokens, usage.output_tokens, price.cost_usd or 0.0)
        attributes.update(tags)
        name = f"chat {call.model}" if call.model else "chat"
        out.append(self._span(name, context, parent, attributes, call.start_ns, call.end_ns, kind=SpanKind.CLIENT))
        return totals

    def _tool(
        self,
        tool: ToolCall,
        run_end_ns: int,
        tags: dict[str, AttributeValue],
        feature: str | None,
        chat: SpanContext,
        parent: SpanContext,
        out: list[ReadableSpan],
    ) -> tuple[Totals, int]:
        context = _context(parent.trace_id, _id(8, "tool", tool.span_key or tool.tool_call_id))
        totals = Totals()
        if tool.subagent is not None:
            totals = self._agent(tool.subagent, parent.trace_id, context, feature, out)
        end_ns = tool.end_ns
        if end_ns is None or tool.subagent is not None:
            end_ns = max(end_ns or run_end_ns, tool.subagent.end_ns if tool.subagent is not None else tool.start_ns)
        attributes: dict[str, AttributeValue] = {
            attr.GEN_AI_OPERATION_NAME: "execute_tool",
            attr.GEN_AI_TOOL_NAME: tool.name,
            attr.GEN_AI_TOOL_TYPE: "function",
            attr.GEN_AI_TOOL_CALL_ID: tool.tool_call_id,
            attr.INPUT_HASH: tool.input_hash,
            attr.LATENCY_MS: (end_ns - tool.start_ns) / 1e6,
            **totals.attributes(),
            **tags,
        }
        if tool.return_shape_hash is not None:
            attributes[attr.RETURN_SHAPE_HASH] = tool.return_shape_hash
        if tool.human_wait or tool.outcome == "rejected":  # the span is the user deciding, not the tool working
            attributes[attr.TOOL_KIND] = attr.HUMAN_WAIT
        if tool.outcome is None or tool.outcome == "interrupted":
            attributes[attr.INCOMPLETE] = True
        elif tool.outcome == "error":
            attributes[attr.ERROR_TYPE] = TOOL_ERROR
        elif tool.outcome == "rejected":
            attributes[attr.ERROR_TYPE] = REJECTED_BY_USER
        elif tool.outcome == "denied":
            attributes[attr.ERROR_TYPE] = PERMISSION_DENIED
        links = (Link(chat, _CAUSED_BY),)
        out.append(self._span(f"execute_tool {tool.name}", context, parent, attributes, tool.start_ns, end_ns, links))
        return totals, end_ns

    # -- parts -------------------------------------------------------------------------------------------------
    def _tags(self, run: AgentRun, feature: str | None) -> dict[str, AttributeValue]:
        return Tags(run.session_id, self._user_id or None, feature or None, run.agent_version or None).attributes()

    def _span(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        attributes: dict[str, AttributeValue],
        start_ns: int,
        end_ns: int,
        links: tuple[Link, ...] = (),
        *,
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> ReadableSpan:
        return ReadableSpan(
            name,
            context=context,
            parent=parent,
            resource=self._resource,
            attributes=attributes,
            links=links,
            kind=kind,
            status=_ERROR if attr.ERROR_TYPE in attributes else _UNSET,
            start_time=start_ns,
            end_time=max(end_ns, start_ns),
            instrumentation_scope=self._scope,
        )


def _context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(trace_id, span_id, is_remote=False, trace_flags=_SAMPLED)
