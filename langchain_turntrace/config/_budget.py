"""Budget: the limits an agent run (and its session) may reach, checked when the Budget is made."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

from langchain_turntrace.config._settings import ConfigError
from langchain_turntrace.turns import BudgetExceeded, BudgetPolicy

OnExceed = Literal["warn", "raise"]
_ON_EXCEED = ("warn", "raise")


@dataclass(frozen=True, slots=True)
class Budget:
    """Cost and turn limits for agent runs, given to ``TurnTraceCallbackHandler(budget=...)`` or ``configure()``.

    >>> budget = Budget(max_cost_usd_per_run=0.50, max_turns_per_run=20, on_exceed="raise")
    >>> handler = TurnTraceCallbackHandler(budget=budget)  # doctest: +SKIP

    Cost is the run's inclusive total (every model call beneath its ``invoke_agent`` span, subagents included);
    a session's is summed over its runs (the ``session.id`` tag) in this process. ``max_turns_per_run=N`` is
    crossed when turn N+1 would start (each agent run, a subagent too, counts its own turns). Crossing a limit
    adds a ``turntrace.budget_exceeded`` event to the agent span and logs one warning per run. With
    ``on_exceed="raise"`` the run's next model call raises ``BudgetExceededError`` into the agent, so a runaway
    run stops before it spends more. Bad values raise ``ConfigError`` here.
    """

    max_cost_usd_per_run: float | None = None
    max_cost_usd_per_session: float | None = None
    max_turns_per_run: int | None = None
    on_exceed: OnExceed = "warn"

    def __post_init__(self) -> None:
        for name in ("max_cost_usd_per_run", "max_cost_usd_per_session"):
            value: object = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(
                    f"Budget({name}={value!r}) is not a cost; give US dollars >= 0 (e.g. {name}=0.50), "
                    "or None for no limit."
                )
            object.__setattr__(self, name, float(value))  # an int limit still reports as USD
        turns = cast("object", self.max_turns_per_run)  # as given: the annotation is not checked at runtime
        if turns is not None and (isinstance(turns, bool) or not isinstance(turns, int) or turns < 1):
            raise ConfigError(
                f"Budget(max_turns_per_run={turns!r}) is not a number of turns; give a whole number >= 1 "
                "(e.g. max_turns_per_run=20), or None for no limit."
            )
        if self.on_exceed not in _ON_EXCEED:
            raise ConfigError(f"Budget(on_exceed={self.on_exceed!r}) is not understood; use 'warn' or 'raise'.")
        if self.max_cost_usd_per_run is None and self.max_cost_usd_per_session is None and turns is None:
            raise ConfigError(
                "Budget() sets no limit; give max_cost_usd_per_run, max_cost_usd_per_session or max_turns_per_run "
                "(or pass no budget)."
            )


def budget_policy(
    budget: Budget | None, on_budget_exceeded: Callable[[BudgetExceeded], object] | None
) -> BudgetPolicy | None:
    """The turn model's view of a handler's budget; None (no budget code runs per event) without one."""
    if on_budget_exceeded is not None and not callable(on_budget_exceeded):
        raise ConfigError(
            f"on_budget_exceeded={on_budget_exceeded!r} is not callable; give a function taking a BudgetExceeded."
        )
    if budget is None:
        if on_budget_exceeded is not None:
            raise ConfigError("on_budget_exceeded= is only called for a budget; pass budget=Budget(...) as well.")
        return None
    if not isinstance(cast("object", budget), Budget):
        raise ConfigError(f"budget={budget!r} is not a Budget; use budget=Budget(max_cost_usd_per_run=...).")
    return BudgetPolicy(
        max_cost_usd_per_run=budget.max_cost_usd_per_run,
        max_cost_usd_per_session=budget.max_cost_usd_per_session,
        max_turns_per_run=budget.max_turns_per_run,
        raises=budget.on_exceed == "raise",
        on_exceeded=on_budget_exceeded,
    )
