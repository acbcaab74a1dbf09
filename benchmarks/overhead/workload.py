"""The measured workload: a LangGraph agent on the scripted chat model, T turns of two parallel tool calls each,
then the answer; usage and a priced model name on every response; no network."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain import agents
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool

from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message

MODEL = "gpt-4o-mini"  # priced by genai-prices, so our cost path runs as in production
AGENT_NAME = "bench_agent"


@tool
def lookup_weather(city: str, note: str = "") -> dict[str, Any]:
    """Weather for a city."""
    return {"city": city, "temp_c": 21, "conditions": ["sunny"], "note_chars": len(note)}


@tool
def lookup_time(city: str, note: str = "") -> str:
    """Local time in a city."""
    return "12:00"


@dataclass(frozen=True)
class Workload:
    """``turns`` tool turns (two parallel tool calls each) and a final answer; each tool input carries a
    ``note`` of ``input_bytes`` characters (0: a plain city name)."""

    turns: int = 5
    input_bytes: int = 0

    @property
    def label(self) -> str:
        size = "" if self.input_bytes == 0 else f", {_size(self.input_bytes)} tool inputs"
        return f"T={self.turns}{size}"

    def script(self) -> list[Any]:
        note = "x" * self.input_bytes
        turns: list[Any] = [
            tool_calls_message(
                ("lookup_weather", {"city": f"city-{turn}", "note": note}, f"call_{turn}_a"),
                ("lookup_time", {"city": f"city-{turn}", "note": note}, f"call_{turn}_b"),
                input_tokens=1000 + 50 * turn,
                output_tokens=40,
            )
            for turn in range(self.turns)
        ]
        return [*turns, answer_message("Sunny everywhere.", input_tokens=1000 + 50 * self.turns, output_tokens=60)]

    def agent(self) -> Any:
        """langchain's create_agent, as Any: its generics carry an unresolved context type."""
        model = ScriptedChatModel(model_name=MODEL, provider="openai", script=self.script())
        return agents.create_agent(model, tools=[lookup_weather, lookup_time], name=AGENT_NAME)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]  # see docstring

    @property
    def recursion_limit(self) -> int:
        return 2 * self.turns + 10  # LangGraph's default (25) stops an agent of more than a dozen turns


def run_once(agent: Any, workload: Workload, callbacks: list[BaseCallbackHandler]) -> None:
    """One agent run; fails loudly if the agent did not finish, so a broken run is never timed as a fast one."""
    result = agent.invoke(
        {"messages": [HumanMessage("Weather and time, please.")]},
        config={"callbacks": callbacks, "recursion_limit": workload.recursion_limit},
    )
    if result["messages"][-1].content != "Sunny everywhere.":
        raise RuntimeError(f"the agent did not finish its script: {result['messages'][-1]!r}")


class EventCounter(BaseCallbackHandler):
    """Counts the callback events one run fires, by kind (not a timed subject: overriding costs a little)."""

    def __init__(self) -> None:
        self.events: Counter[str] = Counter()


def _counting(event: str) -> Any:
    def count(self: EventCounter, *args: Any, run_id: UUID | None = None, **kwargs: Any) -> None:
        self.events[event] += 1

    count.__name__ = event
    return count


for _event in [name for name in dir(BaseCallbackHandler) if name.startswith("on_")]:
    setattr(EventCounter, _event, _counting(_event))


def count_events(agent: Any, workload: Workload) -> Counter[str]:
    counter = EventCounter()
    run_once(agent, workload, [counter])
    return counter.events


def _size(n_bytes: int) -> str:
    if n_bytes >= 1 << 20:
        return f"{n_bytes / (1 << 20):g} MB"
    if n_bytes >= 1 << 10:
        return f"{n_bytes / (1 << 10):g} KB"
    return f"{n_bytes} B"
