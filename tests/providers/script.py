"""The conversation every provider test plays, in no provider's format: three model steps of one agent run.

Step 1 asks for two tool calls at once, step 2 for one more, step 3 answers. A wire format renders a ``Step`` in
its own shape; which step a request is for follows from how many tool results its conversation already holds."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import HumanMessage

from tests.agents import get_time, get_weather

AGENT_NAME = "trip_agent"
PROMPT = {"messages": [HumanMessage("Weather and time in Paris, then Rome?")]}


TOOLS = [get_weather, get_time]


@dataclass(frozen=True)
class WireUsage:
    """Token counts as a provider reports them, in OTel's sense: ``input_tokens`` includes cached tokens and
    ``output_tokens`` includes reasoning. Each wire format splits them its own way (Anthropic's ``input_tokens``
    excludes cache reads and writes, say)."""

    input_tokens: int
    output_tokens: int
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    reasoning: int = 0

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def uncached_input(self) -> int:
        return self.input_tokens - self.cache_read - self.cache_write


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    args: Mapping[str, Any]

    @property
    def arguments_json(self) -> str:
        return json.dumps(dict(self.args))


@dataclass(frozen=True)
class Step:
    number: int  # 1-based, as the turn index
    tool_calls: tuple[ToolCall, ...]
    text: str | None
    usage: WireUsage
    tool_results_before: int = field(default=0)  # tool results the request for this step holds

    @property
    def calls_tools(self) -> bool:
        return bool(self.tool_calls)


def three_steps(usages: Sequence[WireUsage]) -> tuple[Step, Step, Step]:
    """The script with each provider's own usage per step (a format shows off what it can report)."""
    first, second, third = usages
    return (
        Step(
            1,
            (
                ToolCall("call_weather_paris", "get_weather", {"city": "Paris"}),
                ToolCall("call_time_paris", "get_time", {"city": "Paris"}),
            ),
            None,
            first,
            0,
        ),
        Step(2, (ToolCall("call_weather_rome", "get_weather", {"city": "Rome"}),), None, second, 2),
        Step(3, (), "Sunny and 21 °C in Paris (12:00) and in Rome.", third, 3),
    )


def step_for(steps: Sequence[Step], tool_results: int) -> Step:
    """The step a request answers, from the number of tool results in its conversation."""
    for step in steps:
        if step.tool_results_before == tool_results:
            return step
    raise AssertionError(f"no step follows {tool_results} tool results: the agent diverged from the script")


THREE_TURN_TREE = (
    "invoke_agent {agent}",
    "  turn 1",
    "    chat {model}",
    "    execute_tool get_time",
    "    execute_tool get_weather",
    "  turn 2",
    "    chat {model}",
    "    execute_tool get_weather",
    "  turn 3",
    "    chat {model}",
)


def expected_tree(model: str) -> str:
    return "\n".join(line.format(agent=AGENT_NAME, model=model) for line in THREE_TURN_TREE)
