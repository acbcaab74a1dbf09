"""Imported coding-agent sessions (Claude Code transcripts, Codex CLI rollouts) as the same span tree live traces
make."""

from langchain_turntrace.transcripts._exporters import exporter_for_import, shutdown_within
from langchain_turntrace.transcripts._files import default_codex_sessions_dir, default_projects_dirs
from langchain_turntrace.transcripts._import import MAX_BATCH_SPANS, SOURCES, ImportReport, import_transcripts
from langchain_turntrace.transcripts._model import AgentRun, FileNote, ModelCall, Session, ToolCall
from langchain_turntrace.transcripts._spans import PERMISSION_DENIED, REJECTED_BY_USER, TOOL_ERROR

__all__ = [
    "MAX_BATCH_SPANS",
    "SOURCES",
    "PERMISSION_DENIED",
    "REJECTED_BY_USER",
    "TOOL_ERROR",
    "AgentRun",
    "FileNote",
    "ImportReport",
    "ModelCall",
    "Session",
    "ToolCall",
    "default_codex_sessions_dir",
    "default_projects_dirs",
    "exporter_for_import",
    "import_transcripts",
    "shutdown_within",
]
