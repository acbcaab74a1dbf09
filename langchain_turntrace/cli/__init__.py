"""The ``turntrace`` command: query the local store, show waterfalls, verify the wiring."""

from langchain_turntrace.cli._main import main

__all__ = ["main"]
