"""``turntrace import claude-code`` / ``codex``: reads the sessions ``_files`` finds, one at a time, and hands the
spans of whole sessions to an OTel ``SpanExporter``, several sessions an export; bad input becomes a note per file,
never a traceback; the first export the backend refuses stops the import."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from langchain_turntrace.hashing import InputHasher
from langchain_turntrace.pricing import PriceBook
from langchain_turntrace.store import NS_PER_DAY
from langchain_turntrace.transcripts._claude_code import read_session
from langchain_turntrace.transcripts._codex import read_rollout
from langchain_turntrace.transcripts._files import SessionFiles, find_rollouts, find_sessions, size_of
from langchain_turntrace.transcripts._model import AgentRun, FileNote, Session
from langchain_turntrace.transcripts._spans import SpanBuilder

MAX_BATCH_SPANS: Final = 4096
"""Spans an export holds: whole sessions are gathered until they reach it (one session bigger than that goes
alone). The local store writes an export in one transaction; one a session made thousands of small sessions slow
(a commit each). Bigger batches gain little more (16,384 spans: 5-10% faster, 28 MB more memory)."""

Progress = Callable[[int, int], None]
"""Told (bytes read so far, bytes in all) after each session."""
_Reader = Callable[[SessionFiles, set[int]], Session]


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
    sessions_not_taken: int = 0  # read, but in the export the backend refused: none of their runs written
    runs_not_taken: int = 0
    sessions_not_read: int = 0  # left when the import stopped at that refusal
    files_not_read: int = 0
    seconds: float = 0.0
    notes: list[FileNote] = field(default_factory=lambda: list[FileNote]())

    @property
    def files_skipped(self) -> int:
        return sum(1 for note in self.notes if note.skipped_file)

    @property
    def stopped(self) -> bool:
        """The backend refused an export, and the import stopped there."""
        return self.sessions_not_taken > 0


@dataclass(slots=True)
class _Batch:
    """Whole sessions' spans waiting for one export, and what they count for once it succeeds."""

    spans: list[ReadableSpan] = field(default_factory=lambda: list[ReadableSpan]())
    sessions: int = 0
    runs: int = 0
    model_calls: int = 0
    tool_calls: int = 0

    def add(self, runs: Sequence[AgentRun], spans: Sequence[ReadableSpan]) -> None:
        self.spans.extend(spans)
        self.sessions += 1
        self.runs += len(runs)
        self.model_calls += sum(_count_calls(run) for run in runs)
        self.tool_calls += sum(_count_tools(run) for run in runs)

    def export_into(self, exporter: SpanExporter, report: ImportReport) -> bool:
        """Hands the batch over and counts it written or refused; False when the backend refused it."""
        taken = not self.spans or exporter.export(self.spans) is SpanExportResult.SUCCESS
        if taken:
            report.sessions += self.sessions
            report.runs += self.runs
            report.spans += len(self.spans)
            report.model_calls += self.model_calls
            report.tool_calls += self.tool_calls
        else:
            report.sessions_not_taken += self.sessions
            report.runs_not_taken += self.runs
        self.spans = []
        self.sessions = self.runs = self.model_calls = self.tool_calls = 0
        return taken


@dataclass(frozen=True, slots=True)
class _Source:
    """One agent's transcripts: how its sessions are found and read."""

    find: Callable[[Iterable[Path], list[FileNote]], tuple[list[SessionFiles], dict[Path, int]]]
    read: Callable[[SessionFiles, InputHasher, set[int]], Session]
    folder_feature: bool  # a session file's folder names its project (Claude Code); Codex keeps date folders


_SOURCES: Final = {
    "claude-code": _Source(
        find_sessions,
        lambda files, hasher, seen: read_session(files.main, files.subagents, hasher=hasher, seen_calls=seen),
        folder_feature=True,
    ),
    "codex": _Source(
        find_rollouts,
        lambda files, hasher, _: read_rollout(files.main or Path(), hasher=hasher),
        folder_feature=False,
    ),
}
SOURCES: Final = tuple(_SOURCES)
"""What ``import_transcripts`` reads: Claude Code's transcripts (files, or folders searched for ``*.jsonl``) and
Codex CLI's rollouts (files, or folders searched for ``rollout-*.jsonl``)."""


def import_transcripts(
    source: str,
    paths: Sequence[Path],
    exporter: SpanExporter,
    *,
    prices: PriceBook,
    hasher: InputHasher,
    feature: str | None = None,
    user_id: str | None = None,
    retention_days: int | None = None,
    now_ns: int | None = None,
    on_progress: Progress | None = None,
    max_batch_spans: int = MAX_BATCH_SPANS,
) -> ImportReport:
    """Imports the ``source`` sessions (one of ``SOURCES``) in ``paths`` through ``exporter`` (any OTel
    ``SpanExporter``; the caller shuts it down). ``feature`` defaults to the session's project: Claude Code's
    project folder, the last folder of a Codex session's working directory.

    >>> exporter = exporter_for_import("local", store_path=None, retention_days=None)  # doctest: +SKIP
    >>> report = import_transcripts("claude-code", default_projects_dirs(), exporter, prices=PriceBook({}),
    ...                             hasher=InputHasher(None))  # doctest: +SKIP
    >>> shutdown_within(exporter, 5.0)  # doctest: +SKIP

    A session (its file and its subagents') is never split between exports: all its runs are written or, when it
    cannot be read or its export is refused, none. The first refused export stops the import: the report counts
    what was written, what was refused and what was not read. ``retention_days``: the local store's; runs that
    ended before it are counted, not written.
    """
    kind = _SOURCES.get(source)
    if kind is None:
        raise ValueError(f"cannot import {source!r} transcripts; use one of: {', '.join(SOURCES)}")
    started = time.monotonic()
    notes: list[FileNote] = []
    sessions, sizes = kind.find(paths, notes)
    return _import(
        sessions,
        sizes,
        notes,
        lambda files, seen: kind.read(files, hasher, seen),
        exporter,
        prices=prices,
        feature=feature,
        folder_feature=kind.folder_feature,
        user_id=user_id,
        retention_days=retention_days,
        now_ns=now_ns,
        on_progress=on_progress,
        max_batch_spans=max_batch_spans,
        started=started,
    )


def _import(
    sessions: list[SessionFiles],
    sizes: dict[Path, int],
    notes: list[FileNote],
    read: _Reader,
    exporter: SpanExporter,
    *,
    prices: PriceBook,
    feature: str | None,
    folder_feature: bool,
    user_id: str | None,
    retention_days: int | None,
    now_ns: int | None,
    on_progress: Progress | None,
    max_batch_spans: int,
    started: float,
) -> ImportReport:
    report = ImportReport(retention_days=retention_days, notes=notes)
    total_bytes = sum(sizes.values())
    builder = SpanBuilder(prices, user_id=user_id)
    cutoff_ns = None if retention_days is None else (now_ns or time.time_ns()) - retention_days * NS_PER_DAY
    seen_calls: set[int] = set()  # hashes of model-call keys imported: a copy in a resumed session counts once
    batch = _Batch()
    done_bytes = 0
    for position, files in enumerate(sessions):
        session = read(files, seen_calls)
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
            folder = files.main.parent.name if files.main and folder_feature else None
            session_feature = feature or session.project or folder
            batch.add(runs, [span for run in runs for span in builder.spans(run, feature=session_feature)])
        done_bytes += size_of(files, sizes)
        if on_progress is not None:
            on_progress(done_bytes, total_bytes)
        if len(batch.spans) >= max_batch_spans and not batch.export_into(exporter, report):
            rest = sessions[position + 1 :]
            report.sessions_not_read = len(rest)
            report.files_not_read = sum((left.main is not None) + len(left.subagents) for left in rest)
            break
    else:
        batch.export_into(exporter, report)
    report.seconds = time.monotonic() - started
    return report


def _count_calls(run: AgentRun) -> int:
    return sum(
        1 + sum(_count_calls(t.subagent) for t in c.tool_calls if t.subagent is not None) for c in run.model_calls
    ) + sum(_count_calls(s) for s in run.subagents)


def _count_tools(run: AgentRun) -> int:
    return sum(
        len(c.tool_calls) + sum(_count_tools(t.subagent) for t in c.tool_calls if t.subagent is not None)
        for c in run.model_calls
    ) + sum(_count_tools(s) for s in run.subagents)
