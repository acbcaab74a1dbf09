"""A scripted chat model for tests and the demo: real LangChain model plumbing, no provider, no network.

>>> from langchain_core.messages import AIMessage
>>> model = ScriptedChatModel(script=[AIMessage(content="hi")])
>>> model.invoke("hello").content
'hi'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import Field


class ScriptedChatModel(BaseChatModel):
    """Answers turn n of a conversation with ``script[n]`` (n = AI messages already in the input).

    Keyed by the conversation rather than by call order, so one instance serves many concurrent runs.
    An exception in the script is raised as that turn's model error.
    """

    script: Sequence[Any] = Field(
        default_factory=list
    )  # AIMessage | BaseException; Any so pydantic keeps them as given
    model_name: str = "gpt-4o-mini"
    provider: str = "openai"
    chunk_size: int = 4  # characters per streamed chunk

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(ls_provider=self.provider, ls_model_name=self.model_name, ls_model_type="chat")

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        return self  # the script already holds the tool calls

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        turn = sum(1 for message in messages if isinstance(message, AIMessage))
        if turn >= len(self.script):
            raise IndexError(f"ScriptedChatModel has {len(self.script)} scripted turns; turn {turn + 1} was asked for")
        entry = self.script[turn]
        if isinstance(entry, BaseException):
            raise entry
        if not isinstance(entry, AIMessage):
            raise TypeError(f"script entries must be AIMessage or an exception, got {type(entry).__name__}")
        metadata: dict[str, Any] = {
            "id": f"scripted-{turn + 1}",
            "model_name": self.model_name,
            "finish_reason": "tool_calls" if entry.tool_calls else "stop",
        }
        metadata.update(entry.response_metadata)
        return entry.model_copy(update={"response_metadata": metadata})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._next(messages)
        text = message.text
        pieces = [text[i : i + self.chunk_size] for i in range(0, len(text), self.chunk_size)] or [""]
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            chunk = AIMessageChunk(
                content=piece,
                id=message.id,
                tool_call_chunks=_tool_call_chunks(message) if last else [],
                usage_metadata=message.usage_metadata if last else None,
                response_metadata=message.response_metadata if last else {},
            )
            if run_manager is not None:
                run_manager.on_llm_new_token(piece, chunk=ChatGenerationChunk(message=chunk))
            yield ChatGenerationChunk(message=chunk)


def _tool_call_chunks(message: AIMessage) -> list[Any]:
    import json

    return [
        {
            "name": call["name"],
            "args": json.dumps(call["args"]),
            "id": call["id"],
            "index": index,
            "type": "tool_call_chunk",
        }
        for index, call in enumerate(message.tool_calls)
    ]


def tool_calls_message(
    *calls: tuple[str, dict[str, Any], str], input_tokens: int = 100, output_tokens: int = 20
) -> AIMessage:
    """An AI turn asking for tool calls ``(name, args, id)``, with usage."""
    return AIMessage(
        content="",
        tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"} for name, args, call_id in calls],
        usage_metadata={
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        },
    )


def answer_message(text: str, input_tokens: int = 100, output_tokens: int = 20) -> AIMessage:
    """A final AI answer, with usage."""
    return AIMessage(
        content=text,
        usage_metadata={
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        },
    )
