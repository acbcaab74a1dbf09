"""langchain-aws's ChatBedrockConverse against a loopback server speaking Bedrock's Converse API: JSON, and the
binary AWS event stream of ConverseStream."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from langchain_turntrace import TurnTraceCallbackHandler
from tests.agents import create_agent
from tests.providers.bedrock_converse import MODEL, Converse
from tests.providers.checks import Pricing, check_three_turn_run
from tests.providers.modes import DRIVES, Drive, run
from tests.providers.script import AGENT_NAME, TOOLS, WireUsage, three_steps
from tests.providers.wire import WireServer
from tests.spans import Spans

langchain_aws = pytest.importorskip("langchain_aws", reason="langchain-aws is not installed")

PRICING = Pricing("aws", "default")

# Five-minute and one-hour cache writes (Converse's cacheDetails) and cache reads; the client passes all of them on
# from JSON and from the event stream alike.
STEPS = three_steps(
    [
        WireUsage(input_tokens=12_000, output_tokens=80, cache_write_5m=8_000, cache_write_1h=2_000),
        WireUsage(input_tokens=21_500, output_tokens=60, cache_read=10_000, cache_write_1h=1_500),
        WireUsage(input_tokens=16_000, output_tokens=120, cache_read=12_000, cache_write_5m=1_500),
    ]
)


def chat_bedrock(url: str, *, streaming: bool = False) -> Any:
    """ChatBedrockConverse on the loopback server with dummy credentials; ``streaming`` only passed when set, as
    ``streaming=False`` given explicitly turns streaming off even under ``stream_mode="messages"``."""
    options: dict[str, Any] = {"streaming": True} if streaming else {}
    return langchain_aws.ChatBedrockConverse(
        model=MODEL,
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        **options,
    )


@pytest.mark.parametrize("drive", DRIVES, ids=lambda d: d.id)
async def test_converse(drive: Drive, provider: TracerProvider, spans: Spans) -> None:
    responder = Converse(STEPS)
    with WireServer(responder) as server:
        agent = create_agent(chat_bedrock(server.url, streaming=drive.model_streaming), TOOLS, name=AGENT_NAME)
        await run(agent, drive, {"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
        priced = server.priced
    assert responder.streamed == [drive.streamed] * len(STEPS), responder.streamed
    check_three_turn_run(
        spans,
        priced,
        STEPS,
        model=MODEL,
        pricing=PRICING,
        finish_words=[responder.stop_reason(s) for s in STEPS],
        # Converse has no response id; botocore passes the call's x-amzn-requestid on (ResponseMetadata.RequestId),
        # from JSON and streamed calls alike, and that names the call.
        response_ids=[responder.request_id(s) for s in STEPS],
        response_model=None,  # Converse names no model in its response
        streamed=drive.streamed,
    )
