"""The CLI's surface: help on every option with its default, --version, bare `turntrace`, and bad values as one
line and exit 2."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

from langchain_turntrace.cli._main import _parser  # pyright: ignore[reportPrivateUsage]  # the parser itself is what is checked
from langchain_turntrace.version import __version__


def turntrace(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "turntrace"
    env = {**os.environ, "TURNTRACE_STORE": str(store), "COLUMNS": "100"}
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=60, check=False)


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    # argparse has no public walk of its subparsers; the action that holds them has them as its choices
    (choices,) = [a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)]  # pyright: ignore[reportPrivateUsage, reportUnknownMemberType, reportUnknownVariableType]  # see above
    return cast("dict[str, argparse.ArgumentParser]", choices)


def test_every_option_says_what_it_does_and_its_default() -> None:
    parser = _parser()
    commands = subcommands(parser)
    assert {"demo", "runs", "show", "cost", "top", "alert", "verify", "prune", "prices"} <= set(commands)
    checked = 0
    for name, command in [("turntrace", parser), *commands.items()]:
        for action in command._actions:  # pyright: ignore[reportPrivateUsage]  # as above
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):  # pyright: ignore[reportPrivateUsage]  # as above
                continue
            where = f"{name} {'/'.join(action.option_strings) or action.dest}"
            assert action.help, f"{where} has no help text"
            if action.option_strings and not action.required:
                assert "default" in action.help, f"{where}: its help does not say the default"
            checked += 1
    assert checked > 30


def test_help_names_where_the_store_is_and_what_verify_checks() -> None:
    parser = _parser()
    commands = subcommands(parser)

    def help_of(command: argparse.ArgumentParser, option: str) -> str:
        (action,) = [a for a in command._actions if option in a.option_strings]  # pyright: ignore[reportPrivateUsage]  # as above
        assert action.help is not None
        return action.help

    for command in (parser, *commands.values()):
        assert "$XDG_DATA_HOME/turntrace/traces.db" in help_of(command, "--store")  # honoured, so named
    backend = help_of(commands["verify"], "--backend")
    assert all(name in backend for name in ("local", "otlp", "langsmith", "console", "none"))
    assert "$TURNTRACE_BACKEND" in backend
    assert "otlp, langsmith" in help_of(commands["verify"], "--timeout-s")


def test_bare_turntrace_prints_the_help_and_version_works(tmp_path: Path) -> None:
    bare = turntrace(store=tmp_path / "none.db")
    assert (bare.returncode, bare.stderr) == (0, "")
    assert bare.stdout.startswith("usage: turntrace")
    assert "verify" in bare.stdout
    version = turntrace("--version", store=tmp_path / "none.db")
    assert (version.returncode, version.stdout.strip()) == (0, f"turntrace {__version__}")
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("runs", "--limit", "0"), "turntrace runs: argument --limit: 0 is too small; give 1 or more"),
        (("runs", "--limit", "-3"), "--limit: -3 is too small; give 1 or more"),
        (("runs", "--limit", "10000000000000000000000"), "--limit: 10000000000000000000000 is too large"),
        (("top", "tools", "--limit", "ten"), "turntrace top: argument --limit: 'ten' is not a whole number"),
        (("cost", "--by", "planet"), "--by: invalid choice: 'planet'"),
        (("top", "tools", "--by", "speed"), "--by: invalid choice: 'speed'"),
        (("runs", "--since", "yesterday"), "turntrace runs: argument --since: 'yesterday' is not understood"),
        (("runs", "--since", "0d"), "turntrace runs: argument --since: '0d' is an empty window"),
        (("top", "tools", "--since", "0m"), "turntrace top: argument --since: '0m' is an empty window"),
        (("cost", "--since", "bogus"), "turntrace cost: argument --since: 'bogus' is not understood"),
        (("report", "--since", "0h", "--json"), "turntrace report: argument --since: '0h' is an empty window"),
        (("alert", "--per", "day", "--by", "feature", "--max-cost-usd", "-1"), "--max-cost-usd: -1 is below zero"),
        (("alert", "--per", "day", "--by", "feature", "--max-cost-usd", "nan"), "--max-cost-usd: nan is not a finite"),
        (("alert", "--per", "day", "--by", "feature", "--max-cost-usd", "1e300"), "--max-cost-usd: 1e300 is too large"),
        (("alert", "--per", "day", "--by", "user", "--since", "0d", "--max-cost-usd", "5"), "'0d' is an empty window"),
        (
            ("demo", "--max-cost-usd", "-1"),
            "turntrace demo: argument --max-cost-usd: -1 is below zero; give US dollars",
        ),
        (("demo", "--max-cost-usd", "five"), "turntrace demo: argument --max-cost-usd: 'five' is not a number"),
        (("verify", "--timeout-s", "0"), "turntrace verify: argument --timeout-s: 0 is too small"),
        (("verify", "--timeout-s", "inf"), "turntrace verify: argument --timeout-s: inf is not a finite number"),
        (("verify", "--timeout-s", "1e9"), "turntrace verify: argument --timeout-s: 1e9 is too large"),
        (("report", "--since", "7d"), "turntrace report: give --html FILE to write the report page, or --json"),
        (("frobnicate",), "invalid choice: 'frobnicate'"),
        (("runs", "--colour"), "unrecognized arguments: --colour"),
    ],
)
@pytest.mark.parametrize("store_exists", [True, False], ids=["empty store", "no store"])
def test_a_bad_value_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], says: str, store_exists: bool
) -> None:
    """Every bad value is refused by the parser, before any store is opened: one line that names the command and
    where its help is, whether or not the store exists (a missing store is not what is wrong)."""
    store = tmp_path / "traces.db"
    if store_exists:
        store.touch()  # the commands that read a store get one (empty): the error must be about the value
    result = turntrace(*args, store=store)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("turntrace")
    assert says in lines[0]
    command = "turntrace" if args[0] == "frobnicate" else f"turntrace {args[0]}"
    assert lines[0].endswith(f"(see `{command} --help`)"), lines[0]
    assert store.exists() == store_exists
    assert [path.name for path in tmp_path.iterdir()] == (["traces.db"] if store_exists else [])
