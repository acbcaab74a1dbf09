"""The commands: each reads the store (or runs the scripted agent) and hands rows to the renderer."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from langchain_turntrace import attributes as attr
from langchain_turntrace.cli import _alert, _render
from langchain_turntrace.cli._since import since_ns
from langchain_turntrace.cli._values import UsageError
from langchain_turntrace.money import amount
from langchain_turntrace.store import SpanStore, StoredSpan, default_store_path


def run(args: argparse.Namespace) -> int:
    path: Path = args.store or default_store_path()
    command: str = args.command
    if command == "demo":
        return _demo(path, as_json=args.json, max_cost_usd=args.max_cost_usd)
    if command == "verify":
        return _verify(args.backend, path, args.timeout_s, as_json=args.json)
    if command == "prices":
        return _prices(args.model, args.provider, args.service_tier, as_json=args.json)
    if command == "import":
        from langchain_turntrace.cli._import import run_import

        return run_import(args, path)
    if command == "report":
        from langchain_turntrace.cli._report import run_report

        return run_report(args, path)
    with SpanStore.open(path, create=False) as store:
        if command == "alert":
            report = _alert.evaluate(
                store,
                max_cost_usd=args.max_cost_usd,
                per=args.per,
                by=args.by,
                since=args.since,
                strict=args.strict,
                store_option=args.store,
            )
            earlier = None if report.groups or args.json else store.model_calls_before(report.window_start_ns)
            _emit(args.json, report.as_json(), lambda: _render.alert(report, earlier))
            return report.exit_code
        if command == "runs":
            start_ns = since_ns(args.since)
            tags = {"session": args.session, "user": args.user, "feature": args.feature}
            rows = store.runs(start_ns, **tags, limit=args.limit)
            if args.session is not None:
                rows.reverse()  # one conversation reads in order: its latest runs, oldest first
            earlier = None if rows or args.json or start_ns is None else store.runs_before(start_ns, **tags)
            table = partial(_render.runs_table, since=args.since, limit=args.limit, store=path, earlier=earlier, **tags)
            return _emit(args.json, [asdict(r) for r in rows], lambda: table(rows))
        if command == "show":
            spans = store.run_spans(args.run)
            if args.html is not None:
                _write_html(args.html, spans)
            resumes, resumed_by = _resume_links(store, spans, args.run)
            return _emit(args.json, [asdict(s) for s in spans], lambda: _render.waterfall(spans, resumes, resumed_by))
        if command == "cost":
            start_ns = since_ns(args.since)
            rows = store.cost_by(args.by, start_ns)
            earlier = None if rows or args.json or start_ns is None else store.model_calls_before(start_ns)
            # One total however the rows are grouped: the store's own sum, not the rows' rounded ones added up.
            total = None if args.json else store.cost_total(start_ns)
            table = partial(_render.cost_table, rows, total, args.by, args.since, earlier)
            return _emit(args.json, [asdict(r) for r in rows], table)
        if command == "top":
            start_ns = since_ns(args.since)
            rows = store.top_tools(args.by, start_ns, limit=args.limit, human_waits=args.human_waits)
            earlier = None if rows or args.json or start_ns is None else store.tool_calls_before(start_ns)
            table = partial(_render.tools_table, rows, args.by, args.since, args.limit, earlier)
            return _emit(args.json, [asdict(r) for r in rows], table)
        if command == "prune":
            removed = store.prune()
            return _emit(args.json, {"traces_removed": removed}, lambda: _render.line(f"pruned {removed} trace(s)"))
    raise AssertionError(f"unknown command {command!r}")  # argparse allows only the commands above


def _resume_links(store: SpanStore, spans: list[StoredSpan], run_id: str) -> tuple[list[str], list[str]]:
    """The runs the shown run resumes (its agent span links to theirs) and the runs that resumed it. ``run_id``
    names the run (a trace may hold several, under one request span), else it is the trace's first."""
    agents = [s for s in spans if s.role == "agent"]
    wanted = run_id.strip().lower()
    root = next((s for s in agents if s.span_id.startswith(wanted)), agents[0] if agents else None)
    if root is None:
        return [], []
    resumes = [link.span_id for link in root.links if link.kind == attr.RESUMES]
    resumed_by = [span_id for span_id, link in store.linked_from(root.span_id) if link.kind == attr.RESUMES]
    return resumes, resumed_by


def _emit(as_json: bool, data: Any, render: Any) -> int:
    if as_json:
        print(json.dumps(data, indent=2, default=str))
    else:
        render()
    return 0


def _write_html(target: Path, spans: list[StoredSpan]) -> None:
    from langchain_turntrace.waterfall import render_html

    try:
        target.write_text(render_html(spans), encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {str(target)!r} ({error.strerror}); choose a writable path") from None
    _render.line(f"wrote {target}")


def _demo(path: Path, *, as_json: bool, max_cost_usd: float | None = None) -> int:
    """The scripted agent into the store; with ``max_cost_usd``, under a budget that stops it (exit 1 then)."""
    from langchain_turntrace.config import Budget
    from langchain_turntrace.verify import run_scripted_session

    budget = None if max_cost_usd is None else Budget(max_cost_usd_per_run=max_cost_usd, on_exceed="raise")
    session = run_scripted_session(path, session_prefix="demo", runs=1, budget=budget)
    run_id = session.runs[0].run_id
    with SpanStore.open(path, create=False) as store:
        spans = store.run_spans(run_id)
    if max_cost_usd is not None:
        return _budget_demo_output(spans, max_cost_usd, session.stopped, as_json=as_json)
    if as_json:
        print(json.dumps([asdict(s) for s in spans], indent=2, default=str))
        return 0
    _render.line(f"traced one agent run into {path}\n")
    _render.waterfall(spans)
    _render.line("")
    _render.next_commands("turntrace runs", f"turntrace show {run_id[:8]} --html run.html", "turntrace cost --by model")
    return 0


def _budget_demo_output(spans: list[StoredSpan], max_cost_usd: float, stopped: str | None, *, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"stopped": stopped, "spans": [asdict(s) for s in spans]}, indent=2, default=str))
    else:
        _render.line(f"stopped: {stopped}\n" if stopped else f"the run stayed within {amount(max_cost_usd)}\n")
        _render.waterfall(spans)
    return 1 if stopped else 0


def _prices(model: str, provider: str | None, service_tier: str | None, *, as_json: bool) -> int:
    from langchain_turntrace.config import resolve_price_overrides
    from langchain_turntrace.pricing import PriceBook

    card = PriceBook(resolve_price_overrides()).rate_card(model, provider, service_tier)
    if as_json:
        print(json.dumps(None if card is None else asdict(card), indent=2))
    elif card is None:
        _render.line(
            f"no price for {model!r}: its calls get turntrace.cost_source='unpriced' and no cost.\n"
            "Upgrade the table (pip install -U genai-prices) or give your own rates in $TURNTRACE_PRICES "
            f'(a JSON/TOML file like {{"{model}": {{"input_per_mtok": 1.0, "output_per_mtok": 2.0}}}}).'
        )
    else:
        _render.rate_card(card)
    return 0 if card is not None else 1


def _verify(backend: str | None, path: Path, timeout_s: float, *, as_json: bool) -> int:
    from langchain_turntrace.config import resolve_backend
    from langchain_turntrace.verify import verify_backend

    target, checks = verify_backend(resolve_backend(backend).backend, path, timeout_s=timeout_s)
    if as_json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        _render.checks(checks, target)
    return 0 if all(c.passed for c in checks) else 1
