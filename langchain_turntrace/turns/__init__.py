"""The turn model: run state, parent choice and roll-ups, over the OpenTelemetry API only."""

from langchain_turntrace.turns._facts import GraphNamespace, ModelRequest, ModelResult, ToolRequest, ToolResult
from langchain_turntrace.turns._nodes import ModelCall
from langchain_turntrace.turns._scopes import ChainScope, Scope, ToolScope, TurnTracer
from langchain_turntrace.turns._tags import Tags, current_tags, tags

__all__ = [
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
    "TurnTracer",
    "current_tags",
    "tags",
]
