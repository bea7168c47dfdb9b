"""PDF rendering (WeasyPrint) of print-ready pages, with an explicit CJK font.

A PDF of Chinese text without a CJK font is a page of empty boxes, so :func:`cjk_font` asks fontconfig
which of the :data:`CJK_FAMILIES` is installed (``fc-list :lang=zh family``); when none is, the caller
says so plainly (HTTP 503) instead of rendering.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from functools import lru_cache

#: Preferred CJK families, in order (Debian: fonts-wqy-zenhei, fonts-arphic-uming, fonts-noto-cjk).
CJK_FAMILIES = ("WenQuanYi Zen Hei", "AR PL UMing CN", "Noto Sans CJK SC")

#: The CSS font-family list used by the PDF pages (names the families explicitly).
FONT_STACK = ", ".join(f'"{f}"' for f in CJK_FAMILIES)


@lru_cache(maxsize=1)
def _installed_zh_families() -> frozenset[str]:
    exe = shutil.which("fc-list")
    if exe is None:
        return frozenset()
    try:
        out = subprocess.run([exe, ":lang=zh", "family"], capture_output=True, text=True, timeout=20,
                             check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    names: set[str] = set()
    for row in out.splitlines():
        names.update(part.strip() for part in row.split(",") if part.strip())
    return frozenset(names)


def cjk_font() -> str | None:
    """The first of :data:`CJK_FAMILIES` fontconfig has (supporting Chinese), else None."""
    installed = _installed_zh_families()
    return next((f for f in CJK_FAMILIES if f in installed), None)


def render_pdf(html: str, base_url: str | None = None) -> tuple[bytes, float]:
    """(PDF bytes, seconds taken) for a complete HTML document (its CSS sets the page size)."""
    from weasyprint import HTML

    started = time.perf_counter()
    data = HTML(string=html, base_url=base_url).write_pdf()
    return data, time.perf_counter() - started


__all__ = ["CJK_FAMILIES", "FONT_STACK", "cjk_font", "render_pdf"]
