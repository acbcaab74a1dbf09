"""Before sending anything: is LangSmith configured and reachable? One line saying what to set when it is not, in a
bounded time, without the client's multi-line connection logs."""

from __future__ import annotations

import logging
from typing import Final

from langsmith import Client
from langsmith.utils import LangSmithConnectionError
from urllib3.util.retry import Retry

from langchain_turntrace.langsmith_backend import _settings as settings

PROBE_TIMEOUT_S: Final = 2.0


def connection_problem(timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """None when an API key is set and LangSmith's ``/info`` answers within ``timeout_s``; else what to fix."""
    if settings.runs_endpoints():
        return None  # several destinations, each with its key (LANGSMITH_RUNS_ENDPOINTS): the client's to check
    key = settings.api_key()
    if key is None:
        return (
            "LANGSMITH_API_KEY is not set: set it to a LangSmith API key (and LANGSMITH_ENDPOINT for a self-hosted "
            "or non-US LangSmith)"
        )
    url = settings.endpoint() or settings.DEFAULT_ENDPOINT
    millis = max(int(timeout_s * 1000), 1)
    quiet = logging.getLogger("langsmith")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # the client logs each failed request over several lines: we say it in one
    try:
        client = Client(
            api_url=url,
            api_key=key,
            timeout_ms=(millis, millis),
            retry_config=Retry(total=0),  # one attempt: a refused connection says so at once
            auto_batch_tracing=False,
        )
        client.request_with_retries("GET", "/info", stop_after_attempt=1)  # pyright: ignore[reportUnknownMemberType]  # langsmith types request_kwargs as a bare Mapping
    except LangSmithConnectionError:
        return f"cannot reach LangSmith at {url}: check LANGSMITH_ENDPOINT and the network"
    except Exception as error:  # noqa: BLE001  # it answered, but not as LangSmith does
        problem = type(error).__name__.removeprefix("LangSmith")
        return f"{url} answered /info with {problem}: is LANGSMITH_ENDPOINT a LangSmith API URL?"
    finally:
        quiet.setLevel(level)
    return None
