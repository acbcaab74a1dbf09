"""Where the store lives, and creating its file owner-only before SQLite touches it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from langchain_turntrace.env import TURNTRACE_STORE

"""Path of the store file. Default: ``$XDG_DATA_HOME/turntrace/traces.db`` (``~/.local/share/...``)."""


def default_store_path(environ: Mapping[str, str] | None = None) -> Path:
    """``TURNTRACE_STORE``, else the per-user data directory (the XDG layout, used on every platform)."""
    environ = os.environ if environ is None else environ
    explicit = environ.get(TURNTRACE_STORE, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    data_home = environ.get("XDG_DATA_HOME", "").strip()
    # The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
    base = Path(data_home) if data_home and Path(data_home).is_absolute() else Path.home() / ".local" / "share"
    return base / "turntrace" / "traces.db"


def create_private_file(path: Path) -> None:
    """Creates ``path`` (mode 0600) and any missing parent directories (0700); an existing file is left as is.

    Traces hold user ids, costs and, when content capture is on, prompts: other local users must not read them.
    SQLite would create the file with the umask's mode (usually 0644), so it is created here first; SQLite then
    gives the -wal and -shm files the database file's mode.
    """
    missing: list[Path] = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    # One by one: Path.mkdir(parents=True) would create the intermediate directories with the default mode.
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(descriptor)
