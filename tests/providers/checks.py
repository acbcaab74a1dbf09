"""What every traced provider run must show, held against the raw responses the loopback server sent.

Token counts must equal what the provider sent; ``turntrace.cost_usd`` must equal what genai-prices computes from
that raw response on its own (its usage extraction, its ``calc_price``, the service tier as price context) to
1e-9 USD; usage sits on model calls only, so summing it over every span counts each token once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import genai_prices
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from langchain_turntrace import attributes as attr
from tests.providers.script import AGENT_NAME, Step, expected_tree
from tests.spans import Spans

COST_TOLERANCE_USD = 1e-9
OURS = "langchain_turntrace"


def no_context(body: Mapping[str, Any]) -> Mapping[str, str] | None:
    return None


@dataclass(frozen=True)
class Pricing:
    """How genai-prices reads this wire format: its provider id, API flavor, and the price context (service tier)
    a response asks for."""

    provider_id: str
    api_flavor: str = "default"
    price_context: Callable[[Mapping[str, Any]], Mapping[str, str] | None] = no_context

    def expected(self, body: Mapping[str, Any], model: str | None = None) -> tuple[genai_prices.Usage, float]:
        extracted = genai_prices.extract_usage(body, provider_id=self.provider_id, api_flavor=self.api_flavor)
        if extracted.model is None:
            assert model is not None, f"genai-prices finds no model in {body!r}; pass the model"
            _, info = genai_prices.data_snapshot.get_snapshot().find_provider_model(model, None, self.provider_id, None)
            price = extracted.calc_price(model=info, price_context=self.price_context(body))
        else:
            price = extracted.calc_price(price_context=self.price_context(body))
        return extracted.usage, float(price.total_price)


def ours(spans: Spans) -> list[ReadableSpan]:
    return [s for s in spans.all() if s.instrumentation_scope is not None and s.instrumentation_scope.name == OURS]


def _reported(usage: genai_prices.Usage, key: str) -> int:
    return int(usage.reported_value(key))


def check_model_call(span: ReadableSpan, body: Mapping[str, Any], pricing: Pricing, model: str | None = None) -> None:
    """One ``chat`` span against the response the server sent for it."""
    a = dict(span.attributes or {})
    usage, cost = pricing.expected(body, model)
    got = {
        "input": a.get(attr.GEN_AI_USAGE_INPUT_TOKENS),
        "output": a.get(attr.GEN_AI_USAGE_OUTPUT_TOKENS),
        "cache_read": a.get(attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 0),
        "cache_write": a.get(attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, 0),
        "cache_write_1h": a.get(attr.USAGE_CACHE_WRITE_1H_INPUT_TOKENS, 0),
        "reasoning": a.get(attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, 0),
    }
    want = {
        "input": _reported(usage, "input_tokens"),
        "output": _reported(usage, "output_tokens"),
        "cache_read": _reported(usage, "cache_read_tokens"),
        "cache_write": _reported(usage, "cache_write_tokens"),
        "cache_write_1h": _reported(usage, "cache_write_1h_tokens"),
        "reasoning": _reported(usage, "output_reasoning_tokens"),
    }
    assert got == want, f"{span.name}: tokens on the span {got} != what the provider sent {want}"
    source, cost_usd = a.get(attr.COST_SOURCE), a.get(attr.COST_USD)
    assert isinstance(source, str), source
    assert source.startswith("genai-prices@"), source
    assert isinstance(cost_usd, float), f"{span.name}: no {attr.COST_USD} ({cost_usd!r})"
    assert abs(cost_usd - cost) <= COST_TOLERANCE_USD, (
        f"{span.name}: cost {cost_usd!r} != genai-prices' {cost!r} for {body!r}"
    )


def check_usage_as_sent(span: ReadableSpan, step: Step) -> None:
    """The span's tokens equal the script's numbers, so a wire format that dropped a field cannot pass both sides."""
    a = dict(span.attributes or {})
    sent = step.usage
    assert (
        a.get(attr.GEN_AI_USAGE_INPUT_TOKENS),
        a.get(attr.GEN_AI_USAGE_OUTPUT_TOKENS),
        a.get(attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 0),
        a.get(attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, 0),
        a.get(attr.USAGE_CACHE_WRITE_1H_INPUT_TOKENS, 0),
        a.get(attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, 0),
    ) == (
        sent.input_tokens,
        sent.output_tokens,
        sent.cache_read,
        sent.cache_write,
        sent.cache_write_1h,
        sent.reasoning,
    ), f"{span.name}: {a} vs the script's {sent}"


def check_counted_once(spans: Spans) -> None:
    """Usage and cost are leaf facts: summed over every span of ours they equal the agent root's totals."""
    mine = ours(spans)
    root = next(s for s in mine if dict(s.attributes or {}).get(attr.GEN_AI_OPERATION_NAME) == "invoke_agent")
    r = dict(root.attributes or {})
    summed_in = sum(_number(s, attr.GEN_AI_USAGE_INPUT_TOKENS) for s in mine)
    summed_out = sum(_number(s, attr.GEN_AI_USAGE_OUTPUT_TOKENS) for s in mine)
    summed_cost = sum(_number(s, attr.COST_USD) for s in mine)
    assert (summed_in, summed_out) == (r[attr.TOTAL_INPUT_TOKENS], r[attr.TOTAL_OUTPUT_TOKENS])
    assert abs(summed_cost - _number(root, attr.TOTAL_COST_USD)) <= COST_TOLERANCE_USD


def _number(span: ReadableSpan, key: str) -> float:
    """A numeric attribute of the span, 0 when absent."""
    value = (span.attributes or {}).get(key, 0)
    assert isinstance(value, (int, float)), (span.name, key, value)
    return value


def check_three_turn_run(
    spans: Spans,
    priced: Sequence[Mapping[str, Any]],
    steps: Sequence[Step],
    *,
    model: str,
    pricing: Pricing,
    finish_words: Sequence[str],
    response_ids: Sequence[str | None],
    response_model: str | None,
    streamed: bool,
) -> None:
    """The whole run: tree, every model call against its raw response, stop reasons, totals.

    ``finish_words``: the provider's own finish reason per step, as ``gen_ai.response.finish_reasons`` must keep
    it; ``response_ids``: the id the client passes on per step (None where it passes none on)."""
    mine = ours(spans)
    roots = [s for s in spans.roots() if s.instrumentation_scope and s.instrumentation_scope.name == OURS]
    assert len(roots) == 1, [s.name for s in roots]
    tree = "\n".join(line for line in _our_tree(spans, roots[0]))
    assert tree == expected_tree(model), tree
    assert dict(roots[0].attributes or {}).get(attr.GEN_AI_AGENT_NAME) == AGENT_NAME
    chats = sorted((s for s in mine if s.name.startswith("chat ")), key=lambda s: s.start_time or 0)
    assert len(chats) == len(priced) == len(steps), (len(chats), len(priced))
    for chat, body, step, words, response_id in zip(chats, priced, steps, finish_words, response_ids, strict=True):
        check_model_call(chat, body, pricing, model)
        check_usage_as_sent(chat, step)
        a = dict(chat.attributes or {})
        finish = a.get(attr.GEN_AI_RESPONSE_FINISH_REASONS, ())
        assert isinstance(finish, Sequence), (chat.name, a)
        assert tuple(finish) == (words,), (chat.name, a)
        assert a.get(attr.GEN_AI_RESPONSE_ID) == response_id, (chat.name, a.get(attr.GEN_AI_RESPONSE_ID))
        if response_model is not None:
            assert a.get(attr.GEN_AI_RESPONSE_MODEL) == response_model, a.get(attr.GEN_AI_RESPONSE_MODEL)
        first_chunk = a.get(attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
        if streamed:
            latency_s = ((chat.end_time or 0) - (chat.start_time or 0)) / 1e9
            assert isinstance(first_chunk, float), f"{chat.name}: a streamed call has no time to first chunk"
            assert 0 <= first_chunk <= latency_s, (first_chunk, latency_s)
        else:
            assert first_chunk is None, first_chunk
    turns = sorted((s for s in mine if s.name.startswith("turn ")), key=lambda s: s.start_time or 0)
    stops = [dict(t.attributes or {}).get(attr.STOP_REASON) for t in turns]
    assert stops == ["tool_calls" if step.calls_tools else "stop" for step in steps], stops
    check_counted_once(spans)


def _our_tree(spans: Spans, root: ReadableSpan) -> list[str]:
    """Our spans only (a provider SDK's or an HTTP client's own spans nest under ours), siblings by name."""
    lines: list[str] = []

    def walk(span: ReadableSpan, depth: int) -> None:
        lines.append("  " * depth + span.name)
        children = [c for c in spans.children(span) if c.instrumentation_scope and c.instrumentation_scope.name == OURS]
        for child in sorted(children, key=lambda s: s.name):
            walk(child, depth + 1)

    walk(root, 0)
    return lines


def check_failed_answer(
    spans: Spans,
    priced: Sequence[Mapping[str, Any]],
    steps: Sequence[Step],
    *,
    model: str,
    pricing: Pricing,
    failed: type[BaseException],
) -> None:
    """The last step's request failed on every try: the tree still has its chat span, an ERROR with ``error.type``
    and no usage or cost; its turn and the run are ERRORs; the totals hold the answered calls, once."""
    roots = [s for s in spans.roots() if s.instrumentation_scope and s.instrumentation_scope.name == OURS]
    assert len(roots) == 1, [s.name for s in roots]
    assert "\n".join(_our_tree(spans, roots[0])) == expected_tree(model)
    error_type = f"{failed.__module__}.{failed.__qualname__}"
    chats = sorted((s for s in ours(spans) if s.name.startswith("chat ")), key=lambda s: s.start_time or 0)
    answered = len(steps) - 1
    assert len(priced) == answered, len(priced)
    for chat, body in zip(chats[:answered], priced, strict=True):
        check_model_call(chat, body, pricing, model)
        assert chat.status.status_code is not StatusCode.ERROR, chat.name
    last = dict(chats[answered].attributes or {})
    assert chats[answered].status.status_code is StatusCode.ERROR
    assert last.get(attr.ERROR_TYPE) == error_type, last
    assert not {k for k in last if k.startswith("gen_ai.usage.") or k == attr.COST_USD}, last
    turns = sorted((s for s in ours(spans) if s.name.startswith("turn ")), key=lambda s: s.start_time or 0)
    assert turns[answered].status.status_code is StatusCode.ERROR
    assert (_number(turns[answered], attr.TOTAL_INPUT_TOKENS), _number(turns[answered], attr.TOTAL_COST_USD)) == (0, 0)
    assert roots[0].status.status_code is StatusCode.ERROR
    assert dict(roots[0].attributes or {}).get(attr.ERROR_TYPE) == error_type
    assert _number(roots[0], attr.TOTAL_INPUT_TOKENS) == sum(s.usage.input_tokens for s in steps[:answered])
    assert _number(roots[0], attr.TOTAL_OUTPUT_TOKENS) == sum(s.usage.output_tokens for s in steps[:answered])
    expected_cost = sum(pricing.expected(body, model)[1] for body in priced)
    assert abs(_number(roots[0], attr.TOTAL_COST_USD) - expected_cost) <= COST_TOLERANCE_USD
    check_counted_once(spans)
