"""What a forked child must renew: a thread that held a lock at the fork did not come along, nor did any worker."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable


def renew_in_child(method: Callable[[], object]) -> None:
    """Calls the bound ``method`` in every child forked from now on, while its object lives (it is held weakly:
    an exporter or sender shut down and dropped is not kept alive by the registration). No-op without fork."""
    if not hasattr(os, "register_at_fork"):
        return
    held = weakref.WeakMethod(method)  # pyright: ignore[reportArgumentType]  # a bound method, as every caller passes
    os.register_at_fork(after_in_child=lambda: (renew := held()) is not None and renew())
