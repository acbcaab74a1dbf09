"""``turntrace import claude-code`` from the files to the backend: the store checked before any file is read, the
first refused export stops the import and the summary says what was written, sessions exported together and
whole, an import that never deletes, and continued sessions ordered by their transcripts, not their mtimes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Generator, Sequence
from contextlib import closing, contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from langchain_turntrace.hashing import InputHasher
from langchain_turntrace.pricing import PriceBook
from langchain_turntrace.store import SpanStore, SqliteSpanExporter
from langchain_turntrace.store._connection import BUSY_TIMEOUT_S
from langchain_turntrace.transcripts import (
    MAX_BATCH_SPANS,
    ImportReport,
    exporter_for_import,
    import_transcripts,
    shutdown_within,
)
from tests.claude_code_transcripts import Transcript, project_folder

_DAY = timedelta(days=1)


def one_prompt_session(start: datetime, *, cwd: str = "/home/dev/shop") -> Transcript:
    """A prompt and its answer: three spans (the run, its turn, the model call)."""
    t = Transcript(start=start, cwd=cwd)
    t.prompt("what does this do?")
    t.response(text="It parses the config.")
    return t


def sessions_in(folder: Path, count: int, *, start: datetime) -> list[Transcript]:
    """``count`` one-prompt sessions an hour apart, oldest first: the order the import reads them in."""
    sessions = [one_prompt_session(start + timedelta(hours=n)) for n in range(count)]
    for session in sessions:
        session.write(folder)
    return sessions


class BatchesExporter(InMemorySpanExporter):
    """The SDK's in-memory exporter, remembering which spans came in which export."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[ReadableSpan]] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.batches.append(list(spans))
        return super().export(spans)


def import_into(exporter: BatchesExporter, *paths: Path, max_batch_spans: int = MAX_BATCH_SPANS) -> ImportReport:
    return import_transcripts(
        "claude-code",
        list(paths),
        exporter,
        prices=PriceBook({}),
        hasher=InputHasher(None),
        user_id="dev",
        max_batch_spans=max_batch_spans,
    )


def sessions_of(spans: Sequence[ReadableSpan]) -> set[str]:
    return {str((span.attributes or {})["session.id"]) for span in spans}


def stored_sessions(store: Path) -> dict[str, int]:
    """Session id -> spans stored for it."""
    with SpanStore.open(store, create=False) as opened:
        runs = opened.runs(None, limit=10_000)
        spans = [span for run in runs for span in opened.run_spans(run.run_id)]
    counts: dict[str, int] = {}
    for span in spans:
        session = str(span.attributes["session.id"])
        counts[session] = counts.get(session, 0) + 1
    return counts


@contextmanager
def write_locked(store: Path) -> Generator[None, None, None]:
    """Another connection holds the store's write lock, as another process's long write does."""
    with closing(sqlite3.connect(store, isolation_level=None)) as locker:
        locker.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            locker.execute("ROLLBACK")


def turntrace(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "turntrace"
    env = {**os.environ, "COLUMNS": "200", "TURNTRACE_STORE": str(store)}
    env.pop("TURNTRACE_RETENTION_DAYS", None)
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def one_line(text: str) -> str:
    return " ".join(text.split())


# -- a store that cannot be written -------------------------------------------------------------------------------
def test_a_store_locked_by_another_process_is_said_once_before_any_file_is_read(tmp_path: Path) -> None:
    folder = project_folder(tmp_path / "projects")
    sessions_in(folder, 3, start=datetime.now(timezone.utc) - 2 * _DAY)
    store = tmp_path / "traces.db"
    SpanStore.open(store, create=True).close()

    with write_locked(store):
        started = time.monotonic()
        locked = turntrace("import", "claude-code", str(folder), store=store)
        seconds = time.monotonic() - started

    # one wait for the lock, not one per session (three sessions took 30 s)
    assert seconds < 2 * BUSY_TIMEOUT_S, locked.stderr
    assert locked.returncode == 2
    assert locked.stdout == ""
    (line,) = locked.stderr.splitlines()
    assert line.startswith(f"turntrace: nothing imported: the store {store} stayed locked by another process")
    assert "try again when it has finished" in line
    assert stored_sessions(store) == {}

    again = turntrace("import", "claude-code", str(folder), store=store)
    assert again.returncode == 0, again.stderr
    assert len(stored_sessions(store)) == 3


def test_a_store_locked_during_the_import_stops_it_with_whole_sessions_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each session its own export (a cap of one span); the lock is taken once the first is written: the second
    waits once, is refused and leaves nothing; the rest is not read."""
    folder = project_folder(tmp_path / "projects")
    first, second, *_ = sessions_in(folder, 4, start=datetime.now(timezone.utc) - 2 * _DAY)
    store = tmp_path / "traces.db"
    exporter = exporter_for_import("local", store_path=store, retention_days=None)
    assert isinstance(exporter, SqliteSpanExporter)
    locker = sqlite3.connect(store, isolation_level=None)
    read: list[int] = []

    def lock_after_the_first_session(done: int, total: int) -> None:
        read.append(done)
        if len(read) == 2:  # the second session is read; the first is written
            locker.execute("BEGIN IMMEDIATE")

    try:
        report = import_transcripts(
            "claude-code",
            [folder],
            exporter,
            prices=PriceBook({}),
            hasher=InputHasher(None),
            on_progress=lock_after_the_first_session,
            max_batch_spans=1,
        )
        error = exporter.error
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert shutdown_within(exporter, 5.0)

    assert report.stopped
    assert (report.sessions, report.runs, report.spans) == (1, 1, 3)
    assert (report.sessions_not_taken, report.runs_not_taken) == (1, 1)
    assert (report.sessions_not_read, report.files_not_read) == (2, 2)
    assert len(read) == 2
    assert "stayed locked by another process" in str(error)
    assert "try again when it has finished" in str(error)
    assert [r.getMessage() for r in caplog.records if r.name == "langchain_turntrace"] == []  # said once, by the import
    assert stored_sessions(store) == {first.session_id: 3}
    assert second.session_id not in stored_sessions(store)


# -- many sessions, few transactions --------------------------------------------------------------------------
def test_sessions_are_exported_several_at_once_each_whole(tmp_path: Path) -> None:
    folder = project_folder(tmp_path)
    sessions = sessions_in(folder, 10, start=datetime.now(timezone.utc) - 2 * _DAY)
    unreadable = folder / "ffffffff-unreadable.jsonl"
    unreadable.symlink_to("/proc/self/mem")  # reading it fails (EIO), even for root: the session leaves nothing
    exporter = BatchesExporter()

    report = import_into(exporter, folder, max_batch_spans=10)

    assert report.runs == 10
    assert report.files_skipped == 1
    # three spans a session: exports of 4, 4 and 2 sessions (12 >= 10 spans), never one per session
    assert [len(batch) for batch in exporter.batches] == [12, 12, 6]
    exported = [sessions_of(batch) for batch in exporter.batches]
    assert [len(batch) for batch in exported] == [4, 4, 2]
    assert set().union(*exported) == {s.session_id for s in sessions}  # each in one export only

    one_export = BatchesExporter()
    assert import_into(one_export, folder).runs == 10
    assert len(one_export.batches) == 1  # the default cap holds all thirty spans


def test_a_session_bigger_than_the_cap_is_exported_whole_on_its_own(tmp_path: Path) -> None:
    folder = project_folder(tmp_path)
    start = datetime.now(timezone.utc) - 2 * _DAY
    big = Transcript(start=start)
    for _ in range(5):
        big.wait(60).prompt()
        big.response()
    big.write(folder)
    sessions_in(folder, 2, start=start + _DAY)
    exporter = BatchesExporter()

    import_into(exporter, folder, max_batch_spans=4)

    assert [len(batch) for batch in exporter.batches] == [15, 6]
    assert [len(sessions_of(batch)) for batch in exporter.batches] == [1, 2]


# -- retention ------------------------------------------------------------------------------------------------
def test_an_import_never_deletes_what_an_earlier_import_kept_longer(tmp_path: Path) -> None:
    projects = tmp_path / "projects"
    old = one_prompt_session(datetime.now(timezone.utc) - 45 * _DAY)
    recent = one_prompt_session(datetime.now(timezone.utc) - 2 * _DAY)
    old_path = old.write(project_folder(projects))
    recent_path = recent.write(project_folder(projects))
    store = tmp_path / "traces.db"

    kept = turntrace("import", "claude-code", "--retention-days", "60", str(old_path), store=store)
    assert kept.returncode == 0, kept.stderr
    assert (
        "runs up to 60 days old were imported, but the programs that trace into this store and `turntrace prune` "
        "keep 30 days (TURNTRACE_RETENTION_DAYS) and delete what is older: set TURNTRACE_RETENTION_DAYS=60"
    ) in one_line(kept.stdout)
    later = turntrace("import", "claude-code", str(recent_path), store=store)  # the default 30 days
    assert later.returncode == 0, later.stderr
    assert set(stored_sessions(store)) == {old.session_id, recent.session_id}

    # retention is the store's other writers' and `turntrace prune`'s, by TURNTRACE_RETENTION_DAYS
    pruned = turntrace("prune", store=store)
    assert pruned.returncode == 0, pruned.stderr
    assert set(stored_sessions(store)) == {recent.session_id}


# -- continued sessions ---------------------------------------------------------------------------------------
def continuation_of(original: Transcript) -> Transcript:
    """``claude --resume``: a new session whose file starts with copies of the original's lines, timestamps
    and ids kept, its own session id on them (ccusage/ccusage#1765), then goes on."""
    resumed = Transcript(start=original.now + timedelta(hours=1), cwd=original.cwd)
    resumed.records.extend({**record, "sessionId": resumed.session_id} for record in original.records)
    resumed.prompt("and now the docs")
    resumed.response(text="Docs updated.")
    return resumed


def test_a_continued_session_leaves_the_originals_lines_to_it_whatever_the_files_mtimes(tmp_path: Path) -> None:
    folder = project_folder(tmp_path)
    original = Transcript(start=datetime.now(timezone.utc) - 3 * _DAY)
    for prompt in ("why does the build fail?", "fix it"):
        original.wait(60).prompt(prompt)
        original.response()
    resumed = continuation_of(original)
    original_path = original.write(folder)
    resumed_path = resumed.write(folder)
    os.utime(original_path, (2_000_000_000, 2_000_000_000))  # touched later (a sync, a backup, an editor)
    os.utime(resumed_path, (1_000_000_000, 1_000_000_000))
    exporter = BatchesExporter()

    report = import_into(exporter, folder)

    assert (report.runs, report.model_calls, report.copied_calls) == (3, 3, 2)
    runs = [s for s in exporter.get_finished_spans() if s.name == "invoke_agent claude-code"]
    by_session = sorted(str((s.attributes or {})["session.id"]) for s in runs)
    assert by_session == sorted([original.session_id, original.session_id, resumed.session_id])


# -- where the sessions are found by default ----------------------------------------------------------------------
def test_by_default_both_of_claude_codes_folders_are_read_or_each_folder_claude_config_dir_names(
    tmp_path: Path,
) -> None:
    """Claude Code has kept its projects under ~/.config/claude (newer) and ~/.claude (older); CLAUDE_CONFIG_DIR
    may name several folders, comma-separated (ccusage reads them so)."""
    start = datetime.now(timezone.utc) - timedelta(days=1)
    home = tmp_path / "home"
    newer, older = home / ".config" / "claude" / "projects", home / ".claude" / "projects"
    sessions = [one_prompt_session(start), one_prompt_session(start + timedelta(hours=1))]
    sessions[0].write(project_folder(newer))
    sessions[1].write(project_folder(older))
    script = Path(sys.executable).parent / "turntrace"

    def imported(store: Path, **env: str) -> set[str]:
        environment = {k: v for k, v in os.environ.items() if k != "CLAUDE_CONFIG_DIR"} | env
        result = subprocess.run(
            [str(script), "import", "claude-code"],
            capture_output=True,
            text=True,
            env={**environment, "HOME": str(home), "TURNTRACE_STORE": str(store)},
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return set(stored_sessions(store))

    both = {s.session_id for s in sessions}
    assert imported(tmp_path / "defaults.db") == both
    named = f"{newer.parent}, {older.parent}"
    assert imported(tmp_path / "named.db", CLAUDE_CONFIG_DIR=named) == both
    assert imported(tmp_path / "one.db", CLAUDE_CONFIG_DIR=str(older.parent)) == {sessions[1].session_id}
