"""One headless Chromium for every browser test, found the way Playwright users expect.

Order: `PIX2PIX_HUB_CHROMIUM` (a path), then Playwright's own browser (`python -m playwright install chromium`),
then a system Chromium or Chrome on PATH (Debian: `apt-get install chromium`). Without any, the browser tests fail
with a message that names these three ways, rather than erroring deep inside Playwright.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium(playwright) -> str | None:
    """The executable to launch, or None for Playwright's own downloaded browser."""
    chosen = os.environ.get("PIX2PIX_HUB_CHROMIUM")
    if chosen:
        if not Path(chosen).is_file():
            raise FileNotFoundError(f"PIX2PIX_HUB_CHROMIUM={chosen!r} is not a file")
        return chosen
    if Path(playwright.chromium.executable_path).is_file():
        return None
    for name in SYSTEM_BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(
        "The browser tests need Chromium: run `python -m playwright install chromium`, or install a system one "
        "(Debian/Ubuntu: `apt-get install chromium`), or set PIX2PIX_HUB_CHROMIUM to its path."
    )


def launch_chromium(playwright):
    """A headless Chromium from `find_chromium`."""
    executable = find_chromium(playwright)
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
