"""The live floor: the same-payload floor (payload_floor.py) with each chat and tool span made the current OTel
context while its call runs and each tool span linked to the chat span that asked for it, as ours does; and the
check that it and ours still emit the same spans, links and liveness."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextvars import Token
from typing import Any, Final, cast
from uuid import UUID

from langchain import agents
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import LLMResult
from langchain_core.tools import StructuredTool
from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import Link, Span
from opentelemetry.util.types import AttributeValue

from benchmarks.overhead.payload_floor import (
    SHAPE_CHECK_TURNS,
    HandlerFactory,
    PayloadFloorHandler,
    shape_mismatch,
    span_shapes,
)
from benchmarks.overhead.workload import AGENT_NAME, MODEL, Workload, lookup_time, lookup_weather
from langchain_turntrace.testing import ScriptedChatModel

# Written out, not imported from our package: the check below compares them with what ours emits.
CAUSED_BY_GENERATION: Final[Mapping[str, AttributeValue]] = {"gen_ai.attribution.link_type": "CAUSED_BY_GENERATION"}
CURRENT_WHILE_IT_RAN: Final = "(current while its call ran)"


class LiveFloorHandler(PayloadFloorHandler):
    """The payload floor, live: a chat or tool span is attached as the current context in its start callback and
    detached in its end or error callback (LangChain calls both from the same frame, in the same context, so
    whatever the model or tool does in between runs under it; enough for this synchronous workload, not for async
    calls). A turn's tools link to the turn's one chat span: the workload asks for every tool call from the model
    call just before it."""

    def __init__(self, tracer: trace.Tracer, *, session_id: str, feature: str, model: str, provider: str) -> None:
        super().__init__(tracer, session_id=session_id, feature=feature, model=model, provider=provider)
        # Each token is added and taken by its own call's thread: a dict's item set and pop need no lock.
        self._attached: dict[UUID, Token[Context]] = {}

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().on_chat_model_start(serialized, messages, run_id=run_id, metadata=metadata, **kwargs)
        chat = self._open[run_id][0]
        self._tool_links = (Link(chat.get_span_context(), CAUSED_BY_GENERATION),)
        self._attach(run_id, chat)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        self._detach(run_id)
        super().on_llm_end(response, run_id=run_id, **kwargs)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._detach(run_id)
        super().on_llm_error(error, run_id=run_id, **kwargs)

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, *, run_id: UUID, **kwargs: Any) -> None:
        super().on_tool_start(serialized, input_str, run_id=run_id, **kwargs)
        self._attach(run_id, self._open[run_id][0])

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._detach(run_id)
        super().on_tool_end(output, run_id=run_id, **kwargs)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._detach(run_id)
        super().on_tool_error(error, run_id=run_id, **kwargs)

    def _attach(self, run_id: UUID, span: Span) -> None:
        self._attached[run_id] = context.attach(trace.set_span_in_context(span))

    def _detach(self, run_id: UUID) -> None:
        """What ``opentelemetry.context.detach`` does (reset the context variable the token came from) without
        its error log: a token made in another ``contextvars.Context`` (a callback dispatched through a copied
        context) or reset already has nothing left to undo here, so nothing is logged."""
        token = self._attached.pop(run_id, None)
        if token is None:
            return
        try:  # noqa: SIM105  # free when nothing is raised, unlike a contextlib.suppress() per call
            token.var.reset(token)
        except (ValueError, RuntimeError):
            pass


def live_mismatch(ours: HandlerFactory, floor: HandlerFactory) -> str | None:
    """None when ``floor`` emits what ``ours`` emits on one run of the workload: what ``payload_mismatch``
    compares, plus each span's links (the target's name and parent, the link's attributes with their values)
    and which spans were the current span while their model or tool call ran."""
    workload = Workload(SHAPE_CHECK_TURNS)
    probe = _CurrentSpans()
    agent = _probed_agent(workload, probe.note)

    def facts(span: ReadableSpan, placed: Mapping[int, str]) -> Iterable[str]:
        for link in span.links:
            attributes = ", ".join(f"{key}={value}" for key, value in sorted((link.attributes or {}).items()))
            yield f"link to {placed.get(link.context.span_id, '(outside the run)')} ({attributes})"
        if span.context is not None and span.context.span_id in probe.ids:
            yield CURRENT_WHILE_IT_RAN

    return shape_mismatch(span_shapes(agent, workload, ours, facts), span_shapes(agent, workload, floor, facts))


class _CurrentSpans:
    """The ids of the spans that were current while the workload's model or tools did their work."""

    def __init__(self) -> None:
        self.ids: set[int] = set()

    def note(self) -> None:
        self.ids.add(trace.get_current_span().get_span_context().span_id)


class _ProbedModel(ScriptedChatModel):
    """The workload's model, calling ``probe`` while it makes each answer (streamed or not)."""

    probe: Callable[[], None]

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        self.probe()
        return super()._next(messages)


def _probed_agent(workload: Workload, probe: Callable[[], None]) -> Any:
    """The workload's agent (same model, tool names and arguments, agent name) with ``probe`` called inside the
    model's and each tool's work, for the check only: the timed agent carries no probe."""
    model = _ProbedModel(model_name=MODEL, provider="openai", script=workload.script(), probe=probe)
    tools = [_probed_tool(cast("StructuredTool", original), probe) for original in (lookup_weather, lookup_time)]
    return agents.create_agent(model, tools=tools, name=AGENT_NAME)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]  # as in Workload.agent


def _probed_tool(original: StructuredTool, probe: Callable[[], None]) -> StructuredTool:
    work = cast("Callable[..., Any]", original.func)

    def run(**kwargs: Any) -> Any:
        probe()
        return work(**kwargs)

    return StructuredTool.from_function(
        run, name=original.name, description=original.description, args_schema=original.args_schema
    )
