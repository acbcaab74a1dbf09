"""Parent choice: where each chain, model call and tool call lands in the tree (graph namespaces, steps)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import partial
from time import time_ns
from typing import Final

from opentelemetry.trace import Link, SpanContext, Tracer
from opentelemetry.util.types import AttributeValue

from langchain_turntrace import attributes as attr
from langchain_turntrace.pricing import PriceBook
from langchain_turntrace.turns._agent import AgentRun, Turn
from langchain_turntrace.turns._budget import BudgetPolicy
from langchain_turntrace.turns._calls import ModelCall, ToolCall
from langchain_turntrace.turns._facts import GraphNamespace, ModelRequest, ToolRequest
from langchain_turntrace.turns._metrics import TurnMetrics
from langchain_turntrace.turns._node import Trace, nearest_open

Identity = Callable[[], Mapping[str, AttributeValue]]
"""Makes the attributes that carry a chain's LangChain run identity (its id, metadata, tags): called only for a
chain that becomes an agent span."""

MAX_INTERRUPTED_RUNS: Final = 10_000
"""Interrupted runs remembered for their resume (a few hundred bytes each); the oldest is forgotten first."""

# Resume key (a LangGraph thread id) -> the agent span of its interrupted run, until a run resumes it. One map for
# the process: a handler made per request must still link the run that resumes to the one that paused.
_interrupted: OrderedDict[str, SpanContext] = OrderedDict()
_interrupted_lock = threading.Lock()


def _remember_interrupted(resume_key: str, span_context: SpanContext) -> None:
    with _interrupted_lock:
        _interrupted[resume_key] = span_context
        _interrupted.move_to_end(resume_key)
        while len(_interrupted) > MAX_INTERRUPTED_RUNS:  # threads never resumed must not pile up
            _interrupted.popitem(last=False)


def _is_below(namespace: GraphNamespace | None, base: GraphNamespace | None) -> bool:
    return namespace is not None and base is not None and len(namespace) > len(base) and namespace[: len(base)] == base


class ChainScope:
    """A chain run (graph, node, sequence). Not a span: it tells its children which agent run they are in."""

    __slots__ = (
        "_hosted_turn",
        "_resolved",
        "agent",
        "identity",
        "is_agent_root",
        "name",
        "namespace",
        "parent",
        "start_ns",
        "step",
        "sub_agent",
        "trace",
    )

    def __init__(
        self,
        agent: AgentRun,
        parent: ChainScope | None,
        name: str,
        namespace: GraphNamespace | None,
        step: int | None,
        start_ns: int,
        *,
        is_agent_root: bool = False,
        identity: Identity | None = None,
    ) -> None:
        self.trace = agent.trace
        self.identity = identity  # the LangChain run's identity, made only if a subgraph agent here takes it
        self.agent = agent
        self.parent = parent
        self.name = name
        self.namespace = namespace
        self.step = step
        self.start_ns = start_ns
        self.is_agent_root = is_agent_root
        self.sub_agent: AgentRun | None = None  # a subgraph agent hosted by this chain, started lazily
        self._resolved: tuple[GraphNamespace | None, AgentRun] | None = None
        self._hosted_turn: Turn | None = None

    def start_chain(
        self,
        name: str,
        namespace: GraphNamespace | None,
        step: int | None,
        identity: Identity | None = None,
    ) -> ChainScope:
        with self.trace.lock:
            if self.is_agent_root and self.agent.base_namespace is None:
                self.agent.base_namespace = namespace  # the graph this agent's nodes run in
            return ChainScope(self.agent, self, name, namespace, step, time_ns(), identity=identity)

    def start_model_call(self, request: ModelRequest) -> ModelCall:
        with self.trace.lock:
            if self.trace.budget is not None:
                self.trace.budget.before_model_call()  # a crossed "raise" budget stops the run here
            start_ns = time_ns()
            agent = self._agent_for(request.namespace)
            if agent.ended:  # its run ended before this chain: a turn must hang off an open run, not a tool or turn
                above = nearest_open(agent)
                if not isinstance(above, AgentRun):  # no open run above: a chat in the turn or tool call still open
                    return ModelCall(self.trace, above, request, start_ns)
                agent = above
            host = self._host_for(request.namespace, request.step)
            turn = agent.turn_for(request.namespace, request.step, host, start_ns)
            if host is not None and host._hosted_turn is None:
                host._hosted_turn = turn
            return ModelCall(self.trace, turn, request, start_ns)

    def start_tool_call(self, request: ToolRequest) -> ToolScope:
        with self.trace.lock:
            agent = self._agent_for(request.namespace)
            return ToolScope(agent.start_tool_call(request, time_ns()))

    def end(self, output_messages: str | None = None) -> None:
        """The chain returned; ``output_messages`` (JSON, content capture on) is an agent's answer."""
        with self.trace.lock:
            end_ns = time_ns()
            self._release()
            if self.sub_agent is not None:
                self.sub_agent.end(end_ns)
            if self.is_agent_root:
                self.agent.end(end_ns, output_messages)

    def fail(self, error: BaseException) -> None:
        with self.trace.lock:
            end_ns = time_ns()
            self._release()
            if self.sub_agent is not None:
                self.sub_agent.fail(error, end_ns)
            if self.is_agent_root:
                self.agent.fail(error, end_ns)

    def interrupt(self) -> None:
        """A LangGraph interrupt raised here: an agent this chain is the root of pauses; a graph node's pause
        pauses the run it belongs to (LangGraph then ends the run normally, with ``__interrupt__``)."""
        with self.trace.lock:
            end_ns = time_ns()
            self._release()
            if self.sub_agent is not None:
                self.sub_agent.interrupt(end_ns)
            if self.is_agent_root:
                self.agent.interrupt(end_ns)
            else:
                self.agent.mark_interrupted()

    def paused(self, checkpoint_id: str | None = None) -> None:
        """LangGraph reports a pause of this run (``on_interrupt``: an ``interrupt()``, a static breakpoint) at
        ``checkpoint_id`` (the outermost graph's); the run ends later, normally, marked as interrupted."""
        with self.trace.lock:
            self.agent.mark_interrupted()
            if checkpoint_id is not None and self.is_agent_root:
                self.agent.at_checkpoint(attr.PAUSE_CHECKPOINT_ID, checkpoint_id)

    def resumed_from(self, checkpoint_id: str) -> None:
        """LangGraph reports that the outermost graph went on from ``checkpoint_id``: kept when this run resumes
        a pause (LangGraph says so for any ``Command`` on a thread, an update or a goto too)."""
        with self.trace.lock:
            if self.is_agent_root and self.trace.resuming:
                self.agent.at_checkpoint(attr.RESUME_CHECKPOINT_ID, checkpoint_id)

    def abandon(self) -> None:
        """Cancelled, or its stream was dropped: everything still open below closes as incomplete."""
        with self.trace.lock:
            end_ns = time_ns()
            self._release()
            if self.sub_agent is not None:
                self.sub_agent.close_incomplete(end_ns)
            if self.is_agent_root:
                self.agent.close_incomplete(end_ns)

    def _release(self) -> None:
        if self._hosted_turn is not None:
            self._hosted_turn.host_ended(self)
            self._hosted_turn = None

    def _host_for(self, namespace: GraphNamespace | None, step: int | None) -> ChainScope | None:
        """The graph node running this model step (outermost chain of the same step): the turn outlives it."""
        if step is None:
            return None
        host: ChainScope | None = None
        scope: ChainScope | None = self
        while scope is not None and not scope.is_agent_root and scope.step == step and scope.namespace == namespace:
            host = scope
            scope = scope.parent
        return host

    def _agent_for(self, namespace: GraphNamespace | None) -> AgentRun:
        """The agent run a call in this namespace belongs to; a deeper namespace is a subgraph's own agent."""
        resolved = self._resolved
        if resolved is not None and resolved[0] == namespace and not resolved[1].ended:
            return resolved[1]
        agent = self.agent
        while _is_below(namespace, agent.base_namespace):
            base = agent.base_namespace
            owner: ChainScope | None = self
            while owner is not None and not (owner.agent is self.agent and owner.namespace == base):
                owner = owner.parent
            if owner is None or owner.is_agent_root:
                break
            if owner.sub_agent is not None and owner.sub_agent.ended:
                break  # its subgraph already ended (events out of order): the enclosing agent takes the call
            if owner.sub_agent is None:
                assert namespace is not None
                assert base is not None
                owner.sub_agent = AgentRun(
                    self.trace,
                    agent.open_turn_or_self(),  # the turn that handed off, else the run
                    owner.name,
                    start_ns=owner.start_ns,
                    base_namespace=namespace[: len(base) + 1],
                    run_attributes=None if owner.identity is None else owner.identity(),
                )
            agent = owner.sub_agent
        self._resolved = (namespace, agent)
        return agent


class ToolScope:
    """A tool call as the parent of what runs inside the tool: a subagent, a model call, another tool."""

    __slots__ = ("tool_call", "trace")

    def __init__(self, tool_call: ToolCall) -> None:
        self.tool_call = tool_call
        self.trace = tool_call.trace

    def start_chain(
        self,
        name: str,
        namespace: GraphNamespace | None,
        step: int | None,
        identity: Identity | None = None,
    ) -> ChainScope:
        with self.trace.lock:
            run_attributes = None if identity is None else identity()
            agent = AgentRun(self.trace, self.tool_call, name, start_ns=time_ns(), run_attributes=run_attributes)
            return ChainScope(agent, None, name, namespace, step, agent.start_ns, is_agent_root=True)

    def start_model_call(self, request: ModelRequest) -> ModelCall:
        with self.trace.lock:
            if self.trace.budget is not None:
                self.trace.budget.before_model_call()
            start_ns = time_ns()
            above = nearest_open(self.tool_call)
            if isinstance(above, AgentRun):  # the tool call and its turn ended first: a chat needs a turn of that run
                above = above.turn_for(request.namespace, request.step, None, start_ns)
            return ModelCall(self.trace, above, request, start_ns)

    def start_tool_call(self, request: ToolRequest) -> ToolScope:
        with self.trace.lock:
            return ToolScope(ToolCall(self.trace, self.tool_call, request, time_ns()))


Scope = ChainScope | ToolScope


class TurnTracer:
    """Starts the roots of the tree; everything below is started from the returned scopes and calls.

    >>> tracer = TurnTracer(trace.get_tracer("demo"), PriceBook({}), capture_content=False)  # doctest: +SKIP
    >>> run = tracer.start_agent("support", {})  # doctest: +SKIP
    >>> node = run.start_chain("model", (), 1)  # doctest: +SKIP
    """

    def __init__(
        self,
        tracer: Tracer,
        prices: PriceBook,
        *,
        capture_content: bool,
        metrics: TurnMetrics | None = None,
        budget: BudgetPolicy | None = None,
    ) -> None:
        self._tracer = tracer
        self._prices = prices
        self._capture_content = capture_content
        self._metrics = metrics
        self._budget = budget

    def _trace(self, tag_attributes: Mapping[str, AttributeValue], resume_key: str | None = None) -> Trace:
        on_interrupted = None if resume_key is None else partial(_remember_interrupted, resume_key)
        metrics = None if self._metrics is None else self._metrics.for_run()
        return Trace(self._tracer, self._prices, tag_attributes, self._capture_content, on_interrupted, metrics)

    def start_agent(
        self,
        name: str,
        tag_attributes: Mapping[str, AttributeValue],
        namespace: GraphNamespace | None = None,
        resume_key: str | None = None,
        *,
        resuming: bool = False,
        identity: Identity | None = None,
        input_messages: str | None = None,
    ) -> ChainScope:
        """An outermost chain run: an ``invoke_agent`` span under whatever OTel span is current. A run
        ``resuming`` the ``resume_key`` (thread) of a run interrupted in this process links to that run's span; any
        other run on the thread forgets the pause (new input abandons it)."""
        links: list[Link] = []
        if resume_key is not None:
            with _interrupted_lock:
                interrupted = _interrupted.pop(resume_key, None)
            if interrupted is not None and resuming:
                links.append(Link(interrupted, {attr.LINK_KIND: attr.RESUMES}))
        trace = self._trace(tag_attributes, resume_key)
        trace.resuming = resuming
        run_attributes = dict(identity()) if identity is not None else {}
        if input_messages is not None:  # content capture on: what the agent was asked
            run_attributes[attr.GEN_AI_INPUT_MESSAGES] = input_messages
        agent = AgentRun(trace, None, name, start_ns=time_ns(), links=links, run_attributes=run_attributes)
        if resume_key is not None:
            agent.on_thread(resume_key, resuming=resuming)
        if self._budget is not None:
            trace.budget = self._budget.start_run(agent, trace.tag_attributes)
        return ChainScope(agent, None, name, namespace, None, agent.start_ns, is_agent_root=True)

    def start_model_call(self, request: ModelRequest, tag_attributes: Mapping[str, AttributeValue]) -> ModelCall:
        """A model call outside any chain: a lone ``chat`` span under the span current now."""
        return ModelCall(self._trace(tag_attributes), None, request, time_ns())

    def start_tool_call(self, request: ToolRequest, tag_attributes: Mapping[str, AttributeValue]) -> ToolScope:
        """A tool invoked directly, outside any chain: a lone ``execute_tool`` span under the span current now."""
        return ToolScope(ToolCall(self._trace(tag_attributes), None, request, time_ns()))
