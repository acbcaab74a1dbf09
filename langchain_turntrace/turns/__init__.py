"""The turn model: run state, parent choice and roll-ups, over the OpenTelemetry API only."""

from langchain_turntrace.turns._budget import BudgetExceeded, BudgetExceededError, BudgetPolicy
from langchain_turntrace.turns._calls import ModelCall, usage_attributes
from langchain_turntrace.turns._facts import GraphNamespace, ModelRequest, ModelResult, ToolRequest, ToolResult
from langchain_turntrace.turns._metrics import TurnMetrics
from langchain_turntrace.turns._scopes import ChainScope, Scope, ToolScope, TurnTracer
from langchain_turntrace.turns._stop_reasons import normalised_stop_reason
from langchain_turntrace.turns._tags import Tags, current_tags, tags

__all__ = [
    "BudgetExceeded",
    "BudgetExceededError",
    "BudgetPolicy",
    "ChainScope",
    "GraphNamespace",
    "ModelCall",
    "ModelRequest",
    "ModelResult",
    "Scope",
    "Tags",
    "ToolRequest",
    "ToolResult",
    "ToolScope",
    "TurnMetrics",
    "TurnTracer",
    "current_tags",
    "normalised_stop_reason",
    "tags",
    "usage_attributes",
]
