"""A CJK font installed under a running server is used without a restart (issue 15: "After installing a font,
the PDF stays 503 and the budget charts stay English until restart"; "fonts found at request time")."""

from __future__ import annotations

import pytest

from actuarial import report_charts
from flask_app import pdf


def test_the_notice_pdf_finds_a_font_installed_after_the_first_request(monkeypatch):
    families = [frozenset()]  # fontconfig's answer: first no Chinese family, then WenQuanYi
    clock = [100.0]
    monkeypatch.setattr(pdf, "_installed_zh_families", lambda: families[0])
    monkeypatch.setattr(pdf.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(pdf, "_found", [])
    monkeypatch.setattr(pdf, "_checked_at", [])

    assert pdf.cjk_font() is None  # no font: the page answers 503
    families[0] = frozenset({"WenQuanYi Zen Hei", "文泉驿正黑"})  # apt-get install fonts-wqy-zenhei
    assert pdf.cjk_font() is None  # within RECHECK_MISSING_SECONDS fontconfig is not asked again
    clock[0] += pdf.RECHECK_MISSING_SECONDS + 1
    assert pdf.cjk_font() == "WenQuanYi Zen Hei"  # found without a restart
    families[0] = frozenset()
    assert pdf.cjk_font() == "WenQuanYi Zen Hei"  # and kept


def test_the_budget_charts_find_a_font_installed_after_start(monkeypatch):
    from matplotlib import font_manager

    manager = font_manager.fontManager
    cjk = [f for f in manager.ttflist if f.name in report_charts.CJK_FONTS]
    if not cjk:
        pytest.skip("no CJK font installed (Debian: apt-get install fonts-wqy-zenhei; .ci/run installs it)")
    # the process started before the font was installed: matplotlib's list has none of ours
    files = {f.fname for f in cjk}
    monkeypatch.setattr(manager, "ttflist", [f for f in manager.ttflist if f.fname not in files])
    monkeypatch.setattr(report_charts, "_missing_since", [])
    assert report_charts.cjk_font() in report_charts.CJK_FONTS  # the font folders scanned again
