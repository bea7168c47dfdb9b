"""Pages: notices (list, post, show, objection, close due), payouts (build, show, bank file, return), fund, products."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update
from test_notice_pdf import PASSWORD, VILLAGE_NAME, login, notice_app
from test_notices import VILLAGE
from web_helpers import token_of

from claims.lifecycle.database import transaction
from claims.lifecycle.fund import record_premium
from claims.lifecycle.models import Claim, FundEntry, Notice, Objection, PayoutBatch, User, UserVillage
from claims.lifecycle.notices import close_due, post_notice
from claims.lifecycle.registry import register_product
from claims.lifecycle.users import create_user
from flask_app.auth import hash_password
from products.loader import load_product


@pytest.fixture
def env(db_url):
    app, factory, sd = notice_app(db_url)
    with app.app_context():
        with transaction(factory) as s:
            create_user(s, "admin", "管理员", "admin")
            create_user(s, "act", "精算", "actuary")
            create_user(s, "clerk2", "别村村委", "village_clerk", villages=["130434100299"])
            s.execute(update(User).values(password_hash=hash_password(PASSWORD)))
            clerk = s.scalar(select(User).where(User.username == "clerk"))
            s.add(UserVillage(user_id=clerk.id, village_code=VILLAGE))
    app.factory = factory
    yield app, sd
    app.extensions["relief_engine"].dispose()


def client_for(app, username):
    client = app.test_client()
    login(client, username)
    return client



def tok(client) -> str:
    """This client's CSRF token (from the logout form of the start page)."""
    return token_of(client.get("/").get_data(as_text=True))


def claim_states(app, ids):
    with app.factory() as s:
        return [s.get(Claim, i).state for i in ids]


# ---------------------------------------------------------------- notices

def test_notice_post_show_objection_close_due(env):
    app, sd = env
    county = client_for(app, "county")
    page = county.get("/notices").get_data(as_text=True)
    assert VILLAGE_NAME in page and "张贴公示" in page and "2,333.83" in page  # 3 filed claims of the village
    r = county.post("/notices", data={"policy_id": sd.policy_id, "village_code": VILLAGE, "csrf_token": token_of(page)})
    assert r.status_code == 302
    notice_id = int(re.search(r"/notices/(\d+)$", r.headers["Location"]).group(1))
    with app.factory() as s:
        notice = s.get(Notice, notice_id)
        assert notice.posted_on == dt.date(2025, 3, 1) and notice.end_on == dt.date(2025, 3, 11)
        assert notice.hotline == "0310-1234567"
    assert claim_states(app, sd.claim_ids) == ["on_notice"] * 3
    show = county.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert f"{VILLAGE_NAME} 防贫保理赔公示" in show
    for masked in ("李*", "欧阳*锋", "赵*六"):
        assert masked in show
    assert "李四" not in show and "欧阳小锋" not in show
    assert "0310-1234567" in show and "2025年3月11日" in show and "异议" in show
    assert "size: A4 landscape" in show and "2,333.83" in show
    assert not any(id_no[6:14] in show for id_no in sd.ids.values())
    listing = county.get("/notices").get_data(as_text=True)
    assert "2025-03-11" in listing and "公示中" in listing

    # an insurer may read notices but not post them; the other village's clerk sees nothing of this one
    ins = client_for(app, "ins")
    assert ins.get(f"/notices/{notice_id}").status_code == 200
    assert ins.post("/notices", data={"policy_id": sd.policy_id, "village_code": VILLAGE,
                                      "csrf_token": tok(ins)}).status_code == 403
    other = client_for(app, "clerk2")
    assert other.get(f"/notices/{notice_id}").status_code == 404
    assert VILLAGE_NAME not in other.get("/notices").get_data(as_text=True)

    # the village clerk records an objection against the first claim: it goes to disputed
    clerk = client_for(app, "clerk")
    show = clerk.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "登记异议" in show and f'value="{sd.claim_ids[0]}"' in show
    r = clerk.post(f"/notices/{notice_id}/objections",
                   data={"claim_id": sd.claim_ids[0], "text": "家庭收入超标", "csrf_token": token_of(show)})
    assert r.status_code == 302
    assert claim_states(app, sd.claim_ids) == ["disputed", "on_notice", "on_notice"]
    with app.factory() as s:
        assert s.scalar(select(Objection.text)) == "家庭收入超标"
    assert "家庭收入超标" in clerk.get(f"/notices/{notice_id}").get_data(as_text=True)
    # objections are the clerk's: the county reviewer may not record one
    assert county.post(f"/notices/{notice_id}/objections",
                       data={"claim_id": sd.claim_ids[1], "text": "x", "csrf_token": tok(county)}).status_code == 403

    # close due: nothing on day 11, the rest payable on day 12 (admin, clock injected)
    admin = client_for(app, "admin")
    page = admin.get("/notices").get_data(as_text=True)
    app.config["RELIEF_TODAY"] = "2025-03-11"
    admin.post("/notices/close-due", data={"csrf_token": token_of(page)})
    assert claim_states(app, sd.claim_ids) == ["disputed", "on_notice", "on_notice"]
    app.config["RELIEF_TODAY"] = "2025-03-12"
    r = admin.post("/notices/close-due", data={"csrf_token": token_of(page)}, follow_redirects=True)
    assert "2 笔理赔转为可支付" in r.get_data(as_text=True)
    assert claim_states(app, sd.claim_ids) == ["disputed", "payable", "payable"]
    assert clerk.post("/notices/close-due", data={"csrf_token": tok(clerk)}).status_code == 403


def test_post_without_filed_claims_says_so(env):
    app, sd = env
    with transaction(app.factory) as s:  # everything filed is already on a notice
        post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=dt.date(2025, 3, 1))
    county = client_for(app, "county")
    page = county.get("/notices").get_data(as_text=True)
    r = county.post("/notices", data={"policy_id": sd.policy_id, "village_code": VILLAGE, "csrf_token": token_of(page)},
                    follow_redirects=True)
    assert r.status_code == 200 and "没有待公示（已备案）的理赔" in r.get_data(as_text=True)


# ---------------------------------------------------------------- payouts and fund

def payable(app, sd):
    with transaction(app.factory) as s:
        post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=dt.date(2025, 3, 1))
    with transaction(app.factory) as s:
        close_due(s, today=dt.date(2025, 3, 12))
    assert claim_states(app, sd.claim_ids) == ["payable"] * 3


def test_payout_batch_bank_file_and_return_then_fund(env):
    app, sd = env
    payable(app, sd)
    ins = client_for(app, "ins")
    page = ins.get("/payouts").get_data(as_text=True)
    assert "生成支付批次" in page and "2,333.83" in page
    r = ins.post("/payouts", data={"policy_id": sd.policy_id, "period": "2025-03", "csrf_token": token_of(page)})
    assert r.status_code == 302
    batch_id = int(re.search(r"/payouts/(\d+)$", r.headers["Location"]).group(1))
    assert claim_states(app, sd.claim_ids) == ["in_payout"] * 3
    show = ins.get(f"/payouts/{batch_id}").get_data(as_text=True)
    assert "2,333.83" in show and "张三" in show and "bank.xlsx" in show and "bank.csv" in show
    # a second batch for the same period is refused with the service's message
    r = ins.post("/payouts", data={"policy_id": sd.policy_id, "period": "2025-03", "csrf_token": token_of(page)},
                 follow_redirects=True)
    assert "没有可支付的理赔" in r.get_data(as_text=True)

    x = ins.get(f"/payouts/{batch_id}/bank.xlsx")
    assert x.status_code == 200 and "attachment" in x.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(x.data)).active
    assert ws["B1"].value == "户主姓名" and ws["B2"].value == "张三"
    assert ws["D2"].value == "62170000" + "0" * 11 and ws["D2"].data_type == "s"
    assert Decimal(str(ws["E2"].value)) == Decimal("1200.50")
    c = ins.get(f"/payouts/{batch_id}/bank.csv")
    rows = list(csv.reader(io.StringIO(c.data.decode("utf-8-sig"))))
    assert rows[0][1] == "户主姓名" and rows[1][4] == "1200.50" and len(rows) == 4
    assert ins.get(f"/payouts/{batch_id}/bank.pdf").status_code == 404

    # bank return: claims 1 and 2 paid, claim 0 failed
    ret = "理赔编号,状态,原因\n" + "\n".join(
        f"{cid},{st},{why}" for cid, st, why in [(sd.claim_ids[0], "失败", "账户冻结"), (sd.claim_ids[1], "成功", ""),
                                                 (sd.claim_ids[2], "成功", "")]) + "\n"
    r = ins.post(f"/payouts/{batch_id}/return", data={"csrf_token": token_of(show),
                                                      "file": (io.BytesIO(ret.encode("utf-8-sig")), "return.csv")},
                 content_type="multipart/form-data", follow_redirects=True)
    assert "成功 2 笔，失败 1 笔" in r.get_data(as_text=True)
    assert claim_states(app, sd.claim_ids) == ["payable", "paid", "paid"]
    with app.factory() as s:
        assert s.get(PayoutBatch, batch_id).state == "reconciled"
        assert s.scalar(select(FundEntry.amount).where(FundEntry.kind == "claim_paid")) == Decimal("-1133.33")
    assert "账户冻结" in ins.get(f"/payouts/{batch_id}").get_data(as_text=True)
    # a repeated return is refused, nothing changes
    r = ins.post(f"/payouts/{batch_id}/return", data={"csrf_token": token_of(show),
                                                      "file": (io.BytesIO(ret.encode("utf-8-sig")), "return.csv")},
                 content_type="multipart/form-data", follow_redirects=True)
    assert "回盘文件被拒绝，未做任何更改" in r.get_data(as_text=True)

    # fund: premium received 50,000.00 − paid 1,133.33 = balance 48,866.67; loss ratio 2.27%
    with transaction(app.factory) as s:
        record_premium(s, sd.policy_id, "premium_due", Decimal("50000.00"))
        record_premium(s, sd.policy_id, "premium_received", Decimal("50000.00"))
    for user in ("act", "county", "admin", "sup"):
        page = client_for(app, user).get("/fund").get_data(as_text=True)
        assert "48,866.67" in page and "1,133.33" in page and "50,000.00" in page and "2.27%" in page
        assert "<svg" in page and "<rect" in page
    assert client_for(app, "clerk").get("/fund").status_code == 403
    # payouts are built and returned by the insurer (and admin); the county office reads them (issue 15.1)
    # with accounts masked, never the bank file
    assert client_for(app, "county").get("/payouts").status_code == 200
    assert client_for(app, "county").get(f"/payouts/{batch_id}/bank.csv").status_code == 403
    assert client_for(app, "clerk").get("/payouts").status_code == 403
    assert client_for(app, "admin").get(f"/payouts/{batch_id}").status_code == 200


# ---------------------------------------------------------------- products

def test_products_list_schedule_table_and_chart(env):
    app, _ = env
    with transaction(app.factory) as s:
        version_id = register_product(s, load_product("fangpinbao-weixian-2025")).id
    for user in ("clerk", "act", "ins"):
        page = client_for(app, user).get("/products").get_data(as_text=True)
        assert "魏县防贫保2025" in page and "FPB-130434-2025" in page
    page = client_for(app, "act").get(f"/products/{version_id}").get_data(as_text=True)
    brackets = page.split('class="grid brackets"')[1].split("</table>")[0]
    assert [m for m in re.findall(r"(\d+)%", brackets)] == ["50", "60", "70"]
    assert "5,000" in brackets and "10,000" in brackets and "20,000" in brackets and "以上" in brackets
    assert "<svg" in page and "<polyline" in page and "50,000" in page  # the illness cap
    # the seeded test version's document is not a full product: shown as such, not a 500
    with app.factory() as s:
        from claims.lifecycle.store import ProductVersion
        other = s.scalar(select(ProductVersion.id).where(ProductVersion.code == "FPB"))
    r = client_for(app, "act").get(f"/products/{other}")
    assert r.status_code == 200 and "产品文件无法解析" in r.get_data(as_text=True)  # the page in Chinese (English by the switch)
    assert client_for(app, "act").get("/products/999999").status_code == 404


def test_product_page_shows_a_cover_and_its_shared_caps(env):
    """凤县 助农保: "团体人身意外 120,000 per household; one victim ≤ 50,000, two ≤ 100,000, three or more
    ≤ 120,000" (the catalog's source comment, domain.md §8 [S24]) is one cover over death + disability."""
    app, _ = env
    with transaction(app.factory) as s:
        version_id = register_product(s, load_product("zhunongbao-fengxian-2025")).id
    # 凤县's product: not the actuary's county (130434), so the admin, who sees every county, opens it
    page = client_for(app, "admin").get(f"/products/{version_id}").get_data(as_text=True)
    covers = page.split('class="grid covers"')[1].split("</table>")[0]
    assert "<code>death</code>、<code>disability</code>" in covers
    assert "1 人 50,000 元" in covers and "2 人 100,000 元" in covers and "3+ 人 120,000 元" in covers
    # a product without covers shows no cover table
    with transaction(app.factory) as s:
        plain = register_product(s, load_product("fangpinbao-weixian-2025")).id
    assert 'class="grid covers"' not in client_for(app, "act").get(f"/products/{plain}").get_data(as_text=True)
