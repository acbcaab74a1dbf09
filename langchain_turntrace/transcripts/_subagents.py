"""Where a session's subagents go in its tree: under the tool call that spawned them, else under the run going on
when they started, else (a session that never got a prompt) runs of their own.

A subagent joins the Task/Agent call that spawned it by the agent id the call's result names, else by its first
prompt, which is the ``prompt`` the tool was given (whole: a long prompt's first 200 characters are shared by
many); the nearest in time when several match.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_turntrace.transcripts._model import AgentRun, ToolCall


@dataclass(slots=True)
class Subagent:
    """One subagent's run, with what can link it to the call that spawned it."""

    run: AgentRun
    agent_id: str | None
    prompt_digest: str | None  # of its first prompt
    replayed: bool  # it began by writing its parent's conversation again


@dataclass(slots=True)
class Spawn:
    """One Task/Agent call, with what can link it to the subagent it ran."""

    tool: ToolCall
    subagent_type: str | None
    prompt_digest: str | None  # of the prompt it gave
    agent_id: str | None  # the one its result names


def place_subagents(runs: list[AgentRun], subagents: list[Subagent], spawns: list[Spawn]) -> list[AgentRun]:
    """Every subagent under its spawning call or the run it ran in; returns the session's runs (``runs`` and the
    subagents with no run to go under), by start, each run's key unique so each span id is."""
    for subagent in subagents:
        if subagent.replayed:  # it began with its own first call, not with the parent's prompt it copied
            subagent.run.start_ns = max(subagent.run.start_ns, min(call.start_ns for call in subagent.run.model_calls))
    linked = _link_spawned(subagents, spawns)
    own_runs: list[AgentRun] = []
    for subagent in subagents:
        if id(subagent) in linked:
            continue
        # a warmup before the first prompt filled the cache that prompt's run reads; a session that never got a
        # prompt keeps its subagents as runs of their own
        host = _run_at(runs, subagent.run.start_ns) or (runs[0] if runs else None)
        if host is not None:
            host.subagents.append(subagent.run)
        else:
            own_runs.append(subagent.run)
    used: set[str] = set()
    for run in runs + [subagent.run for subagent in subagents]:
        if run.key in used:  # its first record is a copy of another run's, uuid and all: its ids would be too
            run.key = f"{run.key}/{run.model_calls[0].key}"
        used.add(run.key)
    return sorted(runs + own_runs, key=lambda run: run.start_ns)


def _link_spawned(subagents: list[Subagent], spawns: list[Spawn]) -> set[int]:
    """Subagents under the calls that spawned them; returns the linked subagents' ids."""
    by_agent_id: dict[str, Subagent] = {}
    by_prompt: dict[str, list[Subagent]] = {}
    for subagent in subagents:
        if subagent.agent_id is not None:
            by_agent_id.setdefault(subagent.agent_id, subagent)
        if subagent.prompt_digest is not None:
            by_prompt.setdefault(subagent.prompt_digest, []).append(subagent)
    linked: set[int] = set()
    for spawn in spawns:
        tool = spawn.tool
        found = by_agent_id.get(spawn.agent_id) if spawn.agent_id is not None else None
        if found is None or id(found) in linked:
            candidates = [s for s in by_prompt.get(spawn.prompt_digest or "", ()) if id(s) not in linked]
            found = min(candidates, key=lambda s: abs(s.run.start_ns - tool.start_ns), default=None)
        if found is None:
            continue
        linked.add(id(found))
        found.run.name = spawn.subagent_type or found.run.name
        tool.subagent = found.run
    return linked


def _run_at(runs: list[AgentRun], at_ns: int) -> AgentRun | None:
    """The run that was going on at ``at_ns``: the latest to start before it."""
    host = None
    for run in runs:
        if run.start_ns <= at_ns:
            host = run
    return host
