"""Turn-structured OpenTelemetry traces for LangChain and LangGraph agents: every turn a span, every tool call
under the turn that asked for it, tokens and cost in USD on each.

>>> from langchain_turntrace import TurnTraceCallbackHandler, tags
>>> handler = TurnTraceCallbackHandler(feature="support-bot")
>>> with tags(user_id="u-42"):
...     agent.invoke({"messages": [("user", "hi")]}, config={"callbacks": [handler]})  # doctest: +SKIP
"""

from langchain_turntrace.backends import dropped_spans
from langchain_turntrace.config import Budget, ConfigError
from langchain_turntrace.handler import TurnTraceCallbackHandler
from langchain_turntrace.turns import BudgetExceeded, BudgetExceededError, tags
from langchain_turntrace.version import __version__
from langchain_turntrace.wiring import configure, trace_every_run

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
