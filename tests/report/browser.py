"""Headless Chromium (Debian's `chromium`) for the report tests: the rendered DOM, console errors, screenshots."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--virtual-time-budget=15000",
]

# With --enable-logging=stderr Chromium logs each console message, whatever its level, as
# `...:INFO:CONSOLE:LINE] "TEXT", source: URL (LINE)` (older versions: `CONSOLE(LINE)]`); an uncaught exception is
# one too ("Uncaught TypeError: ..."). So any such line is a message the page should not have logged.
_CONSOLE = re.compile(r':CONSOLE(?:\(\d+\)|:\d+)\] "(?P<text>.*)", source: (?P<source>.*)$')


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class Rendered:
    dom: str
    console: list[str]


def render(page: Path, screenshot: Path | None = None, width: int = 1200, height: int = 2400) -> Rendered:
    """The DOM after the page's scripts ran, and every console message it logged (with a screenshot if asked)."""
    browser = chromium()
    assert browser is not None
    with tempfile.TemporaryDirectory() as profile:
        flags = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]
        done = subprocess.run(
            [*flags, "--dump-dom", page.resolve().as_uri()], capture_output=True, text=True, timeout=180, check=True
        )
        if screenshot is not None:
            subprocess.run(
                [*flags, f"--window-size={width},{height}", f"--screenshot={screenshot}", page.resolve().as_uri()],
                capture_output=True,
                timeout=180,
                check=True,
            )
    console = [m.group("text") for line in done.stderr.splitlines() if (m := _CONSOLE.search(line))]
    return Rendered(done.stdout, console)
