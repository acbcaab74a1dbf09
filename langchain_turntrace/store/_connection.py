"""Opens a store file: owner-only, WAL, a busy timeout, schema checked and migrated; SQLite errors as StoreError."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from time import monotonic, sleep
from typing import Final

from langchain_turntrace.store import _schema
from langchain_turntrace.store._errors import StoreError
from langchain_turntrace.store._paths import TURNTRACE_STORE, create_private_file

BUSY_TIMEOUT_S: Final = 10.0
"""How long a write waits for another process's write to finish. WAL keeps readers off this path entirely."""


def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """An open, current store at ``path``; ``create`` makes a missing file (and its directories)."""
    if create:
        try:
            create_private_file(path)
        except OSError as error:
            raise StoreError(
                f"cannot create the store {path} ({error.strerror or error}); point {TURNTRACE_STORE} at a "
                "writable location"
            ) from None
    elif not path.is_file():
        if path.exists():
            raise StoreError(f"{path} is not a file; point {TURNTRACE_STORE} at a store file")
        raise StoreError(
            f"no turntrace store at {path}: create one by running `turntrace demo` (or by tracing an agent run), "
            f"or point {TURNTRACE_STORE} at an existing store"
        )
    with sqlite_errors(path):
        # The busy timeout covers reads and writes, but SQLite answers "locked" at once, without waiting, while
        # another process switches a new file to WAL or closes the last connection (checkpointing and removing
        # the -wal file). Opening is retried for as long as a write would wait.
        deadline = monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                return _open(path)
            except sqlite3.OperationalError as error:
                if "is locked" not in str(error) or monotonic() >= deadline:
                    raise
            sleep(random.uniform(0.005, 0.05))  # jittered, so processes that collided once do not again


def _open(path: Path) -> sqlite3.Connection:
    # mode=rw: SQLite must never create the file itself, with the umask's mode instead of 0600.
    connection = sqlite3.connect(
        path.absolute().as_uri() + "?mode=rw",
        uri=True,
        timeout=BUSY_TIMEOUT_S,
        isolation_level=None,  # autocommit: we open every transaction ourselves, explicitly
        check_same_thread=False,  # the exporter is called from the batch worker and shut down from elsewhere
    )
    try:
        _schema.check(connection, path)
        # WAL: readers never block writers or each other, so queries run while agents keep writing. The mode is
        # stored in the file: set once, by whoever opens it first.
        if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            connection.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL cannot corrupt the file; a power cut may lose the last batches, never more.
        connection.execute("PRAGMA synchronous = NORMAL")
        _schema.migrate(connection, path)
    except BaseException:
        connection.close()
        raise
    return connection


@contextmanager
def sqlite_errors(path: Path) -> Generator[None, None, None]:
    """SQLite's exceptions as StoreError with a message a user can act on, never a raw sqlite3 traceback."""
    try:
        yield
    except sqlite3.OperationalError as error:  # locked past the timeout, disk full, I/O error, unopenable path
        raise StoreError(f"cannot use the store {path}: {error}") from None
    except sqlite3.DatabaseError:  # "file is not a database", "database disk image is malformed"
        raise StoreError(_schema.not_a_store_message(path)) from None
