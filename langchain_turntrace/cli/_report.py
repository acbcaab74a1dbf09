"""``turntrace report``: the store's figures over a window as one HTML page, with the waterfall pages of the runs it
links to in a folder beside it, or the same figures as JSON."""

from __future__ import annotations

import argparse
import json
import os
import re
from dataclasses import asdict
from pathlib import Path
from typing import Final

from langchain_turntrace.cli._since import since_covering, since_ns
from langchain_turntrace.cli._values import UsageError
from langchain_turntrace.store import ReportFigures, SpanStore

MAX_RUN_PAGES: Final = 60
"""Waterfall pages written beside a report, the most important runs first (``linked_runs``); a run past the bound
is shown by its id, with the ``turntrace show`` command that opens it."""

_RUN_PAGE: Final = re.compile(r"^[0-9a-f]{16}\.html$")


def run_report(args: argparse.Namespace, path: Path) -> int:
    """``--json`` prints the figures; otherwise ``--html FILE`` gets the page and ``FILE_STEM-runs/`` the run pages."""
    start_ns = since_ns(args.since)
    target: Path | None = None if args.json else args.html  # main() has made sure of one of them
    if target is not None:
        _check_writable(target)
    with SpanStore.open(path, create=False) as store:
        figures = store.report(start_ns)
        if target is None:
            print(json.dumps(asdict(figures), indent=2))
            return 0
        pages = _write_run_pages(store, _runs_folder(target), figures)
    from langchain_turntrace.report import render_report

    earlier = [e.latest_start_ns for e in (figures.runs_before, figures.model_calls_before) if e is not None]
    latest = max((ns for ns in earlier if ns is not None), default=None)
    wider = None if latest is None else since_covering(latest)
    _write(target, render_report(figures, since=args.since, run_pages=pages, wider_since=wider))
    folder = f" and {len(pages)} run page{'s' if len(pages) != 1 else ''} in {_runs_folder(target)}" if pages else ""
    print(f"wrote {target}{folder}")
    return 0


def _runs_folder(target: Path) -> Path:
    return target.with_name(f"{target.stem}-runs")


def _check_writable(target: Path) -> None:
    parent = target.parent if str(target.parent) else Path(".")
    problem = None
    if target.is_dir():
        problem = "is a directory"
    elif not parent.is_dir():
        problem = "is in a directory that does not exist"
    elif not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        problem = "is not writable"
    if problem is not None:
        raise UsageError(f"cannot write the report to {str(target)!r}: it {problem}; choose a writable file")


def _write_run_pages(store: SpanStore, folder: Path, figures: ReportFigures) -> dict[str, str]:
    """Each linked run's waterfall page (bounded by MAX_RUN_PAGES) as ``folder/<run id>.html``; pages of earlier
    reports that this one no longer links are removed. Returns run id -> link relative to the report."""
    from langchain_turntrace.report import linked_runs
    from langchain_turntrace.waterfall import render_html

    run_ids = linked_runs(figures)[:MAX_RUN_PAGES]
    wanted = {f"{run_id}.html" for run_id in run_ids}
    if folder.is_dir():
        for old in folder.iterdir():
            if _RUN_PAGE.match(old.name) and old.name not in wanted:
                old.unlink()
    if not run_ids:
        return {}
    try:
        folder.mkdir(exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create {str(folder)!r} ({error.strerror}); choose a writable place") from None
    pages: dict[str, str] = {}
    for run_id in run_ids:
        _write(folder / f"{run_id}.html", render_html(store.run_spans(run_id)))
        pages[run_id] = f"{folder.name}/{run_id}.html"
    return pages


def _write(target: Path, text: str) -> None:
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {str(target)!r} ({error.strerror}); choose a writable path") from None
