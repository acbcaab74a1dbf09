"""Where Claude Code keeps a session's transcripts: which files are subagents' and which session each belongs to.

- The session's own file is ``<project>/<session id>.jsonl``.
- Subagents (the ``Task`` tool, ``Agent`` in newer versions) write their own transcript: newer versions under
  ``<session>/subagents/agent-<agentId>.jsonl``, 2.0-era ones as ``agent-<agentId>.jsonl`` beside the session's
  file (its records name the session), older ones inline in the session's file with ``isSidechain: true``
  (sonnes/chitragupt docs/specs/004-subagents.md; jeremedia/claude-code-log-format source-docs/JSONL_LOGGING.md).
- ``agent-acompact-*`` is the agent that compacts the context when it fills up; its calls cost like any other
  (anthropics/claude-code#41607, #42542).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, cast

from langchain_turntrace.transcripts._records import loads

COMPACT_AGENT: Final = "compact"
_COMPACT_PREFIX: Final = "agent-acompact"


def is_subagent_file(path: Path) -> bool:
    return path.name.startswith("agent-") and path.suffix == ".jsonl"


def subagent_name_of(path: Path) -> str | None:
    """The name a subagent's file gives its agent when no spawning call names it."""
    return COMPACT_AGENT if path.name.startswith(_COMPACT_PREFIX) else None


def session_id_of(path: Path) -> str | None:
    """The session a 2.0-era ``agent-*.jsonl`` beside the session files belongs to: its first record says."""
    try:
        with path.open("rb") as lines:
            for line in lines:
                try:
                    record = loads(line)
                except UnicodeDecodeError:
                    return None
                if isinstance(record, dict):
                    session_id = cast("dict[str, Any]", record).get("sessionId")
                    return session_id if isinstance(session_id, str) and session_id else None
    except OSError:
        return None
    return None
