"""An imported coding-agent session as plain data, whatever format it was read from: agent runs (one per user
prompt, or a subagent), their model calls with usage, the tool calls each model call requested, and problems met
on the way. Readers (``_claude_code.py``, ``_codex.py``) fill it in; ``_spans.py`` turns it into the span tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from langchain_turntrace.pricing import TokenUsage

ToolOutcome = Literal["ok", "error", "rejected", "denied", "interrupted"]
"""How a tool call ended: a result, an error result, the user said no (a permission prompt's "No", a plan turned
down), a rule said no (a deny rule, a hook, a prompt nobody could answer), or it was interrupted or cancelled
before it finished. A call whose result never came has no outcome."""


@dataclass(slots=True)
class ToolCall:
    """One tool use a model call asked for; its result joins it by ``tool_call_id``, wherever it comes in the file."""

    tool_call_id: str
    name: str
    input_hash: str
    start_ns: int
    end_ns: int | None = None  # None: no result ever came
    outcome: ToolOutcome | None = None
    return_shape_hash: str | None = None
    human_wait: bool = False  # the tool itself waits for the user (asks a question, asks to approve a plan)
    subagent: AgentRun | None = None
    span_key: str | None = None  # its span id's source where the call id is not unique across sessions (Codex)


@dataclass(slots=True)
class ModelCall:
    """One request to the model: every line a streamed response was written as, taken once."""

    key: str  # unique across sessions: the response id with the request id (a failed request: its record's id)
    response_id: str | None  # None: the request failed
    model: str
    provider: str
    start_ns: int
    end_ns: int
    usage: TokenUsage | None
    finish_reason: str | None  # the provider's own word
    error_type: str | None = None  # the request failed: the error's kind
    priced: bool = True  # False: served by a local model (no price list applies): tokens, no cost
    tool_calls: list[ToolCall] = field(default_factory=lambda: list[ToolCall]())


@dataclass(slots=True)
class AgentRun:
    """One user prompt and everything the agent did for it (or one subagent's whole task)."""

    key: str  # unique across sessions: the id of the record that started it
    name: str  # gen_ai.agent.name
    session_id: str
    agent_version: str | None
    start_ns: int
    model_calls: list[ModelCall] = field(default_factory=lambda: list[ModelCall]())
    subagents: list[AgentRun] = field(default_factory=lambda: list[AgentRun]())
    """Subagents no tool call of this run is known to have spawned (context compaction, say): under the run."""

    @property
    def end_ns(self) -> int:
        end = self.start_ns
        for call in self.model_calls:
            end = max(end, call.end_ns)
            for tool in call.tool_calls:
                end = max(end, tool.end_ns or tool.start_ns)
                if tool.subagent is not None:
                    end = max(end, tool.subagent.end_ns)
        for subagent in self.subagents:
            end = max(end, subagent.end_ns)
        return end


@dataclass(slots=True)
class FileNote:
    """Why part or all of one file was left out: one line of the import's report."""

    path: Path
    reason: str
    skipped_file: bool  # True: nothing of the file was imported


@dataclass(slots=True)
class Session:
    """One session's runs, read from its transcript file and its subagents' files."""

    session_id: str
    project: str  # the project folder's name: the default feature
    runs: list[AgentRun] = field(default_factory=lambda: list[AgentRun]())
    notes: list[FileNote] = field(default_factory=lambda: list[FileNote]())
    bytes_read: int = 0
    copied_calls: int = 0  # model calls already imported from the session this one continues
