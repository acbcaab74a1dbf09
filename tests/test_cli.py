"""Every ``turntrace`` command through its entry point, against a real store file: output and exit codes."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from langchain_turntrace.cli import main
from langchain_turntrace.money import usd
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


def test_bad_input_is_one_line_and_exit_2(
    demo_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run the store does not hold (bad values the parser refuses: tests/test_cli_options.py)."""
    code, _, err = cli(capsys, monkeypatch, demo_store, "show", "ffffffffffff")
    assert code == 2
    assert "turntrace runs" in err
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
    # Rates read as money.amount writes them: at least two decimal places, every digit the table has.
    assert "$3.00 / MTok ($6.00 above 200,000 input tokens)" in result.stdout
    rates = turntrace("--json", "prices", "gpt-4o-mini", store=tmp_path / "unused.db")
    assert dict(json.loads(rates.stdout)["rates"])["cache read"] == "$0.075 / MTok"
    assert not (tmp_path / "unused.db").exists()  # prices never touches the store

    flex = turntrace("--json", "prices", "o4-mini", "--service-tier", "flex", store=tmp_path / "unused.db")
    card = json.loads(flex.stdout)
    snapshot = genai_prices.data_snapshot.get_snapshot()
    _, model = snapshot.find_provider_model("o4-mini", None, "openai", None)
    flex_price = model.get_prices(datetime.now(tz=timezone.utc), {"service_tier": "flex"})
    rate = dict(card["rates"])["input"]
    assert re.fullmatch(r"\$\d+\.\d{2,} / MTok", rate), rate
    assert Decimal(rate.removeprefix("$").split()[0]) == flex_price.input_mtok
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
    assert re.search(r"^input +\$0\.50 / MTok *$", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^output +\$1\.50 / MTok *$", result.stdout, re.MULTILINE), result.stdout

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


# -- user values, totals, money, time zones, pipes ------------------------------------------------------------
MARKUP = {"session": "s[/]x", "user": "[bold red]u", "feature": "checkout[beta]", "agent": ":warning: x"}


@pytest.fixture(scope="module")
def markup_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real traced run whose session, user, feature and agent name look like rich markup and emoji codes."""
    from langchain_core.messages import HumanMessage
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from langchain_turntrace import TurnTraceCallbackHandler
    from langchain_turntrace.store import SqliteSpanExporter
    from tests.agents import three_turn_agent

    store = tmp_path_factory.mktemp("markup") / "traces.db"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SqliteSpanExporter(store)))
    handler = TurnTraceCallbackHandler(
        tracer_provider=provider,
        session_id=MARKUP["session"],
        user_id=MARKUP["user"],
        feature=MARKUP["feature"],
        agent_name=MARKUP["agent"],
    )
    three_turn_agent().invoke({"messages": [HumanMessage("hi")]}, config={"callbacks": [handler]})
    provider.shutdown()
    return store


@pytest.mark.parametrize(
    "args",
    [
        ("runs",),
        ("runs", "--session", MARKUP["session"]),
        ("runs", "--feature", MARKUP["feature"], "--user", MARKUP["user"]),
        ("cost", "--by", "session"),
        ("cost", "--by", "feature"),
        ("cost", "--by", "user"),
        ("alert", "--max-cost-usd", "0", "--per", "session", "--by", "feature"),
        ("alert", "--max-cost-usd", "0", "--per", "run", "--by", "user"),
        ("alert", "--max-cost-usd", "5", "--per", "day", "--by", "feature"),
        ("show",),
    ],
)
@pytest.mark.parametrize("columns", [80, 200])
def test_user_values_print_as_they_are(markup_store: Path, args: tuple[str, ...], columns: int) -> None:
    """Tags are the user's text, never rich markup or emoji codes: no crash, nothing eaten, no emoji."""
    if args == ("show",):
        listed = turntrace("--json", "runs", store=markup_store)
        args = ("show", json.loads(listed.stdout)[0]["run_id"][:10])
    result = turntrace(*args, store=markup_store, env={"COLUMNS": str(columns)})
    assert result.returncode in (0, 1), result.stderr
    assert result.stderr == ""
    shown = {name for name, value in MARKUP.items() if value in result.stdout}
    expected: set[str] = {"agent"}  # show
    if args[0] == "runs":
        expected = {"session", "agent", *(["user", "feature"] if columns > 80 else [])}
    elif args[0] == "cost":
        expected = {args[-1]}
    elif args[0] == "alert":
        expected = {args[args.index("--by") + 1], *(["session"] if "session" in args else [])}
    assert expected <= shown, (expected, result.stdout)
    assert "⚠" not in result.stdout


def test_the_import_names_a_file_as_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "projects" / "[bold]p"
    folder.mkdir(parents=True)
    (folder / "[red]x:warning:.jsonl").write_text("not json\n")
    result = turntrace("import", "claude-code", str(tmp_path / "projects"), store=tmp_path / "traces.db")
    assert result.returncode == 0, result.stderr
    assert "[bold]p/[red]x:warning:.jsonl" in " ".join(result.stdout.split()), result.stdout


class Planted:
    """Model calls and agent runs at chosen times with chosen tags, through the real SDK into a store (its
    retention long enough to keep them)."""

    def __init__(self, store: Path) -> None:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        from langchain_turntrace.store import SqliteSpanExporter
        from langchain_turntrace.version import INSTRUMENTATION_SCOPE

        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(SqliteSpanExporter(store, retention_days=3650)))
        self._tracer = self.provider.get_tracer(INSTRUMENTATION_SCOPE)

    def run(self, start_ns: int, cost_usd: float, **tags: str) -> None:
        """An agent run of one model call costing ``cost_usd``, tagged with ``tags`` (attribute -> value)."""
        from opentelemetry import trace

        from langchain_turntrace import attributes as attr

        rollups = {attr.TURN_COUNT: 0, attr.TOTAL_COST_USD: cost_usd}
        agent = self._tracer.start_span(
            "invoke_agent planted",
            attributes={
                attr.GEN_AI_OPERATION_NAME: "invoke_agent",
                attr.GEN_AI_AGENT_NAME: "planted",
                **rollups,
                **tags,
            },
            start_time=start_ns,
        )
        chat = self._tracer.start_span(
            "chat gpt-4o",
            context=trace.set_span_in_context(agent),
            attributes={
                attr.GEN_AI_OPERATION_NAME: "chat",
                attr.GEN_AI_REQUEST_MODEL: tags.pop("model", "gpt-4o"),
                attr.GEN_AI_USAGE_INPUT_TOKENS: 100,
                attr.GEN_AI_USAGE_OUTPUT_TOKENS: 10,
                attr.COST_USD: cost_usd,
                **tags,
            },
            start_time=start_ns + 1_000,
        )
        chat.end(end_time=start_ns + 2_000_000)
        agent.end(end_time=start_ns + 3_000_000)

    def close(self) -> None:
        self.provider.shutdown()


# Four calls whose costs sit on rounding boundaries: added up as floats in a different order (as the rows of a
# different grouping are), their total of $0.01995 read $0.0199 under some groupings and $0.0200 under others.
BOUNDARY_COSTS_USD = (0.00625, 0.00075, 0.0077, 0.00525)


@pytest.fixture(scope="module")
def boundary_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from langchain_turntrace import attributes as attr

    store = tmp_path_factory.mktemp("boundary") / "traces.db"
    planted = Planted(store)
    now_ns = time.time_ns()
    for n, cost_usd in enumerate(BOUNDARY_COSTS_USD):
        tags = {
            "model": f"model-{n // 2}",  # calls 0 and 1, 2 and 3
            attr.SESSION_ID: f"session-{n % 2}",  # 0 and 2, 1 and 3
            attr.FEATURE: f"feature-{min(n, 3 - n)}",  # 0 and 3, 1 and 2
            attr.USER_ID: f"user-{n}",  # each call its own
            attr.AGENT_VERSION: "v1",  # all four
        }
        planted.run(now_ns - (n + 1) * 60 * 10**9, cost_usd, **tags)
    planted.close()
    return store


def total_line(output: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith("│ total "))
    return " ".join(cell.strip() for cell in line.split("│")[2:]).strip()


def test_the_total_is_one_figure_however_the_costs_are_grouped(boundary_store: Path) -> None:
    totals = {
        by: total_line(turntrace("cost", "--by", by, store=boundary_store).stdout)
        for by in ("model", "feature", "user", "day", "agent_version", "session")
    }
    exact_usd = float(sum(Decimal(str(cost)) for cost in BOUNDARY_COSTS_USD))  # 0.01995
    assert set(totals.values()) == {f"4 400 40 {usd(exact_usd)} 100% 0"}, totals
    # The report's total, and its rows, are the same sums: exact to the nano-dollar under every grouping.
    report = json.loads(turntrace("--json", "report", store=boundary_store).stdout)
    assert report["total"]["cost_usd"] == exact_usd
    for by, rows in (("model", "by_model"), ("feature", "by_feature"), ("user", "by_user")):
        cost = json.loads(turntrace("--json", "cost", "--by", by, store=boundary_store).stdout)
        assert {r["key"]: r["cost_usd"] for r in cost} == {r["key"]: r["cost_usd"] for r in report[rows]}
    assert [d["cost_usd"] for d in report["cost_by_day"]] == [exact_usd]


@pytest.mark.parametrize(
    ("threshold", "shown"), [("1234567", "$1,234,567.00"), ("0.00001", "$0.00001"), ("0.5", "$0.50")]
)
def test_thresholds_read_as_money(boundary_store: Path, tmp_path: Path, threshold: str, shown: str) -> None:
    alert = turntrace("alert", "--max-cost-usd", threshold, "--per", "day", "--by", "feature", store=boundary_store)
    assert f"over {shown};" in alert.stdout, alert.stdout
    assert not re.search(r"\$[\d.,]+[eE]", alert.stdout), alert.stdout  # no exponent
    if threshold == "1234567":
        demo = turntrace("demo", "--max-cost-usd", threshold, store=tmp_path / "demo.db")
        assert demo.returncode == 0, demo.stderr
        assert f"the run stayed within {shown}" in demo.stdout


def test_times_are_utc_and_say_so_in_any_time_zone(tmp_path: Path) -> None:
    """A run at 20:00 UTC the day before DAY is DAY 10:00 in Kiritimati (UTC+14): it lies outside --since DAY (a
    UTC date), and every time printed says the UTC one."""
    store = tmp_path / "traces.db"
    day = (datetime.now(timezone.utc) - timedelta(days=2)).date()
    started = datetime.combine(day, datetime.min.time(), timezone.utc) - timedelta(hours=4)
    planted = Planted(store)
    planted.run(int(started.timestamp()) * 10**9, 0.01)
    planted.close()
    kiritimati = {"TZ": "Pacific/Kiritimati"}

    empty = turntrace("runs", "--since", f"{day}", store=store, env=kiritimati)
    said = " ".join(empty.stdout.split())
    assert f"no agent runs since {day} UTC; 1 older agent run, the latest {started:%Y-%m-%d %H:%M} UTC" in said
    listed = turntrace("runs", "--since", f"{started.date()}", store=store, env=kiritimati)
    header, _, row = listed.stdout.splitlines()[1:4]
    assert header.startswith("start (UTC)")
    this_year = started.year == datetime.now(timezone.utc).year
    assert row.startswith(f"{started:%m-%d %H:%M}" if this_year else f"{started:%Y-%m-%d}"), row
    run_id = json.loads(turntrace("--json", "runs", "--since", "7d", store=store).stdout)[0]["run_id"]
    shown = turntrace("show", run_id, store=store, env=kiritimati)
    assert f"started {started:%Y-%m-%d %H:%M:%S} UTC" in shown.stdout
    by_day = turntrace("--json", "cost", "--by", "day", "--since", "7d", store=store, env=kiritimati)
    assert [row["key"] for row in json.loads(by_day.stdout)] == [f"{started.date()}"]


def test_a_closed_pipe_ends_the_output_quietly(demo_store: Path) -> None:
    """`turntrace --json runs | head -1`: the reader goes early; no traceback, no "Exception ignored"."""
    run_id = json.loads(turntrace("--json", "runs", store=demo_store).stdout)[0]["run_id"]
    script = Path(sys.executable).parent / "turntrace"
    env = {**os.environ, **ENV_WIDTH, "TURNTRACE_STORE": str(demo_store)}
    for args in (["--json", "runs", "--limit", "2000"], ["--json", "show", run_id], ["runs"]):
        read, write = os.pipe()
        with subprocess.Popen([str(script), *args], stdout=write, stderr=subprocess.PIPE, env=env) as process:
            os.close(write)
            os.close(read)  # before the command has written anything: its first write meets a closed pipe
            _, err = process.communicate(timeout=120)
        assert err.decode() == "", (args, err.decode())
        assert process.returncode == 1, args


def test_an_internal_error_keeps_its_traceback(tmp_path: Path) -> None:
    """Only bad input is one line and exit 2: a stored link whose attributes are not JSON is a bug to report."""
    store = tmp_path / "traces.db"
    planted = Planted(store)
    planted.run(time.time_ns(), 0.01)
    planted.close()
    run = json.loads(turntrace("--json", "runs", store=store).stdout)[0]
    run_id = run["run_id"]
    with closing(sqlite3.connect(store)) as connection, connection:
        connection.execute(
            "INSERT INTO links VALUES (?, ?, ?, ?, '{not json')", (run["trace_id"], run_id, "0" * 32, "0" * 16)
        )
    result = turntrace("show", run_id, store=store)
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "JSONDecodeError" in result.stderr
