"""Gemini's ``generateContent`` wire format (``POST /v1beta/models/{model}:generateContent``; ``/v1/`` from newer
SDKs), as JSON, and its stream (``:streamGenerateContent?alt=sse``): one ``GenerateContentResponse`` per server-sent
event.

Gemini's ``usageMetadata`` counts the prompt with its cached part (``cachedContentTokenCount`` is a subset of
``promptTokenCount``) and the answer without its thinking (``thoughtsTokenCount`` is apart from
``candidatesTokenCount``); a stream repeats the running counts on every chunk, the whole of them on the last. Every
step finishes ``STOP``, tool calls or not: Gemini has no finish reason of its own for a turn that calls tools."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any

from tests.providers.script import Step, WireUsage, step_for
from tests.providers.wire import WireReply, WireRequest, sse

MODEL = "gemini-2.5-flash"
# google-genai 1.x asks the Developer API for v1beta; later releases for v1. Same wire format either way.
_PATH = re.compile(r"/(?:v1|v1beta)/models/(?P<model>[^/:]+):(?P<method>\w+)")
THOUGHT_SIGNATURE = base64.b64encode(b"loopback-thought-signature").decode()


class GenerateContent:
    """Answers each request with the script's step, counting ``functionResponse`` parts to know which; JSON or a
    stream as the request's path asks. ``finish``: the finish reason of every step (``STOP``, as Gemini says it,
    unless a test asks for ``MAX_TOKENS`` or ``SAFETY``). ``call_ids``: give each ``functionCall`` the script's id,
    as Gemini 3 does (2.5 sends none and the client makes one up)."""

    def __init__(
        self,
        steps: Sequence[Step],
        *,
        model: str = MODEL,
        model_version: str | None = None,
        finish: str = "STOP",
        call_ids: bool = False,
        chunk_delay_s: float = 0.0,
    ) -> None:
        self.steps = steps
        self.model = model
        self.model_version = model_version or model
        self.finish = finish
        self.call_ids = call_ids
        self.chunk_delay_s = chunk_delay_s

    def __call__(self, request: WireRequest) -> WireReply:
        body: dict[str, Any] = request.body or {}
        contents: list[dict[str, Any]] = body.get("contents", [])
        tool_results = sum(1 for content in contents for part in content.get("parts", []) if "functionResponse" in part)
        step = step_for(self.steps, tool_results)
        document = self.document(step)
        method = wire_method(request, self.model)
        if method == "generateContent":
            return WireReply.json(document)
        assert method == "streamGenerateContent", request.path
        assert request.query.get("alt") == ["sse"], request.query
        return WireReply(
            200,
            sse((None, chunk) for chunk in self.chunks(step)),
            content_type="text/event-stream",
            priced=document,
            chunk_delay_s=self.chunk_delay_s,
        )

    def response_id(self, step: Step) -> str:
        return f"loopback-gemini-{step.number}"

    def finish_reason(self, step: Step) -> str:
        return self.finish

    def parts(self, step: Step) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        if step.text is not None:
            parts.append({"text": step.text})
        for index, call in enumerate(step.tool_calls):
            function_call: dict[str, Any] = {"name": call.name, "args": dict(call.args)}
            if self.call_ids:
                function_call["id"] = call.id
            part: dict[str, Any] = {"functionCall": function_call}
            if index == 0:
                # A thinking model signs its first function call; the client must hand it back next turn.
                part["thoughtSignature"] = THOUGHT_SIGNATURE
            parts.append(part)
        return parts

    def candidate(self, step: Step, parts: list[dict[str, Any]], *, last: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"index": 0}
        if self.finish in ("SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST"):
            # A blocked answer has no content, only the ratings that blocked it.
            if last:
                candidate["safetyRatings"] = [
                    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
                ]
        else:
            candidate["content"] = {"role": "model", "parts": parts}
        if last:
            candidate["finishReason"] = self.finish_reason(step)
        return candidate

    def document(self, step: Step) -> dict[str, Any]:
        return self._response(step, [self.candidate(step, self.parts(step), last=True)], usage_metadata(step.usage))

    def chunks(self, step: Step) -> list[dict[str, Any]]:
        """The stream: the first part (or the first half of the text) alone with the prompt's count, then the rest
        with the finish reason and the whole usage."""
        parts = self.parts(step)
        if step.text is not None and not step.tool_calls:
            half = len(step.text) // 2
            head, tail = [{"text": step.text[:half]}], [{"text": step.text[half:]}]
        else:
            head, tail = parts[:1], parts[1:]
        u = step.usage
        running = WireUsage(u.input_tokens, min(u.output_tokens, u.reasoning + 1), u.cache_read, reasoning=u.reasoning)
        return [
            self._response(step, [self.candidate(step, head, last=False)], usage_metadata(running)),
            self._response(step, [self.candidate(step, tail, last=True)], usage_metadata(u)),
        ]

    def _response(self, step: Step, candidates: list[dict[str, Any]], usage: dict[str, Any]) -> dict[str, Any]:
        return {
            "candidates": candidates,
            "usageMetadata": usage,
            "modelVersion": self.model_version,
            "responseId": self.response_id(step),
        }


def usage_metadata(u: WireUsage) -> dict[str, Any]:
    """``usageMetadata`` as Gemini sends it: the prompt count includes the cached tokens, the candidates count
    excludes the thinking, the total adds the two."""
    usage: dict[str, Any] = {
        "promptTokenCount": u.input_tokens,
        "candidatesTokenCount": u.output_tokens - u.reasoning,
        "totalTokenCount": u.input_tokens + u.output_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": u.input_tokens}],
    }
    if u.cache_read:
        usage["cachedContentTokenCount"] = u.cache_read
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": u.cache_read}]
    if u.reasoning:
        usage["thoughtsTokenCount"] = u.reasoning
    return usage


def wire_method(request: WireRequest, model: str) -> str:
    """``generateContent`` or ``streamGenerateContent``: what the client asked the model for."""
    matched = _PATH.fullmatch(request.path)
    assert matched is not None, f"not a Gemini model path: {request.path}"
    assert matched["model"] == model, (matched["model"], model)
    return matched["method"]
