"""OpenAI's Chat Completions wire format (``POST /v1/chat/completions``), as JSON or, when the request says
``"stream": true``, as server-sent ``chat.completion.chunk`` events ending ``data: [DONE]``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tests.providers.script import Step, step_for
from tests.providers.wire import WireReply, WireRequest, sse

MODEL = "gpt-4o-mini"
CREATED = 1_765_000_000
FINGERPRINT = "fp_loopback"


def error_body(status: int) -> Mapping[str, Any]:
    """OpenAI's error document for an HTTP error status."""
    kind = {429: ("rate_limit_exceeded", "requests"), 500: ("server_error", None)}.get(status, ("api_error", None))
    return {"error": {"message": f"loopback HTTP {status}", "type": kind[0], "param": None, "code": kind[1]}}


class ChatCompletions:
    """Answers each request with the script's step, counting ``role: tool`` messages to know which; streams when
    the request asks to, with the usage chunk only when ``stream_options.include_usage`` asks for it (as OpenAI
    does)."""

    def __init__(
        self,
        steps: Sequence[Step],
        *,
        model: str = MODEL,
        service_tier: str | None = None,
        chunk_delay_s: float = 0.0,
    ) -> None:
        self.steps = steps
        self.model = model
        self.service_tier = service_tier
        self.chunk_delay_s = chunk_delay_s

    def __call__(self, request: WireRequest) -> WireReply:
        body: Mapping[str, Any] = request.body or {}
        assert request.path == "/v1/chat/completions", request.path
        messages: list[Mapping[str, Any]] = body.get("messages", [])
        tool_results = sum(1 for m in messages if m.get("role") == "tool")
        step = step_for(self.steps, tool_results)
        if not body.get("stream"):
            return WireReply.json(self.document(step))
        options: Mapping[str, Any] = body.get("stream_options") or {}
        include_usage = bool(options.get("include_usage"))
        return WireReply(
            200,
            sse((None, chunk) for chunk in [*self.chunks(step, include_usage=include_usage), "[DONE]"]),
            content_type="text/event-stream",
            priced=self.document(step) if include_usage else None,
            chunk_delay_s=self.chunk_delay_s,
        )

    def response_id(self, step: Step) -> str:
        return f"chatcmpl-loopback-{step.number}"

    def finish_reason(self, step: Step) -> str:
        return "tool_calls" if step.calls_tools else "stop"

    def usage(self, step: Step) -> dict[str, Any]:
        u = step.usage
        return {
            "prompt_tokens": u.input_tokens,
            "completion_tokens": u.output_tokens,
            "total_tokens": u.input_tokens + u.output_tokens,
            "prompt_tokens_details": {"cached_tokens": u.cache_read, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": u.reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def document(self, step: Step) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": step.text, "refusal": None}
        if step.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
                for c in step.tool_calls
            ]
        return {
            **self._head(step, "chat.completion"),
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason(step), "logprobs": None}],
            "usage": self.usage(step),
        }

    def chunks(self, step: Step, *, include_usage: bool) -> list[dict[str, Any]]:
        """The step as OpenAI streams it: the role, each tool call's name then its arguments in two pieces (or the
        text in pieces), the finish reason, then (when asked for) a last chunk with no choices and the usage."""
        deltas: list[dict[str, Any]] = [
            {"role": "assistant", "content": None if step.tool_calls else "", "refusal": None}
        ]
        for index, call in enumerate(step.tool_calls):
            head = {"index": index, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
            deltas.append({"tool_calls": [head]})
            half = len(call.arguments_json) // 2
            for piece in (call.arguments_json[:half], call.arguments_json[half:]):
                deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        if step.text:
            words = step.text.split(" ")
            deltas.extend({"content": w if i == 0 else f" {w}"} for i, w in enumerate(words))
        chunks = [self._chunk(step, {"index": 0, "delta": d, "logprobs": None, "finish_reason": None}) for d in deltas]
        chunks.append(
            self._chunk(step, {"index": 0, "delta": {}, "logprobs": None, "finish_reason": self.finish_reason(step)})
        )
        if include_usage:
            chunks.append({**self._head(step, "chat.completion.chunk"), "choices": [], "usage": self.usage(step)})
        else:
            for chunk in chunks:
                del chunk["usage"]
        return chunks

    def _chunk(self, step: Step, choice: dict[str, Any]) -> dict[str, Any]:
        return {**self._head(step, "chat.completion.chunk"), "choices": [choice], "usage": None}

    def _head(self, step: Step, kind: str) -> dict[str, Any]:
        return {
            "id": self.response_id(step),
            "object": kind,
            "created": CREATED,
            "model": self.model,
            "service_tier": self.service_tier or "default",
            "system_fingerprint": FINGERPRINT,
        }
