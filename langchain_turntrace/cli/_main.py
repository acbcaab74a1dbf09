"""Argument parsing and dispatch; bad input becomes one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from langchain_turntrace.cli import _commands
from langchain_turntrace.cli._since import SinceError
from langchain_turntrace.cli._values import MAX_TIMEOUT_S, UsageError, positive_int, seconds, since, usd
from langchain_turntrace.config import BACKENDS, ConfigError
from langchain_turntrace.store import ALERT_BYS, ALERT_PERS, StoreError
from langchain_turntrace.version import __version__

_DIMENSIONS = ("model", "feature", "user", "day", "agent_version", "session")
_SINCE_HELP = "the window: 30m, 24h, 7d, 2w, or a UTC date like 2026-11-01 (default %(default)s)"
_STORE_HELP = (
    "the store file (default: $TURNTRACE_STORE, else $XDG_DATA_HOME/turntrace/traces.db; XDG_DATA_HOME unset: "
    "~/.local/share)"
)
_BACKEND_HELP = (
    "where the spans go: local (the store), otlp (a collector at $OTEL_EXPORTER_OTLP_ENDPOINT), langsmith, "
    "console (stdout) or none (default: $TURNTRACE_BACKEND, else local)"
)


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad value as one line on stderr (exit 2) that says where the help is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="turntrace", description="Turn-structured traces of LangChain/LangGraph agents.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--store", type=Path, help=_STORE_HELP)
    parser.add_argument("--json", action="store_true", help="machine-readable output (default: tables)")
    # The same two options after the command (`turntrace runs --json`); SUPPRESS keeps a value given before it.
    common = _Parser(add_help=False)
    common.add_argument("--store", type=Path, default=argparse.SUPPRESS, help=_STORE_HELP)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output (default: tables)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = commands.add_parser(
        "demo", parents=[common], help="run a scripted multi-turn agent into the store and show its waterfall"
    )
    demo.add_argument(
        "--max-cost-usd",
        type=usd,
        metavar="USD",
        help="a budget that stops the run once it costs more (exit 1; default: no budget)",
    )

    runs = commands.add_parser("runs", parents=[common], help="one line per agent run")
    runs.add_argument("--since", type=since, default="7d", help=_SINCE_HELP)
    runs.add_argument("--session", help="only this session, oldest run first (its latest --limit runs; default: all)")
    runs.add_argument("--user", help="only this user's runs (user.id; default: every user)")
    runs.add_argument("--feature", help="only this feature's runs (turntrace.feature; default: every feature)")
    runs.add_argument(
        "--limit", type=positive_int, default=50, help="at most this many runs, latest first (default 50)"
    )

    show = commands.add_parser("show", parents=[common], help="the waterfall of one run")
    show.add_argument("run", help="run id (or a unique prefix), from `turntrace runs`")
    show.add_argument(
        "--html", type=Path, metavar="FILE", help="also write a self-contained HTML waterfall (default: terminal only)"
    )

    cost = commands.add_parser("cost", parents=[common], help="cost totals (model calls only: nothing counted twice)")
    cost.add_argument("--by", choices=_DIMENSIONS, default="model", help="one row per value of this (default model)")
    cost.add_argument("--since", type=since, default="30d", help=_SINCE_HELP)

    top = commands.add_parser("top", parents=[common], help="the slowest / most failing tool calls")
    top.add_argument("what", choices=["tools"], help="what to rank: tools (tool calls by tool name)")
    top.add_argument(
        "--by",
        choices=["latency", "errors", "calls"],
        default="latency",
        help="rank by p95 latency, error count or call count (default latency)",
    )
    top.add_argument("--since", type=since, default="7d", help=_SINCE_HELP)
    top.add_argument("--limit", type=positive_int, default=10, help="at most this many tools (default 10)")
    top.add_argument(
        "--human-waits",
        action="store_true",
        help="also rank tool calls that are the user deciding (turntrace.tool.kind=human_wait; default: left out)",
    )

    alert = commands.add_parser(
        "alert",
        parents=[common],
        help="exit 1 when a group's model-call cost is over a threshold (for cron and CI)",
        description="Sums model-call cost (model calls only: nothing counted twice) per (--by value, --per value) "
        "and prints the groups over --max-cost-usd. Exit 1 when any group is over, 0 otherwise, 2 on bad input. "
        "--per day: whole UTC days from the one --since falls in; --per run: agent runs started since --since; "
        "--per session: sessions with a model call since --since, each totalled over all its model calls. "
        "Wiring smells (unpriced models, runs with no turn, tool calls without a turn) print as warnings and do "
        "not change the exit code: they mean a figure may be incomplete, not that a budget was crossed, and a "
        "budget alert from cron should not page anyone over them. Add --strict where wiring must be right (CI): "
        "then a smell exits 1 too.",
    )
    alert.add_argument("--max-cost-usd", type=usd, required=True, metavar="USD", help="the budget per group")
    alert.add_argument("--per", choices=ALERT_PERS, required=True, help="what one budget covers")
    alert.add_argument("--by", choices=ALERT_BYS, required=True, help="whose spend a budget is for")
    alert.add_argument("--since", type=since, default="1d", help=_SINCE_HELP)
    alert.add_argument("--strict", action="store_true", help="wiring smells exit 1 too (default: they only warn)")

    verify = commands.add_parser(
        "verify", parents=[common], help="run one scripted session through the configured backend and check it"
    )
    verify.add_argument("--backend", choices=BACKENDS, help=_BACKEND_HELP)
    verify.add_argument(
        "--timeout-s",
        type=seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for a remote backend (otlp, langsmith) to take the spans; local and console take "
        f"them at once (default 30, at most {MAX_TIMEOUT_S:.0f})",
    )
    commands.add_parser(
        "prune",
        parents=[common],
        help="apply the retention policy now",
        description="Deletes the traces that ended more than $TURNTRACE_RETENTION_DAYS (default 30) days ago, "
        "whole. Traced runs prune as they write; this is for a store nobody writes to.",
    )

    prices = commands.add_parser(
        "prices",
        parents=[common],
        help="the rates a call to MODEL is priced at, and where they come from",
        description="Looks MODEL up as the handler does: your overrides ($TURNTRACE_PRICES) first, then the "
        "genai-prices table installed with the package (never the network). Exit 1 when nothing prices it.",
    )
    prices.add_argument("model", help="the model name a call reports, e.g. gpt-4o-mini or claude-sonnet-4-5")
    prices.add_argument(
        "--provider",
        help="gen_ai.provider.name, e.g. openai, anthropic, aws.bedrock, gcp.gen_ai (default: any provider)",
    )
    prices.add_argument(
        "--service-tier", help="the provider's service tier, e.g. flex or priority (OpenAI; default: standard)"
    )

    imports = commands.add_parser(
        "import", parents=[common], help="import coding-agent transcripts as agent runs (same tree, same commands)"
    )
    sources = imports.add_subparsers(dest="source", metavar="SOURCE", parser_class=_Parser, required=True)
    claude = sources.add_parser(
        "claude-code",
        parents=[common],
        help="Claude Code's JSONL transcripts",
        description="One agent run per user prompt (invoke_agent claude-code), a turn per model request, tool calls "
        "under the turn that asked for them, subagents under the tool call that spawned them, priced like live "
        "traces. Ids come from the transcripts' own: importing again adds nothing. Files left out (cut short, not a "
        "transcript, unreadable) are listed, one line each.",
    )
    claude.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="transcript files or folders (default: projects/ under each folder of $CLAUDE_CONFIG_DIR, "
        "comma-separated; else ~/.config/claude/projects and ~/.claude/projects)",
    )
    codex = sources.add_parser(
        "codex",
        parents=[common],
        help="OpenAI Codex CLI's rollout-*.jsonl session files",
        description="One agent run per user prompt (invoke_agent codex), a turn per model request (each token_count "
        "whose running total moved), tool calls under the turn that asked for them, priced like live traces. Ids "
        "come from the rollouts' own: importing again adds nothing, a resumed session adds its new runs. Not in the "
        "files, so not imported: approval waits (only a refusal is told apart), failed requests, which tool call "
        "spawned a subagent thread. Files left out (cut short, older formats without token counts, not a rollout) "
        "are listed, one line each.",
    )
    codex.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="rollout files or folders searched for rollout-*.jsonl (default: $CODEX_HOME/sessions, else "
        "~/.codex/sessions)",
    )
    for source, feature_help in (
        (claude, "each project's folder name"),
        (codex, "the last folder of each session's working directory"),
    ):
        source.add_argument("--feature", help=f"turntrace.feature of every run (default: {feature_help})")
        source.add_argument("--user", help="user.id of every run (default: your login name)")
        source.add_argument("--backend", choices=BACKENDS, help=_BACKEND_HELP)
        source.add_argument(
            "--retention-days",
            type=positive_int,
            help="the local store's retention for this import (default: $TURNTRACE_RETENTION_DAYS, else 30); runs "
            "that ended before it are counted, not imported. An import deletes nothing: the programs that trace "
            "into the store and `turntrace prune` apply their own retention",
        )

    report = commands.add_parser(
        "report",
        parents=[common],
        help="the cost report: one self-contained HTML page over a window (or --json)",
        description="Model-call cost per day (stacked by model, switchable to feature) and by feature, user, model "
        "and agent version; the slowest and most failing tools; the costliest runs and turns; tokens per turn; the "
        "wiring smells `alert` warns about. One HTML file that needs no network; the waterfall pages of the runs it "
        "links to are written beside it, in FILE_STEM-runs/ (at most 60).",
    )
    report.add_argument("--since", type=since, default="30d", help=_SINCE_HELP)
    report.add_argument(
        "--html", type=Path, metavar="FILE", help="write the page here (required unless --json; default: none)"
    )
    # A mistake found after parsing (an unknown option, a report with neither --html nor --json) is told by the
    # command's own parser: its name and its help in the line.
    for command in [*commands.choices.values(), *sources.choices.values()]:
        command.set_defaults(command_parser=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    command_parser: argparse.ArgumentParser = getattr(args, "command_parser", parser)
    if unknown:
        command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:  # bare `turntrace`: what it can do
        parser.print_help()
        return 0
    if args.command == "report" and args.html is None and not args.json:
        command_parser.error("give --html FILE to write the report page, or --json for the figures")
    try:
        code = _commands.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except (StoreError, SinceError, ConfigError, UsageError) as error:
        print(f"turntrace: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `turntrace --json runs | head -1`: the reader has gone, so the output goes too (Python's note on SIGPIPE);
        # stdout points at devnull so that the flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130
