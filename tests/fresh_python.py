"""A fresh interpreter running a snippet, as an app started with given environment variables would: production mode."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).parent.parent


def run_python(
    body: str, env: Mapping[str, str] | None = None, *args: str, timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    """Runs ``body`` (dedented) with ``env`` over this process's environment, minus TURNTRACE_STRICT: internal
    errors are logged once and swallowed, as in a user's program. ``args`` become ``sys.argv[1:]``."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("TURNTRACE_STRICT", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(body), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout_s,
        check=False,
        cwd=ROOT,
    )
