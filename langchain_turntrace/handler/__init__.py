"""The LangChain callback handler: LangChain events in, turn-model calls out."""

from langchain_turntrace.handler._callbacks import TurnTraceCallbackHandler

__all__ = ["TurnTraceCallbackHandler"]
