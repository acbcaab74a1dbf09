"""The embedded local span store: an owner-only SQLite file, written by an OTel exporter, read as plain rows."""

from langchain_turntrace.store._alerts import ALERT_BYS, ALERT_PERS, window_start_ns
from langchain_turntrace.store._errors import StoreError
from langchain_turntrace.store._exporter import SqliteSpanExporter
from langchain_turntrace.store._figures import CallRef, CostlyTurn, DayCost, ReportFigures, ToolFigures, TurnTokens
from langchain_turntrace.store._paths import default_store_path
from langchain_turntrace.store._records import StoredLink, StoredSpan
from langchain_turntrace.store._results import (
    CostGroup,
    CostRow,
    Earlier,
    RunSummary,
    ToolStat,
    TurnlessToolCall,
    UnpricedModel,
    WiringSmells,
)
from langchain_turntrace.store._retention import DEFAULT_RETENTION_DAYS, NS_PER_DAY, resolve_retention_days
from langchain_turntrace.store._store import SpanStore

__all__ = [
    "ALERT_BYS",
    "ALERT_PERS",
    "DEFAULT_RETENTION_DAYS",
    "NS_PER_DAY",
    "CallRef",
    "CostGroup",
    "CostRow",
    "CostlyTurn",
    "DayCost",
    "Earlier",
    "ReportFigures",
    "RunSummary",
    "SpanStore",
    "SqliteSpanExporter",
    "StoreError",
    "StoredLink",
    "StoredSpan",
    "ToolFigures",
    "ToolStat",
    "TurnTokens",
    "TurnlessToolCall",
    "UnpricedModel",
    "WiringSmells",
    "default_store_path",
    "resolve_retention_days",
    "window_start_ns",
]
