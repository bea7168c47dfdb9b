"""Notices as the county plans require (issue 14, item 5; acceptance 4).

Seed 003 (鹤山区 防贫保, ../shared/seeds/003_b60d021798fb0b63.txt): "核定保险理赔金额后,并将结果在拟发放对象所在
行政村、自然村进行为期10天的公示" — so a notice is never shorter than the product's ``notice_days`` (10), and it is
posted in the 行政村 *and* in each 自然村 (one sheet each).  Each sheet carries the digest of the list the county
filed (DESIGN: "区扶贫办对审核名单进行备案", seed 003) so anyone can check the posted sheet against the filing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from test_notice_pdf import PASSWORD, VILLAGE_NAME, login, notice_app
from test_notices import VILLAGE, seed, states
from web_helpers import login as web_login
from web_helpers import token_of

from claims.lifecycle.database import transaction
from claims.lifecycle.models import ClaimEvent, Notice, User, UserVillage
from claims.lifecycle.notice_postings import NoticePosting
from claims.lifecycle.notice_sheets import notice_sheets, verify_digest
from claims.lifecycle.notices import NoticeError, close_due, post_notice
from claims.lifecycle.store import ProductVersion
from claims.lifecycle.users import Operator
from flask_app import pdf as web_pdf
from flask_app.auth import hash_password
from flask_app.cli import relief

POSTED = dt.date(2025, 3, 1)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # the PNG signature is what the photo check reads


def relief_cli(*args: str):  # noqa: ANN201
    return CliRunner().invoke(relief, list(args))


def _document(factory, **changes) -> None:  # noqa: ANN001
    """Change the seeded product version's document (and family) in place."""
    with transaction(factory) as s:
        pv = s.scalar(select(ProductVersion))
        family = changes.pop("family", None)
        pv.document = {**pv.document, **changes}
        if family:
            pv.family = family


# ------------------------------------------------------------------ the notice is never shorter than notice_days

def test_a_notice_shorter_than_the_products_days_is_refused(db):
    """Seed 003: "进行为期10天的公示" — the product says notice_days: 10; 2 or 9 days are refused, 10 and 12 are not."""
    _, factory = db
    sd = seed(factory)
    for days in (2, 9):
        with pytest.raises(NoticeError) as refused, transaction(factory) as s:
            post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=POSTED, days=days)
        assert "公示期不得少于产品规定的 10 天" in str(refused.value)
        assert "may not be shorter than the product's notice_days of 10" in str(refused.value)
        assert states(factory, sd.claim_ids) == ["filed"] * 3  # nothing changed
    with transaction(factory) as s:
        notice = post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=POSTED, days=10)
        assert notice.end_on == dt.date(2025, 3, 11)  # 1 March + 10 days


def test_cli_notice_post_days_2_is_refused(db_url, db):
    _, factory = db
    sd = seed(factory)
    base = ("notice", "post", "--village", VILLAGE, "--date", "2025-03-01", "--user", "county",
            "--policy", str(sd.policy_id), "--database", db_url)
    refused = relief_cli(*base, "--days", "2")
    assert refused.exit_code != 0
    assert "公示期不得少于产品规定的 10 天" in refused.output and "may not be shorter" in refused.output
    assert states(factory, sd.claim_ids) == ["filed"] * 3
    longer = relief_cli(*base, "--days", "12")
    assert longer.exit_code == 0, longer.output
    assert "2025-03-01 → 2025-03-13 (12 天 / days)" in longer.output  # 1 March + 12 days


@pytest.fixture
def web(db_url):
    """The notice app (test_notice_pdf.notice_app) with passwords, the clerk of VILLAGE and an API token."""
    from claims.lifecycle.api_tokens import issue_token

    app, factory, sd = notice_app(db_url)
    with app.app_context(), transaction(factory) as s:
        s.execute(update(User).values(password_hash=hash_password(PASSWORD)))
        clerk = s.scalar(select(User).where(User.username == "clerk"))
        s.add(UserVillage(user_id=clerk.id, village_code=VILLAGE))
        county = s.scalar(select(User).where(User.username == "county"))
        issue_token(s, Operator(None, "tests"), county, "tests", "write", secret="token-county-notices")
    yield app, factory, sd
    app.extensions["relief_engine"].dispose()


def test_page_and_api_refuse_a_2_day_notice(web):
    app, factory, sd = web
    api = app.test_client()
    r = api.post("/api/v1/notices", headers={"Authorization": "Bearer token-county-notices"},
                 json={"village_code": VILLAGE, "policy_id": sd.policy_id, "days": 2})
    assert r.status_code == 422 and r.json["type"] == "/problems/notice-refused", r.get_data(as_text=True)
    assert "不得少于产品规定的 10 天" in r.json["detail"] and "notice_days of 10" in r.json["detail"]
    client = app.test_client()
    token = web_login(client, "county", PASSWORD)
    r = client.post("/notices", data={"csrf_token": token, "policy_id": sd.policy_id, "village_code": VILLAGE,
                                      "days": "2"}, follow_redirects=True)
    assert "不得少于产品规定的 10 天" in r.get_data(as_text=True)
    assert states(factory, sd.claim_ids) == ["filed"] * 3


# ------------------------------------------------------------------ a product without a notice

def test_a_product_without_notice_goes_from_filed_to_payable(db):
    """``notice_required: false``: posting is refused and close-due moves the filed claims to payable, each with
    its event ``release_without_notice`` (one row of the workflow's transition table)."""
    _, factory = db
    sd = seed(factory)
    _document(factory, notice_required=False)
    with pytest.raises(NoticeError, match="无需公示"), transaction(factory) as s:
        post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=POSTED)
    with transaction(factory) as s:
        assert close_due(s, today=POSTED) == {"notices_closed": 0, "claims_payable": 3}
        actions = s.scalars(select(ClaimEvent.action).where(ClaimEvent.claim_id.in_(sd.claim_ids))).all()
        assert s.scalar(select(Notice.id)) is None  # no notice was posted
    assert states(factory, sd.claim_ids) == ["payable"] * 3
    assert sorted(actions) == ["release_without_notice"] * 3


def test_a_product_with_notice_keeps_filed_claims_until_posted(db):
    _, factory = db
    sd = seed(factory)
    with transaction(factory) as s:
        assert close_due(s, today=POSTED) == {"notices_closed": 0, "claims_payable": 0}
    assert states(factory, sd.claim_ids) == ["filed"] * 3


# ------------------------------------------------------------------ sheets, titles and digests

def _expected_digest(notice_id: int, natural: str | None, rows: list[list]) -> str:
    """The module docstring's serialisation, written out here independently of the code."""
    body = {"days": 10, "end_on": "2025-03-11", "natural_village": natural, "notice": notice_id,
            "posted_on": "2025-03-01", "rows": rows, "village_code": VILLAGE}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# seed(): claim 0 李四 (person, 张庄, 因病防贫 1,200.50), claim 1 household of 欧阳小锋 (李屯, 因灾防贫 800.00),
# claim 2 赵六六 (person, 张庄, 因病防贫 333.33).  Lines ordered by 自然村 (code points: 张 U+5F20 before 李 U+674E),
# then claim: 张庄 first.
ALL_ROWS = [[1, "李*", "张庄", "因病防贫", "1200.50"], [2, "赵*六", "张庄", "因病防贫", "333.33"],
            [3, "欧阳*锋", "李屯", "因灾防贫", "800.00"]]
LITUN = [[1, "欧阳*锋", "李屯", "因灾防贫", "800.00"]]
ZHANGZHUANG = [[1, "李*", "张庄", "因病防贫", "1200.50"], [2, "赵*六", "张庄", "因病防贫", "333.33"]]


def test_one_sheet_per_village_and_per_natural_village_with_digests(db):
    """Seed 003: "在拟发放对象所在行政村、自然村进行…公示" — the 行政村 sheet (3 rows, 1,200.50 + 333.33 + 800.00 =
    2,333.83) and one per 自然村: 张庄 (2 rows, 1,200.50 + 333.33 = 1,533.83) and 李屯 (1 row, 800.00)."""
    _, factory = db
    sd = seed(factory)
    with transaction(factory) as s:
        notice_id = post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=POSTED).id
    with factory() as s:
        sheets = notice_sheets(s, notice_id)
    assert [(sh.natural_village, sh.rows, sh.total) for sh in sheets] == [
        (None, ALL_ROWS, Decimal("2333.83")), ("张庄", ZHANGZHUANG, Decimal("1533.83")),
        ("李屯", LITUN, Decimal("800.00"))]
    assert [sh.digest for sh in sheets] == [_expected_digest(notice_id, None, ALL_ROWS),
                                            _expected_digest(notice_id, "张庄", ZHANGZHUANG),
                                            _expected_digest(notice_id, "李屯", LITUN)]
    assert {sh.title for sh in sheets} == {"防贫保理赔公示"}


def test_verify_round_trip_and_a_wrong_digest(db_url, db):
    _, factory = db
    sd = seed(factory)
    with transaction(factory) as s:
        notice_id = post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=POSTED).id
    digest = _expected_digest(notice_id, "张庄", ZHANGZHUANG)
    with factory() as s:
        found = verify_digest(s, digest)
        assert (found["village_code"], found["natural_village"], found["rows"], found["total"]) == (
            VILLAGE, "张庄", 2, Decimal("1533.83"))
        assert (found["posted_on"], found["end_on"]) == (POSTED, dt.date(2025, 3, 11))
        wrong = digest[:-1] + ("0" if digest[-1] != "0" else "1")
        assert verify_digest(s, wrong) is None and verify_digest(s, "not-a-digest") is None
    ok = relief_cli("notice", "verify", digest, "--database", db_url)
    assert ok.exit_code == 0 and "已备案 / filed" in ok.output and "2 笔 / rows" in ok.output
    assert "¥1,533.83" in ok.output
    bad = relief_cli("notice", "verify", wrong, "--database", db_url)
    assert bad.exit_code == 1 and "未备案 / not filed" in bad.output


def test_verify_a_saved_list_file(db_url, db, tmp_path):
    """``relief notice verify FILE``: a file holding the canonical list verifies as its sheet's digest."""
    _, factory = db
    sd = seed(factory)
    with transaction(factory) as s:
        notice_id = post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=POSTED).id
    body = {"days": 10, "end_on": "2025-03-11", "natural_village": "李屯", "notice": notice_id,
            "posted_on": "2025-03-01", "rows": LITUN, "village_code": VILLAGE}
    saved = tmp_path / "litun.json"
    saved.write_bytes(json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    assert relief_cli("notice", "verify", str(saved), "--database", db_url).exit_code == 0
    saved.write_bytes(saved.read_bytes().replace(b"800.00", b"8000.00"))  # an altered list
    assert relief_cli("notice", "verify", str(saved), "--database", db_url).exit_code == 1


def test_public_verify_page_needs_no_login_and_shows_no_names(web):
    app, factory, sd = web
    with transaction(factory) as s:
        notice_id = post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=POSTED).id
    client = app.test_client()  # not logged in
    r = client.get(f"/notices/verify/{_expected_digest(notice_id, None, ALL_ROWS)}")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-filed="yes"' in body
    assert VILLAGE_NAME in body and "2,333.83" in body and "<td>3</td>" in body
    for name in ("李", "欧阳", "赵", "张三"):  # neither masked nor full names
        assert name not in body.replace(VILLAGE_NAME, "")
    r = client.get("/notices/verify/" + "0" * 64)
    assert r.status_code == 404 and 'data-filed="no"' in r.get_data(as_text=True)


def _pdf_pages(app, notice_id: int, tmp_path) -> list[str]:  # noqa: ANN001
    if web_pdf.cjk_font() is None:
        pytest.skip("no CJK font installed (fonts-wqy-zenhei / fonts-arphic-uming / fonts-noto-cjk)")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    client = app.test_client()
    login(client, "county")
    r = client.get(f"/notices/{notice_id}.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf", r.get_data(as_text=True)[:300]
    path = tmp_path / "notice.pdf"
    path.write_bytes(r.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    return [page for page in text.split("\f") if page.strip()]


@pytest.mark.parametrize("family,title", [("fangpinbao", "防贫保理赔公示"), ("zhunongbao", "助农保理赔公示")])
def test_pdf_has_a_sheet_per_natural_village_and_the_familys_title(web, tmp_path, family, title):
    """Acceptance 4: one page for the 行政村 and one per 自然村 (张庄, 李屯), each titled with the family's name and
    carrying its digest; 助农保 never says 防贫保."""
    app, factory, sd = web
    _document(factory, family=family)
    with transaction(factory) as s:
        notice_id = post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=POSTED).id
    pages = _pdf_pages(app, notice_id, tmp_path)
    assert len(pages) == 3, [p[:80] for p in pages]
    compact = ["".join(p.split()) for p in pages]
    assert f"{VILLAGE_NAME}{title}" in compact[0] and "自然村：" not in compact[0]
    assert f"{VILLAGE_NAME}张庄{title}" in compact[1] and f"行政村：{VILLAGE_NAME}自然村：张庄" in compact[1]
    assert f"{VILLAGE_NAME}李屯{title}" in compact[2] and f"行政村：{VILLAGE_NAME}自然村：李屯" in compact[2]
    other = "防贫保" if family == "zhunongbao" else "助农保"
    assert all(other not in page for page in compact)
    for page, (natural, rows) in zip(compact, [(None, ALL_ROWS), ("张庄", ZHANGZHUANG), ("李屯", LITUN)]):
        assert _expected_digest(notice_id, natural, rows) in page
    assert "欧阳*锋" in compact[2] and "李*" not in compact[2]  # 李屯's sheet lists only 李屯's claim
    assert "1,533.83" in compact[1] and "欧阳*锋" not in compact[1]
    show = app.test_client()
    login(show, "county")
    assert f"<title>{VILLAGE_NAME} {title}" in show.get(f"/notices/{notice_id}").get_data(as_text=True)


# ------------------------------------------------------------------ posting records

def test_posting_record_by_form_with_photo_and_by_cli(web, db_url):
    app, factory, sd = web
    with transaction(factory) as s:
        notice_id = post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=POSTED).id
    client = app.test_client()
    login(client, "clerk")
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    token = token_of(page.split('id="postings"')[1])
    from io import BytesIO

    r = client.post(f"/notices/{notice_id}/postings", content_type="multipart/form-data", follow_redirects=True,
                    data={"csrf_token": token, "place": "张庄自然村公告栏", "posted_at": "2025-03-01T09:30",
                          "photo": (BytesIO(PNG), "board.png")})
    assert r.status_code == 200 and "张庄自然村公告栏" in r.get_data(as_text=True)
    r = client.post(f"/notices/{notice_id}/postings", content_type="multipart/form-data", follow_redirects=True,
                    data={"csrf_token": token, "place": "李屯", "posted_at": "2025-03-01T10:00",
                          "photo": (BytesIO(b"GIF89a" + b"\x00" * 10), "board.gif")})
    assert "照片须为 JPEG 或 PNG" in r.get_data(as_text=True)
    out = relief_cli("notice", "record-posting", str(notice_id), "--place", "村委会公告栏", "--at", "2025-03-02T08:00",
                     "--user", "county", "--database", db_url)
    assert out.exit_code == 0, out.output
    late = relief_cli("notice", "record-posting", str(notice_id), "--place", "村口", "--at", "2025-04-01T08:00",
                      "--user", "county", "--database", db_url)
    assert late.exit_code != 0 and "不在公示期" in late.output
    with factory() as s:
        rows = s.execute(select(NoticePosting.place, NoticePosting.posted_by_name, NoticePosting.photo_type,
                                NoticePosting.photo_sha256).order_by(NoticePosting.id)).all()
    assert rows == [("张庄自然村公告栏", "clerk", "image/png", hashlib.sha256(PNG).hexdigest()),
                    ("村委会公告栏", "county", None, None)]
    photo = client.get(f"/notices/{notice_id}/postings/1/photo")
    assert photo.status_code == 200 and photo.data == PNG and photo.mimetype == "image/png"


def test_photo_types_and_size_limit():
    """A posting photo is a JPEG or PNG by its first bytes, at most 5 MB (5 × 1,024 × 1,024 = 5,242,880 bytes)."""
    from claims.lifecycle.notice_sheets import photo_type
    from tabular.errors import InvalidInputError

    assert photo_type(b"\xff\xd8\xff\xe0" + b"\x00" * 10) == "image/jpeg" and photo_type(PNG) == "image/png"
    assert photo_type(b"\xff\xd8\xff" + b"\x00" * (5_242_880 - 3)) == "image/jpeg"  # exactly 5 MB: kept
    for data, words in ((b"\xff\xd8\xff" + b"\x00" * (5_242_880 - 2), "照片超过 5 MB / the photo is over 5 MB"),
                        (b"", "照片为空 / the photo is empty"), (b"%PDF-1.7", "照片须为 JPEG 或 PNG")):
        with pytest.raises(InvalidInputError, match=words):
            photo_type(data)


def test_notice_required_in_the_product_document():
    """The catalog's products post a notice (notice_required defaults to true); a document may say false."""
    from products import load_product

    weixian = load_product("fangpinbao-weixian-2025")
    assert (weixian.notice_required, weixian.notice_days) == (True, 10)
    quiet = load_product({**weixian.document, "code": "FPB-quiet", "notice_required": False})
    assert quiet.notice_required is False
