"""langchain-aws's ChatBedrockConverse against a loopback server speaking Bedrock's Converse API: JSON, and the
binary AWS event stream of ConverseStream."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import StatusCode

from langchain_turntrace import TurnTraceCallbackHandler
from tests.agents import create_agent
from tests.providers.bedrock_converse import MODEL, Converse, error_body
from tests.providers.checks import Pricing, check_failed_answer, check_three_turn_run, ours
from tests.providers.modes import DRIVES, Drive, run
from tests.providers.script import AGENT_NAME, PROMPT, TOOLS, WireUsage, three_steps
from tests.providers.wire import OutageAfter, WireServer
from tests.spans import Spans

langchain_aws = pytest.importorskip("langchain_aws", reason="langchain-aws is not installed")
from botocore.config import Config  # noqa: E402  # botocore comes with langchain-aws
from botocore.exceptions import ClientError  # noqa: E402

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


def chat_bedrock(url: str, *, streaming: bool = False, attempts: int = 1) -> Any:
    """ChatBedrockConverse on the loopback server with dummy credentials, botocore making ``attempts`` tries per
    call; ``streaming`` only passed when set, as ``streaming=False`` given explicitly turns streaming off even under
    ``stream_mode="messages"``."""
    options: dict[str, Any] = {"streaming": True} if streaming else {}
    return langchain_aws.ChatBedrockConverse(
        model=MODEL,
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
        **options,
    )


def check_run(spans: Spans, responder: Converse, priced: Any, *, streamed: bool) -> None:
    assert responder.streamed == [streamed] * len(STEPS), responder.streamed
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
        streamed=streamed,
    )


@pytest.mark.parametrize("drive", DRIVES, ids=lambda d: d.id)
async def test_converse(drive: Drive, provider: TracerProvider, spans: Spans) -> None:
    responder = Converse(STEPS)
    with WireServer(responder) as server:
        agent = create_agent(chat_bedrock(server.url, streaming=drive.model_streaming), TOOLS, name=AGENT_NAME)
        await run(agent, drive, {"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
        priced = server.priced
    check_run(spans, responder, priced, streamed=drive.streamed)


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "streamed"])
def test_a_retry_that_succeeds_is_one_call_priced_once(streaming: bool, provider: TracerProvider, spans: Spans) -> None:
    """HTTP 500 on the first request, then botocore's retry succeeds: one chat span per model call, none an ERROR,
    each priced once."""
    responder = Converse(STEPS)
    with WireServer(responder, error_body=error_body) as server:
        server.fail_next(500)
        agent = create_agent(chat_bedrock(server.url, streaming=streaming, attempts=2), TOOLS, name=AGENT_NAME)
        agent.invoke(PROMPT, config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
        assert [r.status for r in server.replies] == [500, 200, 200, 200]
        priced = server.priced
    check_run(spans, responder, priced, streamed=streaming)
    assert all(s.status.status_code is not StatusCode.ERROR for s in ours(spans))


@pytest.mark.parametrize("status", [429, 500])
def test_retries_exhausted_fail_the_call_unpriced(status: int, provider: TracerProvider, spans: Spans) -> None:
    outage = OutageAfter(Converse(STEPS), answered=2, status=status, times=2)
    with WireServer(outage, error_body=error_body) as server:
        outage.server = server
        agent = create_agent(chat_bedrock(server.url, attempts=2), TOOLS, name=AGENT_NAME)
        with pytest.raises(ClientError) as raised:
            agent.invoke(PROMPT, config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
        assert [r.status for r in server.replies] == [200, 200, status, status]
        priced = server.priced
    check_failed_answer(spans, priced, STEPS, model=MODEL, pricing=PRICING, failed=raised.type)
