"""Documents for households, as PDF: the 明白卡 of a household and the policy summary of a product version.

The same templates (``card_household.html``, ``card_policy.html``) are rendered by the pages and by
``relief card`` through one Jinja environment on :file:`flask_app/templates`, then by WeasyPrint
(:func:`flask_app.pdf.render_pdf`) with an explicit CJK font; without one (:func:`flask_app.pdf.cjk_font`
is None) nothing is rendered and the caller says so, as for the notice PDF.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from claims.lifecycle.household_cards import HouseholdCard, PolicySummary
from flask_app import pdf

TEMPLATES = Path(__file__).parent / "templates"


class NoCjkFontError(RuntimeError):
    """No Chinese font is installed: a PDF would show empty boxes, so none is made."""

    def __init__(self) -> None:
        super().__init__("无法生成 PDF：本机未安装中文字体（如 fonts-wqy-zenhei）/ cannot make the PDF: no Chinese (CJK) "
                         f"font is installed (looked for {', '.join(pdf.CJK_FAMILIES)})")


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def _date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def card_html(card: HouseholdCard) -> str:
    return _env().get_template("card_household.html").render(card=card, s=card.summary, cn_date=_date,
                                                             font_stack=pdf.FONT_STACK)


def summary_html(summary: PolicySummary) -> str:
    return _env().get_template("card_policy.html").render(s=summary, cn_date=_date, font_stack=pdf.FONT_STACK)


def to_pdf(html: str) -> bytes:
    """The PDF of a complete page; :class:`NoCjkFontError` without a Chinese font."""
    if pdf.cjk_font() is None:
        raise NoCjkFontError
    data, _ = pdf.render_pdf(html)
    return data


__all__ = ["NoCjkFontError", "card_html", "summary_html", "to_pdf"]
