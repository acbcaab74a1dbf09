"""Cost: genai-prices figures, cache tokens, unknown models, user overrides (mapping, TOML, JSON, env)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from pathlib import Path

import genai_prices
import pytest
from langchain_core.messages import AIMessage
from opentelemetry.sdk.trace import TracerProvider

from langchain_turntrace import ConfigError, TurnTraceCallbackHandler
from langchain_turntrace.cli import main
from langchain_turntrace.testing import ScriptedChatModel
from tests.spans import Spans


def call(provider: TracerProvider, model: ScriptedChatModel, **handler_args: object) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider, **handler_args)  # type: ignore[arg-type]
    model.invoke("hello", config={"callbacks": [handler]})


def usage_message(**usage: object) -> AIMessage:
    return AIMessage(content="ok", usage_metadata=usage)  # type: ignore[arg-type]


def test_known_model_costs_what_genai_prices_says(provider: TracerProvider, spans: Spans) -> None:
    message = usage_message(input_tokens=12_345, output_tokens=678, total_tokens=13_023)
    call(provider, ScriptedChatModel(script=[message], model_name="gpt-4o", provider="openai"))
    chat = spans.attrs(spans.one("chat gpt-4o"))
    expected = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=12_345, output_tokens=678), "gpt-4o", provider_id="openai"
    ).total_price
    assert chat["turntrace.cost_usd"] == pytest.approx(float(expected), rel=1e-12)
    assert chat["turntrace.cost_source"] == f"genai-prices@{genai_prices.__version__}"


def test_cache_tokens_are_priced_at_their_own_rates_once(provider: TracerProvider, spans: Spans) -> None:
    message = usage_message(
        input_tokens=10_000,  # includes the cached tokens, as OTel and LangChain count them
        output_tokens=500,
        total_tokens=10_500,
        input_token_details={"cache_read": 6_000, "cache_creation": 2_000},
        output_token_details={"reasoning": 300},
    )
    call(provider, ScriptedChatModel(script=[message], model_name="claude-sonnet-4-5", provider="anthropic"))
    chat = spans.attrs(spans.one("chat claude-sonnet-4-5"))
    assert chat["gen_ai.usage.input_tokens"] == 10_000
    assert chat["gen_ai.usage.cache_read.input_tokens"] == 6_000
    assert chat["gen_ai.usage.cache_write.input_tokens"] == 2_000
    assert chat["gen_ai.usage.reasoning.output_tokens"] == 300
    expected = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=10_000, output_tokens=500, cache_read_tokens=6_000, cache_write_tokens=2_000),
        "claude-sonnet-4-5",
        provider_id="anthropic",
    ).total_price
    assert chat["turntrace.cost_usd"] == pytest.approx(float(expected), rel=1e-12)
    no_cache = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=10_000, output_tokens=500), "claude-sonnet-4-5", provider_id="anthropic"
    ).total_price
    assert chat["turntrace.cost_usd"] < float(no_cache)  # cache reads are cheaper: they were not counted twice


def test_unknown_model_records_tokens_without_cost_and_warns_once(
    provider: TracerProvider, spans: Spans, caplog: pytest.LogCaptureFixture
) -> None:
    message = usage_message(input_tokens=100, output_tokens=10, total_tokens=110)
    model = ScriptedChatModel(script=[message], model_name="acme-inhouse-7b", provider="acme")
    with caplog.at_level(logging.WARNING, logger="langchain_turntrace"):
        call(provider, model)
        call(provider, model)
    for chat in spans.named("chat acme-inhouse-7b"):
        attributes = spans.attrs(chat)
        assert attributes["gen_ai.usage.input_tokens"] == 100
        assert attributes["turntrace.cost_source"] == "unpriced"
        assert "turntrace.cost_usd" not in attributes
    warnings = [r for r in caplog.records if "acme-inhouse-7b" in r.getMessage()]
    assert len(warnings) == 1
    assert "TURNTRACE_PRICES" in warnings[0].getMessage()


def test_missing_usage_says_so(provider: TracerProvider, spans: Spans) -> None:
    call(provider, ScriptedChatModel(script=[AIMessage(content="no usage reported")]))
    chat = spans.attrs(spans.one("chat gpt-4o-mini"))
    assert chat["turntrace.cost_source"] == "no_usage"
    assert "turntrace.cost_usd" not in chat
    assert "gen_ai.usage.input_tokens" not in chat


OVERRIDE = {"acme-inhouse-7b": {"input_per_mtok": 1.0, "output_per_mtok": 2.0, "cache_read_per_mtok": 0.1}}


def expected_override_cost() -> float:
    return (4_000 * 1.0 + 6_000 * 0.1 + 1_000 * 2.0) / 1e6


def cached_call_message() -> AIMessage:
    return usage_message(
        input_tokens=10_000, output_tokens=1_000, total_tokens=11_000, input_token_details={"cache_read": 6_000}
    )


@pytest.mark.parametrize("form", ["mapping", "json", "toml", "env"])
def test_price_override(
    provider: TracerProvider, spans: Spans, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    json_file = tmp_path / "prices.json"
    json_file.write_text(json.dumps(OVERRIDE))
    toml_file = tmp_path / "prices.toml"
    toml_file.write_text(
        '["acme-inhouse-7b"]\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\ncache_read_per_mtok = 0.1\n'
    )
    prices: object = {"mapping": OVERRIDE, "json": str(json_file), "toml": toml_file, "env": None}[form]
    if form == "env":
        monkeypatch.setenv("TURNTRACE_PRICES", str(json_file))
    model = ScriptedChatModel(script=[cached_call_message()], model_name="acme-inhouse-7b", provider="acme")
    call(provider, model, prices=prices)
    chat = spans.attrs(spans.one("chat acme-inhouse-7b"))
    assert chat["turntrace.cost_source"] == "override"
    assert chat["turntrace.cost_usd"] == pytest.approx(expected_override_cost(), rel=1e-12)


def test_override_beats_the_price_table(provider: TracerProvider, spans: Spans) -> None:
    negotiated = {"gpt-4o": {"input_per_mtok": 1.0, "output_per_mtok": 4.0}}
    message = usage_message(input_tokens=1_000_000, output_tokens=1_000_000, total_tokens=2_000_000)
    call(provider, ScriptedChatModel(script=[message], model_name="gpt-4o"), prices=negotiated)
    chat = spans.attrs(spans.one("chat gpt-4o"))
    assert (chat["turntrace.cost_source"], chat["turntrace.cost_usd"]) == ("override", pytest.approx(5.0))


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ({"m": {"input_per_mtok": 1.0}}, "missing ['output_per_mtok']"),
        ({"m": {"input_per_mtok": -1.0, "output_per_mtok": 1.0}}, "non-negative number"),
        ({"m": {"input_per_mtok": "1", "output_per_mtok": 1.0}}, "non-negative number"),
        ({"m": {"input_per_mtok": 1.0, "output_per_mtok": 1.0, "input_per_token": 1.0}}, "unknown keys"),
        ({"m": 3}, "must be a table"),
        ("/nonexistent/prices.toml", "cannot read price file"),
    ],
)
def test_bad_price_overrides_fail_at_construction(prices: object, message: str) -> None:
    with pytest.raises(ConfigError, match=r"prices=.*") as raised:
        TurnTraceCallbackHandler(prices=prices)  # type: ignore[arg-type]
    assert message in str(raised.value)


def test_bad_price_file_from_env_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "prices.json"
    bad.write_text("{not json")
    monkeypatch.setenv("TURNTRACE_PRICES", str(bad))
    with pytest.raises(ConfigError, match=r"TURNTRACE_PRICES.*not valid JSON"):
        TurnTraceCallbackHandler()


def test_a_provider_genai_prices_knows_by_its_own_id_is_priced_as_turntrace_prices_says(
    provider: TracerProvider, spans: Spans
) -> None:
    """A LangChain provider with no OTel name of ours (``together``) passes through as genai-prices' provider id:
    the handler and ``turntrace prices --provider together`` find the same entry."""
    model_name = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    message = usage_message(input_tokens=20_000, output_tokens=1_000, total_tokens=21_000)
    call(provider, ScriptedChatModel(script=[message], model_name=model_name, provider="together"))
    chat = spans.attrs(spans.one(f"chat {model_name}"))
    expected = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=20_000, output_tokens=1_000), model_name, provider_id="together"
    ).total_price
    assert chat["turntrace.cost_source"] == f"genai-prices@{genai_prices.__version__}"
    assert chat["turntrace.cost_usd"] == pytest.approx(float(expected), rel=1e-12)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--json", "prices", model_name, "--provider", "together"]) == 0
    assert json.loads(out.getvalue())["matched"].startswith("together / ")


def test_an_override_may_price_one_hour_cache_writes_apart(provider: TracerProvider, spans: Spans) -> None:
    rates = {
        "house-claude": {
            "input_per_mtok": 2.0,
            "output_per_mtok": 10.0,
            "cache_write_per_mtok": 2.5,
            "cache_write_1h_per_mtok": 4.0,
        }
    }
    message = usage_message(
        input_tokens=10_000,
        output_tokens=100,
        total_tokens=10_100,
        input_token_details={"ephemeral_5m_input_tokens": 3_000, "ephemeral_1h_input_tokens": 1_000},
    )
    call(provider, ScriptedChatModel(script=[message], model_name="house-claude", provider="anthropic"), prices=rates)
    chat = spans.attrs(spans.one("chat house-claude"))
    assert chat["gen_ai.usage.cache_write.input_tokens"] == 4_000
    assert chat["turntrace.usage.cache_write_1h.input_tokens"] == 1_000
    expected = (6_000 * 2.0 + 3_000 * 2.5 + 1_000 * 4.0 + 100 * 10.0) / 1e6
    assert chat["turntrace.cost_usd"] == pytest.approx(expected, rel=1e-12)
    assert chat["turntrace.cost_source"] == "override"


@pytest.mark.parametrize("model_name", ["sonar", "sonar-deep-research"])
def test_a_fee_per_request_and_reasoning_at_its_own_rate_are_priced_as_genai_prices_does(
    provider: TracerProvider, spans: Spans, model_name: str
) -> None:
    """Perplexity's sonar charges per request on top of tokens; sonar-deep-research prices reasoning tokens apart
    from the rest of the output. Neither is a rate per token, so neither may be folded into one."""
    message = usage_message(
        input_tokens=3_000, output_tokens=900, total_tokens=3_900, output_token_details={"reasoning": 600}
    )
    call(provider, ScriptedChatModel(script=[message], model_name=model_name, provider="perplexity"))
    chat = spans.attrs(spans.one(f"chat {model_name}"))
    usage = genai_prices.Usage(input_tokens=3_000, output_tokens=900, output_reasoning_tokens=600)
    expected = genai_prices.calc_price(usage, model_name, provider_id="perplexity").total_price
    assert chat["turntrace.cost_usd"] == pytest.approx(float(expected), rel=1e-12)
