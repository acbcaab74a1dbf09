"""Codex rollout record rules: how a tool call ended by its output, token usage in OTel's words, the ids a line
names. The format is not a documented interface; each rule names its source.

- Tokens: ``input_tokens`` counts ``cached_input_tokens`` and ``output_tokens`` counts
  ``reasoning_output_tokens``, ``total_tokens`` being input plus output (multica-ai/multica#8416, checked on
  codex-cli 0.93 to 0.144; zhangferry/tokendash#10): OTel's meaning of the same words, so they map one to one, the
  cached tokens as cache reads, priced as the live pipeline prices OpenAI's cached input.
- Outputs: ``exec command rejected by user`` / ``patch rejected by user`` is the user's "No" at an approval
  prompt; ``aborted by user after Ns`` an interrupt; an exit code (``Exit code: N`` / ``Process exited with code
  N`` among the output's first lines, or the older JSON ``metadata.exit_code``) other than 0 an error (the texts
  as public readers of rollouts quote them, found by code search; codex-rs's unified exec says "unified exec
  command rejected by user").
  ``exec_command_end`` events, when kept, say the same by ``exit_code`` and ``status`` (``declined``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Final, cast

from langchain_turntrace.pricing import TokenUsage
from langchain_turntrace.transcripts._model import ToolOutcome
from langchain_turntrace.transcripts._records import MAX_TOKENS, DamagedLine, str_or_none

_REJECTED: Final = "rejected by user"  # "exec command rejected by user", "patch rejected by user"
_ABORTED: Final = "aborted by user"  # "aborted by user after 3.2s"; an output of just "aborted" too
_EXIT_CODE: Final = re.compile(r"^(?:Exit code: |Process exited with code )(-?\d+)", re.MULTILINE)
# exec_command's output opens with a few header lines ("Chunk ID: ...", "Wall time: ...", "Process exited with code
# N", "Original token count: ..."; some versions "Command: ..." first) before "Output:": the code is among them.
_HEADER_LINES: Final = 6
_VECTOR_KEYS: Final = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
    "total_tokens",
)

Vector = tuple[int, int, int, int, int]
"""A usage as Codex writes it: (input, cached input, output, reasoning output, total) tokens."""


def outcome_of(output: object) -> ToolOutcome:
    """How a tool call ended, from its output: the text Codex wrote, or ``{content, success}``."""
    if isinstance(output, dict):
        fields = cast("dict[str, Any]", output)
        if fields.get("success") is False:
            return "error"
        output = fields.get("content")
    text = text_of(output).lstrip()
    head = text.split("\n", 1)[0]
    if head.endswith(_REJECTED):
        return "rejected"
    if head.startswith(_ABORTED) or head == "aborted":
        return "interrupted"
    match = _EXIT_CODE.search(_header(text))
    if match is not None:
        return "ok" if match.group(1) == "0" else "error"
    if text.startswith("{") and '"exit_code"' in text[-200:]:  # {"output": ..., "metadata": {"exit_code": N}}
        try:
            parsed = json.loads(text)
        except ValueError:
            return "ok"
        metadata = cast("dict[str, Any]", parsed).get("metadata") if isinstance(parsed, dict) else None
        if isinstance(metadata, dict):
            code = cast("dict[str, Any]", metadata).get("exit_code")
            if isinstance(code, int) and code != 0:
                return "error"
    return "ok"


def _header(text: str) -> str:
    """The output's header lines: its first few, up to the ``Output:`` line after which the command's own text
    (which may say anything) begins."""
    lines = text.split("\n", _HEADER_LINES)[:_HEADER_LINES]
    if "Output:" in lines:
        lines = lines[: lines.index("Output:")]
    return "\n".join(lines)


def exec_outcome(event: dict[str, Any]) -> ToolOutcome:
    status = event.get("status")
    if status == "declined":
        return "rejected"
    code = event.get("exit_code")
    if status == "failed" or (isinstance(code, int) and code != 0):
        return "error"
    return "ok"


def text_of(content: object) -> str:
    """A string, or the text parts of a content list (``input_text`` / ``output_text`` items), joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in cast("list[Any]", content):
            if isinstance(part, dict):
                text = cast("dict[str, Any]", part).get("text")
                if isinstance(text, str):
                    parts.append(text)
        return "\n".join(parts)
    return ""


def vector_of(raw: object) -> Vector | None:
    """Raises ValueError for a count no request can have (past 64 bits: the store could not keep it)."""
    if not isinstance(raw, dict):
        return None
    fields = cast("dict[str, Any]", raw)
    values = tuple(_count(fields.get(key)) for key in _VECTOR_KEYS)
    return cast("Vector", values) if any(values) else None


def usage_of(raw: object) -> TokenUsage | None:
    vector = vector_of(raw)
    return None if vector is None else usage_of_vector(vector)


def usage_of_vector(vector: Vector) -> TokenUsage:
    input_tokens, cached, output_tokens, reasoning, _ = vector
    return TokenUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=min(cached, input_tokens),
        reasoning_tokens=reasoning,
    )


def delta(total: Vector, previous: Vector | None) -> TokenUsage:
    """A call's usage from the running totals around it, when the event has no ``last_token_usage``."""
    if previous is None or any(now < before for now, before in zip(total, previous, strict=True)):
        return usage_of_vector(total)  # the first, or the total started again (a resumed session of an older version)
    return usage_of_vector(cast("Vector", tuple(now - before for now, before in zip(total, previous, strict=True))))


def spawning_thread(source: object) -> str | None:
    """``source.subagent.thread_spawn.parent_thread_id`` of a spawned subagent's file (codeburn#1383)."""
    node: object = source
    for key in ("subagent", "thread_spawn", "parent_thread_id"):
        if not isinstance(node, dict):
            return None
        node = cast("dict[str, Any]", node).get(key)
    return str_or_none(node)


def id_from_name(path: Path) -> str:
    """``rollout-<YYYY-MM-DDThh-mm-ss>-<id>.jsonl`` names its session (recorder.rs); else the file's name."""
    stem = path.name.removesuffix(".jsonl")
    return stem[-36:] if stem.startswith("rollout-") and len(stem) > 36 else stem


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return 0
    if value > MAX_TOKENS:
        raise DamagedLine(f"token count out of range: {value}")
    return value
