"""Budgets in the turn model: an agent run's cost and turns, and its session's cost, held against their limits."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

from langchain_turntrace import attributes as attr

MAX_BUDGETED_SESSIONS: Final = 10_000
"""Sessions whose spend is remembered for session budgets (a few dozen bytes each); the least recent goes first."""

BudgetScope = Literal["run", "session", "turns"]
_log = logging.getLogger("langchain_turntrace")


@dataclass(frozen=True, slots=True)
class BudgetExceeded:
    """One limit crossed by one agent run: what ``on_budget_exceeded`` is called with.

    >>> def page_me(exceeded: BudgetExceeded) -> None:  # doctest: +SKIP
    ...     alerts.send(f"{exceeded.agent_name}: {exceeded.describe()}")
    """

    scope: BudgetScope  # run: the run's cost; session: the session's cost; turns: the run's turn count
    setting: str  # the Budget field that was crossed, e.g. "max_cost_usd_per_run"
    limit: float | int
    value: float | int  # the cost in USD, or the number of the turn that was about to start
    agent_name: str
    session_id: str | None
    raises: bool  # on_exceed="raise": the run's next model call raises BudgetExceededError

    def describe(self) -> str:
        if self.scope == "turns":
            return f"agent {self.agent_name!r} would start turn {self.value}, over {self.setting}={self.limit}"
        whose = "this agent run" if self.scope == "run" else f"session {self.session_id!r}"
        return f"{whose} cost {_usd(self.value)}, over {self.setting}={_usd(self.limit)}"


class AgentRunTotals(Protocol):
    """What a budget reads of an agent run (the turn model's ``AgentRun``)."""

    name: str
    cost_usd: float
    turn_count: int
    span: Span


class BudgetExceededError(Exception):
    """Raised into the agent by the next model call of a run over its budget, and only with
    ``Budget(on_exceed="raise")``: the one exception the handler raises on purpose. ``exceeded`` says which limit.

    >>> try:  # doctest: +SKIP
    ...     agent.invoke(inputs, config={"callbacks": [handler]})
    ... except BudgetExceededError as stopped:
    ...     print(stopped.exceeded.describe())
    """

    __module__ = "langchain_turntrace"  # its public home: error.type on the agent span names it so

    def __init__(self, exceeded: BudgetExceeded) -> None:
        super().__init__(
            f"turntrace budget: {exceeded.describe()}, so the run was stopped before its next model call. "
            f'To allow more, raise Budget({exceeded.setting}=...); to only log it, use on_exceed="warn".'
        )
        self.exceeded = exceeded

    def __reduce__(self) -> tuple[type[BudgetExceededError], tuple[BudgetExceeded]]:
        return (BudgetExceededError, (self.exceeded,))  # pickles (a checkpointer, a process pool) as it was made


class _SessionSpend:
    __slots__ = ("cost_usd",)

    def __init__(self) -> None:
        self.cost_usd = 0.0


# Process-wide: a session's spend is a fact, whichever handler (configure() per request, say) traced its runs.
_sessions: OrderedDict[str, _SessionSpend] = OrderedDict()
_sessions_lock = threading.Lock()


def _session_spend(session_id: str) -> _SessionSpend:
    with _sessions_lock:  # once per run start, and only when a session budget is set
        spend = _sessions.get(session_id)
        if spend is None:
            spend = _sessions[session_id] = _SessionSpend()
            while len(_sessions) > MAX_BUDGETED_SESSIONS:
                _sessions.popitem(last=False)
        else:
            _sessions.move_to_end(session_id)
        return spend


class BudgetPolicy:
    """A handler's limits, fixed at construction; each agent run gets its own ``RunBudget`` from it."""

    __slots__ = (
        "_callback_failed",
        "max_cost_usd_per_run",
        "max_cost_usd_per_session",
        "max_turns_per_run",
        "on_exceeded",
        "raises",
    )

    def __init__(
        self,
        *,
        max_cost_usd_per_run: float | None,
        max_cost_usd_per_session: float | None,
        max_turns_per_run: int | None,
        raises: bool,
        on_exceeded: Callable[[BudgetExceeded], object] | None,
    ) -> None:
        self.max_cost_usd_per_run = max_cost_usd_per_run
        self.max_cost_usd_per_session = max_cost_usd_per_session
        self.max_turns_per_run = max_turns_per_run
        self.raises = raises
        self.on_exceeded = on_exceeded
        self._callback_failed = False

    def start_run(self, root: AgentRunTotals, tag_attributes: Mapping[str, AttributeValue]) -> RunBudget:
        session = tag_attributes.get(attr.SESSION_ID)
        session_id = None if session is None else str(session)
        spend = None
        if self.max_cost_usd_per_session is not None and session_id is not None:
            spend = _session_spend(session_id)
        return RunBudget(self, root, session_id, spend)

    def notify(self, exceeded: BudgetExceeded) -> None:
        """Calls the user's callback; one that raises is logged once and never breaks the run."""
        if self.on_exceeded is None:
            return
        try:
            self.on_exceeded(exceeded)
        except Exception as error:  # noqa: BLE001  # the user's code: whatever it raises, the run goes on
            if not self._callback_failed:
                self._callback_failed = True
                _log.warning(
                    "turntrace: on_budget_exceeded raised %s; ignored, the run goes on (logged once per handler)",
                    type(error).__name__,
                    exc_info=error,
                )


class RunBudget:
    """One agent run's standing against its budget. Called under the run's ``trace.lock``; every limit is
    reported once per run, and with ``raise`` the first crossing stops the run's later model calls."""

    __slots__ = ("_crossed", "_policy", "_root", "_session_id", "_spend", "_warned", "stopped_by")

    def __init__(
        self, policy: BudgetPolicy, root: AgentRunTotals, session_id: str | None, spend: _SessionSpend | None
    ) -> None:
        self._policy = policy
        self._root = root
        self._session_id = session_id
        self._spend = spend
        self._crossed: set[BudgetScope] = set()
        self._warned = False
        self.stopped_by: BudgetExceeded | None = None

    def before_model_call(self) -> None:
        """Raises BudgetExceededError once the run is stopped; another run of the session may have spent its
        budget meanwhile."""
        if self._spend is not None:
            self._check_session()
        if self.stopped_by is not None:
            raise BudgetExceededError(self.stopped_by)

    def turn_starting(self, agent: AgentRunTotals) -> None:
        """``agent`` is about to start turn ``agent.turn_count + 1``; each agent run numbers its own turns."""
        limit = self._policy.max_turns_per_run
        if limit is not None and agent.turn_count >= limit and "turns" not in self._crossed:
            self._cross("turns", "max_turns_per_run", limit, agent.turn_count + 1, agent)
            if self.stopped_by is not None:
                raise BudgetExceededError(self.stopped_by)

    def cost_added(self, cost_usd: float) -> None:
        """A model call of this run cost ``cost_usd``, already rolled up into the run's total."""
        if self._spend is not None:
            with _sessions_lock:  # runs of one session on two threads: a += is not atomic, even under the GIL
                self._spend.cost_usd += cost_usd
            self._check_session()
        limit = self._policy.max_cost_usd_per_run
        if limit is not None and self._root.cost_usd > limit and "run" not in self._crossed:
            self._cross("run", "max_cost_usd_per_run", limit, self._root.cost_usd, self._root)

    def _check_session(self) -> None:
        limit = self._policy.max_cost_usd_per_session
        spend = self._spend
        if limit is not None and spend is not None and spend.cost_usd > limit and "session" not in self._crossed:
            self._cross("session", "max_cost_usd_per_session", limit, spend.cost_usd, self._root)

    def _cross(self, scope: BudgetScope, setting: str, limit: float, value: float, agent: AgentRunTotals) -> None:
        self._crossed.add(scope)
        policy = self._policy
        exceeded = BudgetExceeded(scope, setting, limit, value, self._root.name, self._session_id, policy.raises)
        agent.span.add_event(
            attr.BUDGET_EXCEEDED, {attr.BUDGET_SCOPE: scope, attr.BUDGET_LIMIT: limit, attr.BUDGET_VALUE: value}
        )
        if policy.raises and self.stopped_by is None:
            self.stopped_by = exceeded
        if not self._warned:
            self._warned = True
            if policy.raises:
                what = 'its next model call raises BudgetExceededError (on_exceed="raise")'
            else:
                what = 'it keeps running (on_exceed="warn"; "raise" stops runs that cross a limit)'
            _log.warning(
                "turntrace: agent run %r is over budget: %s; %s. To allow more, raise Budget(%s=...).",
                self._root.name,
                exceeded.describe(),
                what,
                setting,
            )
        policy.notify(exceeded)


def _usd(value: float) -> str:
    return f"${value:.6f}".rstrip("0").rstrip(".")
