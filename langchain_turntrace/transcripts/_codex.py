"""OpenAI Codex CLI rollouts (``rollout-*.jsonl``) read into the session model: one file, one session.

The format is Codex's own serialisation, not a documented interface; each rule names where it comes from.
- A line is ``{"timestamp", "type", "payload"}`` (``RolloutLine`` with its ``RolloutItem`` flattened, tagged
  ``type``/``payload``: openai/codex codex-rs/protocol/src/protocol.rs; newer versions add ``ordinal``). The first
  line is ``session_meta`` (``id``, ``cwd``, ``cli_version``, ``model_provider``, ``forked_from_id``, ``source``);
  ``turn_context`` (``model``, ``cwd``, ``effort``) precedes each turn; ``response_item`` holds the Responses API's
  items; ``event_msg`` the events codex-rs/core/src/rollout/policy.rs persists (``user_message``,
  ``agent_message``, ``token_count``, ``turn_aborted``, and in its extended mode ``exec_command_end``).
- Model calls: the rollout keeps no response ids and no per-request record; the one trace of a request is the
  ``token_count`` event sent when its response completes, ``info.last_token_usage`` that request's usage and
  ``info.total_token_usage`` the session's running total (ryoppippi/ccusage apps/codex/CLAUDE.md). Codex also
  re-emits the event with the total unchanged (rate-limit refreshes): those are no request (ccusage/ccusage#876,
  #1288, omacom/omarchy#10607), and ``info`` is null before the first response. So a call is a ``token_count``
  whose total moved; its key is the session id with that total, the same however often the file is read or grows.
- Runs: one per prompt the user typed. The prompt is written twice, as a ``user`` message item and as a
  ``user_message`` event; the items also carry the context Codex injects (``<environment_context>``,
  ``<user_instructions>``, AGENTS.md: the tags in codex-rs/protocol/src/protocol.rs), and some versions wrote
  events for it too, with ``kind`` ``user_instructions`` / ``environment_context`` (``UserMessageEvent``,
  ``InputMessageKind``, same file). Files with events start runs from them, and an item's prompt followed by its
  own event is one run.
- Tools: ``function_call``, ``custom_tool_call``, ``local_shell_call`` and ``web_search_call`` items, joined to their
  ``*_output`` by ``call_id``. Where a ``token_count`` falls among its response's items is not the same in every
  version: older ones recorded a request's items only after it completed and its tools ran (codex-rs/core/src/
  codex.rs ``run_task``: ``record_conversation_items`` after ``run_turn``), each call beside its output, so the
  ``token_count`` comes first (the rule that joins them: ``_RolloutReader._token_count``). In those older files a
  call and its output carry the same moment: the tool's latency is not in the file (it reads near zero; the time
  is in the model call's).
  How a call ended, and what its tokens mean: ``_codex_records.py``.
- Resume appends to the same file (codex-rs/core/src/rollout/recorder.rs opens it for append), so keys stay.
  A fork or a spawned subagent writes a new file whose first ``session_meta`` names its parent (``forked_from_id``,
  or ``source.subagent.thread_spawn.parent_thread_id``) and which starts with a copy of the parent's history,
  ``token_count`` events included, often re-stamped (ccusage/ccusage#1370, getagentseal/codeburn#1383): that copy
  is told from the file itself (``_RolloutReader._in_copy``) and never imported as the fork's; its calls are the
  parent's, counted once when the parent's file is imported.

Not read, for want of a reliable record: approval prompts (``exec_approval_request`` is never persisted,
policy.rs), so the time a user took to approve is inside the tool's latency, and only a "No" is told apart;
failed model requests (``error`` events are persisted only in the extended mode, with no usage); which tool call
spawned a subagent thread (the child file names its parent thread, not the call): a subagent's file is imported
as a session of its own. Files written before the ``type``/``payload`` lines (mid-2025) or before ``token_count``
events existed (Codex CLI before September 2025: ccusage's docs/guide/codex) record no usage, and are skipped with
a note, as is a file whose every ``token_count`` is empty (a provider that reports no usage). A model served on the
user's machine (``model_provider`` ``oss``, ``ollama``, ``lmstudio``) is imported with its tokens, unpriced.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

from langchain_turntrace.config import parse_flag
from langchain_turntrace.env import TURNTRACE_STRICT
from langchain_turntrace.hashing import InputHasher, shape_hash
from langchain_turntrace.transcripts._codex_records import (
    Vector,
    delta,
    exec_outcome,
    id_from_name,
    outcome_of,
    spawning_thread,
    text_of,
    usage_of,
    vector_of,
)
from langchain_turntrace.transcripts._model import AgentRun, FileNote, ModelCall, Session, ToolCall, ToolOutcome
from langchain_turntrace.transcripts._records import DamagedLine, LineCounts, records, str_or_none, timestamp_ns

__all__ = ["AGENT_NAME", "read_rollout"]

AGENT_NAME: Final = "codex"
_PROVIDERS: Final = {"openai": "openai", "azure": "azure.ai.openai"}  # model_provider -> gen_ai.provider.name
# Providers that serve a model on the user's own machine (the built-in ``oss``, ``ollama`` and ``lmstudio`` of
# codex-rs/core/src/model_provider_info.rs): a cloud price list's rate for the same model name does not apply.
_LOCAL_PROVIDERS: Final = frozenset({"oss", "ollama", "lmstudio"})
_COPY_SLACK_NS: Final = 1_000_000_000  # a fork's copied history is written within this of its session_meta
# RolloutItem's tags (protocol.rs), the newer ones included: lines of these types carry nothing more to import.
_KNOWN_TYPES: Final = frozenset(
    {
        "session_meta",
        "turn_context",
        "response_item",
        "event_msg",
        "compacted",
        "inter_agent_communication",
        "inter_agent_communication_metadata",
        "world_state",
        "token_usage_record",
        "security_risk_score",
        "retained_context",
        "realtime_item",
    }
)
_TOOL_ITEMS: Final = {
    "function_call": None,
    "custom_tool_call": None,
    "local_shell_call": "local_shell",
    "web_search_call": "web_search",
}
_OUTPUT_ITEMS: Final = frozenset({"function_call_output", "custom_tool_call_output"})
HUMAN_WAIT_TOOLS: Final = frozenset({"request_user_input"})
"""Tools whose span is the user answering (codex-rs/protocol/src/request_user_input.rs)."""
# The context Codex writes as user message items, not typed by the user: the fragments' markers in
# codex-rs/core/src/contextual_user_message.rs (ENVIRONMENT_CONTEXT_OPEN_TAG, AGENTS_MD_START_MARKER,
# USER_SHELL_COMMAND_OPEN_TAG, ...) and the older USER_INSTRUCTIONS_OPEN_TAG of codex-rs/protocol/src/protocol.rs.
_INJECTED_PREFIXES: Final = (
    "<environment_context>",
    "<user_instructions>",
    "# AGENTS.md instructions",
    "<INSTRUCTIONS>",
    "<skill>",
    "<user_shell_command>",
    "<turn_aborted>",
    "<subagent_notification>",
    "<plugins>",
    "<subagents>",
)


def read_rollout(path: Path, *, hasher: InputHasher) -> Session:
    """The session of one rollout file, without the history a fork or subagent's file copies from its parent."""
    reader = _RolloutReader(path, hasher)
    strict = parse_flag(TURNTRACE_STRICT, os.environ.get(TURNTRACE_STRICT, ""))
    try:
        for line_number, record in records(path, reader.counts):
            try:
                reader.record(record, line_number)
            except DamagedLine:
                reader.bad_line(line_number)
            except Exception:  # a line no rule foresaw is one bad line, never the whole import
                if strict:  # our own tests: a rule that broke is a bug to see, not a line to count
                    raise
                reader.bad_line(line_number)
    except OSError as error:
        reader.note(f"cannot be read ({error.strerror or error}): skipped", skipped_file=True)
        return reader.session
    reader.finish()
    return reader.session


@dataclass(slots=True)
class _Result:
    end_ns: int
    outcome: ToolOutcome
    shape: str


class _RolloutReader:
    def __init__(self, path: Path, hasher: InputHasher) -> None:
        self._path = path
        self._hasher = hasher
        self.counts = LineCounts()
        self.session = Session(session_id="", project="")
        self._version: str | None = None
        self._provider = "openai"
        self._local = False  # a model on the user's machine: its calls are not priced
        self._model = ""
        self._parent: str | None = None  # the session a fork or subagent's file copies its history from
        self._meta_ns = 0  # when the file's own session_meta was written
        self._copy_done = False  # past the parent's history a fork's file starts with
        self._runs: list[AgentRun] = []
        self._run: AgentRun | None = None
        self._event_prompts = False  # the file writes user_message events: only they start runs
        self._item_prompt: tuple[str, AgentRun] | None = None  # a prompt item whose event may follow
        self._open_call: ModelCall | None = None  # the call tool-call items attach to
        self._count_first = False  # the open call's token_count came before its tool calls (older versions)
        self._outputs_since_count = False  # a tool output came since the open call's token_count
        self._pending: list[ToolCall] = []  # tool calls waiting for their call's token_count
        self._tools: dict[str, ToolCall] = {}
        self._early: dict[str, _Result] = {}  # outputs read before their call
        self._exec_ends: dict[str, ToolOutcome] = {}  # call_id -> what its exec_command_end said
        self._last_input_ns: int | None = None
        self._last_total: Vector | None = None
        self._totals: set[Vector] = set()
        self._last_ns = 0
        self._legacy = 0  # lines of the format before the type/payload envelope
        self._token_counts = 0

    def note(self, reason: str, *, skipped_file: bool = False) -> None:
        self.session.notes.append(FileNote(self._path, reason, skipped_file))

    def bad_line(self, line: int) -> None:
        self.counts.bad += 1
        self.counts.bad_last = line

    # -- records -----------------------------------------------------------------------------------------------
    def record(self, record: dict[str, Any], line: int) -> None:
        kind = record.get("type")
        payload = record.get("payload")
        if not isinstance(kind, str | None) or (
            isinstance(payload, dict) and not _str_or_absent(cast("dict[str, Any]", payload), "type")
        ):
            self.bad_line(line)  # a type that is a list or an object: no record Codex writes
            return
        if not isinstance(payload, dict):
            if "record_type" in record or kind in _TOOL_ITEMS or kind == "message" or "instructions" in record:
                self._legacy += 1  # the first format: response items and {id, timestamp, instructions} bare
            elif kind in _KNOWN_TYPES:
                self.bad_line(line)
            else:
                self.counts.unknown += 1
                self.counts.unknown_types.add(str(kind)[:40])
            return
        if kind not in _KNOWN_TYPES:
            self.counts.unknown += 1
            self.counts.unknown_types.add(str(kind)[:40])
            return
        try:
            at_ns = timestamp_ns(record)
        except ValueError:  # a moment outside any session's: the line is damaged
            self.bad_line(line)
            return
        self.counts.conversation += 1
        if at_ns is not None:
            self._last_ns = at_ns
        at_ns = self._last_ns  # a line without a readable time: the one before it
        body = cast("dict[str, Any]", payload)
        if self._in_copy(kind, at_ns):
            self._copied(kind, body)
        elif kind == "response_item":
            self._item(body, line, at_ns)
        elif kind == "event_msg":
            self._event(body, line, at_ns)
        elif kind == "turn_context":
            model = body.get("model")
            if isinstance(model, str) and model:
                self._model = model
            self._project(body.get("cwd"))
        elif kind == "session_meta":
            self._meta(body, at_ns)

    def _in_copy(self, kind: str, at_ns: int) -> bool:
        """Whether a line is part of the parent's history a fork or subagent's file starts with. Codex writes that
        copy right after the file's own session_meta, the parent's session_meta first, all at once
        (codex-rs/core/src/codex.rs ``record_initial_history``: ``InitialHistory::Forked`` persists the parent's
        rollout items before the new session's first turn), stamped as it writes them (ccusage/ccusage#1370) or
        with their own earlier times (a spawned thread, getagentseal/codeburn#1383): the lines after the meta
        stamped no later than just after it. Told from the file alone, so the copy is never counted, whichever
        files are imported and in whatever order."""
        if self._parent is None or self._copy_done:
            return False
        if at_ns <= self._meta_ns + _COPY_SLACK_NS:
            return True
        self._copy_done = True
        return False

    def _copied(self, kind: str, body: dict[str, Any]) -> None:
        """A line of the parent's copied history: only its running total is kept, for the fork's first call."""
        if kind == "event_msg" and body.get("type") == "token_count":
            info = body.get("info")
            total = vector_of(cast("dict[str, Any]", info).get("total_token_usage")) if isinstance(info, dict) else None
            if total is not None and total != self._last_total and total not in self._totals:
                self.session.copied_calls += 1
                self._totals.add(total)
            if total is not None:
                self._last_total = total
        elif kind == "turn_context":
            model = body.get("model")
            if isinstance(model, str) and model:
                self._model = model

    def _meta(self, meta: dict[str, Any], at_ns: int) -> None:
        if self.session.session_id:
            return  # a copied parent's own session_meta, in a fork's history
        self._meta_ns = at_ns
        session_id = str_or_none(meta.get("id"))
        self.session.session_id = session_id or id_from_name(self._path)
        self._version = str_or_none(meta.get("cli_version"))
        provider = str_or_none(meta.get("model_provider"))
        if provider is not None:
            self._provider = _PROVIDERS.get(provider.lower(), provider.lower())
            self._local = provider.lower() in _LOCAL_PROVIDERS
        model = str_or_none(meta.get("model"))
        if model is not None:
            self._model = model
        self._project(meta.get("cwd"))
        self._parent = str_or_none(meta.get("forked_from_id")) or spawning_thread(meta.get("source"))

    def _project(self, cwd: object) -> None:
        if not self.session.project and isinstance(cwd, str) and cwd:
            self.session.project = Path(cwd).name or cwd

    def _event(self, event: dict[str, Any], line: int, at_ns: int) -> None:
        kind = event.get("type")
        if kind == "token_count":
            self._token_count(event.get("info"), line, at_ns)
        elif kind == "user_message":
            message = event.get("message")
            text = message if isinstance(message, str) else ""
            kind_of = event.get("kind")
            # The event's kind tells injected context (user_instructions, environment_context) from a prompt;
            # without one (versions before it, or after it was dropped) the markers do.
            if kind_of == "plain" or (kind_of is None and not text.lstrip().startswith(_INJECTED_PREFIXES)):
                self._prompt(text, line, at_ns, from_event=True)
        elif kind == "turn_aborted":
            self._aborted(at_ns)
        elif kind == "exec_command_end":
            call_id = str_or_none(event.get("call_id"))
            if call_id is not None:
                self._exec_ends[call_id] = exec_outcome(event)

    def _item(self, item: dict[str, Any], line: int, at_ns: int) -> None:
        kind = item.get("type")
        if kind == "message":
            if item.get("role") == "user" and not self._event_prompts:
                text = text_of(item.get("content"))
                if text.strip() and not text.lstrip().startswith(_INJECTED_PREFIXES):
                    self._prompt(text, line, at_ns, from_event=False)
        elif isinstance(kind, str) and kind in _TOOL_ITEMS:
            self._tool_call(item, kind, line, at_ns)
        elif kind in _OUTPUT_ITEMS:
            self._tool_output(item, at_ns)
        if kind in ("message", "reasoning") and self._outputs_since_count:
            self._open_call = None  # a response's own items after its tools ran: the next response's

    # -- runs --------------------------------------------------------------------------------------------------
    def _prompt(self, text: str, line: int, at_ns: int, *, from_event: bool) -> None:
        self._settle_pending()
        self._open_call = None
        self._last_input_ns = at_ns
        if from_event:
            self._event_prompts = True
            earlier, self._item_prompt = self._item_prompt, None
            same = earlier is not None and earlier[1] is self._run and earlier[0] == text.strip()
            if same and earlier is not None and not earlier[1].model_calls:
                return  # the prompt's item, then its event: one prompt
        run = self._start_run(line, at_ns)
        if not from_event:
            self._item_prompt = (text.strip(), run)

    def _start_run(self, line: int, at_ns: int) -> AgentRun:
        run = AgentRun(
            key=f"codex:{self.session.session_id}:{line}",  # the line of its prompt: the file only grows
            name=AGENT_NAME,
            session_id=self.session.session_id,
            agent_version=self._version,
            start_ns=at_ns,
        )
        self._runs.append(run)
        self._run = run
        return run

    def _aborted(self, at_ns: int) -> None:
        """The user interrupted the turn: what it was still running never finished."""
        self._settle_pending()
        self._open_call = None
        run = self._run
        if run is None:
            return
        for call in run.model_calls:
            for tool in call.tool_calls:
                if tool.outcome is None:
                    tool.outcome = "interrupted"
                    tool.end_ns = max(at_ns, tool.start_ns)

    # -- model calls -------------------------------------------------------------------------------------------
    def _token_count(self, info: object, line: int, at_ns: int) -> None:
        if not isinstance(info, dict):
            return  # null before the first response (a rate-limit update), or a provider that reports no usage
        info = cast("dict[str, Any]", info)
        total = vector_of(info.get("total_token_usage"))
        usage = usage_of(info.get("last_token_usage"))
        self._token_counts += 1
        if total is not None:
            previous, self._last_total = self._last_total, total
            if total == previous or total in self._totals:
                return  # re-emitted with the running total unchanged: no new request
            self._totals.add(total)
            if usage is None:
                usage = delta(total, previous)
            key = f"codex:{self.session.session_id}:{'.'.join(map(str, total))}"
        elif usage is not None:
            key = f"codex:{self.session.session_id}@{line}"
        else:
            return
        run = self._run or self._start_run(line, at_ns)
        start_ns = self._last_input_ns if self._last_input_ns is not None and self._last_input_ns <= at_ns else at_ns
        call = ModelCall(
            key=key,
            response_id=None,  # a rollout keeps none
            model=self._model,
            provider=self._provider,
            start_ns=start_ns,
            end_ns=at_ns,
            usage=usage,
            finish_reason=None,
            priced=not self._local,
        )
        # The tool calls before a token_count are its request's (current versions); with none, the ones after it
        # are, through their outputs, until the request's own next item or a prompt (older versions, which
        # recorded a request's items after its tools ran, each call beside its output: the parallel ones too).
        self._count_first = not self._pending
        self._outputs_since_count = False
        call.tool_calls.extend(self._pending)
        self._pending.clear()
        run.model_calls.append(call)
        self._open_call = call
        self._last_input_ns = at_ns

    # -- tool calls --------------------------------------------------------------------------------------------
    def _tool_call(self, item: dict[str, Any], kind: str, line: int, at_ns: int) -> None:
        call_id = str_or_none(item.get("call_id")) or str_or_none(item.get("id"))
        call_id = call_id or f"codex:{self.session.session_id}:{line}"
        # Call ids are the model's, not unique across files (a fork copies its parent's): the span's is scoped by
        # the session, and by the line when the file uses one twice (the later call is the one outputs answer).
        span_key = f"codex:{self.session.session_id}:{call_id}"
        if call_id in self._tools:
            span_key = f"{span_key}@{line}"
        name = str_or_none(item.get("name")) or _TOOL_ITEMS[kind] or kind
        arguments = item.get("arguments", item.get("input", item.get("action")))
        size = len(arguments) if isinstance(arguments, str) else 0
        tool = ToolCall(
            tool_call_id=call_id,
            name=name,
            input_hash=self._hasher.hash(arguments, size_hint=size),
            start_ns=at_ns,
            human_wait=name in HUMAN_WAIT_TOOLS,
            span_key=span_key,
        )
        if kind == "web_search_call":  # run by OpenAI inside the response: no output item, no time of its own
            tool.end_ns = at_ns
            tool.outcome = "error" if item.get("status") == "failed" else "ok"
        self._tools[call_id] = tool
        if self._open_call is not None:
            self._open_call.tool_calls.append(tool)
        else:
            self._pending.append(tool)
        early = self._early.pop(call_id, None)
        if early is not None:
            _apply(tool, early)

    def _tool_output(self, item: dict[str, Any], at_ns: int) -> None:
        if self._count_first:
            self._outputs_since_count = True
        else:
            self._open_call = None  # its request's calls all came before its token_count: the next are the next's
        self._last_input_ns = at_ns
        call_id = str_or_none(item.get("call_id"))
        if call_id is None:
            return
        output = item.get("output")
        outcome = self._exec_ends.pop(call_id, None) or outcome_of(output)
        result = _Result(at_ns, outcome, shape_hash(output))
        tool = self._tools.get(call_id)
        if tool is None:
            self._early[call_id] = result
        else:
            _apply(tool, result)

    def _settle_pending(self) -> None:
        """Tool calls whose request never reported its tokens (an interrupted turn): under the run's last call."""
        if not self._pending:
            return
        run = self._run
        if run is not None and run.model_calls:
            run.model_calls[-1].tool_calls.extend(self._pending)
        self._pending.clear()

    # -- the session -------------------------------------------------------------------------------------------
    def finish(self) -> None:
        self._settle_pending()
        self.session.bytes_read += self.counts.bytes
        counts = self.counts
        if counts.conversation == 0:
            if self._legacy:
                self.note(
                    "a Codex rollout of the first format (before the type/payload lines, mid-2025): it records no "
                    "token counts, so no model call can be priced: skipped",
                    skipped_file=True,
                )
            elif counts.bytes and (counts.bad or counts.unknown or counts.not_utf8):
                self.note(
                    "not a Codex rollout (no session_meta, response_item or event_msg lines): skipped",
                    skipped_file=True,
                )
            return
        if not self.session.session_id:
            self.session.session_id = id_from_name(self._path)
        if self._token_counts == 0 and self._runs and not counts.bad:
            self.note(
                "records no token usage (Codex CLI before September 2025 wrote none, and a provider that reports "
                "none leaves every token_count empty): no model call to import: skipped",
                skipped_file=True,
            )
            return
        if counts.bad and counts.bad_last == counts.lines and counts.bad == 1:
            self.note("its last line is cut short (a session still being written?): that line skipped")
        elif counts.bad:
            self.note(f"{counts.bad} line(s) are not JSON records or are damaged (a value out of range): skipped")
        if counts.not_utf8:
            self.note(f"{counts.not_utf8} line(s) are not UTF-8: skipped")
        if counts.unknown:
            kinds = ", ".join(sorted(counts.unknown_types)[:5])
            self.note(f"{counts.unknown} line(s) of a type this version does not know ({kinds}): skipped")
        self.session.runs = sorted((run for run in self._runs if run.model_calls), key=lambda run: run.start_ns)


def _str_or_absent(fields: dict[str, Any], key: str) -> bool:
    return isinstance(fields.get(key), str | None)


def _apply(tool: ToolCall, result: _Result) -> None:
    if tool.end_ns is not None:
        return
    tool.end_ns = max(result.end_ns, tool.start_ns)
    tool.outcome = result.outcome
    tool.return_shape_hash = result.shape
