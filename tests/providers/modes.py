"""The four ways a user drives an agent, and which of them make a LangChain chat model stream over the wire.

A chat model streams when it is built with ``streaming=True`` or when a streaming callback handler is attached,
which LangGraph does for ``stream_mode="messages"``; ``agent.stream``'s default mode (``updates``) does not. So each
mode runs twice: over the JSON path (a model left at its default, ``updates``) and over the streamed path
(``streaming=True`` for ``invoke``/``ainvoke``, ``stream_mode="messages"`` for ``stream``/``astream``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tests.providers.script import PROMPT

Mode = Literal["invoke", "ainvoke", "stream", "astream"]
MODES: tuple[Mode, ...] = ("invoke", "ainvoke", "stream", "astream")


@dataclass(frozen=True)
class Drive:
    mode: Mode
    streamed: bool  # whether the model call goes over the provider's streaming endpoint

    @property
    def id(self) -> str:
        return f"{self.mode}-{'streamed' if self.streamed else 'json'}"

    @property
    def model_streaming(self) -> bool:
        """``streaming=True`` on the model: the way ``invoke``/``ainvoke`` reach the streaming endpoint."""
        return self.streamed and self.mode in ("invoke", "ainvoke")

    @property
    def stream_mode(self) -> str:
        return "messages" if self.streamed else "updates"


DRIVES = tuple(Drive(mode, streamed) for streamed in (False, True) for mode in MODES)


async def run(agent: Any, drive: Drive, config: Mapping[str, Any]) -> None:
    """One agent run in the drive's mode, consumed to the end."""
    if drive.mode == "invoke":
        agent.invoke(PROMPT, config=config)
    elif drive.mode == "ainvoke":
        await agent.ainvoke(PROMPT, config=config)
    elif drive.mode == "stream":
        for _ in agent.stream(PROMPT, config=config, stream_mode=drive.stream_mode):
            pass
    else:
        async for _ in agent.astream(PROMPT, config=config, stream_mode=drive.stream_mode):
            pass
