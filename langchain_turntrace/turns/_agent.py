"""``invoke_agent`` and ``turn`` spans: an agent run numbers its turns, and each tool call finds the turn that
requested it by ``tool_call_id``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from time import time_ns
from typing import Final, NamedTuple

from opentelemetry.trace import Link, SpanContext, SpanKind
from opentelemetry.util.types import AttributeValue

from langchain_turntrace import attributes as attr
from langchain_turntrace.turns._calls import ToolCall
from langchain_turntrace.turns._facts import GraphNamespace, ModelRequest, ModelResult, ToolRequest
from langchain_turntrace.turns._node import Node, Trace


class _Requested(NamedTuple):
    turn: Turn
    call: SpanContext  # the chat span whose response asked for the tool call


_BEFORE_FIRST_MODEL_STEP: Final = object()
"""The host of a resumed turn: it stays open, taking the resumed tool calls, until the run's first model step."""


class AgentRun(Node):
    """``invoke_agent {name}``: one agent run with its own turn numbering."""

    __slots__ = (
        "_latest_turn",
        "_model_steps",
        "_requested",
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
        links: Sequence[Link] = (),
        run_attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        super().__init__(trace, parent, start_ns)
        self.name = name
        self.interrupted = False
        self.base_namespace = base_namespace
        self.turn_count = 0
        self.tool_call_count = 0
        self._turn_by_key: dict[tuple[GraphNamespace | None, int], Turn] = {}
        self._requested: dict[str, _Requested] = {}  # tool_call_id -> who asked for it, until the call starts
        self._latest_turn: Turn | None = None
        self._model_steps = 0  # turns started by a model call (the others continue an earlier, paused run)
        attributes: dict[str, AttributeValue] = {
            attr.GEN_AI_OPERATION_NAME: "invoke_agent",
            attr.GEN_AI_AGENT_NAME: name,
        }
        if run_attributes:
            attributes.update(run_attributes)
        self._start_span(f"invoke_agent {name}", SpanKind.INTERNAL, attributes, links)

    # -- turns -------------------------------------------------------------------------------------------
    def turn_for(self, namespace: GraphNamespace | None, step: int | None, host: object | None, start_ns: int) -> Turn:
        """The turn a model call joins: the open one of the same model step, else a new one. An earlier turn
        stays open while tool calls it requested may still start (a graph can plan twice, then execute)."""
        key = (namespace, step) if step is not None else None
        if key is not None:
            turn = self._turn_by_key.get(key)
            if turn is not None and not turn.ended:
                return turn
        if self.trace.budget is not None:
            self.trace.budget.turn_starting(self)  # may raise BudgetExceededError: then no turn starts
        if self._model_steps == 0 and self._latest_turn is not None:  # the resumed turn takes no more tool calls
            self._latest_turn.host_ended(_BEFORE_FIRST_MODEL_STEP)
        self.turn_count += 1
        self._model_steps += 1
        turn = Turn(self, self.turn_count, host, start_ns)
        if key is not None:
            self._turn_by_key = {k: t for k, t in self._turn_by_key.items() if not t.ended}
            self._turn_by_key[key] = turn
        self._latest_turn = turn
        return turn

    def expect_tool_calls(self, turn: Turn, tool_call_ids: tuple[str, ...], call: SpanContext) -> None:
        requested = _Requested(turn, call)
        for tool_call_id in tool_call_ids:
            self._requested[tool_call_id] = requested

    def start_tool_call(self, request: ToolRequest, start_ns: int) -> ToolCall:
        """Under the turn whose model call asked for it (linked to that call's span); else the latest open turn;
        else the run."""
        self.tool_call_count += 1
        tool_call_id = request.tool_call_id
        if tool_call_id is None or (requested := self._requested.pop(tool_call_id, None)) is None:
            return ToolCall(self.trace, self._unrequested_parent(tool_call_id, start_ns), request, start_ns)
        links = (Link(requested.call, {attr.GEN_AI_ATTRIBUTION_LINK_TYPE: attr.CAUSED_BY_GENERATION}),)
        turn = requested.turn
        parent: Node = turn
        if turn.ended:
            parent = self.open_turn_or_self()
        else:
            turn.pending_ids.discard(tool_call_id)
        return ToolCall(self.trace, parent, request, start_ns, links=links)

    def _unrequested_parent(self, tool_call_id: str | None, start_ns: int) -> Node:
        """Where a tool call no model call of this run asked for goes. In a run that resumes a paused one, one
        with an id before the run's first model call was requested in the run that paused (maybe in another
        process): it gets a turn of this run, marked resumed, which every such call shares (in parallel or one
        after another) until the first model call. Otherwise the latest open turn, else the run itself (where
        ``verify`` finds a tool call that is really mis-wired)."""
        parent = self.open_turn_or_self()
        if parent is not self or tool_call_id is None or self._model_steps or not self.trace.resuming:
            return parent
        self.turn_count += 1
        turn = Turn(self, self.turn_count, _BEFORE_FIRST_MODEL_STEP, start_ns, resumed=True)
        self._latest_turn = turn
        return turn

    def open_turn_or_self(self) -> Node:
        """The latest turn while it is open, else the run: where an id-less tool call or a subgraph agent nests."""
        latest = self._latest_turn
        return latest if latest is not None and not latest.ended else self

    # -- end ---------------------------------------------------------------------------------------------
    def end(self, end_ns: int | None = None, output_messages: str | None = None) -> None:
        if output_messages is not None and not self.ended:  # content capture on: the agent's answer
            self._end_attributes[attr.GEN_AI_OUTPUT_MESSAGES] = output_messages
        self._finish(time_ns() if end_ns is None else end_ns)

    def fail(self, error: BaseException, end_ns: int | None = None) -> None:
        if not self.ended:  # closed already, for a parent that ended first: the late error changes nothing
            self._fail(error, time_ns() if end_ns is None else end_ns)

    def interrupt(self, end_ns: int | None = None) -> None:
        if not self.ended:
            self._mark_interrupted()
            self._finish(time_ns() if end_ns is None else end_ns)

    def mark_interrupted(self) -> None:
        """The run paused (marked on this agent and its root); it may still end normally later."""
        if not self.ended:
            self._mark_interrupted()

    def root_interrupted(self) -> None:
        self.interrupted = True

    def on_thread(self, thread_id: str, *, resuming: bool) -> None:
        """The LangGraph thread this run goes on (``turntrace.thread_id``), and whether it resumes a pause there:
        together with the session, what a store links a resume made in another process by."""
        self._end_attributes[attr.THREAD_ID] = thread_id
        if resuming:
            self._end_attributes[attr.RESUMED] = True

    def at_checkpoint(self, key: str, checkpoint_id: str) -> None:
        """The LangGraph checkpoint this run paused at (``attr.PAUSE_CHECKPOINT_ID``) or resumed from
        (``attr.RESUME_CHECKPOINT_ID``): the key that joins a paused run to its resume across processes."""
        if not self.ended:
            self._end_attributes[key] = checkpoint_id

    def _finish(self, end_ns: int) -> None:
        if self.ended:
            return
        for child in list(self._open_children):
            if isinstance(child, Turn):
                child.settle()  # turns whose parts all ended close normally, not as incomplete
        super()._finish(end_ns)
        self._requested.clear()
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

    def __init__(
        self, agent: AgentRun, index: int, host: object | None, start_ns: int, *, resumed: bool = False
    ) -> None:
        super().__init__(agent.trace, agent, start_ns)
        self.agent = agent
        self.index = index
        self._host = host  # the graph node running this model step; the turn outlives it
        self.pending_ids: set[str] = set()  # requested tool calls not started yet
        self.request_model: str | None = None
        self.stop_reason: str | None = None
        self.error_type: str | None = None
        self._last_end_ns = start_ns
        attributes: dict[str, AttributeValue] = {attr.TURN_INDEX: index}
        if resumed:
            attributes[attr.RESUMED] = True
        self._start_span(f"turn {index}", SpanKind.INTERNAL, attributes)

    def model_call_started(self, request: ModelRequest) -> None:
        if self.request_model is None:
            self.request_model = request.request_model

    def model_call_ended(self, result: ModelResult, call: SpanContext) -> None:
        if result.stop_reason is not None:
            self.stop_reason = result.stop_reason
        self.error_type = None
        if result.tool_call_ids:
            self.pending_ids.update(result.tool_call_ids)
            self.agent.expect_tool_calls(self, result.tool_call_ids, call)

    def model_call_failed(self, error_type: str) -> None:
        self.error_type = error_type

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
