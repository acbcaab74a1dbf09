"""Imported coding-agent sessions (Claude Code transcripts) as the same span tree live traces make."""

from langchain_turntrace.transcripts._import import ImportReport, default_projects_dir, import_claude_code
from langchain_turntrace.transcripts._model import AgentRun, FileNote, ModelCall, Session, ToolCall
from langchain_turntrace.transcripts._sink import ExporterSink, SpanSink, sink_for
from langchain_turntrace.transcripts._spans import PERMISSION_DENIED, REJECTED_BY_USER, TOOL_ERROR

__all__ = [
    "PERMISSION_DENIED",
    "REJECTED_BY_USER",
    "TOOL_ERROR",
    "AgentRun",
    "ExporterSink",
    "FileNote",
    "ImportReport",
    "ModelCall",
    "Session",
    "SpanSink",
    "ToolCall",
    "default_projects_dir",
    "import_claude_code",
    "sink_for",
]
