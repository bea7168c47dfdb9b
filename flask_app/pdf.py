"""PDF rendering (WeasyPrint) of print-ready pages, with an explicit CJK font.

A PDF of Chinese text without a CJK font is a page of empty boxes, so :func:`cjk_font` asks fontconfig
which of the :data:`CJK_FAMILIES` is installed (``fc-list :lang=zh family``); when none is, the caller
says so plainly (HTTP 503) instead of rendering.
"""

from __future__ import annotations

import shutil
import subprocess
import time

#: Preferred CJK families, in order (Debian: fonts-wqy-zenhei, fonts-arphic-uming, fonts-noto-cjk).
CJK_FAMILIES = ("WenQuanYi Zen Hei", "AR PL UMing CN", "Noto Sans CJK SC")

#: The CSS font-family list used by the PDF pages (names the families explicitly).
FONT_STACK = ", ".join(f'"{f}"' for f in CJK_FAMILIES)


#: How long a missing font is believed missing before fontconfig is asked again (seconds): a font installed
#: while the server runs is found within this time, without a restart.
RECHECK_MISSING_SECONDS = 30.0
_found: list[str] = []  # the font once found (a found font is kept: fonts are not uninstalled under a server)
_checked_at: list[float] = []


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
    """The first of :data:`CJK_FAMILIES` fontconfig has (supporting Chinese), else None.

    Looked up at request time: a found font is kept; a missing one is looked up again after
    :data:`RECHECK_MISSING_SECONDS`, so installing ``fonts-wqy-zenhei`` under a running server takes effect."""
    if _found:
        return _found[0]
    now = time.monotonic()
    if _checked_at and now - _checked_at[0] < RECHECK_MISSING_SECONDS:
        return None
    _checked_at[:] = [now]
    installed = _installed_zh_families()
    font = next((f for f in CJK_FAMILIES if f in installed), None)
    if font is not None:
        _found[:] = [font]
    return font


def render_pdf(html: str, base_url: str | None = None) -> tuple[bytes, float]:
    """(PDF bytes, seconds taken) for a complete HTML document (its CSS sets the page size)."""
    from weasyprint import HTML

    started = time.perf_counter()
    data = HTML(string=html, base_url=base_url).write_pdf()
    return data, time.perf_counter() - started


__all__ = ["CJK_FAMILIES", "FONT_STACK", "cjk_font", "render_pdf"]
