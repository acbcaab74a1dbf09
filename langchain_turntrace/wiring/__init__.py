"""Wiring: one call (or one environment variable) that builds the backend and hands back a ready handler."""

from langchain_turntrace.wiring._configure import configure
from langchain_turntrace.wiring._hook import global_handler, trace_every_run

__all__ = ["configure", "global_handler", "trace_every_run"]
