"""How a LangChain run that raised ended: a LangGraph pause or handoff, a run cut short, or a failure."""

from __future__ import annotations

import asyncio

from langchain_turntrace.turns import ChainScope, ToolScope


def is_cut_short(error: BaseException) -> bool:
    """Cancelled, an abandoned stream, Ctrl-C: the run stopped, nothing failed."""
    return isinstance(error, (asyncio.CancelledError, GeneratorExit, KeyboardInterrupt))


def _langgraph_control_flow(error: BaseException) -> str | None:
    """LangGraph raises GraphInterrupt (human in the loop) and ParentCommand (handoff) as control flow."""
    for cls in type(error).__mro__:
        if cls.__module__.startswith("langgraph"):
            if cls.__name__ == "GraphInterrupt":
                return "interrupt"
            if cls.__name__ == "GraphBubbleUp":
                return "bubble_up"
    return None


def close_with(handle: ChainScope | ToolScope, error: BaseException) -> None:
    """Closes a chain or tool run that raised: paused, handed off, cut short or failed."""
    kind = _langgraph_control_flow(error)
    target = handle if isinstance(handle, ChainScope) else handle.tool_call
    if kind == "interrupt":
        target.interrupt()
    elif kind == "bubble_up":
        target.end() if isinstance(target, ChainScope) else target.interrupt()
    elif is_cut_short(error):
        target.abandon()
    else:
        target.fail(error)
