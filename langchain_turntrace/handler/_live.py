"""A model or tool call's span as the current OpenTelemetry context while the call runs.

LangChain calls a tool's start and end callbacks from one frame of ``BaseTool.run`` / ``arun`` (it catches every
exception, cancellation and Ctrl-C included, to report it), and runs the tool itself in a copy of that frame's
context made after the start callback. A model call's start and end come from one frame of ``generate`` /
``agenerate`` / ``stream``, with the provider call in between. So the span attached at the start is what the
work inside sees, and detaching at the end, in the same context, gives the caller back exactly what it had.

One attachment per run, whichever handler makes it: two handlers (two backends, say) attaching and detaching in
turn would restore each other's context, not the caller's. A context attached in one ``contextvars.Context``
can only be detached in it; where LangChain ends a call elsewhere (a stream closed by another task), there is
nothing to restore in the context we are in, and nothing is logged.
"""

from __future__ import annotations

from contextlib import suppress
from contextvars import Token
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry.context import Context

MAX_ATTACHED: Final = 10_000
"""Attachments held at most: a call whose end never comes (an ``ainvoke`` cancelled inside the provider call,
which LangChain does not report) must not pile up; the oldest is forgotten first."""

# run key -> the context attached for it and the token that detaches it; dict operations are atomic under the GIL
_attached: dict[int, tuple[Context, Token[Context]]] = {}


def activate(run_key: int, context: Context) -> None:
    """Makes ``context`` current in the caller's context until ``deactivate(run_key)``."""
    if run_key in _attached:
        return  # another handler's span for this run is current already
    _attached[run_key] = (context, otel_context.attach(context))
    if len(_attached) > MAX_ATTACHED:
        with suppress(StopIteration, KeyError, RuntimeError):  # emptied or changed by another thread meanwhile
            del _attached[next(iter(_attached))]


def deactivate(run_key: int) -> None:
    """Gives the caller back the context it had before ``activate(run_key)``."""
    attached = _attached.pop(run_key, None)
    if attached is not None:
        with suppress(ValueError):  # attached in another contextvars.Context: nothing of ours is current here
            attached[1].var.reset(attached[1])


def forget(run_key: int) -> None:
    """The run was closed without its own end (its agent run ended first, or it was evicted as lost). Its
    context is detached only when it is still the current one here: then nothing started later is undone."""
    attached = _attached.pop(run_key, None)
    if attached is not None and otel_context.get_current() is attached[0]:
        with suppress(ValueError):
            attached[1].var.reset(attached[1])
