"""No credential reaches a span, a log line or the local store: model parameters, headers, SecretStr, tool inputs."""

from __future__ import annotations

import hashlib
import json
import logging
import types
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.tools import tool
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import Field, SecretStr

from langchain_turntrace import TurnTraceCallbackHandler, configure
from langchain_turntrace.handler._run_identity import run_attributes
from langchain_turntrace.redaction import SECRET_KEY, redacted
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from tests.agents import create_agent, get_time, get_weather, three_turn_script
from tests.fresh_python import run_python

# Recognisable fake credentials; no two share a run of 9 characters with each other or with anything we emit.
API_KEY = "sk-FAKEapiKEYqZrXwVuTsRmPoN"
OPENAI_KEY = "sk-FAKEopenaiKwYxZvUtSrQpMn"
HEADER_KEY = "sk-FAKEheaderJkLmNoPqRsTuVw"
METADATA_KEY = "sk-FAKEmetaDataHgJkWqZxYvUt"
TOOL_KEY = "sk-FAKEtoolArgGhJkLmNpQrStUv"
SECRETS = (API_KEY, OPENAI_KEY, HEADER_KEY, METADATA_KEY, TOOL_KEY)
WINDOW = 9  # no substring longer than 8 characters of a secret may appear
SESSION = "session-for-secrets-test"  # a value that must reach the store: proves the scan reads real data


class ProviderLikeChatModel(ScriptedChatModel):
    """Carries credentials the way provider integrations do (a ``SecretStr`` key, a plain legacy key, auth
    headers) and, like some of them, passes them on in its identifying and invocation params."""

    api_key: SecretStr = SecretStr(API_KEY)
    openai_api_key: str = OPENAI_KEY
    default_headers: dict[str, str] = Field(default_factory=lambda: {"Authorization": f"Bearer {HEADER_KEY}"})

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "api_key": self.api_key,
            "openai_api_key": self.openai_api_key,
            "default_headers": self.default_headers,
        }

    def _get_invocation_params(self, stop: list[str] | None = None, **kwargs: Any) -> dict[str, Any]:
        params = super()._get_invocation_params(stop=stop, **kwargs)
        return {**params, "model": self.model_name, "api_key": self.api_key.get_secret_value()}


@tool
def charge_card(account: str, api_key: str) -> dict[str, Any]:
    """Charges an account through a payment API that takes its key as an argument."""
    return {"account": account, "charged": True}


class AuthenticationError(Exception):
    """What a provider raises for a bad key; real ones quote the key in the message."""


def leaks(text: str | bytes) -> list[str]:
    """The secrets of which ``text`` holds a run of ``WINDOW`` characters, each with the first run found."""
    haystack = text.decode("latin-1") if isinstance(text, bytes) else text  # byte for byte: the keys are ASCII
    found: list[str] = []
    for secret in SECRETS:
        windows = (secret[start : start + WINDOW] for start in range(len(secret) - WINDOW + 1))
        hit = next((w for w in windows if w in haystack), None)
        if hit is not None:
            found.append(f"{secret} (as {hit!r})")
    return found


def spans_text(spans: Iterable[ReadableSpan]) -> str:
    """All a span exporter sees: names, attributes, events, links, status, resource, scope."""
    return "\n".join(span.to_json() for span in spans)


def logs_text(records: Iterable[logging.LogRecord]) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in records)


def store_bytes(db: Path) -> bytes:
    """The store's file and its write-ahead log, as bytes on disk."""
    files = [db, *(db.with_name(db.name + suffix) for suffix in ("-wal", "-journal", "-shm"))]
    return b"".join(path.read_bytes() for path in files if path.exists())


class Witness(BaseCallbackHandler):
    """Records what LangChain hands every callback handler, to show the secrets were there to leak."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.seen.append(json.dumps([serialized, kwargs], default=str))

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, *, run_id: UUID, **kwargs: Any) -> None:
        self.seen.append(json.dumps([serialized, input_str, kwargs], default=str))


class Sinks:
    """Two handlers on one run: one into memory, one through ``configure("local")`` into a SQLite store."""

    def __init__(self, store: Path, *, capture_content: bool) -> None:
        self.store = store
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.memory = TurnTraceCallbackHandler(tracer_provider=self.provider, capture_content=capture_content)
        self.stored = configure("local", store_path=store, capture_content=capture_content)
        self.witness = Witness()

    def config(self) -> dict[str, Any]:
        metadata = {"session_id": SESSION, "openai_api_key": METADATA_KEY}  # some apps pass keys in config
        return {"callbacks": [self.witness, self.memory, self.stored], "metadata": metadata}

    def assert_no_secret(
        self, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str], *, given: Sequence[str]
    ) -> None:
        """No window of any secret in spans, logs, output or store, though the handlers were ``given`` them."""
        handed = "\n".join(self.witness.seen)
        assert [secret for secret in given if secret not in handed] == []
        assert self.stored.flush(timeout_s=10)
        spans = self.exporter.get_finished_spans()
        assert spans, "the run was traced"
        db = store_bytes(self.store)
        assert SESSION.encode() in db, "the store holds the run"
        out, err = capfd.readouterr()
        where = {
            "spans": leaks(spans_text(spans)),
            "logs": leaks(logs_text(caplog.records)),
            "stdout/stderr": leaks(out + err),
            "store": leaks(db),
        }
        assert where == {"spans": [], "logs": [], "stdout/stderr": [], "store": []}


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # the root logger: every library's debug lines too
    return caplog


@pytest.mark.parametrize("capture_content", [False, True], ids=["default", "content_capture"])
@pytest.mark.parametrize("how", ["invoke", "stream"])
def test_model_credentials_reach_no_span_log_or_store(
    tmp_path: Path,
    all_logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    capture_content: bool,
    how: str,
) -> None:
    """Keys are not content: content capture records messages and tool arguments, never model parameters."""
    sinks = Sinks(tmp_path / "t.db", capture_content=capture_content)
    agent = create_agent(ProviderLikeChatModel(script=three_turn_script()), [get_weather, get_time])
    question = {"messages": [HumanMessage("Weather in Paris and Rome?")]}
    if how == "invoke":
        agent.invoke(question, config=sinks.config())
    else:
        list(agent.stream(question, config=sinks.config(), stream_mode="messages"))
    sinks.assert_no_secret(all_logs, capfd, given=(API_KEY, OPENAI_KEY, HEADER_KEY, METADATA_KEY))
    chats = [s for s in sinks.exporter.get_finished_spans() if s.name.startswith("chat")]
    assert len(chats) == 3
    if capture_content:  # the scan does see content when it is recorded
        assert "Weather in Paris and Rome?" in spans_text(chats)


def test_a_tool_given_an_api_key_records_only_its_input_hash(
    tmp_path: Path, all_logs: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    arguments = {"account": "acme", "api_key": TOOL_KEY}
    script = [tool_calls_message(("charge_card", arguments, "call_1")), answer_message("Charged.")]
    sinks = Sinks(tmp_path / "t.db", capture_content=False)
    create_agent(ProviderLikeChatModel(script=script), [charge_card]).invoke(
        {"messages": [HumanMessage("Charge acme")]}, config=sinks.config()
    )
    sinks.assert_no_secret(all_logs, capfd, given=(API_KEY, OPENAI_KEY, HEADER_KEY, METADATA_KEY, TOOL_KEY))
    (tool_span,) = [s for s in sinks.exporter.get_finished_spans() if s.name == "execute_tool charge_card"]
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":")).encode()
    assert dict(tool_span.attributes or {})["turntrace.input_hash"] == hashlib.sha256(canonical).hexdigest()


@pytest.mark.parametrize("capture_content", [False, True], ids=["default", "content_capture"])
def test_a_provider_error_quoting_the_key_never_records_the_key(
    tmp_path: Path, all_logs: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str], capture_content: bool
) -> None:
    """The error's type always; its message only with content capture on, and then with the key redacted."""
    error = AuthenticationError(f"Error code: 401 - Incorrect API key provided: {API_KEY}")
    sinks = Sinks(tmp_path / "t.db", capture_content=capture_content)
    agent = create_agent(ProviderLikeChatModel(script=[error]), [get_weather])
    with pytest.raises(AuthenticationError):
        agent.invoke({"messages": [HumanMessage("hi")]}, config=sinks.config())
    all_logs.clear()  # pytest.raises holds the error, not a log line; what follows must not repeat it
    sinks.assert_no_secret(all_logs, capfd, given=(API_KEY, OPENAI_KEY, HEADER_KEY, METADATA_KEY))
    (chat,) = [s for s in sinks.exporter.get_finished_spans() if s.name.startswith("chat")]
    assert dict(chat.attributes or {})["error.type"] == "tests.test_secrets.AuthenticationError"
    expected = "Error code: 401 - Incorrect API key provided: [redacted]" if capture_content else None
    assert chat.status.description == expected


# A fresh interpreter: internal errors are logged once per process, so an earlier test may have used up the line.
INTERNAL_ERRORS = """
    import logging, sys
    from uuid import uuid4
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_core.outputs import ChatGeneration, LLMResult
    from opentelemetry.sdk.trace import TracerProvider
    from langchain_turntrace import TurnTraceCallbackHandler

    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
    api_key, openai_key, header_key, tool_key = sys.argv[1:5]
    handler = TurnTraceCallbackHandler(tracer_provider=TracerProvider(), capture_content=True)
    params = {"model": "gpt-4o", "api_key": api_key, "openai_api_key": openai_key,
              "default_headers": {"Authorization": "Bearer " + header_key}}
    serialized = {"repr": "ChatOpenAI(openai_api_key=" + openai_key + ")", "kwargs": params}

    # a response the handler cannot read, carrying the keys
    run = uuid4()
    handler.on_chat_model_start(serialized, [[HumanMessage("hi")]], run_id=run, invocation_params=params)
    handler.on_llm_end({"generations": [], "llm_output": params}, run_id=run)

    # a model response with a malformed tool call, and the keys in its metadata
    run = uuid4()
    handler.on_chat_model_start(serialized, [[HumanMessage("hi")]], run_id=run, invocation_params=params)
    message = AIMessage.model_construct(content="", tool_calls=[{"name": "t", "args": params}],
                                        response_metadata=params)
    handler.on_llm_end(LLMResult(generations=[[ChatGeneration(message=message)]], llm_output=params), run_id=run)

    # a tool input content capture cannot encode (cyclic), holding a key: traced, not an internal error
    inputs = {"api_key": tool_key}
    inputs["self"] = inputs
    handler.on_tool_start({"name": "pay"}, "pay " + tool_key, run_id=uuid4(), inputs=inputs)
"""


def test_internal_errors_are_logged_without_the_secrets_they_carried(tmp_path: Path) -> None:
    env = {"TURNTRACE_STORE": str(tmp_path / "t.db")}
    result = run_python(INTERNAL_ERRORS, env, API_KEY, OPENAI_KEY, HEADER_KEY, TOOL_KEY)
    assert result.returncode == 0, result.stderr
    logged = result.stdout + result.stderr
    assert "internal error in on_llm_end" in logged, logged
    assert "internal error in on_tool_start" not in logged, logged  # a cyclic input is recorded as <unencodable>
    assert leaks(logged) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Incorrect API key provided: {API_KEY}", "Incorrect API key provided: [redacted]"),
        (f"headers={{'Authorization': 'Bearer {HEADER_KEY}'}}", "headers={'Authorization': '[redacted]'}"),
        (
            "GET https://api.example.com/v1?api_key=abc123def456&q=paris",
            "GET https://api.example.com/v1?api_key=[redacted]&q=paris",
        ),
        ("lsv2_pt_0123456789abcdef rejected", "[redacted] rejected"),
        ("AKIAABCDEFGHIJKLMNOP is not allowed", "[redacted] is not allowed"),
        ("password: hunter2hunter2", "password: [redacted]"),
        ("max_tokens=512 exceeded; 3 tokens left", "max_tokens=512 exceeded; 3 tokens left"),  # settings stay
        (
            "openai_api_key=abcd1234efgh client_secret: 'zz99yy88'",
            "openai_api_key=[redacted] client_secret: '[redacted]'",
        ),
        ('{"api_key": "a1b2c3d4e5"}', '{"api_key": "[redacted]"}'),
        ("postgresql://admin:hunter2@db/prod", "postgresql://admin:[redacted]@db/prod"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: [redacted]"),
        ("key AIzaSyA1234567890abcdefghijklmn", "key [redacted]"),
        ("cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc", "cookie [redacted]"),
    ],
)
def test_credentials_in_free_text_are_redacted(text: str, expected: str) -> None:
    """What an error message or a metadata value may quote: every credential shape, nothing else."""
    assert redacted(text) == expected


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("openai_api_key", True),
        ("x-api-key", True),
        ("client_secret", True),
        ("db_password", True),
        ("access_token", True),
        ("Authorization", True),
        ("Cookie", True),
        ("api_keys", True),  # several of them
        ("refresh_tokens", True),
        ("client secret", True),  # words apart
        ("secrets", True),
        ("ls_max_tokens", False),
        ("tokens", False),  # a count as often as not
        ("max tokens", False),
        ("tokenizer", False),
        ("prompt_token_count", False),
        ("author", False),
        ("oauth_provider", False),
        ("tenant", False),
    ],
)
def test_keys_that_name_a_secret(key: str, secret: bool) -> None:
    """Metadata keys left out (a secret) or kept as the app set them (anything else)."""
    assert bool(SECRET_KEY.search(key)) is secret


@pytest.mark.parametrize(
    "value",
    [
        [["Authorization", f"Bearer {HEADER_KEY}"], ["x-trace", "1"]],  # header pairs in a list
        {"Cookie": f"session={API_KEY}", "region": "eu"},  # a header dict
        f'{{"api_key": "{API_KEY}"}}',  # JSON text
        {API_KEY, "plain"},  # a set
        types.SimpleNamespace(api_key=API_KEY),  # any object, made text
        f"postgresql://admin:{API_KEY}@db/prod",
        [API_KEY, "plain"],  # a list of strings, kept as an OTel array
        {f"token for {API_KEY}": 1},  # in a key
        {"client secret": METADATA_KEY[3:], "n": 1},  # under a key of words
    ],
    ids=["header-pairs", "header-dict", "json-text", "set", "object", "url", "strings", "in-a-key", "worded-key"],
)
def test_no_credential_leaves_in_run_metadata_whatever_its_shape(value: object) -> None:
    """The run's metadata goes to every backend: a credential in any value is redacted or left out."""
    attributes = run_attributes(uuid4(), {"config": value}, [f"key:{API_KEY}"])
    assert API_KEY[:9] not in str(attributes)
    assert HEADER_KEY[:9] not in str(attributes)
    assert METADATA_KEY[3:12] not in str(attributes)
    as_json = attributes.get("turntrace.metadata_json_keys", ())
    assert isinstance(as_json, tuple)
    for key in as_json:  # what is sent as JSON is JSON still
        json.loads(str(attributes[f"langsmith.metadata.{key}"]))


def test_big_metadata_values_are_capped_and_not_remembered_whole() -> None:
    """A run's metadata is for filtering: a long list of strings keeps its first items (4,096 characters in
    all), then "…"; a big dict is cut text, not JSON."""
    many = [f"doc-{i:06d}-" + "x" * 90 for i in range(1000)]
    attributes = run_attributes(uuid4(), {"doc_ids": many, "doc": {"ids": many}}, None)
    kept = attributes["langsmith.metadata.doc_ids"]
    assert isinstance(kept, tuple)
    assert kept[-1] == "…"
    assert list(kept[:-1]) == many[: len(kept) - 1]
    assert sum(len(str(item)) for item in kept) <= 4096 + 1
    assert len(str(attributes["langsmith.metadata.doc"])) == 4096
    assert "turntrace.metadata_json_keys" not in attributes
