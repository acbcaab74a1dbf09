"""The README's first command: the demo runs offline and prints the turn tree with cost."""

from __future__ import annotations

import pytest

from langchain_turntrace import demo


def test_demo_prints_the_turn_tree(capsys: pytest.CaptureFixture[str]) -> None:
    demo.main()
    out = capsys.readouterr().out
    names = [line.lstrip("│├└─ ").split("  ")[0].strip() for line in out.splitlines()[2:]]
    names[3:5] = sorted(names[3:5])  # parallel tool calls may start in either order
    assert names == [
        "invoke_agent travel_agent",
        "turn 1",
        "chat gpt-4o",
        "execute_tool get_weather",
        "execute_tool search_flights",
        "turn 2",
        "chat gpt-4o",
        "execute_tool book_flight",
        "turn 3",
        "chat gpt-4o",
    ]
    assert "tokens 4400→145" in out.splitlines()[2]
    assert "stop=tool_calls" in out
