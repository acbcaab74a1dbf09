"""Claude Code transcripts read into the session model: one session's file and its subagents' files at a time.

How the records join up (each record rule lives, with its source, in ``_records.py``; the files in ``_layout.py``):
- ``user`` and ``assistant`` records carry ``message`` (the Messages API's shape), ``uuid``, ``parentUuid``,
  ``sessionId``, ``timestamp``, ``version``, ``cwd`` and ``isSidechain`` (ccusage/ccusage's loader).
- A streamed response is written one line per content block; every line repeats ``message.id``, ``requestId``
  and ``usage``, and only the last has the final ``output_tokens`` (anthropics/claude-code#22686,
  omacom/omarchy#10606: keep the line with the most output tokens, whole). ``message.id`` with ``requestId`` is
  the call's key, across the session and across sessions: a resumed session's file starts with copies of the
  earlier lines, ids and all (ccusage/ccusage#1765).
- Side agents replay the parent's conversation: the compacting agent, ``/btw`` asides and message deliveries
  write the parent's assistant messages again as sidechain records with the same ``message.id`` and a new
  ``requestId`` (ccusage/ccusage#913, fixed in #1155 by matching a sidechain record on ``message.id`` alone). One
  index of calls for the whole session keeps each call once, in the agent that made it.
- A subagent joins the tool call that spawned it by the agent id its result names, else by its first prompt
  (``_subagents.py`` places it).
- An assistant record with ``isApiErrorMessage`` is the request that failed, written by Claude Code in the
  model's place (model ``<synthetic>``, an "API Error: ..." text, the error kind in ``error``); other
  ``<synthetic>`` records (a cancelled turn's "No response requested.") stand for no request. One kind is no
  failed request: ``max_output_tokens`` ("API Error: Claude's response exceeded the N output token maximum",
  anthropics/claude-code#24055, its kind as xintaofei/codeg#152 quotes it) follows a response that stopped at
  its token limit, which was a call of its own (``stop_reason`` ``max_tokens``); Claude Code then asks again.
- Claude Code writes a record once per uuid (jeremedia/claude-code-log-format source-docs/JSONL_LOGGING.md:
  ``appendEntry`` skips a uuid already logged) but a long turn can log its prompt line again: a prompt whose
  uuid already started a run is that run's prompt, not another one.
- One run per prompt the user typed: what the harness injects as a user record (a background task's
  ``<task-notification>`` text, a record whose ``origin.kind`` names another source, ``task-notification`` or
  ``peer``, as public readers of the format tell them from typed prompts) is part of the run going on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

from langchain_turntrace.hashing import InputHasher, shape_hash
from langchain_turntrace.transcripts._layout import subagent_name_of
from langchain_turntrace.transcripts._model import AgentRun, FileNote, ModelCall, Session, ToolCall, ToolOutcome
from langchain_turntrace.transcripts._records import (
    INTERRUPTED,
    INTERRUPTED_FOR_TOOL_USE,
    KNOWN_OTHER_TYPES,
    NO_PERMISSION_TOOLS,
    SYNTHETIC_MODEL,
    WARMUP_PROMPT,
    LineCounts,
    agent_id_of,
    api_error_type,
    digest,
    outcome_of,
    records,
    str_or_none,
    text_of,
    timestamp_ns,
    usage_of,
)
from langchain_turntrace.transcripts._subagents import Spawn, Subagent, place_subagents

__all__ = ["AGENT_NAME", "read_session"]

AGENT_NAME: Final = "claude-code"
PROVIDER: Final = "anthropic"
SPAWN_TOOLS: Final = frozenset({"Task", "Agent"})
HUMAN_WAIT_TOOLS: Final = frozenset({"AskUserQuestion", "ExitPlanMode"})
"""Tools whose whole span is the user thinking: they ask a question, or ask to approve a plan."""
MAX_OUTPUT_TOKENS: Final = "max_output_tokens"
"""The ``error`` of the record Claude Code writes after a response cut short at its output token limit."""
TASK_NOTIFICATION: Final = "<task-notification>"
"""How a background task's report starts, written into the conversation as a user record."""
_SUBAGENT: Final = "subagent"
_WARMUP: Final = "warmup"


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
        reader.read_file(path, subagent=True, name=subagent_name_of(path))
    reader.finish()
    return reader.session


@dataclass(slots=True)
class _Chain:
    """One thread of records: a session's main conversation, or one subagent's."""

    subagent: bool
    name: str
    runs: list[AgentRun] = field(default_factory=lambda: list[AgentRun]())
    run: AgentRun | None = None
    last_input_ns: int | None = None
    prompt_digest: str | None = None  # a subagent's: the digest of its first prompt
    agent_id: str | None = None
    model: str = ""  # of its last call: the model a failed request was for
    replayed: int = 0  # records of another agent's calls it repeats
    unsure_rejections: list[str] = field(default_factory=lambda: list[str]())
    """Tool calls since its last response whose "rejection" an interrupt marker after them would make an interrupt."""


@dataclass(slots=True)
class _Result:
    end_ns: int
    outcome: ToolOutcome
    shape: str
    agent_id: str | None
    unsure: bool  # a "rejection" told by REJECT_MESSAGE alone: Esc while the tool ran writes it too


class _SessionReader:
    def __init__(self, hasher: InputHasher, seen_calls: set[int]) -> None:
        self._hasher = hasher
        self._seen = seen_calls
        self.session = Session(session_id="", project="")
        self._main = _Chain(subagent=False, name=AGENT_NAME)
        self._subchains: list[_Chain] = []
        self._calls: dict[str, tuple[ModelCall, _Chain]] = {}  # every call of the session by its key
        self._responses: dict[str, tuple[ModelCall, _Chain]] = {}  # ... and by its response id
        self._copied: set[str] = set()  # keys of calls an earlier session of this import had
        self._tools: dict[str, ToolCall] = {}
        self._results: dict[str, _Result] = {}  # results whose tool use has not been read (yet)
        self._spawns: dict[str, tuple[str | None, str | None]] = {}  # tool_call_id -> (subagent type, prompt digest)
        self._agent_ids: dict[str, str] = {}  # tool_call_id -> agent id its result names
        self._prompts: set[str] = set()  # uuids of the prompts that started the main chain's runs
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
        file_chain = _Chain(subagent=True, name=name or _SUBAGENT) if subagent else None
        counts = LineCounts()
        try:
            for line_number, record in records(path, counts):
                self._record(record, file_chain, inline_chains, counts, line_number)
        except OSError as error:
            self.note(path, f"cannot be read ({error.strerror or error}): skipped", skipped_file=True)
            return False
        self.session.bytes_read += counts.bytes
        if counts.conversation == 0:
            if counts.bytes == 0 or (counts.other and not counts.bad and not counts.unknown and not counts.not_utf8):
                return True  # empty, or only bookkeeping records (a summary, snapshots): nothing to import
            self.note(path, "not a Claude Code transcript (no user or assistant records): skipped", skipped_file=True)
            return False
        if file_chain is not None:
            self._subchains.append(file_chain)
        self._subchains.extend({id(c): c for c in inline_chains.values()}.values())
        self._note_counts(path, counts)
        return True

    def _note_counts(self, path: Path, counts: LineCounts) -> None:
        bad, not_utf8 = counts.bad, counts.not_utf8
        # a file being written ends in a line cut short: mid-JSON, or mid-character (so not UTF-8 either)
        if counts.bad and counts.bad_last == counts.lines:
            bad -= 1
        elif counts.not_utf8 and counts.not_utf8_last == counts.lines:
            not_utf8 -= 1
        if (bad, not_utf8) != (counts.bad, counts.not_utf8):
            self.note(path, "its last line is cut short (a session still being written?): that line skipped")
        if bad:
            self.note(path, f"{bad} line(s) are not JSON records: skipped")
        if not_utf8:
            self.note(path, f"{not_utf8} line(s) are not UTF-8: skipped")
        if counts.unknown:
            kinds = ", ".join(sorted(counts.unknown_types)[:5])
            self.note(path, f"{counts.unknown} record(s) of a type this version does not know ({kinds}): skipped")

    # -- records -----------------------------------------------------------------------------------------------
    def _record(
        self,
        record: dict[str, Any],
        file_chain: _Chain | None,
        inline_chains: dict[str, _Chain],
        counts: LineCounts,
        line_number: int,
    ) -> None:
        kind = record.get("type")
        if not isinstance(kind, str):  # a list or an object: no record type at all
            counts.bad += 1
            counts.bad_last = line_number
            return
        if kind != "user" and kind != "assistant":
            if kind in KNOWN_OTHER_TYPES:
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
        try:
            at_ns = timestamp_ns(record)
        except ValueError:  # a moment outside any session's: the line is damaged
            counts.bad += 1
            counts.bad_last = line_number
            return
        counts.conversation += 1
        if at_ns is not None:
            self._last_ns = at_ns
        at_ns = self._last_ns  # a record without a readable time: the one before it
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
            chain = _Chain(subagent=True, name=_SUBAGENT)
        if isinstance(uuid, str):
            inline_chains[uuid] = chain
        return chain

    def _user(self, record: dict[str, Any], message: dict[str, Any], chain: _Chain, at_ns: int) -> None:
        content: object = message.get("content")
        blocks = cast("list[Any]", content) if isinstance(content, list) else []
        if any(isinstance(b, dict) and cast("dict[str, Any]", b).get("type") == "tool_result" for b in blocks):
            self._tool_results(record, blocks, chain, at_ns)
            chain.last_input_ns = at_ns
            return
        uuid = record.get("uuid")
        if not chain.subagent and uuid in self._prompts:
            return  # the prompt that started a run, logged again
        chain.last_input_ns = at_ns
        text = text_of(message.get("content"))
        if text.startswith(INTERRUPTED_FOR_TOOL_USE):
            self._interrupted(chain)
        if record.get("isMeta") is True or record.get("isCompactSummary") is True or text.startswith(INTERRUPTED):
            return
        if chain.subagent:
            if chain.run is None:
                chain.prompt_digest = digest(text)
                chain.agent_id = str_or_none(record.get("agentId"))
                if text.strip() == WARMUP_PROMPT:
                    chain.name = _WARMUP
                self._start_run(chain, record, at_ns)
            return
        if _injected(record, text):
            return  # the harness's, not the user's: its calls belong to the run going on
        if isinstance(uuid, str):
            self._prompts.add(uuid)
        self._start_run(chain, record, at_ns)

    def _interrupted(self, chain: _Chain) -> None:
        """Esc while tools ran: each "rejection" since the chain's last response was that interrupt."""
        for tool_call_id in chain.unsure_rejections:
            tool = self._tools.get(tool_call_id)
            result = self._results.get(tool_call_id)
            if tool is not None and tool.outcome == "rejected":
                tool.outcome = "interrupted"
            elif result is not None:
                result.outcome = "interrupted"
        chain.unsure_rejections.clear()

    def _start_run(self, chain: _Chain, record: dict[str, Any], at_ns: int) -> AgentRun:
        uuid = str_or_none(record.get("uuid")) or f"{self.session.session_id}@{at_ns}"
        run = AgentRun(
            key=uuid,
            name=chain.name,
            session_id=str_or_none(record.get("sessionId")) or self.session.session_id,
            agent_version=str_or_none(record.get("version")),
            start_ns=at_ns,
        )
        chain.runs.append(run)
        chain.run = run
        return run

    def _assistant(self, record: dict[str, Any], message: dict[str, Any], chain: _Chain, at_ns: int) -> None:
        chain.unsure_rejections.clear()  # the model answered: no interrupt marker is coming for those results
        if record.get("isApiErrorMessage") is True:
            self._failed_request(record, chain, at_ns)
            return
        response_id = message.get("id")
        model = message.get("model")
        if not isinstance(response_id, str) or model == SYNTHETIC_MODEL:
            return
        key = f"{response_id}:{str_or_none(record.get('requestId')) or ''}"
        # a side agent's record of a call is that call whatever its request id
        owned = self._responses.get(response_id) if chain.subagent else self._calls.get(key)
        if owned is not None:
            call, owner = owned
            if owner is not chain:
                chain.replayed += 1  # another agent's call, written again in this one's transcript
                return
        else:
            if key in self._copied:
                return
            if hash(key) in self._seen:  # a copy of a call an earlier session of this import has
                self._copied.add(key)
                self.session.copied_calls += 1
                return
            call = self._new_call(key, response_id, chain, record, at_ns)
        call.end_ns = max(call.end_ns, at_ns)
        usage = usage_of(message.get("usage"))
        if usage is not None and (call.usage is None or usage.output_tokens >= call.usage.output_tokens):
            call.usage = usage  # the line with the most output tokens, whole: a mid-stream model switch included
            if isinstance(model, str):
                call.model = model
        if isinstance(model, str) and model:
            chain.model = model
        stop_reason = message.get("stop_reason")
        if isinstance(stop_reason, str):
            call.finish_reason = stop_reason
        content = message.get("content")
        if isinstance(content, list):
            for block in cast("list[Any]", content):
                if isinstance(block, dict) and cast("dict[str, Any]", block).get("type") == "tool_use":
                    self._tool_use(call, cast("dict[str, Any]", block), at_ns)

    def _new_call(
        self, key: str, response_id: str | None, chain: _Chain, record: dict[str, Any], at_ns: int
    ) -> ModelCall:
        run = chain.run or self._start_run(chain, record, at_ns)
        start_ns = chain.last_input_ns if chain.last_input_ns is not None and chain.last_input_ns <= at_ns else at_ns
        call = ModelCall(
            key=key,
            response_id=response_id,
            model=chain.model,
            provider=PROVIDER,
            start_ns=start_ns,
            end_ns=at_ns,
            usage=None,
            finish_reason=None,
        )
        self._calls[key] = (call, chain)
        if response_id is not None:
            self._responses.setdefault(response_id, (call, chain))
        run.model_calls.append(call)
        return call

    def _failed_request(self, record: dict[str, Any], chain: _Chain, at_ns: int) -> None:
        """A request that got an error instead of a response: a call of its own, with the error's kind."""
        if record.get("error") == MAX_OUTPUT_TOKENS:
            self._cut_short(chain)
            return
        key = f"error:{str_or_none(record.get('uuid')) or at_ns}"
        if key in self._calls or key in self._copied:
            return
        if hash(key) in self._seen:
            self._copied.add(key)
            self.session.copied_calls += 1
            return
        call = self._new_call(key, None, chain, record, at_ns)
        call.error_type = api_error_type(record)

    def _cut_short(self, chain: _Chain) -> None:
        """The response before this record stopped at its token limit: that call says so, and nothing failed."""
        last = chain.run.model_calls[-1] if chain.run is not None and chain.run.model_calls else None
        if last is not None and last.error_type is None and last.finish_reason is None:
            last.finish_reason = "max_tokens"

    def _tool_use(self, call: ModelCall, block: dict[str, Any], at_ns: int) -> None:
        tool_call_id = block.get("id")
        if not isinstance(tool_call_id, str) or tool_call_id in self._tools:
            return
        name = str_or_none(block.get("name")) or "unknown"
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
                str_or_none(spawn.get("subagent_type")),
                digest(prompt) if isinstance(prompt, str) else None,
            )
        call.tool_calls.append(tool)
        self._tools[tool_call_id] = tool
        result = self._results.pop(tool_call_id, None)
        if result is not None:
            self._apply(tool, result)

    def _tool_results(self, record: dict[str, Any], content: list[Any], chain: _Chain, at_ns: int) -> None:
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
            outcome, unsure = outcome_of(result_block, record)
            result = _Result(
                end_ns=at_ns,
                outcome=outcome,
                shape=shape_hash(extra if extra is not None else result_block.get("content")),
                agent_id=agent_id_of(result_block, extra) if spawn else None,
                unsure=unsure,
            )
            if unsure:
                chain.unsure_rejections.append(tool_call_id)
            if tool is None:
                self._results[tool_call_id] = result  # its tool use may come later in the file
            else:
                self._apply(tool, result)

    def _apply(self, tool: ToolCall, result: _Result) -> None:
        if tool.end_ns is not None:
            return
        tool.end_ns = max(result.end_ns, tool.start_ns)
        tool.outcome = result.outcome
        if result.unsure and result.outcome == "rejected" and tool.name in NO_PERMISSION_TOOLS:
            tool.outcome = "interrupted"  # nobody was asked, so nobody said no: Esc while it ran
        tool.return_shape_hash = result.shape
        if result.agent_id is not None:
            self._agent_ids[tool.tool_call_id] = result.agent_id

    # -- the session -------------------------------------------------------------------------------------------
    def finish(self) -> None:
        """Subagents placed in the tree (``_subagents.py``); runs without a model call dropped."""
        subagents = [
            Subagent(c.run, c.agent_id, c.prompt_digest, replayed=c.replayed > 0)
            for c in self._subchains
            if c.run is not None and c.run.model_calls
        ]
        spawns = [
            Spawn(self._tools[tool_call_id], subagent_type, prompt_digest, self._agent_ids.get(tool_call_id))
            for tool_call_id, (subagent_type, prompt_digest) in self._spawns.items()
        ]
        runs = place_subagents([run for run in self._main.runs if run.model_calls], subagents, spawns)
        for run in runs:
            run.session_id = run.session_id or self.session.session_id
        self.session.runs = runs
        self._seen.update(hash(key) for key in self._calls)


def _injected(record: dict[str, Any], text: str) -> bool:
    """A user record the harness wrote, not a prompt the user typed."""
    origin = record.get("origin")
    if isinstance(origin, dict):
        kind = cast("dict[str, Any]", origin).get("kind")
        if isinstance(kind, str) and kind != "human":
            return True
    return text.lstrip().startswith(TASK_NOTIFICATION)
