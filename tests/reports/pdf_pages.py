"""Reading a report PDF back: its pages' text (pypdf), and its first pages as PNG (pdftoppm)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

from pypdf import PdfReader

#: Where page images are kept as test artifacts (git-ignored).
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def pdf_pages(content: bytes) -> list[str]:
    """The text of each page (the PDF must open: pypdf raises on a broken file)."""
    assert content.startswith(b"%PDF-"), "not a PDF"
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def keep_page_images(content: bytes, name: str, pages: int = 2) -> list[Path]:
    """The first ``pages`` pages as PNG under tests/artifacts/ (none when pdftoppm is missing:
    ``make test`` installs it; the report's text is checked either way)."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        return []
    ARTIFACTS.mkdir(exist_ok=True)
    source = ARTIFACTS / f"{name}.pdf"
    source.write_bytes(content)
    prefix = ARTIFACTS / name
    subprocess.run(
        [tool, "-png", "-r", "60", "-f", "1", "-l", str(pages), str(source), str(prefix)],
        check=True,
        timeout=60,
    )
    return sorted(ARTIFACTS.glob(f"{name}-*.png"))
