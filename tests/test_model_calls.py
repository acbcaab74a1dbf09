"""Model-call facts: plain LLMs, llm_output usage, provider names, finish reasons."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import Generation, LLMResult
from opentelemetry.sdk.trace import TracerProvider

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.testing import ScriptedChatModel
from tests.agents import create_agent
from tests.spans import Spans


class CompletionLLM(BaseLLM):
    """A plain text-completion model that reports usage only in llm_output, OpenAI-style."""

    @property
    def _llm_type(self) -> str:
        return "completion"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(ls_provider="openai", ls_model_name="gpt-3.5-turbo-instruct", ls_model_type="llm")

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        return LLMResult(
            generations=[[Generation(text="4", generation_info={"finish_reason": "stop"})] for _ in prompts],
            llm_output={
                "token_usage": {
                    "prompt_tokens": 7,
                    "completion_tokens": 1,
                    "prompt_tokens_details": {"cached_tokens": 2},
                },
                "model_name": "gpt-3.5-turbo-instruct",
            },
        )


def test_plain_llm_is_a_text_completion_span_with_llm_output_usage(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    assert CompletionLLM().invoke("2+2=", config={"callbacks": [handler]}) == "4"
    span = spans.attrs(spans.one("text_completion gpt-3.5-turbo-instruct"))
    assert span["gen_ai.operation.name"] == "text_completion"
    assert (span["gen_ai.usage.input_tokens"], span["gen_ai.usage.output_tokens"]) == (7, 1)
    assert span["gen_ai.usage.cache_read.input_tokens"] == 2
    assert span["gen_ai.response.finish_reasons"] == ("stop",)
    assert span["gen_ai.response.model"] == "gpt-3.5-turbo-instruct"


@pytest.mark.parametrize(
    ("ls_provider", "otel_provider"),
    [
        ("openai", "openai"),
        ("azure", "azure.ai.openai"),
        ("anthropic", "anthropic"),
        ("bedrock", "aws.bedrock"),
        ("google_genai", "gcp.gen_ai"),
        ("google_vertexai", "gcp.vertex_ai"),
        ("mistralai", "mistral_ai"),
        ("xai", "x_ai"),
        ("ollama", "ollama"),
    ],
)
def test_provider_names_follow_the_conventions(
    provider: TracerProvider, spans: Spans, ls_provider: str, otel_provider: str
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    ScriptedChatModel(script=[AIMessage(content="x")], provider=ls_provider).invoke(
        "x", config={"callbacks": [handler]}
    )
    assert spans.attrs(spans.one("chat gpt-4o-mini"))["gen_ai.provider.name"] == otel_provider


@pytest.mark.parametrize(
    ("key", "raw", "normalised"),
    [
        ("stop_reason", "end_turn", "stop"),  # Anthropic
        ("stop_reason", "tool_use", "tool_calls"),
        ("stop_reason", "max_tokens", "length"),
        ("stop_reason", "refusal", "content_filter"),
        ("stopReason", "guardrail_intervened", "content_filter"),  # Bedrock
        ("finish_reason", "STOP", "stop"),  # Gemini
        ("finish_reason", "SAFETY", "content_filter"),
        ("finish_reason", "length", "length"),  # OpenAI
        ("status", "completed", "stop"),  # OpenAI Responses
        ("done_reason", "length", "length"),  # Ollama
        ("finish_reason", "COMPLETE", "stop"),  # Cohere
        ("finish_reason", "something_new", "something_new"),  # unknown words pass through, lowercased
    ],
)
def test_stop_reasons_are_normalised_and_finish_reasons_kept(
    provider: TracerProvider, spans: Spans, key: str, raw: str, normalised: str
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    message = AIMessage(content="x", response_metadata={"finish_reason": None, key: raw})  # the script sets one
    create_agent(ScriptedChatModel(script=[message]), [], name="solo").invoke(
        {"messages": [HumanMessage("x")]}, config={"callbacks": [handler]}
    )
    assert spans.attrs(spans.one("chat gpt-4o-mini"))["gen_ai.response.finish_reasons"] == (raw,)
    assert spans.attrs(spans.one("turn 1"))["turntrace.stop_reason"] == normalised


def test_an_incomplete_responses_answer_says_why(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    metadata = {"finish_reason": None, "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}
    message = AIMessage(content="x", response_metadata=metadata)
    create_agent(ScriptedChatModel(script=[message]), [], name="solo").invoke(
        {"messages": [HumanMessage("x")]}, config={"callbacks": [handler]}
    )
    assert spans.attrs(spans.one("chat gpt-4o-mini"))["gen_ai.response.finish_reasons"] == ("max_output_tokens",)
    assert spans.attrs(spans.one("turn 1"))["turntrace.stop_reason"] == "length"
