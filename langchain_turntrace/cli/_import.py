"""``turntrace import claude-code`` / ``codex``: the import with a progress bar on a terminal, then what it did, in a
few lines."""

from __future__ import annotations

import argparse
import getpass
import json
import math
import sys
import time
from collections.abc import Generator
from contextlib import contextmanager, suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

from langchain_turntrace.cli import _render

_NOTES_SHOWN: Final = 20  # files; --json lists every one


def run_import(args: argparse.Namespace, store_path: Path) -> int:
    """Exit 0 when every session read was written (files left out are reported, not failures); 1 when the
    backend refused an export (the import stops there) or did not finish in time; 2 when the local store cannot
    be written at all (said before any file is read)."""
    from langchain_turntrace.config import resolve_backend, resolve_price_overrides, resolve_settings
    from langchain_turntrace.hashing import InputHasher
    from langchain_turntrace.pricing import PriceBook
    from langchain_turntrace.store import NS_PER_DAY, SqliteSpanExporter, StoreError, resolve_retention_days
    from langchain_turntrace.transcripts import (
        default_codex_sessions_dir,
        default_projects_dirs,
        exporter_for_import,
        import_transcripts,
        shutdown_within,
    )

    backend = resolve_backend(args.backend)
    settings = resolve_settings(capture_content=False, hash_key=None, prices=None)
    try:
        exporter = exporter_for_import(backend.backend, store_path=store_path, retention_days=args.retention_days)
    except StoreError as error:
        print(f"turntrace: nothing imported: {error}", file=sys.stderr)
        return 2
    store = exporter if isinstance(exporter, SqliteSpanExporter) else None
    others_days = None  # the retention of the store's other writers, when --retention-days keeps runs longer
    if store is not None and args.retention_days is not None:
        with suppress(StoreError):  # a bad TURNTRACE_RETENTION_DAYS: those writers fail loudly on their own
            others_days = resolve_retention_days(None)
    codex = args.source == "codex"
    paths: list[Path] = args.paths or ([default_codex_sessions_dir()] if codex else default_projects_dirs())
    with _progress(enabled=not args.json and sys.stderr.isatty()) as on_progress:
        report = import_transcripts(
            args.source,
            paths,
            exporter,
            prices=PriceBook(resolve_price_overrides()),
            hasher=InputHasher(settings.hash_key),
            feature=args.feature,
            user_id=args.user if args.user is not None else _login_name(),
            retention_days=None if store is None else store.retention_days,
            on_progress=on_progress,
        )
    refused = store.error if store is not None else None  # read before shutting down: that clears nothing
    closed = shutdown_within(exporter, max(backend.flush_timeout_s, 5.0))
    where = str(store.path) if store is not None else backend.backend
    failed = report.stopped or not closed
    if args.json:
        out: dict[str, Any] = {**asdict(report), "destination": where, "finished_in_time": closed}
        out["stopped"] = report.stopped
        out["error"] = None if refused is None else str(refused)
        out["notes"] = [{"path": str(n.path), "reason": n.reason, "skipped_file": n.skipped_file} for n in report.notes]
        print(json.dumps(out, indent=2))
        return 1 if failed else 0
    mb = report.bytes_read / 1e6
    speed = f" ({mb / report.seconds:.0f} MB/s)" if report.seconds > 0 and mb >= 1 else ""
    _render.line(
        f"imported {report.runs} agent run(s) of {report.sessions} session(s): {report.model_calls} model call(s), "
        f"{report.tool_calls} tool call(s), into {where}; {report.files} file(s) read, {mb:.1f} MB in "
        f"{report.seconds:.1f} s{speed}. Runs already there are replaced by themselves: importing again adds nothing."
    )
    if report.stopped:
        why = (
            f"{refused}"
            if refused is not None
            else "see the backend's messages above, and check that it is reachable (`turntrace verify`)"
        )
        _render.line(
            f"{report.runs_not_taken} run(s) were not taken by the {backend.backend} backend: {why}. The import "
            f"stopped there: those {report.sessions_not_taken} session(s) have nothing written, none in part, and "
            f"{report.sessions_not_read} more session(s) ({report.files_not_read} file(s)) were not read. Run the "
            "same import again once that is fixed: it adds what is missing."
        )
    if report.copied_calls:
        _render.line(
            f"{report.copied_calls} model call(s) were copies, in a continued or forked session, of calls of the "
            "session it continues: counted once."
        )
    if report.runs_past_retention and report.oldest_end_ns is not None and report.retention_days is not None:
        days = math.ceil((time.time_ns() - report.oldest_end_ns) / NS_PER_DAY) + 1
        _render.line(
            f"{report.runs_past_retention} run(s) ended more than {report.retention_days} days ago, past the store's "
            f"retention: not imported. To keep them: --retention-days {days}, and TURNTRACE_RETENTION_DAYS={days} "
            "for every program that traces into this store and for `turntrace prune`: each deletes what ended "
            "before its own retention (an import deletes nothing)."
        )
    if report.runs and store is not None and others_days is not None and others_days < store.retention_days:
        _render.line(
            f"runs up to {store.retention_days} days old were imported, but the programs that trace into this store "
            f"and `turntrace prune` keep {others_days} days (TURNTRACE_RETENTION_DAYS) and delete what is older: set "
            f"TURNTRACE_RETENTION_DAYS={store.retention_days} wherever this store is written to keep them."
        )
    if not closed:
        _render.line(f"the {backend.backend} backend did not finish within its flush timeout: spans may be lost.")
    if report.notes:
        skipped = report.files_skipped
        _render.line(f"{skipped} file(s) skipped, {len(report.notes) - skipped} read in part:")
        for note in report.notes[:_NOTES_SHOWN]:
            _render.line(f"  {note.path}: {note.reason}")
        if len(report.notes) > _NOTES_SHOWN:
            _render.line(f"  ... and {len(report.notes) - _NOTES_SHOWN} more (--json lists every one)")
    if report.runs and store is not None:
        _render.next_commands("turntrace runs --since 30d", "turntrace top tools", "turntrace cost --by model")
    return 1 if failed else 0


def _login_name() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment (a container with no passwd entry)
        return None


@contextmanager
def _progress(*, enabled: bool) -> Generator[Any, None, None]:
    """A progress bar on stderr (a terminal only: a pipe gets none), told the bytes done after each session."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    with Progress(
        "importing",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task("import", total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield on_progress
