"""The floor: the least a LangChain callback handler can do and still emit OpenTelemetry spans, one per model
call and one per tool call; no tree, no attributes beyond the name, no cost, no hashes."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode


class RawOtelHandler(BaseCallbackHandler):
    """Starts a span when a model or tool call starts and ends it when the call ends."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer
        self._spans: dict[UUID, Span] = {}
        self._lock = threading.Lock()  # tool calls run on LangGraph's worker threads

    def _start(self, run_id: UUID, name: str, kind: SpanKind) -> None:
        span = self._tracer.start_span(name, kind=kind)
        with self._lock:
            self._spans[run_id] = span

    def _end(self, run_id: UUID, error: BaseException | None = None) -> None:
        with self._lock:
            span = self._spans.pop(run_id, None)
        if span is None:
            return
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end()

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._start(run_id, f"chat {(metadata or {}).get('ls_model_name', 'model')}", SpanKind.CLIENT)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, *, run_id: UUID, **kwargs: Any) -> None:
        self._start(run_id, f"execute_tool {serialized.get('name', 'tool')}", SpanKind.INTERNAL)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)
