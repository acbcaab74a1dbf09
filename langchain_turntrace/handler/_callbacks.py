"""TurnTraceCallbackHandler: translates LangChain callback events into turn-model calls. Holds no policy."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult
from langchain_core.runnables.config import var_child_runnable_config
from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from langchain_turntrace.backends import flush_meters_within, flush_within, install_sigterm_flush
from langchain_turntrace.config import Budget, budget_policy, resolve_flush_timeout_s, resolve_settings
from langchain_turntrace.handler import _facts
from langchain_turntrace.handler._endings import close_with, is_cut_short
from langchain_turntrace.handler._errors import never_raises
from langchain_turntrace.handler._live import activate, install_call_frames
from langchain_turntrace.handler._run_identity import run_attributes
from langchain_turntrace.handler._runs import OpenRuns, RunEntry, claim_root, release_root, run_key
from langchain_turntrace.hashing import InputHasher
from langchain_turntrace.pricing import PriceBook
from langchain_turntrace.turns import (
    BudgetExceeded,
    ChainScope,
    ModelCall,
    ModelRequest,
    Scope,
    Tags,
    ToolScope,
    TurnMetrics,
    TurnTracer,
    current_tags,
)
from langchain_turntrace.version import INSTRUMENTATION_SCOPE, __version__

if TYPE_CHECKING:
    _HandlerBase = BaseCallbackHandler
else:
    try:  # LangGraph >= 1.2 tells handlers of this class when a graph pauses (on_interrupt) and resumes (on_resume)
        from langgraph.callbacks import GraphCallbackHandler as _HandlerBase
    except ImportError:  # LangGraph 1.1: node interrupts are still seen as GraphInterrupt errors
        _HandlerBase = BaseCallbackHandler

_log = logging.getLogger("langchain_turntrace")
_UNNAMED_GRAPH = "LangGraph"  # LangGraph's default graph name says nothing about the agent


class TurnTraceCallbackHandler(_HandlerBase):
    """Traces LangChain / LangGraph agent runs as turn-structured OpenTelemetry spans.

    >>> handler = TurnTraceCallbackHandler(user_id="u-42", feature="support-bot")
    >>> agent.invoke({"messages": [("user", "hi")]}, config={"callbacks": [handler]})  # doctest: +SKIP

    Each outermost run becomes ``invoke_agent``; each model step a ``turn {n}`` holding its ``chat`` span
    and the ``execute_tool`` spans it requested. Spans go to ``tracer_provider``, else the global provider
    once one is set, else the local SQLite store (``turntrace`` CLI; ``TURNTRACE_STORE``). GenAI metrics go to
    ``meter_provider``, else the global one (nothing, at almost no cost, while none is set).

    It never raises into your program, with one exception you ask for: with ``budget=Budget(...,
    on_exceed="raise")``, the next model call of a run over its budget raises ``BudgetExceededError`` into the
    agent. ``on_budget_exceeded`` is called with a ``BudgetExceeded`` each time a run crosses a limit.
    """

    run_inline = True

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        feature: str | None = None,
        agent_version: str | None = None,
        agent_name: str | None = None,
        prices: Mapping[str, Mapping[str, float]] | str | Path | None = None,
        capture_content: bool | None = None,
        hash_key: str | bytes | None = None,
        flush_timeout_s: float | None = None,
        meter_provider: MeterProvider | None = None,
        budget: Budget | None = None,
        on_budget_exceeded: Callable[[BudgetExceeded], object] | None = None,
    ) -> None:
        super().__init__()
        settings = resolve_settings(capture_content=capture_content, hash_key=hash_key, prices=prices)
        self.strict = settings.strict
        self._budget = budget_policy(budget, on_budget_exceeded)
        # LangChain surfaces our errors only in strict (test) mode, or a BudgetExceededError when asked for
        self.raise_error = settings.strict or (self._budget is not None and self._budget.raises)
        self._meter_provider = meter_provider
        self._capture = settings.capture_content
        self._hasher = InputHasher(settings.hash_key)
        self._agent_name = agent_name
        self._arg_tags = Tags(session_id, user_id, feature, agent_version)
        self._env_tags = Tags(feature=settings.default_feature, agent_version=settings.default_agent_version)
        self._flush_timeout_s = resolve_flush_timeout_s(flush_timeout_s)
        self._tracer_provider = tracer_provider
        self._prices = PriceBook(settings.prices)
        self._turn_tracer: TurnTracer | None = None  # built at the first run: see _turns
        self._turn_tracer_lock = threading.Lock()
        self._runs = OpenRuns(settings.max_run_s, settings.max_open_runs)
        install_call_frames()  # our model and tool spans are current while their calls run
        # The pipeline is built at the first run, perhaps on a server's worker thread after the server took SIGTERM:
        # only the main thread, now (an import-time handler), can take it while it still has its default disposition.
        install_sigterm_flush()

    @property
    def _turns(self) -> TurnTracer:
        """Built at the first run, not at construction, so a handler made before the app sets its global
        tracer provider (zero-code tracing, an import-time handler) still follows that provider."""
        turns = self._turn_tracer
        if turns is None:
            with self._turn_tracer_lock:
                turns = self._turn_tracer
                if turns is None:
                    self._tracer_provider = _provider(self._tracer_provider)
                    tracer = self._tracer_provider.get_tracer(INSTRUMENTATION_SCOPE, __version__)
                    self._meter_provider = self._meter_provider or metrics.get_meter_provider()
                    turn_metrics = TurnMetrics.for_provider(self._meter_provider, __version__)
                    turns = TurnTracer(
                        tracer, self._prices, capture_content=self._capture, metrics=turn_metrics, budget=self._budget
                    )
                    self._turn_tracer = turns
        return turns

    def flush(self, timeout_s: float | None = None) -> bool:
        """Sends the spans (and metrics) of finished runs now; waits at most ``timeout_s`` (default
        ``TURNTRACE_FLUSH_TIMEOUT_S``, 5 s) however slow the backend. True when everything reached it.

        >>> handler.flush(timeout_s=2)  # doctest: +SKIP  # e.g. before a serverless function returns
        """
        if self._turn_tracer is None:
            return True  # nothing traced yet
        timeout_s = self._flush_timeout_s if timeout_s is None else timeout_s
        deadline_s = time.monotonic() + timeout_s
        spans_sent = flush_within(self._tracer_provider, timeout_s)
        return flush_meters_within(self._meter_provider, deadline_s - time.monotonic()) and spans_sent

    @property
    def open_runs(self) -> int:
        """Runs started and not yet ended; zero when idle (state is freed at each run's end)."""
        return len(self._runs)

    # -- bookkeeping -----------------------------------------------------------------------------------
    def _tag_attributes(self, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        from_meta = _facts.metadata_tags(metadata)
        return self._arg_tags.or_else(from_meta).or_else(current_tags()).or_else(self._env_tags).attributes()

    def _parent(self, parent_run_id: UUID | str | None) -> RunEntry | None:
        """The open run a new run goes under (see OpenRuns.parent), from the context LangChain called us in."""
        if parent_run_id is None:
            return None
        config = var_child_runnable_config.get()
        inner = getattr(config.get("callbacks"), "parent_run_id", None) if config else None
        return self._runs.parent(run_key(parent_run_id), None if inner is None else run_key(inner))

    def _traced_elsewhere(self, key: int, parent: RunEntry | None) -> bool:
        """A run inside a run another handler traces, or a root that another handler on the same tracer provider
        claimed first (two handlers on one run): held, so that what starts inside it is left alone too."""
        if parent is not None and parent.children is not None:
            return False  # inside one of our runs
        if (parent is not None and parent.handle is None) or not claim_root(self._tracer_provider, key, self):
            self._runs.add(key, None, None, parent)
            return True
        return False

    # -- chains: no span of their own; they place what runs inside them ----------------------------------
    @never_raises
    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        turns = self._turns
        key = run_key(run_id)
        self._runs.forget_reused(key)
        namespace, step = _facts.graph_position(metadata)
        parent = self._parent(parent_run_id)
        if self._traced_elsewhere(key, parent):
            return
        run_name = name or _facts.serialized_name(serialized) or "agent"
        identity = partial(run_attributes, run_id, metadata, kwargs.get("tags"))  # made if the chain is an agent
        if parent is None or parent.children is None:
            self._runs.evict_lost_runs()
            agent_name = self._agent_name or (run_name if run_name != _UNNAMED_GRAPH else "agent")
            resume_key = _facts.str_or_none((metadata or {}).get("thread_id"))  # LangGraph resumes per thread
            resuming = resume_key is not None and _facts.is_resume(inputs)
            asked = _facts.agent_messages(inputs, last_only=False) if self._capture else None
            scope = turns.start_agent(
                agent_name,
                self._tag_attributes(metadata),
                namespace,
                resume_key,
                resuming=resuming,
                identity=identity,
                input_messages=asked,
            )
            self._runs.add(key, scope, scope, None)
        else:
            if run_name == _UNNAMED_GRAPH and isinstance(parent.children, ChainScope):
                run_name = parent.children.name  # an unnamed compiled graph used as a node: call it by the node
            scope = parent.children.start_chain(run_name, namespace, step, identity)
            self._runs.add(key, scope, scope, parent)

    @never_raises
    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        entry = self._release(run_key(run_id), ChainScope)
        if entry is not None and isinstance(entry.handle, ChainScope):
            answer = _facts.agent_messages(outputs, last_only=True) if self._capture and entry.parent is None else None
            entry.handle.end(answer)

    @never_raises
    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        entry = self._release(run_key(run_id), ChainScope)
        if entry is not None and isinstance(entry.handle, ChainScope):
            close_with(entry.handle, error)

    @never_raises
    def on_interrupt(self, event: Any) -> None:
        """LangGraph (>= 1.2) paused a graph run: ``interrupt()`` in a node, a tool or middleware, or a static
        breakpoint (``interrupt_before`` / ``interrupt_after``). The run ends normally afterwards, marked as
        interrupted, with the checkpoint it paused at."""
        scope = self._graph_run(event)
        if scope is not None:
            scope.paused(_outermost_checkpoint(event))

    @never_raises
    def on_resume(self, event: Any) -> None:
        """LangGraph (>= 1.2) resumed a graph run from a checkpoint: the key to the run that paused there, in
        this process or another (the local store links the two by it)."""
        scope = self._graph_run(event)
        checkpoint_id = _outermost_checkpoint(event)
        if scope is not None and checkpoint_id is not None:
            scope.resumed_from(checkpoint_id)

    def _graph_run(self, event: object) -> ChainScope | None:
        run_id = getattr(event, "run_id", None)
        entry = self._runs.get(run_key(run_id)) if isinstance(run_id, UUID) else None
        return entry.handle if entry is not None and isinstance(entry.handle, ChainScope) else None

    def _release(self, key: int, kind: type[Scope | ModelCall]) -> RunEntry | None:
        entry = self._runs.release(key, kind)
        if entry is not None and entry.parent is None:
            release_root(self._tracer_provider, key, self)
        return entry

    # -- model calls: the chat span is current while the provider is called --------------------------------
    @never_raises
    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        invocation_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        capture = self._capture and bool(messages)
        identity = run_attributes(run_id, metadata, kwargs.get("tags"))
        request = _facts.model_request("chat", serialized, metadata, invocation_params, messages, capture, identity)
        self._start_model_call(request, run_key(run_id), parent_run_id, metadata)

    @never_raises
    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        invocation_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        identity = run_attributes(run_id, metadata, kwargs.get("tags"))
        request = _facts.model_request(
            "text_completion", serialized, metadata, invocation_params, None, False, identity
        )
        self._start_model_call(request, run_key(run_id), parent_run_id, metadata)

    def _start_model_call(
        self, request: ModelRequest, key: int, parent_run_id: UUID | None, metadata: Mapping[str, Any] | None
    ) -> None:
        turns = self._turns
        self._runs.forget_reused(key)
        parent = self._parent(parent_run_id)
        if self._traced_elsewhere(key, parent):
            return
        if parent is None or parent.children is None:
            self._runs.evict_lost_runs()
            call = turns.start_model_call(request, self._tag_attributes(metadata))
            self._runs.add(key, call, None, None)
        else:
            call = parent.children.start_model_call(request)
            self._runs.add(key, call, parent.children, parent)
        activate(call.context_for_children())

    @never_raises
    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        entry = self._runs.get(run_key(run_id))  # only the first one of a call counts
        if entry is not None and isinstance(entry.handle, ModelCall):
            entry.handle.first_chunk()

    @never_raises
    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        entry = self._release(run_key(run_id), ModelCall)
        if entry is not None and isinstance(entry.handle, ModelCall):
            try:
                result = _facts.model_result(response, self._capture)
            except Exception:
                entry.handle.abandon()  # an unreadable response still closes its span
                raise
            entry.handle.end(result)

    @never_raises
    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        entry = self._release(run_key(run_id), ModelCall)
        if entry is not None and isinstance(entry.handle, ModelCall):
            if is_cut_short(error):
                entry.handle.abandon()
            else:
                entry.handle.fail(error)

    # -- tool calls: the tool span is current while the tool runs ----------------------------------------
    @never_raises
    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        name: str | None = None,
        tool_call_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        turns = self._turns
        key = run_key(run_id)
        self._runs.forget_reused(key)
        parent = self._parent(parent_run_id)
        if self._traced_elsewhere(key, parent):
            return
        identity = run_attributes(run_id, metadata, kwargs.get("tags"))
        request = _facts.tool_request(
            serialized, input_str, inputs, name, tool_call_id, metadata, self._hasher, self._capture, identity
        )
        if parent is None or parent.children is None:
            self._runs.evict_lost_runs()
            scope = turns.start_tool_call(request, self._tag_attributes(metadata))
            self._runs.add(key, scope, scope, None)
        else:
            scope = parent.children.start_tool_call(request)
            self._runs.add(key, scope, scope, parent)
            with scope.trace.lock:  # parallel tool calls start and end on worker threads
                parent.tools_running += 1
        activate(scope.tool_call.context_for_children())

    def _release_tool(self, key: int) -> ToolScope | None:
        entry = self._release(key, ToolScope)
        if entry is None or not isinstance(entry.handle, ToolScope):
            return None
        if entry.parent is not None:
            with entry.handle.trace.lock:
                entry.parent.tools_running -= 1
        return entry.handle

    @never_raises
    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        scope = self._release_tool(run_key(run_id))
        if scope is not None:
            try:
                result = _facts.tool_result(output, self._capture)
            except Exception:
                scope.tool_call.abandon()  # an unreadable output still closes its span
                raise
            scope.tool_call.end(result)

    @never_raises
    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        scope = self._release_tool(run_key(run_id))
        if scope is not None:
            close_with(scope, error)

    # -- retrievers: no span of their own, but what runs inside one must find its agent ------------------
    @never_raises
    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        key = run_key(run_id)
        self._runs.forget_reused(key)
        parent = self._parent(parent_run_id)
        if parent is not None and parent.handle is None:
            self._runs.add(key, None, None, parent)
        elif parent is not None and parent.children is not None:
            namespace, step = _facts.graph_position(metadata)
            scope = parent.children.start_chain(name or "retriever", namespace, step)
            self._runs.add(key, scope, scope, parent)

    @never_raises
    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> None:
        self.on_chain_end(None, run_id=run_id)

    @never_raises
    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.on_chain_error(error, run_id=run_id)


def _provider(given: TracerProvider | None) -> TracerProvider:
    """The given provider, else the global one once an app has set it, else the embedded local store."""
    if given is not None:
        return given
    current = trace.get_tracer_provider()
    if isinstance(current, trace.ProxyTracerProvider):  # nothing configured: the local store is the default
        from langchain_turntrace.backends import provider_for

        return provider_for("local")
    return current


def _outermost_checkpoint(event: object) -> str | None:
    """A lifecycle event's checkpoint id when it is the outermost graph's (a subgraph's namespace is not empty):
    the one a resume names."""
    checkpoint_id = getattr(event, "checkpoint_id", None)
    if getattr(event, "checkpoint_ns", None) or not isinstance(checkpoint_id, str) or not checkpoint_id:
        return None
    return checkpoint_id
