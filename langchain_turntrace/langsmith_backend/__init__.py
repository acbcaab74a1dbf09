"""LangSmith: the span tree as LangSmith runs through the official ``langsmith`` client, and read back."""

from langchain_turntrace.langsmith_backend._preflight import connection_problem
from langchain_turntrace.langsmith_backend._processor import LangSmithSpanProcessor
from langchain_turntrace.langsmith_backend._read import read_trace

__all__ = ["LangSmithSpanProcessor", "connection_problem", "read_trace"]
