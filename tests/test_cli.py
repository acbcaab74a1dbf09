"""Every ``turntrace`` command through its entry point, against a real store file: output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from langchain_turntrace.cli import main
from tests.otlp_receiver import OtlpReceiver, closed_port

ENV_WIDTH = {"COLUMNS": "200"}


def turntrace(*args: str, store: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it."""
    script = Path(sys.executable).parent / "turntrace"
    full_env = {**os.environ, **ENV_WIDTH, "TURNTRACE_STORE": str(store), **(env or {})}
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=full_env, timeout=120, check=False)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("store") / "traces.db"
    result = turntrace("demo", store=store)
    assert result.returncode == 0, result.stderr
    assert "invoke_agent travel_agent" in result.stdout
    for name in ("turn 1", "turn 2", "turn 3", "execute_tool search_flights", "execute_tool book_flight"):
        assert name in result.stdout
    assert "Traceback" not in result.stderr
    return store


def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store: Path, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("COLUMNS", "200")
    code = main(["--store", str(store), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_store_is_private(demo_store: Path) -> None:
    assert demo_store.stat().st_mode & 0o777 == 0o600


def test_runs(demo_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = cli(capsys, monkeypatch, demo_store, "runs")
    assert code == 0
    assert "travel_agent" in out
    code, out, _ = cli(capsys, monkeypatch, demo_store, "--json", "runs", "--user", "demo-user", "--feature", "travel")
    runs = json.loads(out)
    assert len(runs) == 1
    assert (runs[0]["turns"], runs[0]["tool_calls"], runs[0]["status"]) == (3, 3, "ok")
    assert runs[0]["input_tokens"] == 4400
    code, out, _ = cli(capsys, monkeypatch, demo_store, "--json", "runs", "--user", "somebody-else")
    assert json.loads(out) == []


def test_options_go_before_or_after_the_command(demo_store: Path) -> None:
    after = turntrace("cost", "--by", "model", "--json", "--store", str(demo_store), store=Path("/nonexistent.db"))
    before = turntrace("--json", "--store", str(demo_store), "cost", "--by", "model", store=Path("/nonexistent.db"))
    assert after.returncode == before.returncode == 0, after.stderr + before.stderr
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert json.loads(after.stdout)[0]["key"] == "gpt-4o"


def test_runs_fit_an_80_column_terminal(demo_store: Path) -> None:
    result = turntrace("runs", store=demo_store, env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    row = next(line for line in lines if "travel_agent" in line)
    # Nothing a triager needs is cut: when it started, the run id to open, the session, the cost, the status.
    started, run_id, session = row.split()[1], row.split()[2], row.split()[4]
    assert started.count(":") == 1
    assert len(run_id) == 8
    assert session.startswith("demo-")
    assert "$0.0124" in row
    assert row.split()[-1] == "ok"
    assert "…" not in row


def test_show_and_html(
    demo_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = cli(capsys, monkeypatch, demo_store, "--json", "runs")
    run_id = json.loads(out)[0]["run_id"]
    page = tmp_path / "run.html"
    code, out, _ = cli(capsys, monkeypatch, demo_store, "show", run_id[:8], "--html", str(page))
    assert code == 0
    lines = [line.strip() for line in out.splitlines()]
    assert any(line.startswith("invoke_agent travel_agent") for line in lines)
    assert any(line.startswith("turn 3") for line in lines)
    assert "stop=tool_calls" in out
    assert "<html" in page.read_text().lower()
    code, out, _ = cli(capsys, monkeypatch, demo_store, "--json", "show", run_id)
    assert len(json.loads(out)) == 10


@pytest.mark.parametrize("dimension", ["model", "feature", "user", "day", "agent_version", "session"])
def test_cost(
    demo_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, dimension: str
) -> None:
    code, out, _ = cli(capsys, monkeypatch, demo_store, "--json", "cost", "--by", dimension)
    assert code == 0
    rows = json.loads(out)
    assert sum(r["calls"] for r in rows) == 3
    assert sum(r["cost_usd"] for r in rows) == pytest.approx(0.01245)
    code, out, _ = cli(capsys, monkeypatch, demo_store, "cost", "--by", dimension)
    assert "total" in out


@pytest.mark.parametrize("by", ["latency", "errors", "calls"])
def test_top_tools(
    demo_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, by: str
) -> None:
    code, out, _ = cli(capsys, monkeypatch, demo_store, "--json", "top", "tools", "--by", by)
    assert code == 0
    assert {r["tool"] for r in json.loads(out)} == {"search_flights", "get_weather", "book_flight"}
    code, out, _ = cli(capsys, monkeypatch, demo_store, "top", "tools", "--by", by)
    assert "turntrace show" in out


def test_prune_keeps_recent_runs(
    demo_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = cli(capsys, monkeypatch, demo_store, "prune")
    assert (code, out.strip()) == (0, "pruned 0 trace(s)")


def test_verify_passes_on_the_configured_store(tmp_path: Path) -> None:
    result = turntrace("verify", store=tmp_path / "v.db")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("✓") == 8
    assert "✓ every span stored: 20 of 20 span(s)" in result.stdout
    assert "✓ store usable: " in result.stdout
    assert "does not exist yet" in result.stdout
    assert "all checks passed" in result.stdout
    assert list(tmp_path.iterdir()) == []  # its runs went to a scratch store, gone now


def test_verify_leaves_the_users_figures_untouched(
    demo_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After demo + verify, every command counts the demo's run alone: verify's runs never reach the store."""
    before = {what: cli(capsys, monkeypatch, demo_store, "--json", *what.split())[1] for what in _FIGURES}
    result = turntrace("verify", store=demo_store)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"✓ store usable: {demo_store} holds " in result.stdout
    after = {what: cli(capsys, monkeypatch, demo_store, "--json", *what.split())[1] for what in _FIGURES}
    assert after == before
    assert len(json.loads(after["runs"])) == 1


_FIGURES = ("runs", "cost --by feature", "top tools", "alert --max-cost-usd 0 --per day --by feature")


def test_verify_creates_no_directory_it_was_not_asked_for(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "deeper" / "x.db"
    result = turntrace("verify", store=missing)
    assert result.returncode == 0, result.stdout + result.stderr  # the store can be made there on the first run
    assert not (tmp_path / "nonexistent").exists()
    a_file = tmp_path / "bad.db"
    a_file.write_text("not a directory")
    result = turntrace("verify", store=a_file / "x.db")
    assert result.returncode == 1
    said = " ".join(result.stdout.split())  # a long path wraps the line
    assert f"✗ store usable: {a_file / 'x.db'} cannot be created: {a_file} is a file, not a directory" in said
    read_only = tmp_path / "read-only"
    read_only.mkdir(mode=0o500)
    result = turntrace("verify", store=read_only / "sub" / "x.db")
    if os.geteuid() != 0:  # root writes anywhere
        assert result.returncode == 1
        assert (
            f"✗ store usable: {read_only / 'sub' / 'x.db'} does not exist and {read_only} is not writable"
            in result.stdout
        )
    assert list(read_only.iterdir()) == []


def test_verify_fails_on_short_retention(tmp_path: Path) -> None:
    result = turntrace("verify", store=tmp_path / "v.db", env={"TURNTRACE_RETENTION_DAYS": "7"})
    assert result.returncode == 1
    assert "✗ retention >= 30 days: 7 days" in result.stdout
    assert "1 check(s) failed" in result.stdout


def test_verify_through_otlp_checks_what_was_sent_and_that_the_collector_took_it(tmp_path: Path) -> None:
    with OtlpReceiver() as collector:  # answers 200 at once: a healthy collector
        env = {"TURNTRACE_BACKEND": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": collector.base_url()}
        result = turntrace("verify", store=tmp_path / "unused.db", env=env)
        assert collector.requests >= 1
    assert result.returncode == 0, result.stdout + result.stderr
    assert "through otlp backend" in result.stdout
    assert "✓ otlp backend accepted every span: 20 of 20 span(s) accepted" in result.stdout
    assert not (tmp_path / "unused.db").exists()


def test_verify_through_an_unreachable_collector_fails_and_says_where_to_look(tmp_path: Path) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{closed_port()}", "OTEL_EXPORTER_OTLP_TIMEOUT": "1"}
    result = turntrace("verify", "--backend", "otlp", store=tmp_path / "unused.db", env=env)
    assert result.returncode == 1
    assert "✗ otlp backend accepted every span: 0 of 20 span(s) accepted: is the collector at" in result.stdout
    assert "Traceback" not in result.stderr


def test_verify_with_tracing_off_fails(tmp_path: Path) -> None:
    result = turntrace("verify", store=tmp_path / "v.db", env={"TURNTRACE_BACKEND": "none"})
    assert result.returncode == 1
    assert "✗ backend configured: TURNTRACE_BACKEND=none turns tracing off" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["runs", "--since", "last tuesday"], "--since 'last tuesday' is not understood"),
        (["show", "ffffffffffff"], "turntrace runs"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    demo_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    code, _, err = cli(capsys, monkeypatch, demo_store, *args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_missing_and_corrupt_store(tmp_path: Path) -> None:
    missing = turntrace("runs", store=tmp_path / "nope.db")
    assert missing.returncode == 2
    assert "turntrace demo" in missing.stderr
    assert "Traceback" not in missing.stderr
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(os.urandom(8192))
    broken = turntrace("runs", store=corrupt)
    assert broken.returncode == 2
    assert "Traceback" not in broken.stderr
    assert len(broken.stderr.strip().splitlines()) == 1


def test_prices_prints_the_rates_genai_prices_has_and_says_where_they_come_from(tmp_path: Path) -> None:
    import genai_prices

    result = turntrace("prices", "claude-sonnet-4-5", store=tmp_path / "unused.db")
    assert result.returncode == 0, result.stderr
    assert f"genai-prices@{genai_prices.__version__}" in result.stdout
    assert "anthropic / claude-sonnet-4-5" in result.stdout
    assert "cache write (1 h)" in result.stdout
    assert "above 200,000 input tokens" in result.stdout  # the long-context tier is named, not hidden
    assert not (tmp_path / "unused.db").exists()  # prices never touches the store

    flex = turntrace("--json", "prices", "o4-mini", "--service-tier", "flex", store=tmp_path / "unused.db")
    card = json.loads(flex.stdout)
    snapshot = genai_prices.data_snapshot.get_snapshot()
    _, model = snapshot.find_provider_model("o4-mini", None, "openai", None)
    from datetime import datetime, timezone

    flex_price = model.get_prices(datetime.now(tz=timezone.utc), {"service_tier": "flex"})
    assert dict(card["rates"])["input"] == f"${flex_price.input_mtok} / MTok"
    assert (card["service_tier"], card["tier_applied"]) == ("flex", True)

    unknown_tier = turntrace("prices", "o4-mini", "--service-tier", "Flex", store=tmp_path / "unused.db")
    assert unknown_tier.returncode == 0
    assert "no price of its own, the default rates apply" in unknown_tier.stdout


def test_prices_of_an_override_and_of_an_unknown_model(tmp_path: Path) -> None:
    rates = tmp_path / "prices.json"
    rates.write_text(json.dumps({"house-llm": {"input_per_mtok": 0.5, "output_per_mtok": 1.5}}))
    env = {"TURNTRACE_PRICES": str(rates)}
    result = turntrace("prices", "house-llm", store=tmp_path / "unused.db", env=env)
    assert result.returncode == 0, result.stderr
    assert "your own rates" in result.stdout
    assert "$1.5 / MTok" in result.stdout

    unknown = turntrace("prices", "no-such-model-xyz", store=tmp_path / "unused.db", env=env)
    assert unknown.returncode == 1
    assert "unpriced" in unknown.stdout
    assert "TURNTRACE_PRICES" in unknown.stdout
    assert "Traceback" not in unknown.stderr


def test_show_names_the_run_a_run_resumes_and_the_run_that_resumed_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tool's interrupt() pauses the run; the run that resumes the thread links to it. The store keeps the
    link, so both waterfalls name the other run, and the session lists both."""
    from langchain_core.messages import HumanMessage
    from langchain_core.tools import tool
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command, interrupt
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from langchain_turntrace import TurnTraceCallbackHandler
    from langchain_turntrace.store import SqliteSpanExporter
    from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
    from tests.agents import create_agent

    @tool
    def approve(amount: int) -> str:
        """Asks a human to approve a payment."""
        return f"approved: {interrupt({'amount': amount})}"

    store = tmp_path / "traces.db"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SqliteSpanExporter(store)))
    model = ScriptedChatModel(script=[tool_calls_message(("approve", {"amount": 10}, "c1")), answer_message("paid")])
    agent = create_agent(model, [approve], checkpointer=InMemorySaver(), name="payer")
    config = {"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)], "configurable": {"thread_id": "t-9"}}
    agent.invoke({"messages": [HumanMessage("pay")]}, config=config)
    agent.invoke(Command(resume="yes"), config=config)
    provider.shutdown()

    code, out, _ = cli(capsys, monkeypatch, store, "--json", "runs", "--session", "t-9")
    assert code == 0
    paused, resumed = sorted(json.loads(out), key=lambda run: run["start_ns"])
    assert paused["status"] == "interrupted", paused
    code, out, _ = cli(capsys, monkeypatch, store, "show", paused["run_id"][:10])
    assert code == 0
    assert f"resumed by run {resumed['run_id'][:8]}" in out, out
    code, out, _ = cli(capsys, monkeypatch, store, "show", resumed["run_id"][:10])
    assert f"resumes run {paused['run_id'][:8]}" in out, out
    code, out, _ = cli(capsys, monkeypatch, store, "--json", "show", resumed["run_id"][:10])
    (root,) = [span for span in json.loads(out) if span["span_id"] == resumed["run_id"]]
    assert root["links"] == [
        {"trace_id": paused["trace_id"], "span_id": paused["run_id"], "attributes": {"turntrace.link_kind": "resumes"}}
    ]
