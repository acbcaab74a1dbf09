"""The embedded local span store: an owner-only SQLite file, written by an OTel exporter, read as plain rows."""

from langchain_turntrace.store._errors import StoreError
from langchain_turntrace.store._exporter import SqliteSpanExporter
from langchain_turntrace.store._paths import default_store_path
from langchain_turntrace.store._records import StoredSpan
from langchain_turntrace.store._results import CostRow, RunSummary, ToolStat
from langchain_turntrace.store._retention import DEFAULT_RETENTION_DAYS
from langchain_turntrace.store._store import SpanStore

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "CostRow",
    "RunSummary",
    "SpanStore",
    "SqliteSpanExporter",
    "StoreError",
    "StoredSpan",
    "ToolStat",
    "default_store_path",
]
