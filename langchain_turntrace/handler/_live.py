"""A model or tool call's span is the current OpenTelemetry context while the call runs, and only then.

A callback alone cannot do this safely: LangChain calls an async model call's end (``agenerate``) and every async
error callback in tasks of their own, whose context is a copy, so a context attached in the start callback could
never be detached where it was attached, and it would stay current in the caller after the call. So we mark the
frames where LangChain runs a call — ``BaseChatModel`` / ``BaseLLM`` ``generate``, ``agenerate``, each step of
``stream`` / ``astream``, and ``BaseTool`` ``run`` / ``arun`` — with a ``_Frame``. The call's start callback, which
LangChain makes inside that frame and in its context, attaches the span there (``activate``); what runs inside
(the provider's HTTP request, the tool's body, which LangChain runs in a copy of that context) sees the span; the
frame detaches it when it returns, however it returns. Detach always happens in the context of the attach, in
last-in-first-out order, so the caller's context is exactly what it was, and OpenTelemetry never logs "Failed to
detach context".

The frames are installed once per process when the first handler is made. Outside our handlers' runs they cost a
context-variable set and reset per call and attach nothing.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import AsyncGenerator, Callable, Generator
from contextlib import suppress
from contextvars import ContextVar, Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.context import Context

_log = logging.getLogger("langchain_turntrace")


class _Frame:
    """One run of a model or tool call: the span context its start callback made current, and how to undo it."""

    __slots__ = ("context", "token")

    def __init__(self) -> None:
        self.context: Context | None = None
        self.token: Token[Context] | None = None

    def enter(self) -> Token[_Frame | None]:
        frame_token = _frame.set(self)
        if self.context is not None:  # a later step of a stream: the span is current again for the step
            self.token = otel_context.attach(self.context)
        return frame_token

    def exit(self, frame_token: Token[_Frame | None]) -> None:
        token, self.token = self.token, None
        if token is not None:
            with suppress(ValueError):  # never: a frame exits in the context it entered (no OTel error log)
                token.var.reset(token)
        _frame.reset(frame_token)


_frame: ContextVar[_Frame | None] = ContextVar("turntrace_call_frame", default=None)


def activate(context: Context) -> None:
    """Called by a model or tool call's start callback: ``context`` (naming its span) is current until the call's
    frame returns. Only the first start in a frame counts: a second handler's span for the same call, or a call
    LangChain made without a frame of its own inside this one, is not made current."""
    frame = _frame.get()
    if frame is not None and frame.context is None:
        frame.context = context
        frame.token = otel_context.attach(context)


def _call(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def call(*args: Any, **kwargs: Any) -> Any:
        frame = _Frame()
        token = frame.enter()
        try:
            return original(*args, **kwargs)
        finally:
            frame.exit(token)

    return call


def _acall(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def call(*args: Any, **kwargs: Any) -> Any:
        frame = _Frame()
        token = frame.enter()
        try:
            return await original(*args, **kwargs)
        finally:
            frame.exit(token)

    return call


def _stream(original: Callable[..., Generator[Any]]) -> Callable[..., Generator[Any]]:
    """Each step of the stream runs in the call's frame; between steps the consumer's context is its own."""

    @functools.wraps(original)
    def stream(*args: Any, **kwargs: Any) -> Generator[Any]:
        chunks = original(*args, **kwargs)
        frame = _Frame()
        try:
            while True:
                token = frame.enter()
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
                finally:
                    frame.exit(token)
                yield chunk
        finally:  # abandoned by its consumer: the model call's own close runs in the frame too
            token = frame.enter()
            try:
                chunks.close()
            finally:
                frame.exit(token)

    return stream


def _astream(original: Callable[..., AsyncGenerator[Any]]) -> Callable[..., AsyncGenerator[Any]]:
    @functools.wraps(original)
    async def astream(*args: Any, **kwargs: Any) -> AsyncGenerator[Any]:
        chunks = original(*args, **kwargs)
        frame = _Frame()
        try:
            while True:
                token = frame.enter()
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                finally:
                    frame.exit(token)
                yield chunk
        finally:
            token = frame.enter()
            try:
                await chunks.aclose()
            finally:
                frame.exit(token)

    return astream


_FRAMES: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "generate": _call,
    "agenerate": _acall,
    "stream": _stream,
    "astream": _astream,
    "run": _call,
    "arun": _acall,
}
_installed = False
_install_lock = threading.Lock()


def install_call_frames() -> None:
    """Marks LangChain's model and tool call frames, once per process."""
    global _installed
    if _installed:
        return
    with _install_lock:
        if _installed:
            return
        from langchain_core.language_models import BaseChatModel, BaseLLM
        from langchain_core.tools import BaseTool

        for owner, methods in (
            (BaseChatModel, ("generate", "agenerate", "stream", "astream")),
            (BaseLLM, ("generate", "agenerate", "stream", "astream")),
            (BaseTool, ("run", "arun")),
        ):
            for name in methods:
                original = owner.__dict__.get(name)
                if original is None:  # a LangChain that moved it: spans stay right, they are just not current
                    _log.warning(
                        "turntrace: %s.%s not found in this langchain-core; spans inside its calls will not nest "
                        "under them. Please report your langchain-core version.",
                        owner.__name__,
                        name,
                    )
                    continue
                setattr(owner, name, _FRAMES[name](original))
        _installed = True
