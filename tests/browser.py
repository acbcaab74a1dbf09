"""Our HTML pages in tests: headless Chromium (Debian's chromium, no network) and the page as a parser reads it."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM_TIMEOUT_S = 60
CHROMIUM_MISSING = (
    "chromium is not installed; our HTML pages are checked in a real browser. Install Debian's chromium: "
    "`apt-get update && apt-get install -y chromium` (CI does this in .ci/run)."
)


def chromium(tmp_path: Path, page: Path, *flags: str, fragment: str = "") -> subprocess.CompletedProcess[bytes]:
    """Runs headless Chromium on ``page`` (plus ``fragment``, e.g. ``#by-feature``) with ``flags`` such as
    ``--dump-dom`` or ``--screenshot=FILE``; fails the test when Chromium is missing or fails."""
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail(CHROMIUM_MISSING)
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    command = [
        binary,
        "--headless",
        "--no-sandbox",  # CI runs as root in a container
        "--disable-gpu",
        "--disable-dev-shm-usage",  # containers often give /dev/shm 64 MB, too little for the renderer
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *flags,
        page.as_uri() + fragment,
    ]
    result = subprocess.run(command, capture_output=True, timeout=CHROMIUM_TIMEOUT_S, check=False)
    assert result.returncode == 0, f"chromium exited {result.returncode}: {result.stderr.decode(errors='replace')}"
    return result


class Page(HTMLParser):
    """The parsed page: every start tag with its (unescaped) attributes, and the text a browser would show."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)
