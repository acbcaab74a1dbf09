"""Claude Code's record rules: reading a line into a record, and what a record's fields mean (usage, how a tool
call ended, which agent a spawning call ran, the text of a message).

The format is not documented by Anthropic; each rule cites the public tools or reports it comes from.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final, cast

from langchain_turntrace.pricing import TokenUsage
from langchain_turntrace.transcripts._model import ToolOutcome

# Record types that carry no model call or tool result; any other type is counted as unknown. The first ones are
# the 2.0 loaders' (ccusage/ccusage, sonnes/chitragupt docs/specs/004-subagents.md); the rest are the session
# metadata 2.1 writes (titles, names and colours, modes, git attribution), as transcript readers list them: the
# type list in jeremedia/claude-code-log-format source-docs/JSONL_LOGGING.md and the metadata types public readers
# skip (custom-title, tag, agent-name, agent-color, agent-setting, mode, worktree-state, pr-link,
# attribution-snapshot, ...). ``agent-name`` names the session, not a subagent, so it names no run here.
KNOWN_OTHER_TYPES: Final = frozenset(
    {
        "summary",
        "system",
        "file-history-snapshot",
        "progress",
        "queue-operation",
        "custom-title",
        "attachment",
        "tag",
        "agent-name",
        "agent-color",
        "agent-setting",
        "attribution-snapshot",
        "ai-title",
        "last-prompt",
        "mode",
        "permission-mode",
        "pr-link",
        "worktree-state",
        "bridge-session",
        "content-replacement",
        "speculation-accept",
    }
)

# The texts Claude Code writes as a tool call's result when the call did not run. Its message constants, as
# public readers copy them: ghostwriternr/codeflare apps/agent/worker/utils/messages.ts (INTERRUPT_MESSAGE,
# INTERRUPT_MESSAGE_FOR_TOOL_USE, CANCEL_MESSAGE), kmcquade/cc-mvp-prompts
# system-prompts/system-prompt-stop-after-rejection.md (REJECT_MESSAGE), and the subagent and plan variants
# (SUBAGENT_REJECT_MESSAGE, PLAN_REJECTION_PREFIX) beside them in readers' copies of the same module.
_REJECTED: Final = "The user doesn't want to proceed with this tool use"  # REJECT_MESSAGE, with or without reason
# REJECT_MESSAGE with the reason the user typed at the prompt: a "No" for certain. Without a reason the same text is
# also what Esc while a tool runs writes (anthropics/claude-code#47282: Esc during a running Bash call, no permission
# prompt in the session, reached the model as REJECT_MESSAGE), so alone it does not tell a "No" from an interrupt.
_REJECTED_WITH_REASON: Final = "the user said:"
_REJECTED_IN_SUBAGENT: Final = "Permission for this tool use was denied."  # the same "No", to a subagent
_PLAN_REJECTED: Final = "The agent proposed a plan that was rejected by the user"  # ExitPlanMode's "No"
_REJECTED_RESULT: Final = "User rejected tool use"  # toolUseResult beside REJECT_MESSAGE: as ambiguous as it
_CANCELLED: Final = "The user doesn't want to take this action right now"  # aborted before it ran (Esc, a hook)
INTERRUPTED: Final = "[Request interrupted by user"  # "... for tool use]" as a result, "...]" as a prompt
INTERRUPTED_FOR_TOOL_USE: Final = "[Request interrupted by user for tool use]"
# Calls that never ran or never finished for a reason that is nobody's "No": the turn was ended to deliver a
# message, a parallel sibling failed or was denied. Public hook integrations pin these prefixes from the 2.1
# bundle as "interruptions, cancellations and unanswered prompts: never a decline" (found by code search:
# CLAUDE_CODE_NOT_A_DECISION_PREFIXES, beside the REJECT_MESSAGE texts).
_DID_NOT_RUN: Final = (
    "[Tool call did not complete:",
    "[Tool call interrupted:",
    "[Tool call skipped:",
    "[Tool call not completed:",
)
# Tools that never ask permission (code.claude.com/docs/en/permissions: read-only tools, "file reads, Grep", need
# no approval): a REJECT_MESSAGE on one of them can only be an interrupt. Task/Agent ask nothing either; their
# subagent asks for its own calls.
NO_PERMISSION_TOOLS: Final = frozenset(
    {"Read", "Grep", "Glob", "LS", "NotebookRead", "TodoRead", "TodoWrite", "BashOutput", "TaskOutput", "Task", "Agent"}
)
# Denials by a rule, not by the user at a prompt: don't-ask mode and deny rules (shaneholloman/claude-code-prompts
# system-prompts/system-prompt-handle-permission-denials.md: "Permission to use X has been denied ..."), and a
# non-interactive session's unanswered prompt (slopus/happy-cli explore-claude-cli/v3/toy-project-edit-approve/
# conclusions.md: "Claude requested permissions to use Edit, but you haven't granted it yet.").
_DENIED: Final = re.compile(r"Permission to use .* has been denied|Claude requested permissions to .* haven't granted")
# Newer versions say which mechanism stopped a call in the result record's ``toolDenialKind``: "user-rejected"
# (the prompt's "No"), "permission-rule" (a deny rule or a PreToolUse hook's deny), "interrupted" and "cancelled"
# (aborts, not denials), as public transcript inventories and denial counters record them (found by code search;
# one reads the hook deny as "permission-rule" and counts interrupted/cancelled as no denial). Any other kind is a
# mechanism's no, so a denial.
_DENIAL_KINDS: Final[dict[str, ToolOutcome]] = {
    "user-rejected": "rejected",
    "permission-rule": "denied",
    "interrupted": "interrupted",
    "cancelled": "interrupted",
}

SYNTHETIC_MODEL: Final = "<synthetic>"
"""The model of an assistant record Claude Code wrote itself: an API error, a cancelled turn (anthropics/
claude-code#58427; sleep2agi/agent-network#18: every ``<synthetic>`` record it met was an "API Error: ..." text)."""
API_ERROR: Final = "api_error"
"""``error.type`` of a failed request whose record names no error kind."""
WARMUP_PROMPT: Final = "Warmup"
"""The prompt of the sidechains Claude Code starts at launch to fill the prompt cache (anthropics/claude-code#17457,
#47922: ``isSidechain``, a "Warmup" user message, a call that is nearly all cache writes)."""

_AGENT_ID_IN_TEXT: Final = re.compile(r"agentId: ?([\w@.\-]+)")
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")
# ``\uD800``-``\uDFFF`` as a JSON escape: an odd run of backslashes before the ``u`` (``\\ud800`` is an escaped
# backslash and the letters "ud800", no surrogate).
_SURROGATE_ESCAPE: Final = re.compile(rb"(?<!\\)(?:\\\\)*\\u[dD][89a-fA-F]")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND: Final = timedelta(microseconds=1)
_EARLIEST_NS: Final = 1_577_836_800 * 10**9  # 2020-01-01: before any coding agent wrote a transcript
_DAY_NS: Final = 86_400 * 10**9  # a clock a little ahead of this machine's
MAX_TOKENS: Final = 2**63 - 1
"""The most tokens one count can hold: the store keeps them as 64-bit integers."""


@dataclass(slots=True)
class LineCounts:
    """What reading one file met, line by line."""

    lines: int = 0
    bytes: int = 0
    bad: int = 0  # not a JSON object
    bad_last: int = 0  # the line number of the last line that was not a JSON record
    not_utf8: int = 0
    not_utf8_last: int = 0  # the line number of the last line that was not UTF-8
    conversation: int = 0  # user and assistant records
    other: int = 0
    unknown: int = 0
    unknown_types: set[str] = field(default_factory=lambda: set[str]())


def records(path: Path, counts: LineCounts) -> Iterator[tuple[int, dict[str, Any]]]:
    """The JSON objects of ``path``, one a line, numbered; the lines that are none are counted, never raised."""
    with path.open("rb") as lines:
        for line in lines:
            counts.lines += 1
            counts.bytes += len(line)
            if not line.strip():
                continue
            try:
                record = loads(line)
            except UnicodeDecodeError:
                counts.not_utf8 += 1
                counts.not_utf8_last = counts.lines
                continue
            if not isinstance(record, dict):
                counts.bad += 1
                counts.bad_last = counts.lines
                continue
            yield counts.lines, cast("dict[str, Any]", record)


def loads(line: bytes) -> object:
    """One line as JSON; None when it is not JSON. Raises UnicodeDecodeError when it is not UTF-8."""
    text = line.decode("utf-8")  # strict: json's own decoding lets encoded surrogates through
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        return None
    # A lone surrogate cannot be written out as UTF-8. The regular expression is slow over a long line (its
    # look-behind defeats the literal scan): only lines with the escape's first letters reach it.
    if (b"\\ud" in line or b"\\uD" in line) and _SURROGATE_ESCAPE.search(line) is not None:
        return _without_lone_surrogates(value)
    return value


def _without_lone_surrogates(value: object) -> object:
    """``value`` with every lone surrogate (json keeps ``"\\ud800"`` as one) replaced by U+FFFD, in place. A
    loop, not recursion: json parses lines nested deeper than a recursive walk of them can go."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    pending: list[object] = [value]
    while pending:
        container = pending.pop()
        if isinstance(container, list):
            items = cast("list[object]", container)
            for index, item in enumerate(items):
                if isinstance(item, str):
                    items[index] = _SURROGATE.sub("\ufffd", item)
                elif isinstance(item, (list, dict)):
                    pending.append(cast("object", item))
        elif isinstance(container, dict):
            fields = cast("dict[str, object]", container)
            pairs = list(fields.items())
            fields.clear()
            for key, item in pairs:
                if isinstance(item, str):
                    item = _SURROGATE.sub("\ufffd", item)
                elif isinstance(item, (list, dict)):
                    pending.append(cast("object", item))
                fields[_SURROGATE.sub("\ufffd", key)] = item
    return value


class DamagedLine(ValueError):
    """A value no transcript can hold (a time outside 2020..tomorrow, a count past 64 bits): its line is damaged."""


def timestamp_ns(record: dict[str, Any]) -> int | None:
    """``timestamp`` (ISO 8601, UTC) in nanoseconds since the epoch; None when absent or unreadable. Raises
    DamagedLine for a moment no transcript can have been written at (before 2020, or more than a day ahead): it
    would stand for the whole run's time, and past 2262 it no longer fits the store's 64-bit integers."""
    raw = record.get("timestamp")
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    at_ns = (moment - _EPOCH) // _MICROSECOND * 1000
    if not _EARLIEST_NS <= at_ns <= time.time_ns() + _DAY_NS:
        raise DamagedLine(f"timestamp out of range: {raw[:40]}")
    return at_ns


def usage_of(raw: object) -> TokenUsage | None:
    """The Messages API's usage in OTel's terms: input_tokens counts cached tokens too; cache writes split into
    five-minute and one-hour ones when ``cache_creation`` says (else all five-minute, as the API prices them)."""
    if not isinstance(raw, dict):
        return None
    usage = cast("dict[str, Any]", raw)
    uncached = _int(usage.get("input_tokens"))
    cache_read = _int(usage.get("cache_read_input_tokens"))
    cache_write = _int(usage.get("cache_creation_input_tokens"))
    one_hour = 0
    split = usage.get("cache_creation")
    if isinstance(split, dict):
        one_hour = min(_int(cast("dict[str, Any]", split).get("ephemeral_1h_input_tokens")), cache_write)
    return TokenUsage(
        input_tokens=uncached + cache_read + cache_write,
        output_tokens=_int(usage.get("output_tokens")),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=one_hour,
    )


def outcome_of(block: dict[str, Any], record: dict[str, Any]) -> tuple[ToolOutcome, bool]:
    """How the tool call a ``tool_result`` block answers ended, and whether that is a rejection told by Claude
    Code's REJECT_MESSAGE alone (an interrupt writes it too: the reader decides by the tool and what follows).

    The record says it first: ``toolDenialKind``, or a Bash-shaped ``toolUseResult`` with ``interrupted``. Claude
    Code's texts count only on an error result: a tool's own output may start with any of them."""
    denial = record.get("toolDenialKind")
    if isinstance(denial, str) and denial:
        return _DENIAL_KINDS.get(denial, "denied"), False
    extra = record.get("toolUseResult")
    if isinstance(extra, dict) and cast("dict[str, Any]", extra).get("interrupted") is True:
        return "interrupted", False  # Bash's result: stdout, stderr, interrupted (a command cut short by Esc)
    if block.get("is_error") is not True:
        return ("rejected", True) if extra == _REJECTED_RESULT else ("ok", False)
    text = text_of(block.get("content"))
    if text.startswith((_REJECTED_IN_SUBAGENT, _PLAN_REJECTED)):
        return "rejected", False
    if text.startswith(_REJECTED):
        return "rejected", _REJECTED_WITH_REASON not in text
    if extra == _REJECTED_RESULT:
        return "rejected", True
    if text.startswith((INTERRUPTED, _CANCELLED, *_DID_NOT_RUN)):
        return "interrupted", False
    return ("denied" if _DENIED.match(text) else "error"), False


def agent_id_of(block: dict[str, Any], extra: object) -> str | None:
    """The agent a spawning call's result names: ``toolUseResult.agentId``, or ``agentId: <id>`` in its text
    (safety-research/safety-tooling#159, sonnes/chitragupt)."""
    if isinstance(extra, dict):
        agent_id = cast("dict[str, Any]", extra).get("agentId")
        if isinstance(agent_id, str) and agent_id:
            return agent_id
    content = block.get("content")
    texts: list[str] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for part in cast("list[Any]", content):
            if isinstance(part, dict):
                text = cast("dict[str, Any]", part).get("text")
                if isinstance(text, str):
                    texts.append(text)
    for text in texts:
        found = _AGENT_ID_IN_TEXT.search(text)
        if found is not None:
            return found.group(1)
    return None


def text_of(content: object) -> str:
    """The first text of a message's content (a string, or a list of blocks), whole."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        for part in cast("list[Any]", content):
            if isinstance(part, dict):
                text = cast("dict[str, Any]", part).get("text")
                if isinstance(text, str):
                    return text
    return ""


def digest(text: str) -> str:
    """What links a subagent to the call that spawned it when no agent id does: its whole prompt's digest."""
    return hashlib.sha256(text.strip().encode("utf-8", "surrogatepass")).hexdigest()


def api_error_type(record: dict[str, Any]) -> str:
    """``error.type`` of a request Claude Code answered with an error record: its ``error`` kind ("rate_limit",
    "authentication_failed", "server_error", ... as public readers of these records quote them), else api_error."""
    kind = record.get("error")
    return kind if isinstance(kind, str) and kind else API_ERROR


def str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
