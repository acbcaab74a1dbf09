"""``turntrace import claude-code``: finds the transcripts, reads one session at a time, and hands each
session's spans to the sink whole; bad input becomes a note per file, never a traceback."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from langchain_turntrace.hashing import InputHasher
from langchain_turntrace.pricing import PriceBook
from langchain_turntrace.transcripts._claude_code import is_subagent_file, read_session, session_id_of
from langchain_turntrace.transcripts._model import AgentRun, FileNote
from langchain_turntrace.transcripts._sink import SpanSink
from langchain_turntrace.transcripts._spans import SpanBuilder

CLAUDE_CONFIG_DIR: Final = "CLAUDE_CONFIG_DIR"
"""Claude Code's own setting for where it keeps its files (default ``~/.claude``; Anthropic's settings docs)."""
_NS_PER_DAY: Final = 86_400 * 10**9

Progress = Callable[[int, int], None]
"""Told (bytes read so far, bytes in all) after each session."""


def default_projects_dir() -> Path:
    """Where Claude Code keeps its transcripts: ``$CLAUDE_CONFIG_DIR/projects``, else ``~/.claude/projects``."""
    return Path(os.environ.get(CLAUDE_CONFIG_DIR) or Path.home() / ".claude").expanduser() / "projects"


@dataclass(slots=True)
class ImportReport:
    """What an import did: counts, and one note per file left out in part or whole."""

    sessions: int = 0
    files: int = 0
    bytes_read: int = 0
    runs: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    spans: int = 0
    copied_calls: int = 0  # model calls an earlier session of the same import already had (a resumed session)
    runs_past_retention: int = 0
    retention_days: int | None = None
    oldest_end_ns: int | None = None  # of the runs past retention
    runs_not_taken: int = 0  # runs of sessions the backend refused
    seconds: float = 0.0
    notes: list[FileNote] = field(default_factory=lambda: list[FileNote]())

    @property
    def files_skipped(self) -> int:
        return sum(1 for note in self.notes if note.skipped_file)


@dataclass(slots=True)
class _SessionFiles:
    main: Path | None
    subagents: list[Path] = field(default_factory=lambda: list[Path]())


def import_claude_code(
    paths: Sequence[Path],
    sink: SpanSink,
    *,
    prices: PriceBook,
    hasher: InputHasher,
    feature: str | None = None,
    user_id: str | None = None,
    retention_days: int | None = None,
    now_ns: int | None = None,
    on_progress: Progress | None = None,
) -> ImportReport:
    """Imports the Claude Code sessions in ``paths`` (files or folders, searched for ``*.jsonl``) into ``sink``.

    Each session (its file and its subagents') goes to the sink in one piece: all its runs or, when it cannot be
    read, none. ``retention_days``: the local store's; runs that ended before it are counted, not written.
    """
    started = time.monotonic()
    report = ImportReport(retention_days=retention_days)
    sessions, total_bytes = _find_sessions(paths, report.notes)
    builder = SpanBuilder(prices, user_id=user_id)
    cutoff_ns = None if retention_days is None else (now_ns or time.time_ns()) - retention_days * _NS_PER_DAY
    seen_calls: set[int] = set()  # hashes of model-call keys imported: a copy in a resumed session counts once
    done_bytes = 0
    for files in sessions:
        session = read_session(files.main, files.subagents, hasher=hasher, seen_calls=seen_calls)
        report.notes.extend(session.notes)
        report.files += (files.main is not None) + len(files.subagents)
        report.bytes_read += session.bytes_read
        report.copied_calls += session.copied_calls
        runs = [run for run in session.runs if cutoff_ns is None or run.end_ns >= cutoff_ns]
        if len(runs) < len(session.runs):
            report.runs_past_retention += len(session.runs) - len(runs)
            oldest = min(run.end_ns for run in session.runs)
            report.oldest_end_ns = min(oldest, report.oldest_end_ns or oldest)
        if runs:
            report.sessions += 1
            session_feature = feature or session.project or (files.main.parent.name if files.main else None)
            spans = [span for run in runs for span in builder.spans(run, feature=session_feature)]
            if sink.export(spans):
                report.runs += len(runs)
                report.spans += len(spans)
                report.model_calls += sum(_count_calls(run) for run in runs)
                report.tool_calls += sum(_count_tools(run) for run in runs)
            else:
                report.runs_not_taken += len(runs)
        done_bytes += _size(files)
        if on_progress is not None:
            on_progress(done_bytes, total_bytes)
    report.seconds = time.monotonic() - started
    return report


def _find_sessions(paths: Iterable[Path], notes: list[FileNote]) -> tuple[list[_SessionFiles], int]:
    """The sessions under ``paths``, each with its subagents' files, oldest first per project folder."""
    files: set[Path] = set()
    for path in paths:
        path = path.expanduser()
        try:
            if path.is_dir():
                files.update(p for p in path.rglob("*.jsonl") if p.is_file())
            elif path.is_file():
                files.add(path)
            else:
                notes.append(FileNote(path, "no such file or folder", True))
        except OSError as error:
            notes.append(FileNote(path, f"cannot be listed ({error.strerror or error})", True))
    groups: dict[Path, _SessionFiles] = {}
    orphans: list[Path] = []
    for path in files:
        if not is_subagent_file(path):
            groups.setdefault(path, _SessionFiles(path)).main = path
            continue
        main = _main_of(path)
        if main is None:
            orphans.append(path)
        else:
            groups.setdefault(main, _SessionFiles(main if main.is_file() else None)).subagents.append(path)
    for main, group in groups.items():
        if group.main is None:
            continue
        own = main.with_suffix("") / "subagents"  # a session file given alone still brings its subagents
        if not group.subagents and own.is_dir():
            group.subagents.extend(p for p in own.glob("agent-*.jsonl") if p.is_file())
    ordered = sorted(groups.values(), key=_order)
    if orphans:
        ordered.append(_SessionFiles(None, sorted(orphans)))
    return ordered, sum(_size(group) for group in ordered)


def _main_of(path: Path) -> Path | None:
    """A subagent file's session file: ``<session>/subagents/agent-*.jsonl`` names it by folder; an
    ``agent-*.jsonl`` beside the session files names it in its records."""
    if path.parent.name == "subagents":
        return path.parent.parent.with_suffix(".jsonl")
    session_id = session_id_of(path)
    return path.parent / f"{session_id}.jsonl" if session_id else None


def _order(group: _SessionFiles) -> tuple[str, float, str]:
    """Per project folder, the session written first first: a resumed session's copies of earlier lines then
    meet the originals already imported (and are counted once)."""
    main = group.main or (group.subagents[0] if group.subagents else Path())
    try:
        mtime = main.stat().st_mtime
    except OSError:
        mtime = 0.0
    return (str(main.parent), mtime, main.name)


def _size(group: _SessionFiles) -> int:
    total = 0
    for path in (group.main, *group.subagents):
        if path is not None:
            with contextlib.suppress(OSError):  # gone since it was listed: reading it will say so
                total += path.stat().st_size
    return total


def _count_calls(run: AgentRun) -> int:
    return sum(
        1 + sum(_count_calls(t.subagent) for t in c.tool_calls if t.subagent is not None) for c in run.model_calls
    ) + sum(_count_calls(s) for s in run.subagents)


def _count_tools(run: AgentRun) -> int:
    return sum(
        len(c.tool_calls) + sum(_count_tools(t.subagent) for t in c.tool_calls if t.subagent is not None)
        for c in run.model_calls
    ) + sum(_count_tools(s) for s in run.subagents)
