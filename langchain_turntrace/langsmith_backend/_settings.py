"""LangSmith's own variables (``LANGSMITH_*``, or their older ``LANGCHAIN_*`` names), read by us when a backend is
built rather than left to the client: some langsmith versions cache them for the life of the process."""

from __future__ import annotations

import os
from typing import Final

DEFAULT_ENDPOINT: Final = "https://api.smith.langchain.com"


def endpoint() -> str | None:
    return _first("LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT")


def api_key() -> str | None:
    return _first("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")


def runs_endpoints() -> str | None:
    """``LANGSMITH_RUNS_ENDPOINTS``: several LangSmith destinations with their keys, as JSON."""
    return _first("LANGSMITH_RUNS_ENDPOINTS", "LANGCHAIN_RUNS_ENDPOINTS")


def project() -> str | None:
    return _first("LANGSMITH_PROJECT", "LANGCHAIN_PROJECT")


def langchain_tracing_on() -> bool:
    """LangChain's own tracer sends runs to LangSmith (``LANGSMITH_TRACING`` or its older names)."""
    value = _first("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING")
    return (value or "").lower() == "true"


def compression_disabled() -> bool:
    """``LANGSMITH_DISABLE_RUN_COMPRESSION=true``: the client's own switch for compressed ingests."""
    return (_first("LANGSMITH_DISABLE_RUN_COMPRESSION", "LANGCHAIN_DISABLE_RUN_COMPRESSION") or "").lower() == "true"


def hidden(field: str) -> bool:
    """``LANGSMITH_HIDE_{FIELD}``: ``field`` is ``inputs``, ``outputs`` or ``metadata``."""
    value = _first(f"LANGSMITH_HIDE_{field.upper()}", f"LANGCHAIN_HIDE_{field.upper()}")
    return (value or "").strip().lower() == "true"


def _first(*names: str) -> str | None:
    return next((value.strip() for value in map(os.environ.get, names) if value and value.strip()), None)
