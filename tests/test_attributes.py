"""Attribute names: semconv constants where shipped; the names we define ourselves pinned here."""

from __future__ import annotations

import importlib

from langchain_turntrace import attributes as attr


def test_names_missing_from_our_semconv_floor_are_pinned() -> None:
    assert attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS == "gen_ai.usage.cache_write.input_tokens"
    assert attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS == "gen_ai.usage.reasoning.output_tokens"
    assert attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK == "gen_ai.response.time_to_first_chunk"
    # the proposed GenAI tool-provenance link: its attribute and the one value we write
    assert attr.GEN_AI_ATTRIBUTION_LINK_TYPE == "gen_ai.attribution.link_type"
    assert attr.CAUSED_BY_GENERATION == "CAUSED_BY_GENERATION"


def test_our_names_agree_with_the_installed_semconv_where_it_has_them() -> None:
    gen_ai = importlib.import_module("opentelemetry.semconv._incubating.attributes.gen_ai_attributes")
    for name in ("GEN_AI_USAGE_REASONING_OUTPUT_TOKENS", "GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK"):
        if hasattr(gen_ai, name):
            assert getattr(gen_ai, name) == getattr(attr, name)


def test_standard_names() -> None:
    assert (attr.SESSION_ID, attr.USER_ID, attr.ERROR_TYPE) == ("session.id", "user.id", "error.type")
    assert attr.GEN_AI_PROVIDER_NAME == "gen_ai.provider.name"
    assert attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS == "gen_ai.usage.cache_read.input_tokens"


def test_our_names_live_under_turntrace() -> None:
    ours = [
        value
        for name, value in vars(attr).items()
        if name.isupper()
        and name not in ("CAUSED_BY_GENERATION", "RESUMES", "HUMAN_WAIT")  # values of attributes, not names
        and not value.startswith(("gen_ai.", "session.", "user.", "error."))
        and not value.startswith("langsmith.")  # LangSmith's own OTel names for a run's metadata and tags
    ]
    assert ours
    assert all(value.startswith("turntrace.") for value in ours)
