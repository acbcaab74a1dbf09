"""Argument parsing and dispatch; bad input becomes one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from langchain_turntrace.cli import _commands
from langchain_turntrace.cli._since import SinceError
from langchain_turntrace.config import BACKENDS, ConfigError
from langchain_turntrace.store import StoreError

_DIMENSIONS = ("model", "feature", "user", "day", "agent_version", "session")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="turntrace", description="Turn-structured traces of LangChain/LangGraph agents."
    )
    parser.add_argument("--store", type=Path, help="store file (default: $TURNTRACE_STORE or the per-user data dir)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    # The same two options after the command (`turntrace runs --json`); SUPPRESS keeps a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", type=Path, default=argparse.SUPPRESS, help="store file")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser(
        "demo", parents=[common], help="run a scripted multi-turn agent into the store and show its waterfall"
    )

    runs = commands.add_parser("runs", parents=[common], help="one line per agent run")
    runs.add_argument("--since", default="7d")
    runs.add_argument("--session")
    runs.add_argument("--user")
    runs.add_argument("--feature")
    runs.add_argument("--limit", type=int, default=50)

    show = commands.add_parser("show", parents=[common], help="the waterfall of one run")
    show.add_argument("run", help="run id (or a unique prefix), from `turntrace runs`")
    show.add_argument("--html", type=Path, metavar="FILE", help="also write a self-contained HTML waterfall")

    cost = commands.add_parser("cost", parents=[common], help="cost totals (model calls only: nothing counted twice)")
    cost.add_argument("--by", choices=_DIMENSIONS, default="model")
    cost.add_argument("--since", default="30d")

    top = commands.add_parser("top", parents=[common], help="the slowest / most failing tool calls")
    top.add_argument("what", choices=["tools"])
    top.add_argument("--by", choices=["latency", "errors", "calls"], default="latency")
    top.add_argument("--since", default="7d")
    top.add_argument("--limit", type=int, default=10)

    verify = commands.add_parser(
        "verify", parents=[common], help="run one scripted session through the configured backend and check it"
    )
    verify.add_argument("--backend", choices=BACKENDS, help="default: $TURNTRACE_BACKEND, else local")
    verify.add_argument("--timeout-s", type=float, default=30.0, help="how long to wait for the backend (30)")
    commands.add_parser("prune", parents=[common], help="apply the retention policy now")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _commands.run(args)
    except (StoreError, SinceError, ConfigError, ValueError) as error:
        print(f"turntrace: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
