"""The report page: header and headline figures, the chart, the tables, or what exists outside an empty window."""

from __future__ import annotations

from collections.abc import Mapping

from langchain_turntrace.report import _tables as tables
from langchain_turntrace.report._chart import cost_per_day
from langchain_turntrace.report._format import count, day, esc, minute, tokens, usd
from langchain_turntrace.report._style import CSS, SCRIPT, SCRIPT_HASH
from langchain_turntrace.store import Earlier, ReportFigures
from langchain_turntrace.version import __version__

# Nothing may be fetched: the page's one script runs by its hash, styles are inline, links only navigate.
_POLICY = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{SCRIPT_HASH}'"


def render_report(
    figures: ReportFigures,
    *,
    since: str,
    run_pages: Mapping[str, str] | None = None,
    wider_since: str | None = None,
) -> str:
    """The report as one self-contained HTML page.

    ``since`` is the window as the user gave it (``30d``); ``run_pages`` maps a run id to its waterfall page,
    relative to the report (``linked_runs`` says which runs the page links, most important first);
    ``wider_since`` is the window an empty report suggests instead. Every name from the store is escaped.

    >>> page = render_report(store.report(since_ns), since="30d", run_pages={})  # doctest: +SKIP
    """
    links = tables.RunLinks(run_pages or {})
    body = [_header(figures, since)]
    body += _empty(figures, since, wider_since) if figures.empty else _sections(figures, links)
    pages = len(run_pages or {})
    body.append(
        f"<footer>Rendered by langchain-turntrace {esc(__version__)}. Self-contained: inline styles and one inline "
        "script (the chart's switch), no network requests."
        + (
            f" Run links open the {pages} waterfall page{'s' if pages != 1 else ''} saved beside this file."
            if pages
            else ""
        )
        + "</footer>"
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">',  # our constant: no quote to escape
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>turntrace report · {esc(_window(figures))}</title>",
            f"<style>{CSS}</style>",
            "<noscript><style>.chart[hidden] { display: block; } .switch { display: none; }</style></noscript>",
            "</head>",
            "<body>",
            *body,
            f"<script>{SCRIPT}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def linked_runs(figures: ReportFigures) -> list[str]:
    """The runs the page links to, each once, most important first: the costliest runs, the runs of the costliest
    turns, of the latest failed tool calls, of the slowest tool calls, of the smells."""
    ids = [run.run_id for run in figures.costly_runs]
    ids += [turn.run_id for turn in figures.costly_turns]
    ids += [call.run_id for tool in (*figures.failing_tools, *figures.slowest_tools) for call in tool.examples]
    ids += [run.run_id for run in figures.smells.runs_without_turns]
    ids += [call.run_id for call in figures.smells.tool_calls_without_turn]
    return list(dict.fromkeys(i for i in ids if i))


def _window(figures: ReportFigures) -> str:
    if figures.since_ns is None:
        return f"everything to {day(figures.until_ns)}"
    return f"{day(figures.since_ns)} to {day(figures.until_ns)}"


def _header(f: ReportFigures, since: str) -> str:
    start = "the first span" if f.since_ns is None else minute(f.since_ns)
    unpriced = f.total.unpriced_calls
    facts = [
        _fact("Cost", usd(f.total.cost_usd), "warn" if unpriced else ""),
        _fact("Agent runs", count(f.runs)),
        _fact("Model calls", count(f.total.calls)),
        _fact("Tokens in → out", tokens(f.total.input_tokens, f.total.output_tokens)),
        _fact("Unpriced calls", count(unpriced), "warn" if unpriced else ""),
        _fact("Wiring smells", count(f.smells.count), "warn" if f.smells.count else ""),
    ]
    return (
        "<header><h1>turntrace report</h1>"
        f'<div class="sub">What started from {esc(start)} to {esc(minute(f.until_ns))} (<code>--since '
        f"{esc(since)}</code>). Cost is counted on model calls only, so nothing is counted twice; runs and turns "
        "show their inclusive totals.</div>"
        f'<div class="facts">{"".join(facts)}</div></header>'
    )


def _fact(key: str, value: str, css: str = "") -> str:
    return f'<div class="fact {css}"><div class="k">{esc(key)}</div><div class="v">{esc(value)}</div></div>'


def _sections(f: ReportFigures, links: tables.RunLinks) -> list[str]:
    total = f.total
    chart = cost_per_day(
        f.cost_by_day,
        {"model": (f.cost_by_day_model, f.by_model), "feature": (f.cost_by_day_feature, f.by_feature)},
        day(f.until_ns),
    )
    by = {
        "feature": tables.cost_table(f.by_feature, total, "Feature", "features", "turntrace cost --by feature"),
        "model": tables.cost_table(f.by_model, total, "Model", "models", "turntrace cost --by model"),
        "user": tables.cost_table(f.by_user, total, "User", "users", "turntrace cost --by user"),
        "agent version": tables.cost_table(
            f.by_agent_version, total, "Agent version", "versions", "turntrace cost --by agent_version"
        ),
    }
    cost_sections = [
        tables.section(f"Cost by {name}", table, anchor=f"cost-by-{name.replace(' ', '-')}")
        for name, table in by.items()
    ]
    tool_note = "by p95 latency; links open the run's waterfall at the call"
    return [
        chart,
        _pair(*cost_sections[:2]),
        _pair(*cost_sections[2:]),
        _pair(
            tables.section(
                "Slowest tools", tables.slowest_tools(f.slowest_tools, links), esc(tool_note), anchor="slowest-tools"
            ),
            tables.section(
                "Most failing tools",
                tables.failing_tools(f.failing_tools, links),
                "by failed calls",
                anchor="failing-tools",
            ),
        ),
        '<div class="wide">'
        + tables.section(
            "Most expensive runs",
            tables.costly_runs(f.costly_runs, links),
            "inclusive cost of each agent run",
            anchor="costly-runs",
        )
        + "</div>",
        '<div class="wide">'
        + tables.section(
            "Most expensive turns",
            tables.costly_turns(f.costly_turns, links),
            "a turn's model calls and those of agents it called",
            anchor="costly-turns",
        )
        + "</div>",
        _pair(
            tables.section(
                "Tokens per turn",
                tables.tokens_per_turn(f.tokens_per_turn),
                "per turn of each model: its model calls and those of agents it called",
                anchor="tokens-per-turn",
            ),
            tables.section(
                "Wiring smells",
                tables.smells(f.smells, links),
                "what <code>turntrace alert</code> warns about",
                anchor="smells",
            ),
        ),
    ]


def _pair(left: str, right: str) -> str:
    return f'<div class="grid2">{left}{right}</div>'


def _empty(f: ReportFigures, since: str, wider_since: str | None) -> list[str]:
    earlier = [
        _earlier(what, e)
        for what, e in (("agent runs", f.runs_before), ("model calls", f.model_calls_before))
        if e is not None and e.count
    ]
    if not earlier:
        advice = "The store holds nothing older either: trace a run first, e.g. <code>turntrace demo</code>."
    elif wider_since is not None:
        advice = f"Widen the window: <code>turntrace report --since {esc(wider_since)} --html FILE</code>."
    else:
        advice = "Widen the window with <code>--since</code>."
    return [
        '<section class="wide" id="empty"><p class="empty">No agent runs, model calls or tool calls started in this '
        f"window (<code>--since {esc(since)}</code>).</p>"
        + (f"<p>{' '.join(earlier)}</p>" if earlier else "")
        + f"<p>{advice}</p></section>"
    ]


def _earlier(what: str, e: Earlier) -> str:
    latest = "" if e.latest_start_ns is None else f", the latest on {esc(minute(e.latest_start_ns))}"
    return f"The store holds {e.count:,} earlier {esc(what)}{latest}."
