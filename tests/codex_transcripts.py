"""Codex CLI rollouts built line by line, as Codex writes them (no real user data).

The shapes follow openai/codex's own types and what public readers of the format rely on (the sources are named in
langchain_turntrace/transcripts/_codex.py): ``{timestamp, type, payload}`` lines; ``session_meta`` first; a
``turn_context`` before each turn; the prompt as a user ``message`` item and a ``user_message`` event; tool calls
as ``function_call`` items joined to ``function_call_output`` by ``call_id``; after each response a
``token_count`` event with ``info.last_token_usage`` and the running ``info.total_token_usage``."""

from __future__ import annotations

import json
import uuid as uuids
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

GPT5 = "gpt-5"
GPT5_CODEX = "gpt-5-codex"
REJECTED = "exec command rejected by user"  # what Codex gives the model when the user says no at the prompt
ABORTED = "aborted by user after 3.2s"  # a tool call the user interrupted
# exec_command's output as unified exec writes it: header lines, then the command's own output
# (codex-rs's unified exec tool, as rollouts show it; some versions put "Command: ..." first).
EXEC_FAILED = (
    "Chunk ID: c15eb7\nWall time: 7.0 seconds\nProcess exited with code 1\nOriginal token count: 3\nOutput:\n1 failed"
)
EXEC_OK = (
    "Command: make lint\nChunk ID: 9a1f\nWall time: 0.5 seconds\nProcess exited with code 0\nOutput:\nExit code: 1"
)


@dataclass(frozen=True)
class Usage:
    """One request's tokens in Codex's words: input counts the cached input, output counts the reasoning."""

    input_tokens: int = 1000
    cached_input_tokens: int = 0
    output_tokens: int = 200
    reasoning_output_tokens: int = 0

    def as_codex(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_output_tokens": self.reasoning_output_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
        }


class Rollout:
    """One rollout file's lines. ``order``: where a response's ``token_count`` falls among its items
    (``items_first``: after them, as current versions write it; ``count_first``: before them)."""

    def __init__(
        self,
        session_id: str | None = None,
        *,
        start: datetime | None = None,
        cwd: str = "/home/dev/shop",
        version: str = "0.46.0",
        model: str = GPT5_CODEX,
        order: Literal["items_first", "count_first"] = "items_first",
        forked_from: str | None = None,
        spawned_by: str | None = None,
        provider: str = "openai",
    ) -> None:
        self.session_id = session_id or str(uuids.uuid4())
        self.started = start or datetime.now(timezone.utc) - timedelta(days=1)
        self.now = self.started
        self.cwd = cwd
        self.model = model
        self.order: Literal["items_first", "count_first"] = order
        self.lines: list[dict[str, Any]] = []
        self.total = Usage(0, 0, 0, 0)
        meta: dict[str, Any] = {
            "id": self.session_id,
            "timestamp": _iso(self.now),
            "cwd": cwd,
            "originator": "codex_cli_rs",
            "cli_version": version,
            "instructions": None,
            "source": "cli",
            "model_provider": provider,
            "git": {"commit_hash": "0" * 40, "branch": "main"},
        }
        if forked_from is not None:
            meta["forked_from_id"] = forked_from
        if spawned_by is not None:  # a subagent thread names its parent here (getagentseal/codeburn#1383)
            meta["source"] = {"subagent": {"thread_spawn": {"parent_thread_id": spawned_by, "depth": 1}}}
        self.line("session_meta", meta)
        self.event({"type": "token_count", "info": None, "rate_limits": {"primary": {"used_percent": 1.0}}})

    # -- lines -------------------------------------------------------------------------------------------------
    def line(self, kind: str, payload: dict[str, Any], *, seconds: float = 0.0) -> None:
        self.now += timedelta(seconds=seconds)
        self.lines.append({"timestamp": _iso(self.now), "type": kind, "payload": payload})

    def item(self, payload: dict[str, Any], *, seconds: float = 0.0) -> None:
        self.line("response_item", payload, seconds=seconds)

    def event(self, payload: dict[str, Any], *, seconds: float = 0.0) -> None:
        self.line("event_msg", payload, seconds=seconds)

    # -- a conversation ----------------------------------------------------------------------------------------
    def prompt(
        self, text: str = "what does this do?", *, seconds: float = 5.0, item: bool = True, context_event: bool = False
    ) -> None:
        """A typed prompt: its turn_context, the injected context and the prompt as items, then its event.
        ``context_event``: the injected context as an event of its own too, with its ``kind`` (as some versions
        wrote it: ``UserMessageEvent.kind``, codex-rs/protocol/src/protocol.rs)."""
        self.line("turn_context", {"cwd": self.cwd, "model": self.model, "effort": "medium"}, seconds=seconds)
        context = f"<environment_context>\n  <cwd>{self.cwd}</cwd>\n</environment_context>"
        if item:
            self.item(_message("user", context))
            self.item(_message("user", text))
        if context_event:
            self.event({"type": "user_message", "message": context, "kind": "environment_context"})
        self.event({"type": "user_message", "message": text, "kind": "plain", "images": []})

    def response(
        self,
        *,
        usage: Usage | None = None,
        tools: Sequence[tuple[str, dict[str, Any]]] = (),
        text: str | None = None,
        seconds: float = 2.0,
        repeat_count: int = 0,
        outputs: Sequence[str] | None = None,
        call_ids: Sequence[str] | None = None,
    ) -> list[str]:
        """One model request's items and its token_count (``repeat_count`` more copies with the total unchanged,
        as Codex re-emits it). Returns the call ids of the tools it asked for. ``outputs``: each call's output
        written right after it, at the same moment (older versions recorded a request's items after its tools
        ran: the ``count_first`` layout). ``call_ids``: the ids the model gave its calls (default: unique ones)."""
        usage = usage or Usage()
        self.now += timedelta(seconds=seconds)
        if self.order == "count_first":
            self._token_count(usage, repeat_count)
        self.item({"type": "reasoning", "summary": [], "encrypted_content": "gAAA"})
        call_ids_out: list[str] = []
        for name, arguments in tools:
            call_id = call_ids[len(call_ids_out)] if call_ids is not None else f"call_{uuids.uuid4().hex[:24]}"
            call_ids_out.append(call_id)
            self.item({"type": "function_call", "name": name, "arguments": json.dumps(arguments), "call_id": call_id})
            if outputs is not None:
                self.output(call_id, outputs[len(call_ids_out) - 1], seconds=0.0)
        if text is not None:
            self.item(_message("assistant", text, part="output_text"))
            self.event({"type": "agent_message", "message": text})
        if self.order == "items_first":
            self._token_count(usage, repeat_count)
        return call_ids_out

    def _token_count(self, usage: Usage, repeat: int) -> None:
        total = self.total
        self.total = Usage(
            total.input_tokens + usage.input_tokens,
            total.cached_input_tokens + usage.cached_input_tokens,
            total.output_tokens + usage.output_tokens,
            total.reasoning_output_tokens + usage.reasoning_output_tokens,
        )
        info = {
            "total_token_usage": self.total.as_codex(),
            "last_token_usage": usage.as_codex(),
            "model_context_window": 272_000,
        }
        for _ in range(1 + repeat):
            self.event({"type": "token_count", "info": info, "rate_limits": {"primary": {"used_percent": 2.0}}})

    def output(
        self, call_id: str, output: str = "Exit code: 0\nWall time: 0.1 seconds\nOutput:\nok", *, seconds: float = 1.0
    ) -> None:
        self.item({"type": "function_call_output", "call_id": call_id, "output": output}, seconds=seconds)

    def exec_end(self, call_id: str, *, exit_code: int, status: str, seconds: float = 1.0) -> None:
        """The extended persistence mode's record of a finished command."""
        self.event(
            {"type": "exec_command_end", "call_id": call_id, "exit_code": exit_code, "status": status}, seconds=seconds
        )

    def aborted(self, *, seconds: float = 1.0) -> None:
        self.event({"type": "turn_aborted", "reason": "interrupted"}, seconds=seconds)

    # -- files -------------------------------------------------------------------------------------------------
    @property
    def file_name(self) -> str:
        return f"rollout-{self.started:%Y-%m-%dT%H-%M-%S}-{self.session_id}.jsonl"

    def write(self, sessions: Path, *, lines: list[dict[str, Any]] | None = None) -> Path:
        """Writes the file where Codex does: ``sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl``."""
        folder = sessions / f"{self.started:%Y}" / f"{self.started:%m}" / f"{self.started:%d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / self.file_name
        path.write_text("".join(json.dumps(line) + "\n" for line in (self.lines if lines is None else lines)))
        return path

    def fork(self, *, seconds: float = 60.0, spawned: bool = False) -> Rollout:
        """A fork of this session: a new file whose meta names this one, then a copy of this one's history with
        its own session_meta, every line re-stamped at the fork's time (ccusage/ccusage#1370). ``spawned``: a
        subagent thread instead, which names its parent in ``source`` and keeps the copied lines' timestamps
        (getagentseal/codeburn#1383)."""
        at = self.now + timedelta(seconds=seconds)
        child = Rollout(
            start=at,
            cwd=self.cwd,
            model=self.model,
            order=self.order,
            forked_from=None if spawned else self.session_id,
            spawned_by=self.session_id if spawned else None,
        )
        copied = self.lines if spawned else [{**line, "timestamp": _iso(at)} for line in self.lines]
        child.lines = child.lines[:1] + copied
        child.total = self.total
        child.now = at
        return child


def legacy_lines(session_id: str, *, start: datetime) -> list[dict[str, Any]]:
    """A rollout of the first format (mid-2025): the session's meta and response items written bare, with
    ``{"record_type": "state"}`` lines between; no token counts."""
    return [
        {"id": session_id, "timestamp": _iso(start), "instructions": None},
        {"record_type": "state"},
        _message("user", "hello"),
        _message("assistant", "Hi.", part="output_text"),
        {"record_type": "state"},
    ]


def _message(role: str, text: str, *, part: str = "input_text") -> dict[str, Any]:
    return {"type": "message", "role": role, "content": [{"type": part, "text": text}]}


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
