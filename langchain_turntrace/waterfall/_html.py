"""One self-contained HTML page for a run: header totals, the waterfall, cost per turn, every attribute."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_turntrace.store._records import StoredSpan
from langchain_turntrace.waterfall import _format as fmt
from langchain_turntrace.waterfall._format import esc
from langchain_turntrace.waterfall._rows import WaterfallRow, build_rows
from langchain_turntrace.waterfall._style import CSS
from langchain_turntrace.waterfall._summary import RunSummary, summarize, turn_costs

KIND_LABELS = {"agent": "AGENT", "turn": "TURN", "chat": "MODEL", "tool": "TOOL", "other": "SPAN"}
AXIS_STEPS = 8  # the stylesheet shows 2, 4 or all 8 intervals, as many as the timeline's width has room for


def render_html(spans: Sequence[StoredSpan], *, title: str | None = None) -> str:
    """The page as one string: inline CSS only, no scripts, no fonts, no links outside the page.

    Every span name, attribute value and the title is escaped (``html.escape``, quote=True).
    """
    rows = build_rows(spans)
    summary = summarize(rows)
    heading = title if title is not None else _default_title(summary)
    body = [_header(heading, summary)]
    if rows:
        body += [_waterfall(rows, summary), _turn_table(rows, summary), _details(rows)]
    else:
        body.append('<section><p class="empty">No spans to show.</p></section>')
    body.append("<footer>Rendered by langchain-turntrace. Self-contained: no scripts or network requests.</footer>")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(heading)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )


def _default_title(summary: RunSummary) -> str:
    names = ", ".join(summary.agent_names)
    return f"{names} · turntrace waterfall" if names else "turntrace waterfall"


# -- header -----------------------------------------------------------------------------------------------
def _header(heading: str, s: RunSummary) -> str:
    sub: list[str] = []
    if s.start_ns is not None:
        sub.append(f"started {esc(fmt.utc(s.start_ns))}")
    if s.trace_ids:
        label = "trace" if len(s.trace_ids) == 1 else "traces"
        sub.append(f'{label} <span class="mono">{esc(", ".join(s.trace_ids))}</span>')
    status, status_class = _status(s)
    facts = [
        _fact("Agent", ", ".join(s.agent_names)),
        _fact("Session", ", ".join(s.session_ids)),
        _fact("User", ", ".join(s.user_ids)),
        _fact("Feature", ", ".join(s.features)),
        _fact("Agent version", ", ".join(s.agent_versions)),
        _fact("Status", status, status_class),
        _fact("Duration", fmt.ms(s.duration_ms)),
        _fact("Turns", f"{s.turns:,}"),
        _fact("Tool calls", f"{s.tool_calls:,}"),
        _fact("Tokens in → out", fmt.tokens(s.input_tokens, s.output_tokens)),
        _fact("Cost", fmt.cost(s.cost_usd) or "unknown"),
        _fact("Errors", f"{s.errors:,}", "bad" if s.errors else ""),
    ]
    return "\n".join(
        [
            "<header>",
            f"<h1>{esc(heading)}</h1>",
            f'<div class="sub">{" · ".join(sub)}</div>',
            f'<div class="facts">{"".join(facts)}</div>',
            "</header>",
        ]
    )


def _status(s: RunSummary) -> tuple[str, str]:
    if s.failed:
        return "error", "bad"
    if s.interrupted:
        return "interrupted", "warn"
    if s.incomplete:
        return "incomplete", "warn"
    return "ok", "good"


def _fact(key: str, value: str, css_class: str = "") -> str:
    shown = f'<div class="v">{esc(value)}</div>' if value else '<div class="v none">—</div>'
    return f'<div class="fact {css_class}" title="{esc(value)}"><div class="k">{esc(key)}</div>{shown}</div>'


# -- waterfall --------------------------------------------------------------------------------------------
def _waterfall(rows: Sequence[WaterfallRow], s: RunSummary) -> str:
    total = s.duration_ms
    ticks = "".join(_tick(i, total) for i in range(AXIS_STEPS + 1))
    lines = [
        '<section class="waterfall">',
        "<h2>Waterfall</h2>",
        '<table class="wf">',
        "<thead><tr><th>Span</th>",
        f'<th><div class="axis">{ticks}</div></th>',
        '<th class="num">Duration</th><th class="num">Tokens in → out</th><th class="num">Cost</th>'
        "<th>Notes</th></tr></thead>",
        "<tbody>",
    ]
    lines += [_waterfall_row(row, total) for row in rows]
    lines += [
        "</tbody>",
        "</table>",
        _legend(),
        "</section>",
    ]
    return "\n".join(lines)


def _tick(i: int, total_ms: float) -> str:
    """Tick ``i`` of AXIS_STEPS; its class says the fewest intervals at which it shows (every fourth always)."""
    shown_from = next(n for n in (2, 4, AXIS_STEPS) if i % (AXIS_STEPS // n) == 0)
    return (
        f'<span class="from{shown_from}" style="left:{100 * i / AXIS_STEPS:g}%">'
        f"{esc(fmt.tick(total_ms * i / AXIS_STEPS))}</span>"
    )


def _waterfall_row(row: WaterfallRow, total_ms: float) -> str:
    left = 100 * row.offset_ms / total_ms if total_ms > 0 else 0.0
    width = min(100 * row.duration_ms / total_ms if total_ms > 0 else 100.0, 100.0 - left)
    bar_classes = " ".join(
        [row.kind]
        + (["error"] if row.error else [])
        + (["incomplete"] if row.incomplete else [])
        + (["interrupted"] if row.interrupted else [])
    )
    tooltip = "\n".join(
        [
            row.label,
            f"starts at {fmt.ms(row.offset_ms)}, lasts {fmt.ms(row.duration_ms)}",
            *_notes_text(row),
        ]
    )
    row_class = f"k-{row.kind}" + (" err" if row.error else "")
    indent = 4 + 18 * row.depth
    return (
        f'<tr class="{row_class}">'
        f'<td class="name" style="padding-left:{indent}px" title="{esc(row.label)}">'
        f'<span class="kind {row.kind}">{KIND_LABELS[row.kind]}</span>'
        f'<a href="#span-{esc(row.span.span_id)}">{esc(row.label)}</a></td>'
        f'<td><div class="track"><div class="bar {bar_classes}" style="--at:{left:.3f}%;--len:{width:.3f}%"'
        f' title="{esc(tooltip)}"></div></div></td>'
        f'<td class="num">{esc(fmt.ms(row.duration_ms))}</td>'
        f"{_usage_cells(row)}"
        f'<td class="notes" title="{esc(" · ".join(_notes_text(row)))}">{_badges(row)}</td>'
        "</tr>"
    )


def _usage_cells(row: WaterfallRow) -> str:
    """Tokens and cost cells; zeros (a tool that called no model) are dimmed so the spend stands out."""
    no_tokens = not row.input_tokens and not row.output_tokens
    return (
        f'<td class="num{" zero" if no_tokens else ""}">{esc(fmt.tokens(row.input_tokens, row.output_tokens))}</td>'
        f'<td class="num{" zero" if not row.cost_usd else ""}">{esc(fmt.cost(row.cost_usd))}</td>'
    )


def _notes_text(row: WaterfallRow) -> list[str]:
    notes: list[str] = []
    if row.error:
        notes.append(f"error: {row.error_type or 'ERROR status'}")
    if row.interrupted:
        notes.append("interrupted")
    if row.incomplete:
        notes.append("incomplete")
    if row.stop_reason:
        notes.append(f"stop: {row.stop_reason}")
    return notes


def _badges(row: WaterfallRow) -> str:
    badges: list[str] = []
    if row.error:
        kind = row.error_type or "error"  # the full type in the title
        badges.append(f'<span class="badge error" title="{esc(kind)}">✕ {esc(row.error_class or kind)}</span>')
    if row.interrupted:
        badges.append('<span class="badge interrupted">⏸ interrupted</span>')
    if row.incomplete:
        badges.append('<span class="badge incomplete">incomplete</span>')
    if row.stop_reason:
        badges.append(f'<span class="badge">stop: {esc(row.stop_reason)}</span>')
    return "".join(badges)


def _legend() -> str:
    swatches = [
        ("background:var(--agent)", "agent run"),
        ("background:var(--turn-bg);border:1px solid var(--turn)", "turn"),
        ("background:var(--chat)", "model call"),
        ("background:var(--tool)", "tool call"),
        ("background:var(--error)", "error"),
        (
            "background:var(--turn) repeating-linear-gradient(45deg,rgba(255,255,255,.55) 0 3px,transparent 3px 6px)",
            "incomplete",
        ),
        ("outline:2px dashed var(--warn);background:var(--turn-bg)", "interrupted"),
    ]
    items = "".join(f'<span><i style="{style}"></i>{label}</span>' for style, label in swatches)
    return f'<div class="legend">{items} · hover a bar for details; click a name for its attributes</div>'


# -- per-turn costs ---------------------------------------------------------------------------------------
def _turn_table(rows: Sequence[WaterfallRow], s: RunSummary) -> str:
    turns = turn_costs(rows)
    if not turns:
        return '<section><h2>Cost per turn</h2><p class="empty">No turns in these spans.</p></section>'
    top_cost = max((t.row.cost_usd or 0.0 for t in turns), default=0.0)
    body: list[str] = []
    for t in turns:
        r = t.row
        share = (r.cost_usd or 0.0) / top_cost if top_cost else 0.0
        status = _badges(r) if (r.error or r.interrupted or r.incomplete) else ""
        if t.tool_errors:
            status += (
                f'<span class="badge error">{t.tool_errors} failed tool call{"s" if t.tool_errors > 1 else ""}</span>'
            )
        row_class = " ".join((["nested"] if t.nested else []) + (["err"] if r.error else []))
        body.append(
            f'<tr class="{row_class}">'
            f"<td>{esc(t.agent_name or '')}</td>"
            f'<td><a href="#span-{esc(r.span.span_id)}">{esc(r.label)}</a></td>'
            f'<td class="mono">{esc(t.model or "")}</td>'
            f"<td>{esc(r.stop_reason or '')}</td>"
            f'<td class="num">{t.tool_calls}</td>'
            f'<td class="num">{esc(fmt.ms(r.duration_ms))}</td>'
            f"{_usage_cells(r)}"
            f'<td><span class="share" style="width:{80 * share:.1f}px"></span>'
            f"{esc(fmt.percent(r.cost_usd, s.cost_usd))}</td>"
            f"<td>{status}</td>"
            "</tr>"
        )
    return "\n".join(
        [
            "<section>",
            "<h2>Cost per turn</h2>",
            '<div class="scroll"><table class="turns">',
            "<thead><tr><th>Agent</th><th>Turn</th><th>Model</th><th>Stop reason</th>"
            '<th class="num">Tool calls</th><th class="num">Duration</th><th class="num">Tokens in → out</th>'
            '<th class="num">Cost</th><th>Share of run cost</th><th>Status</th></tr></thead>',
            "<tbody>",
            *body,
            "</tbody>",
            "<tfoot><tr><td>Run</td><td></td><td></td><td></td>"
            f'<td class="num">{s.tool_calls:,}</td><td class="num">{esc(fmt.ms(s.duration_ms))}</td>'
            f'<td class="num">{esc(fmt.tokens(s.input_tokens, s.output_tokens))}</td>'
            f'<td class="num">{esc(fmt.cost(s.cost_usd))}</td><td></td><td></td></tr></tfoot>',
            "</table></div>",
            "</section>",
        ]
    )


# -- attributes -------------------------------------------------------------------------------------------
def _details(rows: Sequence[WaterfallRow]) -> str:
    items: list[str] = []
    for row in rows:
        span = row.span
        facts = [
            ("span_id", span.span_id),
            ("parent_span_id", span.parent_span_id or "(root)"),
            ("trace_id", span.trace_id),
            ("kind", span.kind),
            ("status", span.status),
            ("start", fmt.utc(span.start_ns)),
            ("duration", fmt.ms(row.duration_ms)),
        ]
        facts += [(key, fmt.attribute_value(value)) for key, value in sorted(span.attributes.items())]
        table = "".join(f'<tr><td class="k mono">{esc(k)}</td><td class="v mono">{esc(v)}</td></tr>' for k, v in facts)
        items.append(
            f'<details id="span-{esc(span.span_id)}"><summary style="padding-left:{16 * row.depth}px">{esc(row.label)}'
            f'<span class="meta">{esc(fmt.ms(row.duration_ms))}'
            f"{' · error' if row.error else ''}</span></summary>"
            f'<table class="attrs">{table}</table></details>'
        )
    return "\n".join(["<section>", "<h2>Span attributes</h2>", *items, "</section>"])
