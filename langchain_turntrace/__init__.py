"""Turn-structured OpenTelemetry traces for LangChain and LangGraph agents: every turn a span, every tool call
under the turn that asked for it, tokens and cost in USD on each.

>>> from langchain_turntrace import TurnTraceCallbackHandler, tags
>>> handler = TurnTraceCallbackHandler(feature="support-bot")
>>> with tags(user_id="u-42"):
...     agent.invoke({"messages": [("user", "hi")]}, config={"callbacks": [handler]})  # doctest: +SKIP
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from langchain_turntrace.version import __version__

if TYPE_CHECKING:
    from langchain_turntrace.backends import dropped_spans
    from langchain_turntrace.config import Budget, ConfigError
    from langchain_turntrace.handler import TurnTraceCallbackHandler
    from langchain_turntrace.turns import BudgetExceeded, BudgetExceededError, tags
    from langchain_turntrace.wiring import configure, trace_every_run

# Imported when first used: the `turntrace` CLI reads the store without loading LangChain (a second saved on
# every command), and an app pays for what it touches.
_HOMES = {
    "dropped_spans": "langchain_turntrace.backends",
    "Budget": "langchain_turntrace.config",
    "ConfigError": "langchain_turntrace.config",
    "TurnTraceCallbackHandler": "langchain_turntrace.handler",
    "BudgetExceeded": "langchain_turntrace.turns",
    "BudgetExceededError": "langchain_turntrace.turns",
    "tags": "langchain_turntrace.turns",
    "configure": "langchain_turntrace.wiring",
    "trace_every_run": "langchain_turntrace.wiring",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'langchain_turntrace' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "Budget",
    "BudgetExceeded",
    "BudgetExceededError",
    "ConfigError",
    "TurnTraceCallbackHandler",
    "__version__",
    "configure",
    "dropped_spans",
    "tags",
    "trace_every_run",
]
