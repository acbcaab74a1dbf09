"""Claude Code transcripts read into the session model: one session's file and its subagents' files at a time.

The format is not documented by Anthropic; each rule below comes from what public tools that read it rely on:
- One JSON object per line. ``user`` and ``assistant`` records carry ``message`` (the Messages API's shape),
  ``uuid``, ``parentUuid``, ``sessionId``, ``timestamp`` (ISO 8601, UTC), ``version`` (Claude Code's), ``cwd`` and
  ``isSidechain``; other types (``summary``, ``system``, ``file-history-snapshot``, ``progress``, ...) carry no model
  call (ccusage/ccusage's loader; sonnes/chitragupt docs/specs/004-subagents.md).
- A streamed response is written one line per content block; every line repeats ``message.id``, ``requestId``
  and ``usage``, and only the last has the final ``output_tokens`` (anthropics/claude-code#22686,
  omacom/omarchy#10606: keep the line with the most output tokens, whole). ``message.id`` with ``requestId`` is
  the call's key, also across sessions: a resumed session's file starts with copies of the earlier lines, ids
  and all (ccusage/ccusage#1765).
- Subagents (the ``Task`` tool, ``Agent`` in newer versions) write their own transcript: newer versions under
  ``<session>/subagents/agent-<agentId>.jsonl``, 2.0-era ones as ``agent-<agentId>.jsonl`` beside the session's
  file, older ones inline in the session's file with ``isSidechain: true``. The spawning call's result names
  the agent (``toolUseResult.agentId``, or ``agentId: <id>`` in its text; safety-research/safety-tooling#159,
  sonnes/chitragupt); else its first user message is the ``prompt`` the tool was given.
- A tool use the user turned down is answered by an error result saying "The user doesn't want to proceed with
  this tool use" (``toolUseResult``: "User rejected tool use"); one the user interrupted by "[Request interrupted
  by user for tool use]" (kmcquade/cc-mvp-prompts system-prompt-stop-after-rejection.md).
- Assistant records with model ``<synthetic>`` are written by Claude Code itself (an API error, a cancelled
  turn), not by a model call (anthropics/claude-code#58427).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final, cast

from langchain_turntrace.hashing import InputHasher, shape_hash
from langchain_turntrace.pricing import TokenUsage
from langchain_turntrace.transcripts._model import AgentRun, FileNote, ModelCall, Session, ToolCall, ToolOutcome

AGENT_NAME: Final = "claude-code"
PROVIDER: Final = "anthropic"
SPAWN_TOOLS: Final = frozenset({"Task", "Agent"})
HUMAN_WAIT_TOOLS: Final = frozenset({"AskUserQuestion", "ExitPlanMode"})
"""Tools whose whole span is the user thinking: they ask a question, or ask to approve a plan."""

# Record types that carry no model call or tool result; any other type is counted as unknown.
_OTHER_TYPES: Final = frozenset(
    {"summary", "system", "file-history-snapshot", "progress", "queue-operation", "custom-title", "attachment"}
)
_REJECTED: Final = "The user doesn't want to proceed with this tool use"
_REJECTED_RESULT: Final = "User rejected tool use"
_INTERRUPTED: Final = "[Request interrupted by user"
_SYNTHETIC_MODEL: Final = "<synthetic>"
_AGENT_ID_IN_TEXT: Final = re.compile(r"agentId: ?([\w@.\-]+)")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND: Final = timedelta(microseconds=1)


def is_subagent_file(path: Path) -> bool:
    return path.name.startswith("agent-") and path.suffix == ".jsonl"


def session_id_of(path: Path) -> str | None:
    """The session a 2.0-era ``agent-*.jsonl`` beside the session files belongs to: its first record says."""
    try:
        with path.open("rb") as lines:
            for line in lines:
                record = _loads(line)
                if isinstance(record, dict):
                    session_id = cast("dict[str, Any]", record).get("sessionId")
                    return session_id if isinstance(session_id, str) and session_id else None
    except OSError:
        return None
    return None


def read_session(
    main: Path | None, subagent_files: Iterable[Path], *, hasher: InputHasher, seen_calls: set[int]
) -> Session:
    """The session of ``main`` (None: only its subagents' files are at hand, which then are not imported) with
    its subagents'. ``seen_calls``: hashes of model-call keys imported from earlier sessions of this import; a
    copy of one is left out, and this session's keys are added."""
    reader = _SessionReader(hasher, seen_calls)
    subagent_files = sorted(subagent_files)
    if main is None:
        for path in subagent_files:
            reader.note(path, "a subagent's transcript without its session's file: not imported", skipped_file=True)
        return reader.session
    if not reader.read_file(main, subagent=False):
        return reader.session  # its session file unreadable: nothing of the session, subagents included
    for path in subagent_files:
        # agent-acompact-*: the model call that compacts the context when it fills up; it costs like any other
        reader.read_file(path, subagent=True, name="compact" if path.name.startswith("agent-acompact") else None)
    reader.finish()
    return reader.session


@dataclass(slots=True)
class _Chain:
    """One thread of records: a session's main conversation, or one subagent's."""

    subagent: bool
    name: str
    runs: list[AgentRun] = field(default_factory=lambda: list[AgentRun]())
    run: AgentRun | None = None
    calls: dict[str, ModelCall] = field(default_factory=lambda: dict[str, ModelCall]())
    copied: set[str] = field(default_factory=lambda: set[str]())
    last_input_ns: int | None = None
    prompt_digest: str | None = None  # a subagent's: the digest of its first prompt
    agent_id: str | None = None


@dataclass(slots=True)
class _Result:
    end_ns: int
    outcome: ToolOutcome
    shape: str
    agent_id: str | None


class _SessionReader:
    def __init__(self, hasher: InputHasher, seen_calls: set[int]) -> None:
        self._hasher = hasher
        self._seen = seen_calls
        self.session = Session(session_id="", project="")
        self._main = _Chain(subagent=False, name=AGENT_NAME)
        self._subchains: list[_Chain] = []
        self._tools: dict[str, ToolCall] = {}
        self._results: dict[str, _Result] = {}  # results whose tool use has not been read (yet)
        self._spawns: dict[str, tuple[str | None, str | None]] = {}  # tool_call_id -> (subagent type, prompt digest)
        self._agent_ids: dict[str, str] = {}  # tool_call_id -> agent id its result names
        self._last_ns = 0
        self._main_path = Path()

    def note(self, path: Path, reason: str, *, skipped_file: bool = False) -> None:
        self.session.notes.append(FileNote(path, reason, skipped_file))

    # -- files -------------------------------------------------------------------------------------------------
    def read_file(self, path: Path, *, subagent: bool, name: str | None = None) -> bool:
        """Reads one file into the session; False (and a note) when it cannot be read or is not a transcript."""
        if not subagent:
            self._main_path = path
        inline_chains: dict[str, _Chain] = {}  # uuid -> its sidechain, for subagents written inline
        file_chain = _Chain(subagent=True, name=name or "subagent") if subagent else None
        counts = _Counts()
        try:
            for line_number, record in _records(path, counts):
                self._record(record, file_chain, inline_chains, counts, line_number)
        except OSError as error:
            self.note(path, f"cannot be read ({error.strerror or error}): skipped", skipped_file=True)
            return False
        self.session.bytes_read += counts.bytes
        if counts.conversation == 0:
            if counts.bytes == 0 or (counts.other and not counts.bad and not counts.unknown):
                return True  # empty, or only bookkeeping records (a summary, snapshots): nothing to import
            self.note(path, "not a Claude Code transcript (no user or assistant records): skipped", skipped_file=True)
            return False
        if file_chain is not None:
            self._subchains.append(file_chain)
        self._subchains.extend({id(c): c for c in inline_chains.values()}.values())
        self._note_counts(path, counts)
        return True

    def _note_counts(self, path: Path, counts: _Counts) -> None:
        if counts.bad and counts.bad_last == counts.lines and counts.bad == 1:
            self.note(path, "its last line is cut short (a session still being written?): that line skipped")
        elif counts.bad:
            self.note(path, f"{counts.bad} line(s) are not JSON records: skipped")
        if counts.unknown:
            kinds = ", ".join(sorted(counts.unknown_types)[:5])
            self.note(path, f"{counts.unknown} record(s) of a type this version does not know ({kinds}): skipped")

    # -- records -----------------------------------------------------------------------------------------------
    def _record(
        self,
        record: dict[str, Any],
        file_chain: _Chain | None,
        inline_chains: dict[str, _Chain],
        counts: _Counts,
        line_number: int,
    ) -> None:
        kind = record.get("type")
        if kind != "user" and kind != "assistant":
            if kind in _OTHER_TYPES:
                counts.other += 1
            else:
                counts.unknown += 1
                counts.unknown_types.add(str(kind)[:40])
            return
        message = record.get("message")
        if not isinstance(message, dict):
            counts.bad += 1
            counts.bad_last = line_number
            return
        counts.conversation += 1
        at_ns = self._timestamp(record)
        session = self.session
        if not session.session_id:
            session_id = record.get("sessionId")
            if isinstance(session_id, str) and session_id:
                session.session_id = session_id
        if not session.project:
            cwd = record.get("cwd")
            if isinstance(cwd, str) and cwd:
                session.project = Path(cwd).name or cwd
        chain = file_chain or self._chain_of(record, inline_chains)
        if kind == "assistant":
            self._assistant(record, cast("dict[str, Any]", message), chain, at_ns)
        else:
            self._user(record, cast("dict[str, Any]", message), chain, at_ns)

    def _chain_of(self, record: dict[str, Any], inline_chains: dict[str, _Chain]) -> _Chain:
        if record.get("isSidechain") is not True:
            return self._main
        uuid = record.get("uuid")
        parent = record.get("parentUuid")
        chain = inline_chains.get(parent) if isinstance(parent, str) else None
        if chain is None:
            chain = _Chain(subagent=True, name="subagent")
        if isinstance(uuid, str):
            inline_chains[uuid] = chain
        return chain

    def _timestamp(self, record: dict[str, Any]) -> int:
        raw = record.get("timestamp")
        if isinstance(raw, str):
            try:
                moment = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
            except ValueError:
                return self._last_ns
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            self._last_ns = (moment - _EPOCH) // _MICROSECOND * 1000
        return self._last_ns

    def _user(self, record: dict[str, Any], message: dict[str, Any], chain: _Chain, at_ns: int) -> None:
        content: object = message.get("content")
        blocks = cast("list[Any]", content) if isinstance(content, list) else []
        if any(isinstance(b, dict) and cast("dict[str, Any]", b).get("type") == "tool_result" for b in blocks):
            self._tool_results(record, blocks, at_ns)
            chain.last_input_ns = at_ns
            return
        chain.last_input_ns = at_ns
        text = _text_of(message.get("content"))
        if record.get("isMeta") is True or record.get("isCompactSummary") is True or text.startswith(_INTERRUPTED):
            return
        if chain.subagent:
            if chain.run is None:
                chain.prompt_digest = _digest(text)
                chain.agent_id = _str(record.get("agentId"))
                self._start_run(chain, record, at_ns)
            return
        self._start_run(chain, record, at_ns)

    def _start_run(self, chain: _Chain, record: dict[str, Any], at_ns: int) -> AgentRun:
        uuid = _str(record.get("uuid")) or f"{self.session.session_id}@{at_ns}"
        run = AgentRun(
            key=uuid,
            name=chain.name,
            session_id=_str(record.get("sessionId")) or self.session.session_id,
            agent_version=_str(record.get("version")),
            start_ns=at_ns,
        )
        chain.runs.append(run)
        chain.run = run
        return run

    def _assistant(self, record: dict[str, Any], message: dict[str, Any], chain: _Chain, at_ns: int) -> None:
        response_id = message.get("id")
        model = message.get("model")
        if not isinstance(response_id, str) or model == _SYNTHETIC_MODEL or record.get("isApiErrorMessage") is True:
            return
        key = f"{response_id}:{_str(record.get('requestId')) or ''}"
        call = chain.calls.get(key)
        if call is None:
            if key in chain.copied:
                return
            if hash(key) in self._seen:  # a copy of a call an earlier session of this import has
                chain.copied.add(key)
                self.session.copied_calls += 1
                return
            run = chain.run or self._start_run(chain, record, at_ns)
            start_ns = (
                chain.last_input_ns if chain.last_input_ns is not None and chain.last_input_ns <= at_ns else at_ns
            )
            call = ModelCall(
                key=key,
                response_id=response_id,
                model=model if isinstance(model, str) else "",
                provider=PROVIDER,
                start_ns=start_ns,
                end_ns=at_ns,
                usage=None,
                finish_reason=None,
            )
            chain.calls[key] = call
            run.model_calls.append(call)
        call.end_ns = max(call.end_ns, at_ns)
        usage = _usage(message.get("usage"))
        if usage is not None and (call.usage is None or usage.output_tokens >= call.usage.output_tokens):
            call.usage = usage  # the line with the most output tokens, whole: a mid-stream model switch included
            if isinstance(model, str):
                call.model = model
        stop_reason = message.get("stop_reason")
        if isinstance(stop_reason, str):
            call.finish_reason = stop_reason
        content = message.get("content")
        if isinstance(content, list):
            for block in cast("list[Any]", content):
                if isinstance(block, dict) and cast("dict[str, Any]", block).get("type") == "tool_use":
                    self._tool_use(call, cast("dict[str, Any]", block), at_ns)

    def _tool_use(self, call: ModelCall, block: dict[str, Any], at_ns: int) -> None:
        tool_call_id = block.get("id")
        if not isinstance(tool_call_id, str) or tool_call_id in self._tools:
            return
        name = _str(block.get("name")) or "unknown"
        tool_input = block.get("input")
        tool = ToolCall(
            tool_call_id=tool_call_id,
            name=name,
            input_hash=self._hasher.hash(tool_input, size_hint=0),
            start_ns=at_ns,
            human_wait=name in HUMAN_WAIT_TOOLS,
        )
        if name in SPAWN_TOOLS and isinstance(tool_input, dict):
            spawn = cast("dict[str, Any]", tool_input)
            prompt = spawn.get("prompt")
            self._spawns[tool_call_id] = (
                _str(spawn.get("subagent_type")),
                _digest(prompt) if isinstance(prompt, str) else None,
            )
        call.tool_calls.append(tool)
        self._tools[tool_call_id] = tool
        result = self._results.pop(tool_call_id, None)
        if result is not None:
            self._apply(tool, result)

    def _tool_results(self, record: dict[str, Any], content: list[Any], at_ns: int) -> None:
        extra = record.get("toolUseResult")
        for block in content:
            if not isinstance(block, dict):
                continue
            result_block = cast("dict[str, Any]", block)
            tool_call_id = result_block.get("tool_use_id")
            if result_block.get("type") != "tool_result" or not isinstance(tool_call_id, str):
                continue
            tool = self._tools.get(tool_call_id)
            spawn = tool is None or tool.name in SPAWN_TOOLS
            result = _Result(
                end_ns=at_ns,
                outcome=_outcome(result_block, extra),
                shape=shape_hash(extra if extra is not None else result_block.get("content")),
                agent_id=_agent_id(result_block, extra) if spawn else None,
            )
            if tool is None:
                self._results[tool_call_id] = result  # its tool use may come later in the file
            else:
                self._apply(tool, result)

    def _apply(self, tool: ToolCall, result: _Result) -> None:
        if tool.end_ns is not None:
            return
        tool.end_ns = max(result.end_ns, tool.start_ns)
        tool.outcome = result.outcome
        tool.return_shape_hash = result.shape
        if result.agent_id is not None:
            self._agent_ids[tool.tool_call_id] = result.agent_id

    # -- the session -------------------------------------------------------------------------------------------
    def finish(self) -> None:
        """Subagents under the tool calls that spawned them; runs without a model call dropped."""
        session = self.session
        by_agent_id: dict[str, _Chain] = {}
        by_prompt: dict[str, list[_Chain]] = {}
        for chain in self._subchains:
            if chain.run is None or not chain.run.model_calls:
                continue
            if chain.agent_id is not None:
                by_agent_id.setdefault(chain.agent_id, chain)
            if chain.prompt_digest is not None:
                by_prompt.setdefault(chain.prompt_digest, []).append(chain)
        linked: set[int] = set()
        for tool_call_id, (subagent_type, prompt_digest) in self._spawns.items():
            tool = self._tools[tool_call_id]
            agent_id = self._agent_ids.get(tool_call_id)
            chain = by_agent_id.get(agent_id) if agent_id is not None else None
            if chain is None or id(chain) in linked:
                candidates = [c for c in by_prompt.get(prompt_digest or "", ()) if id(c) not in linked]
                chain = min(candidates, key=lambda c: abs(_start(c) - tool.start_ns), default=None)
            if chain is None or chain.run is None:
                continue
            linked.add(id(chain))
            chain.run.name = subagent_type or chain.run.name
            tool.subagent = chain.run
        runs = [run for run in self._main.runs if run.model_calls]
        for chain in self._subchains:
            if id(chain) in linked or chain.run is None or not chain.run.model_calls:
                continue
            host = _run_at(runs, chain.run.start_ns)
            if host is not None:
                host.subagents.append(chain.run)
            else:
                self.note(self._main_path, "a subagent that started before the session's first prompt: not imported")
        for run in runs:
            run.session_id = run.session_id or session.session_id
        session.runs = runs
        for chain in (self._main, *self._subchains):
            self._seen.update(hash(key) for key in chain.calls)


@dataclass(slots=True)
class _Counts:
    lines: int = 0
    bytes: int = 0
    bad: int = 0
    bad_last: int = 0  # the line number of the last line that was not a JSON record
    conversation: int = 0  # user and assistant records
    other: int = 0
    unknown: int = 0
    unknown_types: set[str] = field(default_factory=lambda: set[str]())


def _records(path: Path, counts: _Counts) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as lines:
        for line in lines:
            counts.lines += 1
            counts.bytes += len(line)
            if not line.strip():
                continue
            record = _loads(line)
            if not isinstance(record, dict):
                counts.bad += 1
                counts.bad_last = counts.lines
                continue
            yield counts.lines, cast("dict[str, Any]", record)


def _loads(line: bytes) -> object:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the parser's depth
        return None


def _usage(raw: object) -> TokenUsage | None:
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


def _outcome(block: dict[str, Any], extra: object) -> ToolOutcome:
    text = _text_of(block.get("content"))
    if extra == _REJECTED_RESULT or text.startswith(_REJECTED):
        return "rejected"
    if text.startswith(_INTERRUPTED):
        return "interrupted"
    return "error" if block.get("is_error") is True else "ok"


def _agent_id(block: dict[str, Any], extra: object) -> str | None:
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


def _text_of(content: object) -> str:
    """The first text of a message's content (a string, or a list of blocks), at most 200 characters."""
    if isinstance(content, str):
        return content[:200]
    if isinstance(content, list):
        for part in cast("list[Any]", content):
            if isinstance(part, dict):
                text = cast("dict[str, Any]", part).get("text")
                if isinstance(text, str):
                    return text[:200]
    return ""


def _digest(text: str) -> str:
    return hashlib.sha256(text.strip().encode("utf-8", "surrogatepass")).hexdigest()


def _start(chain: _Chain) -> int:
    return chain.run.start_ns if chain.run is not None else 0


def _run_at(runs: list[AgentRun], at_ns: int) -> AgentRun | None:
    """The run that was going on at ``at_ns``: the latest to start before it."""
    host = None
    for run in runs:
        if run.start_ns <= at_ns:
            host = run
    return host


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
