"""``turntrace import claude-code`` / ``codex``: finds the transcripts, reads one session at a time, and hands the
spans of whole sessions to an OTel ``SpanExporter``, several sessions an export; bad input becomes a note per file,
never a traceback; the first export the backend refuses stops the import."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from langchain_turntrace.hashing import InputHasher
from langchain_turntrace.pricing import PriceBook
from langchain_turntrace.store import NS_PER_DAY
from langchain_turntrace.transcripts._claude_code import read_session
from langchain_turntrace.transcripts._codex import read_rollout
from langchain_turntrace.transcripts._layout import is_subagent_file, session_id_of
from langchain_turntrace.transcripts._model import AgentRun, FileNote, Session
from langchain_turntrace.transcripts._records import loads, timestamp_ns
from langchain_turntrace.transcripts._spans import SpanBuilder

CLAUDE_CONFIG_DIR: Final = "CLAUDE_CONFIG_DIR"
"""Claude Code's own setting for where it keeps its files (default ``~/.claude``; Anthropic's settings docs)."""
CODEX_HOME: Final = "CODEX_HOME"
"""Codex CLI's own setting for where it keeps its files (default ``~/.codex``; rollouts under ``sessions/``)."""
_ROLLOUT_PREFIX: Final = "rollout-"
MAX_BATCH_SPANS: Final = 4096
"""Spans an export holds: whole sessions are gathered until they reach it (one session bigger than that goes
alone). The local store writes an export in one transaction; one a session made thousands of small sessions slow
(a commit each). Bigger batches gain little more (16,384 spans: 5-10% faster, 28 MB more memory)."""
_HEAD_LINES: Final = 20  # lines read for a session's first timestamp (a summary or snapshot may come first)

Progress = Callable[[int, int], None]
"""Told (bytes read so far, bytes in all) after each session."""
_Reader = Callable[["_SessionFiles", set[int]], Session]


def default_projects_dir() -> Path:
    """Where Claude Code keeps its transcripts: ``$CLAUDE_CONFIG_DIR/projects``, else ``~/.claude/projects``."""
    return Path(os.environ.get(CLAUDE_CONFIG_DIR) or Path.home() / ".claude").expanduser() / "projects"


def default_codex_sessions_dir() -> Path:
    """Where Codex CLI keeps its rollouts: ``$CODEX_HOME/sessions``, else ``~/.codex/sessions``."""
    return Path(os.environ.get(CODEX_HOME) or Path.home() / ".codex").expanduser() / "sessions"


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
class _SessionFiles:
    main: Path | None
    subagents: list[Path] = field(default_factory=lambda: list[Path]())


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


def import_claude_code(
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
    """Imports the Claude Code sessions in ``paths`` (files or folders, searched for ``*.jsonl``) through
    ``exporter`` (any OTel ``SpanExporter``; the caller shuts it down).

    >>> exporter = exporter_for_import("local", store_path=None, retention_days=None)  # doctest: +SKIP
    >>> report = import_claude_code([default_projects_dir()], exporter, prices=PriceBook({}),
    ...                             hasher=InputHasher(None))  # doctest: +SKIP
    >>> shutdown_within(exporter, 5.0)  # doctest: +SKIP

    A session (its file and its subagents') is never split between exports: all its runs are written or, when it
    cannot be read or its export is refused, none. The first refused export stops the import: the report counts
    what was written, what was refused and what was not read. ``retention_days``: the local store's; runs that
    ended before it are counted, not written.
    """
    started = time.monotonic()
    notes: list[FileNote] = []
    sessions, sizes = _find_sessions(paths, notes)
    return _import(
        sessions,
        sizes,
        notes,
        lambda files, seen: read_session(files.main, files.subagents, hasher=hasher, seen_calls=seen),
        exporter,
        prices=prices,
        feature=feature,
        folder_feature=True,
        user_id=user_id,
        retention_days=retention_days,
        now_ns=now_ns,
        on_progress=on_progress,
        max_batch_spans=max_batch_spans,
        started=started,
    )


def import_codex(
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
    """Imports the Codex CLI rollouts in ``paths`` (files, or folders searched for ``rollout-*.jsonl``) through
    ``exporter``, as ``import_claude_code`` does; ``feature`` defaults to the last folder of each session's cwd.

    >>> exporter = exporter_for_import("local", store_path=None, retention_days=None)  # doctest: +SKIP
    >>> report = import_codex([default_codex_sessions_dir()], exporter, prices=PriceBook({}),
    ...                       hasher=InputHasher(None))  # doctest: +SKIP
    >>> shutdown_within(exporter, 5.0)  # doctest: +SKIP
    """
    started = time.monotonic()
    notes: list[FileNote] = []
    sessions, sizes = _find_rollouts(paths, notes)
    return _import(
        sessions,
        sizes,
        notes,
        lambda files, seen: read_rollout(files.main or Path(), hasher=hasher, seen_calls=seen),
        exporter,
        prices=prices,
        feature=feature,
        folder_feature=False,  # rollouts live in date folders: a folder's name is no project
        user_id=user_id,
        retention_days=retention_days,
        now_ns=now_ns,
        on_progress=on_progress,
        max_batch_spans=max_batch_spans,
        started=started,
    )


def _import(
    sessions: list[_SessionFiles],
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
        done_bytes += _size(files, sizes)
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


def _find_rollouts(paths: Iterable[Path], notes: list[FileNote]) -> tuple[list[_SessionFiles], dict[Path, int]]:
    """The rollout files under ``paths`` (a file given itself is read whatever its name), the session that began
    first first (its first line's timestamp, never the mtime), so a fork's parent is read before the fork."""
    sizes: dict[Path, int] = {}
    for path in paths:
        path = path.expanduser()
        try:
            if path.is_dir():
                found: dict[Path, int] = {}
                _walk(path, found, notes)
                sizes.update((p, size) for p, size in found.items() if p.name.startswith(_ROLLOUT_PREFIX))
            elif path.is_file():
                sizes[path] = path.stat().st_size
            else:
                notes.append(FileNote(path, "no such file or folder", True))
        except OSError as error:
            notes.append(FileNote(path, f"cannot be listed ({error.strerror or error})", True))

    def order(path: Path) -> tuple[float, int, str]:
        first_ns = _first_timestamp_ns(path)
        return (math.inf if first_ns is None else first_ns, sizes[path], path.name)

    return [_SessionFiles(path) for path in sorted(sizes, key=order)], sizes


def _find_sessions(paths: Iterable[Path], notes: list[FileNote]) -> tuple[list[_SessionFiles], dict[Path, int]]:
    """The sessions under ``paths``, each with its subagents' files, in import order (``_order``); and the
    size of every file."""
    sizes: dict[Path, int] = {}
    named: list[Path] = []  # files given themselves rather than found in a folder
    for path in paths:
        path = path.expanduser()
        try:
            if path.is_dir():
                _walk(path, sizes, notes)
            elif path.is_file():
                sizes[path] = path.stat().st_size
                named.append(path)
            else:
                notes.append(FileNote(path, "no such file or folder", True))
        except OSError as error:
            notes.append(FileNote(path, f"cannot be listed ({error.strerror or error})", True))
    groups: dict[Path, _SessionFiles] = {}
    orphans: list[Path] = []
    for path in sizes:
        if not is_subagent_file(path):
            groups.setdefault(path, _SessionFiles(path)).main = path
            continue
        main = _main_of(path)
        if main is None:
            orphans.append(path)
        else:
            group = groups.setdefault(main, _SessionFiles(main if main in sizes or main.is_file() else None))
            group.subagents.append(path)
    for path in named:
        group = groups.get(path)
        own = path.with_suffix("") / "subagents"  # a session file given alone still brings its subagents
        if group is not None and not group.subagents and own.is_dir():
            found: dict[Path, int] = {}
            _walk(own, found, notes)
            group.subagents.extend(p for p in found if is_subagent_file(p) and p.parent == own)
            sizes.update(found)
    ordered = sorted(groups.values(), key=lambda group: _order(group, sizes))
    if orphans:
        ordered.append(_SessionFiles(None, sorted(orphans)))
    return ordered, sizes


def _walk(folder: Path, sizes: dict[Path, int], notes: list[FileNote]) -> None:
    """Adds every ``*.jsonl`` under ``folder`` (symbolic links to folders not followed) with its size: one
    ``stat`` a file, where ``rglob`` and ``is_file`` then ``stat`` took several (5,000 small sessions: 0.35 s)."""
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(Path(entry.path))
                    elif entry.name.endswith(".jsonl") and entry.is_file():
                        try:
                            sizes[Path(entry.path)] = entry.stat().st_size
                        except OSError:  # gone since it was listed: reading it will say so
                            sizes[Path(entry.path)] = 0
        except OSError as error:
            notes.append(FileNote(current, f"cannot be listed ({error.strerror or error})", True))


def _main_of(path: Path) -> Path | None:
    """A subagent file's session file: ``<session>/subagents/agent-*.jsonl`` names it by folder; an
    ``agent-*.jsonl`` beside the session files names it in its records."""
    if path.parent.name == "subagents":
        return path.parent.parent.with_suffix(".jsonl")
    session_id = session_id_of(path)
    return path.parent / f"{session_id}.jsonl" if session_id else None


def _order(group: _SessionFiles, sizes: dict[Path, int]) -> tuple[str, float, int, str]:
    """Per project folder, the session that began first first, by its first record's timestamp (never the
    file's mtime, which a copy, a sync or a backup resets): a continued session's copies of earlier lines then
    meet the originals already imported, and the original keeps them. A continuation's copies keep their
    timestamps, so it begins at the same moment as its original: then the smaller file first, the original
    being the continuation's first part."""
    main = group.main or (group.subagents[0] if group.subagents else Path())
    first_ns = _first_timestamp_ns(main)
    return (str(main.parent), math.inf if first_ns is None else first_ns, sizes.get(main, 0), main.name)


def _first_timestamp_ns(path: Path) -> int | None:
    """The ``timestamp`` of the file's first record that has one."""
    try:
        with path.open("rb") as lines:
            for _, line in zip(range(_HEAD_LINES), lines, strict=False):
                try:
                    record = loads(line)
                except UnicodeDecodeError:  # the reader notes it
                    continue
                at_ns = timestamp_ns(cast("dict[str, Any]", record)) if isinstance(record, dict) else None
                if at_ns is not None:
                    return at_ns
    except OSError:  # unreadable: reading it will say so
        return None
    return None


def _size(group: _SessionFiles, sizes: dict[Path, int]) -> int:
    return sum(sizes.get(path, 0) for path in (group.main, *group.subagents) if path is not None)


def _count_calls(run: AgentRun) -> int:
    return sum(
        1 + sum(_count_calls(t.subagent) for t in c.tool_calls if t.subagent is not None) for c in run.model_calls
    ) + sum(_count_calls(s) for s in run.subagents)


def _count_tools(run: AgentRun) -> int:
    return sum(
        len(c.tool_calls) + sum(_count_tools(t.subagent) for t in c.tool_calls if t.subagent is not None)
        for c in run.model_calls
    ) + sum(_count_tools(s) for s in run.subagents)
