"""The handler's open runs: where each LangChain run id sits in the turn model, from its start event to its end
(or its root's end), bounded in number and age because an end event can be lost."""

from __future__ import annotations

import logging
import threading
from time import time_ns
from typing import Final
from uuid import UUID

from langchain_turntrace.turns import ModelCall, Scope, ToolScope

_log = logging.getLogger("langchain_turntrace")


class RunEntry:
    """What is held for one open run id. ``handle`` None: a run another handler traces (see ``claim_root``)."""

    __slots__ = ("children", "handle", "parent", "root", "started_s", "tools_running")

    def __init__(
        self, handle: Scope | ModelCall | None, children: Scope | None, root: int, parent: RunEntry | None
    ) -> None:
        self.handle = handle  # what this run's end event closes
        self.children = children  # where runs started below it go
        self.root = root  # the outermost run: its end frees every entry of the trace
        self.parent = parent
        self.tools_running = 0  # tool runs started directly below this one and not yet ended
        self.started_s = time_ns() / 1e9 if parent is None else 0.0  # roots only: evicting lost runs


class OpenRuns:
    """Open runs keyed by ``run_id.int`` (a UUID key would call ``UUID.__hash__``, a Python function, on every
    look-up). A root's end frees its whole trace; runs whose end never comes are closed once there are more than
    ``max_open`` roots or the oldest has been open ``max_run_s``.

    One handler serves every thread of an app: the changes to the table hold ``_lock`` (a look-up, one dict read,
    does not). Abandoning a run's spans takes its trace's lock, so it happens after ``_lock`` is let go."""

    def __init__(self, max_run_s: float, max_open: int) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, RunEntry] = {}
        self._members: dict[int, list[int]] = {}  # root run -> its runs; in root start order
        self._max_run_s = max_run_s
        self._max_open = max_open
        self._evicted = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: int) -> RunEntry | None:
        return self._entries.get(key)

    def add(self, key: int, handle: Scope | ModelCall | None, children: Scope | None, parent: RunEntry | None) -> None:
        """Holds a run that just started: under ``parent``, or as a root when it has none."""
        with self._lock:
            if parent is None:
                self._entries[key] = RunEntry(handle, children, key, None)
                self._members[key] = [key]
                return
            self._entries[key] = RunEntry(handle, children, parent.root, parent)
            members = self._members.get(parent.root)
            if members is None:  # its root was closed early: it is evicted as a root of its own
                self._members[parent.root] = [key]
            else:
                members.append(key)

    def forget_reused(self, key: int) -> None:
        """A start for a run id still open: the first run's end can no longer be told apart, so it closes now."""
        if key not in self._entries:
            return
        previous = self.release(key)
        if previous is not None and previous.handle is not None:
            abandon(previous.handle)

    def release(self, key: int, kind: type[Scope | ModelCall] | None = None) -> RunEntry | None:
        """Frees a run's entry (a root's: its whole trace's). With ``kind``, only if the run is of that kind:
        an end event for another kind of run is malformed and leaves the run open for its real end."""
        with self._lock:
            return self._release(key, kind)

    def _release(self, key: int, kind: type[Scope | ModelCall] | None = None) -> RunEntry | None:
        entry = self._entries.get(key)
        if entry is None or (kind is not None and entry.handle is not None and not isinstance(entry.handle, kind)):
            return None
        del self._entries[key]
        if entry.parent is None:
            for member in self._members.pop(key, ()):
                member_entry = self._entries.get(member)
                if member_entry is not None and member_entry.root == key:  # not a reused id, now another run's
                    del self._entries[member]
        return entry

    def parent(self, parent_key: int | None, inner: int | None) -> RunEntry | None:
        """The entry new runs go under. A tool given ``config: RunnableConfig`` hands its *caller's* config to
        the code inside it, so calls made with that config name the tool's parent chain; the context LangChain
        set for the running tool (``inner``, the run it names as parent) still names the tool: they belong
        there."""
        if parent_key is None:
            return None
        entry = self._entries.get(parent_key)
        if entry is not None and entry.tools_running and inner is not None and inner != parent_key:
            tool_entry = self._entries.get(inner)
            if tool_entry is not None and tool_entry.parent is entry:
                return tool_entry
        return entry

    def evict_lost_runs(self) -> None:
        """Closes the oldest runs while there are too many or they are too old: their end will never come. Called
        before a new root starts."""
        now_s = time_ns() / 1e9
        lost: list[tuple[Scope | ModelCall, float]] = []  # (handle, started_s)
        with self._lock:
            while self._members:
                oldest = next(iter(self._members))
                entry = self._entries.get(oldest)
                if entry is not None and (
                    len(self._members) < self._max_open and now_s - entry.started_s <= self._max_run_s
                ):
                    break
                self._release(oldest)
                self._members.pop(oldest, None)
                if entry is not None and entry.handle is not None:
                    lost.append((entry.handle, entry.started_s))
            open_roots = len(self._members)
        for handle, started_s in lost:
            abandon(handle)
            self._evicted += 1
            if self._evicted == 1:
                _log.warning(
                    "turntrace: closed a run whose end never came (open %.0f s; %d runs open); its spans are "
                    "marked turntrace.incomplete. Limits: TURNTRACE_MAX_RUN_S, TURNTRACE_MAX_OPEN_RUNS.",
                    now_s - started_s,
                    open_roots,
                )


def abandon(handle: Scope | ModelCall) -> None:
    """Closes a run's handle as incomplete: its end will not come."""
    if isinstance(handle, ToolScope):
        handle.tool_call.abandon()
    else:
        handle.abandon()


MAX_CLAIMS: Final = 10_000
"""Root runs claimed at most; the oldest claim (a run whose end never came) is forgotten first."""

# (tracer provider, root run key) -> the handler tracing that run: two handlers on one provider (one bound with
# with_config, one passed per call, both from configure()) would otherwise make two traces of one run.
_claims: dict[tuple[int, int], int] = {}  # values: id(handler), so a claim never keeps a handler alive
_claims_lock = threading.Lock()


def claim_root(provider: object, key: int, handler: object) -> bool:
    """True when ``handler`` traces the root run ``key``; False when another handler on the same provider does."""
    with _claims_lock:
        owner = _claims.setdefault((id(provider), key), id(handler))
        if len(_claims) > MAX_CLAIMS:
            del _claims[next(iter(_claims))]
        return owner == id(handler)


def release_root(provider: object, key: int, handler: object) -> None:
    with _claims_lock:
        if _claims.get((id(provider), key)) == id(handler):
            del _claims[(id(provider), key)]


def run_key(run_id: UUID | str) -> int:
    """A run id as our key: its 128-bit integer (a UUID key would hash in Python on every look-up). LangChain
    passes a ``config["run_id"]`` given as a string through as it is."""
    if type(run_id) is UUID:
        return run_id.int
    try:
        return UUID(str(run_id)).int
    except ValueError:  # not a UUID at all: any stable key will do, it is only compared
        return hash(str(run_id))
