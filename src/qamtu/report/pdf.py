"""The national report as a PDF: headless Chromium prints ``index.html``.

Why Chromium and not WeasyPrint: the PDF is then exactly the page the analyst sees in a browser (the same HTML,
CSS and fonts, Cyrillic and Kazakh letters included); the project already installs Debian's ``chromium`` for its
browser tests (``make browser``), so the PDF needs no second rendering engine, no Pango/cairo stack and no new
Python dependency. The page's print stylesheet (``@media print`` in ``templates/base.html.j2``) hides the
interactive maps and keeps figures and tables whole.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from qamtu.errors import QamtuError
from qamtu.fileio import atomic_write

#: Names tried, in order, for the browser (``QAMTU_CHROMIUM`` overrides).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str:
    """Path of a Chromium binary, or raise naming how to install one."""
    override = os.environ.get("QAMTU_CHROMIUM")
    if override:
        if not Path(override).is_file():
            raise QamtuError(f"QAMTU_CHROMIUM={override!r} is not a file")
        return override
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise QamtuError("--pdf needs Chromium to print the report: install Debian's chromium (make browser) or set "
                     "QAMTU_CHROMIUM to a Chromium/Chrome binary")


def html_to_pdf(html: str | Path, pdf: str | Path, *, timeout_s: float = 120.0) -> Path:
    """Print the page ``html`` to ``pdf`` (A4, no browser header or footer), atomically.

    Raises
    ------
    QamtuError
        Chromium is missing, fails or runs past ``timeout_s``.
    """
    src = Path(html).resolve()
    out = Path(pdf)
    browser = find_chromium()
    with tempfile.TemporaryDirectory(prefix="qamtu-pdf-") as profile, atomic_write(out) as tmp:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--no-pdf-header-footer", "--print-to-pdf-no-header",
               f"--print-to-pdf={tmp}", src.as_uri()]
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise QamtuError(f"Chromium did not print {src} within {timeout_s:g} s") from exc
        if run.returncode != 0 or not Path(tmp).is_file() or Path(tmp).stat().st_size == 0:
            tail = (run.stderr or "").strip().splitlines()[-3:]
            raise QamtuError(f"Chromium could not print {src} to PDF (exit {run.returncode}): {' | '.join(tail)}")
    return out
