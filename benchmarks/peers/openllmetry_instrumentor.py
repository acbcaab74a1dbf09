"""OpenLLMetry's LangchainInstrumentor (Traceloop, opentelemetry-instrumentation-langchain): patches LangChain's
callback manager, LangGraph's Pregel.stream and more process-wide, so it is instrumented per block."""

from __future__ import annotations

import importlib
import sys
from typing import Any, cast

from benchmarks.overhead.subject import ProviderSubject, SubjectUnavailable

# Classes whose methods the instrumentor wraps. Its uninstrument() (0.62.4) hands opentelemetry's unwrap() a
# module and a dotted "Class.method" name, which unwrap() looks up as one attribute and so never finds: every
# class patch outlives uninstrument() and it goes on tracing every run. The harness takes those wrappers off.
_PATCHED_CLASSES = (
    ("langchain_core.callbacks", "BaseCallbackManager"),
    ("langgraph.pregel", "Pregel"),
    ("langgraph.types", "Command"),
    ("langchain.agents.middleware.types", "AgentMiddleware"),
)


def remove_left_over_wrappers() -> int:
    """Restores every wrapt-wrapped method of the patched classes; returns how many were left over."""
    from wrapt import FunctionWrapper

    removed = 0
    for module_name, class_name in _PATCHED_CLASSES:
        if module_name not in sys.modules:
            continue
        owner: type = getattr(importlib.import_module(module_name), class_name)
        attributes: dict[str, object] = dict(vars(owner))
        for attribute, value in attributes.items():
            if isinstance(value, FunctionWrapper):  # only this peer wraps these classes while its block runs
                original = cast(object, value.__wrapped__)  # pyright: ignore[reportUnknownMemberType]  # untyped wrapt
                setattr(owner, attribute, original)
                removed += 1
    return removed


class OpenLLMetry(ProviderSubject):
    name = "openllmetry"
    description = (
        "opentelemetry-instrumentation-langchain; BatchSpanProcessor (its uninstrument() leaves its class patches "
        "on: the harness removes them after each block)"
    )

    def open(self) -> None:
        try:
            from opentelemetry.instrumentation.langchain import (  # pyright: ignore[reportMissingTypeStubs]  # untyped peer
                LangchainInstrumentor,
            )
        except ImportError:
            raise SubjectUnavailable(
                "opentelemetry-instrumentation-langchain is not installed: pip install -e '.[bench]'"
            ) from None
        super().open()
        self._instrumentor: Any = LangchainInstrumentor()
        self.left_over_wrappers = 0

    def start(self) -> None:
        self._instrumentor.instrument(tracer_provider=self._provider)

    def stop(self) -> None:
        self._instrumentor.uninstrument()
        self.left_over_wrappers = remove_left_over_wrappers()
