"""Acceptance 3: the notice PDF has the Chinese village name and masked names, no resident ID, an embedded font."""

from __future__ import annotations

import datetime as dt
import io
import re
import time

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update
from test_notices import VILLAGE, seed
from web_helpers import login as web_login

from claims.lifecycle.database import transaction
from claims.lifecycle.models import User, UserVillage
from claims.lifecycle.notices import post_notice
from claims.lifecycle.store import Division
from flask_app import create_app
from flask_app import db as web_db
from flask_app import pdf as web_pdf
from flask_app.auth import hash_password

VILLAGE_NAME = "张家庄村"
PASSWORD = "pw-for-tests"


def login(client, username: str) -> None:
    web_login(client, username, PASSWORD)


def notice_app(db_url, **config):
    """An app on a seeded county (tests/test_notices.seed) with named divisions and passwords set."""
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test", "TESTING": True, "RELIEF_TODAY": "2025-03-01",
                      "RELIEF_NOTICE_HOTLINE": "0310-1234567", **config})
    with app.app_context():
        factory = web_db.factory()
        sd = seed(factory)
        with transaction(factory) as s:
            s.add(Division(code=VILLAGE[:6], level="county", name="魏县"))
            s.flush()
            s.add(Division(code=VILLAGE, level="village", name=VILLAGE_NAME, parent_code=VILLAGE[:6]))
    return app, factory, sd


@pytest.fixture
def posted(db_url):
    app, factory, sd = notice_app(db_url)
    with app.app_context():
        with transaction(factory) as s:
            s.execute(update(User).values(password_hash=hash_password(PASSWORD)))
            clerk = s.scalar(select(User).where(User.username == "clerk"))
            s.add(UserVillage(user_id=clerk.id, village_code=VILLAGE))
            notice = post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=dt.date(2025, 3, 1),
                                 hotline="0310-1234567")
            notice_id = notice.id
    yield app, sd, notice_id
    app.extensions["relief_engine"].dispose()


def test_notice_pdf_text_names_and_no_ids(posted):
    if web_pdf.cjk_font() is None:
        pytest.skip("no CJK font installed (fonts-wqy-zenhei / fonts-arphic-uming / fonts-noto-cjk): "
                    "the app answers 503 instead of a PDF")
    app, sd, notice_id = posted
    client = app.test_client()
    login(client, "county")
    started = time.perf_counter()
    r = client.get(f"/notices/{notice_id}.pdf")
    elapsed = time.perf_counter() - started
    assert r.status_code == 200 and r.mimetype == "application/pdf", r.get_data(as_text=True)[:500]
    print(f"notice PDF rendered in {elapsed:.2f}s ({len(r.data)} bytes)")
    reader = PdfReader(io.BytesIO(r.data))
    assert reader.pages[0].mediabox.width > reader.pages[0].mediabox.height  # A4 landscape
    text = "".join(page.extract_text() for page in reader.pages)
    compact = re.sub(r"\s+", "", text)
    assert VILLAGE_NAME in compact and "防贫保理赔公示" in compact
    # claim 0: person line of 李四; claim 1: household line → head 欧阳小锋; claim 2: person line of 赵六六
    for masked in ("李*", "欧阳*锋", "赵*六"):
        assert masked in compact, masked
    for full in ("李四", "欧阳小锋", "赵六六"):
        assert full not in compact
    assert "0310-1234567" in compact and "2025年3月11日" in compact
    assert "1,200.50" in compact or "1200.50" in compact
    digits = re.sub(r"[^0-9Xx]", "", text)  # runs broken by spacing or layout are joined too
    assert not re.search(r"\d{15}", re.sub(r"\s+", "", text))
    for id_no in sd.ids.values():
        middle = id_no[6:14]  # the birth date part, and every 6-digit window of the ID
        for k in range(len(id_no) - 5):
            assert id_no[k:k + 6] not in compact, id_no[k:k + 6]
        assert id_no not in digits and middle not in compact
    # an embedded font program (the CJK glyphs travel with the file)
    embedded = []
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.get_object().values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            for f in ([d.get_object() for d in descendants.get_object()] if descendants else [font]):
                descriptor = f.get("/FontDescriptor")
                if descriptor is not None:
                    d = descriptor.get_object()
                    embedded += [k for k in ("/FontFile", "/FontFile2", "/FontFile3") if k in d]
    assert embedded, "no embedded font program in the PDF"


def test_no_cjk_font_answers_503_in_both_languages(posted, monkeypatch):
    app, _, notice_id = posted
    monkeypatch.setattr(web_pdf, "cjk_font", lambda: None)
    client = app.test_client()
    login(client, "county")
    r = client.get(f"/notices/{notice_id}.pdf")
    assert r.status_code == 503 and r.mimetype == "text/html"
    body = r.get_data(as_text=True)
    assert "未安装中文字体" in body and "no Chinese font is installed" in body


def test_clerk_of_another_village_cannot_get_the_pdf(posted):
    app, _, notice_id = posted
    with app.app_context(), web_db.write() as s:
        s.execute(update(UserVillage).values(village_code="130434100299"))
    client = app.test_client()
    login(client, "clerk")
    assert client.get(f"/notices/{notice_id}.pdf").status_code == 404
    assert client.get(f"/notices/{notice_id}").status_code == 404
