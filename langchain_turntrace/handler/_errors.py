"""Callbacks never raise into the user's program: internal errors are logged once, or re-raised when strict."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from langchain_turntrace.turns import BudgetExceededError

_log = logging.getLogger("langchain_turntrace")
_logged: set[tuple[str, str]] = set()
_logged_lock = threading.Lock()

P = ParamSpec("P")


class _Strict(Protocol):
    strict: bool


S = TypeVar("S", bound=_Strict)


def log_internal_error(where: str, error: BaseException) -> None:
    key = (where, type(error).__qualname__)
    with _logged_lock:
        if key in _logged or len(_logged) > 256:
            return
        _logged.add(key)
    _log.error(
        "langchain-turntrace: internal error in %s; tracing of this run may be incomplete, your program is unaffected. "
        "Please report it with this traceback.",
        where,
        exc_info=error,
    )


def never_raises(method: Callable[Concatenate[S, P], None]) -> Callable[Concatenate[S, P], None]:
    """Wraps a callback: an exception in our code is logged once (or re-raised when the handler is strict)."""
    where = method.__name__

    @functools.wraps(method)
    def guarded(self: S, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            method(self, *args, **kwargs)
        except BudgetExceededError:
            raise  # stops a run over its budget: the handler's raise_error lets LangChain pass it to the agent
        except Exception as error:
            if self.strict:
                raise
            log_internal_error(where, error)

    return guarded
