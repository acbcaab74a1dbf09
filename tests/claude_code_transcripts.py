"""Claude Code transcripts built record by record, as Claude Code writes them (no real user data).

The shapes follow what public readers of the format rely on (see langchain_turntrace/transcripts/_claude_code.py
for the sources): user / assistant records with ``uuid``, ``parentUuid``, ``sessionId``, ``timestamp``,
``version``, ``cwd``; a streamed response written one line per content block, each repeating ``message.id``,
``requestId`` and ``usage``, with a placeholder ``output_tokens`` and no ``stop_reason`` until the last line."""

from __future__ import annotations

import json
import uuid as uuids
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

SONNET = "claude-sonnet-4-5-20250929"
REJECT_MESSAGE = (
    "The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if it was a file edit, the "
    "new_string was NOT written to the file). STOP what you are doing and wait for the user to tell you how to proceed."
)
INTERRUPTED_FOR_TOOL_USE = "[Request interrupted by user for tool use]"
HAIKU = "claude-haiku-4-5-20251001"


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 100  # uncached input, as the Messages API counts it
    output_tokens: int = 50
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0

    def as_api(self, output_tokens: int | None = None) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_write_5m + self.cache_write_1h,
            "cache_read_input_tokens": self.cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_write_5m,
                "ephemeral_1h_input_tokens": self.cache_write_1h,
            },
            "output_tokens": self.output_tokens if output_tokens is None else output_tokens,
            "service_tier": "standard",
        }


class Transcript:
    """One file's records. ``sidechain`` / ``agent_id``: a subagent's own file (every record a sidechain)."""

    def __init__(
        self,
        session_id: str | None = None,
        *,
        start: datetime | None = None,
        cwd: str = "/home/dev/shop",
        version: str = "2.0.31",
        sidechain: bool = False,
        agent_id: str | None = None,
    ) -> None:
        self.session_id = session_id or str(uuids.uuid4())
        self.now = start or datetime.now(timezone.utc) - timedelta(days=1)
        self.cwd = cwd
        self.version = version
        self.sidechain = sidechain
        self.agent_id = agent_id
        self.records: list[dict[str, Any]] = []
        self.raw_lines: list[str] = []  # appended after the records, as written
        self._parent: str | None = None

    # -- clock ---------------------------------------------------------------------------------------------
    def wait(self, seconds: float) -> Transcript:
        self.now += timedelta(seconds=seconds)
        return self

    def _stamp(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.now.microsecond // 1000:03d}Z"

    # -- records -------------------------------------------------------------------------------------------
    def _record(self, kind: str, message: dict[str, Any], **extra: Any) -> dict[str, Any]:
        record_uuid = str(uuids.uuid4())
        record: dict[str, Any] = {
            "parentUuid": self._parent,
            "isSidechain": self.sidechain,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.session_id,
            "version": self.version,
            "gitBranch": "main",
            "type": kind,
            "message": message,
            "uuid": record_uuid,
            "timestamp": self._stamp(),
            **extra,
        }
        if self.agent_id is not None:
            record["agentId"] = self.agent_id
        self._parent = record_uuid
        self.records.append(record)
        return record

    def prompt(self, text: str = "fix the failing test", **extra: Any) -> str:
        return self._record("user", {"role": "user", "content": text}, **extra)["uuid"]

    def user_text(self, text: str, **extra: Any) -> None:
        """A user record of text blocks that Claude Code writes itself: an interrupt's marker, say."""
        self._record("user", {"role": "user", "content": [{"type": "text", "text": text}]}, **extra)

    def response(
        self,
        *,
        model: str = SONNET,
        usage: Usage | None = None,
        text: str | None = "On it.",
        tools: Sequence[tuple[str, dict[str, Any]]] = (),
        stop_reason: str | None = None,
        seconds: float = 2.0,
        final_line_has_usage: bool = True,
    ) -> list[str]:
        """One model call, streamed: a line per content block (text, then each tool use), ``seconds`` apart in
        all. Returns the tool use ids."""
        usage = usage or Usage()
        message_id = "msg_" + uuids.uuid4().hex[:24]
        request_id = "req_" + uuids.uuid4().hex[:24]
        blocks: list[dict[str, Any]] = []
        if text is not None:
            blocks.append({"type": "text", "text": text})
        tool_ids: list[str] = []
        for name, tool_input in tools:
            tool_id = "toolu_" + uuids.uuid4().hex[:24]
            tool_ids.append(tool_id)
            blocks.append({"type": "tool_use", "id": tool_id, "name": name, "input": tool_input})
        final_reason = stop_reason or ("tool_use" if tools else "end_turn")
        step = seconds / max(len(blocks), 1)
        for index, block in enumerate(blocks):
            self.wait(step)
            last = index == len(blocks) - 1
            output = usage.output_tokens if last and final_line_has_usage else 1
            message = {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [block],
                "stop_reason": final_reason if last else None,
                "stop_sequence": None,
                "usage": usage.as_api(output),
            }
            self._record("assistant", message, requestId=request_id)
        return tool_ids

    def tool_result(
        self,
        tool_id: str,
        content: str = "done",
        *,
        is_error: bool = False,
        seconds: float = 1.0,
        tool_use_result: Any = None,
        denial_kind: str | None = None,
    ) -> None:
        self.wait(seconds)
        block: dict[str, Any] = {"tool_use_id": tool_id, "type": "tool_result", "content": content}
        if is_error:
            block["is_error"] = True
        extra: dict[str, Any] = {}
        if tool_use_result is not None:
            extra["toolUseResult"] = tool_use_result
        if denial_kind is not None:
            extra["toolDenialKind"] = denial_kind
        self._record("user", {"role": "user", "content": [block]}, **extra)

    def reject(self, tool_id: str, *, seconds: float = 8.0, denial_kind: str | None = None) -> None:
        """REJECT_MESSAGE: a permission prompt's "No", or (with no ``denial_kind``) Esc while the tool ran."""
        self.tool_result(
            tool_id,
            REJECT_MESSAGE,
            is_error=True,
            seconds=seconds,
            tool_use_result="User rejected tool use",
            denial_kind=denial_kind,
        )

    def interrupt(self, tool_id: str, *, seconds: float = 3.0) -> None:
        self.tool_result(tool_id, "[Request interrupted by user for tool use]", is_error=True, seconds=seconds)

    def api_error(
        self,
        error: str = "rate_limit",
        status: int | None = 429,
        *,
        seconds: float = 1.5,
        text: str = "API Error: Rate limit reached",
    ) -> None:
        """The record Claude Code writes in the model's place when a request fails (sleep2agi/agent-network#18:
        model ``<synthetic>``, an "API Error: ..." text, ``isApiErrorMessage``, ``error``, ``apiErrorStatus``)."""
        self.wait(seconds)
        message = {
            "id": str(uuids.uuid4()),
            "type": "message",
            "role": "assistant",
            "model": "<synthetic>",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "stop_sequence",
            "stop_sequence": "",
            "usage": Usage(0, 0).as_api(),
        }
        extra: dict[str, Any] = {"apiErrorStatus": status} if status is not None else {}
        self._record("assistant", message, isApiErrorMessage=True, error=error, **extra)

    def replay(self, records: Sequence[dict[str, Any]]) -> None:
        """A side agent's copy of its parent's conversation (the compacting agent, ``/btw``): the same records,
        uuids and ``message.id`` included, as sidechain records, each response under a new ``requestId``
        (ccusage/ccusage#913)."""
        request_ids: dict[str, str] = {}
        for record in records:
            if record.get("type") not in ("user", "assistant"):
                continue
            copy: dict[str, Any] = {**record, "isSidechain": True}
            if self.agent_id is not None:
                copy["agentId"] = self.agent_id
            if record["type"] == "assistant":
                message_id = record["message"]["id"]
                copy["requestId"] = request_ids.setdefault(message_id, "req_" + uuids.uuid4().hex[:24])
            self.records.append(copy)
            self._parent = copy["uuid"]

    def other(self, kind: str, **fields: Any) -> None:
        self.records.append({"type": kind, **fields})

    # -- output --------------------------------------------------------------------------------------------
    def lines(self) -> list[str]:
        return [json.dumps(record) for record in self.records] + self.raw_lines

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines())

    def write(self, folder: Path, name: str | None = None) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (name or f"{self.session_id}.jsonl")
        path.write_text(self.text(), encoding="utf-8")
        return path


def project_folder(root: Path, cwd: str = "/home/dev/shop") -> Path:
    """Claude Code's folder for a project: its path with every ``/`` (and ``.``) as ``-``."""
    return root / cwd.replace("/", "-").replace(".", "-")
