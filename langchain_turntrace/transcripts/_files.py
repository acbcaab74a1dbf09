"""Finding the transcripts: which files make one session (Claude Code's file and its subagents' files; one Codex
rollout), and the order sessions are imported in (the session that began first first, so a continuation's or a
fork's copies of earlier lines meet the originals already imported)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

from langchain_turntrace.transcripts._layout import is_subagent_file, session_id_of
from langchain_turntrace.transcripts._model import FileNote
from langchain_turntrace.transcripts._records import loads, timestamp_ns

CLAUDE_CONFIG_DIR: Final = "CLAUDE_CONFIG_DIR"
"""Claude Code's own setting for where it keeps its files (default ``~/.claude``; Anthropic's settings docs)."""
CODEX_HOME: Final = "CODEX_HOME"
"""Codex CLI's own setting for where it keeps its files (default ``~/.codex``; rollouts under ``sessions/``)."""
_ROLLOUT_PREFIX: Final = "rollout-"
_HEAD_LINES: Final = 20  # lines read for a session's first timestamp (a summary or snapshot may come first)


def default_projects_dirs() -> list[Path]:
    """Where Claude Code keeps its transcripts: ``projects/`` under each folder ``$CLAUDE_CONFIG_DIR`` names (a
    comma-separated list, as ccusage reads it), else under ``~/.config/claude`` (the newer default) and
    ``~/.claude`` (the older one), those that exist; ``~/.claude/projects`` when neither does (ccusage's docs,
    configuration/custom-paths)."""
    configured = os.environ.get(CLAUDE_CONFIG_DIR)
    if configured:
        return [Path(folder.strip()).expanduser() / "projects" for folder in configured.split(",") if folder.strip()]
    candidates = [Path.home() / ".config" / "claude" / "projects", Path.home() / ".claude" / "projects"]
    return [folder for folder in candidates if folder.is_dir()] or candidates[-1:]


def default_codex_sessions_dir() -> Path:
    """Where Codex CLI keeps its rollouts: ``$CODEX_HOME/sessions``, else ``~/.codex/sessions``."""
    return Path(os.environ.get(CODEX_HOME) or Path.home() / ".codex").expanduser() / "sessions"


@dataclass(slots=True)
class SessionFiles:
    main: Path | None
    subagents: list[Path] = field(default_factory=lambda: list[Path]())


def find_rollouts(paths: Iterable[Path], notes: list[FileNote]) -> tuple[list[SessionFiles], dict[Path, int]]:
    """The rollout files under ``paths`` (a file given itself is read whatever its name), the session that began
    first first (its first line's timestamp, never the mtime), so a fork's parent is read before the fork."""
    sizes: dict[Path, int] = {}
    for path in paths:
        path = path.expanduser()
        try:
            if path.is_dir():
                found: dict[Path, int] = {}
                _walk(path, found, notes)
                sizes.update((p, size) for p, size in found.items() if p.name.startswith(_ROLLOUT_PREFIX))
            elif path.is_file():
                sizes[path] = path.stat().st_size
            else:
                notes.append(FileNote(path, "no such file or folder", True))
        except OSError as error:
            notes.append(FileNote(path, f"cannot be listed ({error.strerror or error})", True))

    def order(path: Path) -> tuple[float, int, str]:
        first_ns = _first_timestamp_ns(path)
        return (math.inf if first_ns is None else first_ns, sizes[path], path.name)

    return [SessionFiles(path) for path in sorted(sizes, key=order)], sizes


def find_sessions(paths: Iterable[Path], notes: list[FileNote]) -> tuple[list[SessionFiles], dict[Path, int]]:
    """The sessions under ``paths``, each with its subagents' files, in import order (``_order``); and the
    size of every file."""
    sizes: dict[Path, int] = {}
    named: list[Path] = []  # files given themselves rather than found in a folder
    for path in paths:
        path = path.expanduser()
        try:
            if path.is_dir():
                _walk(path, sizes, notes)
            elif path.is_file():
                sizes[path] = path.stat().st_size
                named.append(path)
            else:
                notes.append(FileNote(path, "no such file or folder", True))
        except OSError as error:
            notes.append(FileNote(path, f"cannot be listed ({error.strerror or error})", True))
    groups: dict[Path, SessionFiles] = {}
    orphans: list[Path] = []
    for path in sizes:
        if not is_subagent_file(path):
            groups.setdefault(path, SessionFiles(path)).main = path
            continue
        main = _main_of(path)
        if main is None:
            orphans.append(path)
        else:
            group = groups.setdefault(main, SessionFiles(main if main in sizes or main.is_file() else None))
            group.subagents.append(path)
    for path in named:
        group = groups.get(path)
        own = path.with_suffix("") / "subagents"  # a session file given alone still brings its subagents
        if group is not None and not group.subagents and own.is_dir():
            found: dict[Path, int] = {}
            _walk(own, found, notes)
            group.subagents.extend(p for p in found if is_subagent_file(p) and p.parent == own)
            sizes.update(found)
    ordered = sorted(groups.values(), key=lambda group: _order(group, sizes))
    if orphans:
        ordered.append(SessionFiles(None, sorted(orphans)))
    return ordered, sizes


def _walk(folder: Path, sizes: dict[Path, int], notes: list[FileNote]) -> None:
    """Adds every ``*.jsonl`` under ``folder`` (symbolic links to folders not followed) with its size: one
    ``stat`` a file, where ``rglob`` and ``is_file`` then ``stat`` took several (5,000 small sessions: 0.35 s)."""
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(Path(entry.path))
                    elif entry.name.endswith(".jsonl") and entry.is_file():
                        try:
                            sizes[Path(entry.path)] = entry.stat().st_size
                        except OSError:  # gone since it was listed: reading it will say so
                            sizes[Path(entry.path)] = 0
        except OSError as error:
            notes.append(FileNote(current, f"cannot be listed ({error.strerror or error})", True))


def _main_of(path: Path) -> Path | None:
    """A subagent file's session file: ``<session>/subagents/agent-*.jsonl`` names it by folder; an
    ``agent-*.jsonl`` beside the session files names it in its records."""
    if path.parent.name == "subagents":
        return path.parent.parent.with_suffix(".jsonl")
    session_id = session_id_of(path)
    return path.parent / f"{session_id}.jsonl" if session_id else None


def _order(group: SessionFiles, sizes: dict[Path, int]) -> tuple[str, float, int, str]:
    """Per project folder, the session that began first first, by its first record's timestamp (never the
    file's mtime, which a copy, a sync or a backup resets): a continued session's copies of earlier lines then
    meet the originals already imported, and the original keeps them. A continuation's copies keep their
    timestamps, so it begins at the same moment as its original: then the smaller file first, the original
    being the continuation's first part."""
    main = group.main or (group.subagents[0] if group.subagents else Path())
    first_ns = _first_timestamp_ns(main)
    return (str(main.parent), math.inf if first_ns is None else first_ns, sizes.get(main, 0), main.name)


def _first_timestamp_ns(path: Path) -> int | None:
    """The ``timestamp`` of the file's first record that has one."""
    try:
        with path.open("rb") as lines:
            for _, line in zip(range(_HEAD_LINES), lines, strict=False):
                try:
                    record = loads(line)
                except UnicodeDecodeError:  # the reader notes it
                    continue
                at_ns = timestamp_ns(cast("dict[str, Any]", record)) if isinstance(record, dict) else None
                if at_ns is not None:
                    return at_ns
    except OSError:  # unreadable: reading it will say so
        return None
    return None


def size_of(group: SessionFiles, sizes: dict[Path, int]) -> int:
    return sum(sizes.get(path, 0) for path in (group.main, *group.subagents) if path is not None)
