"""Public notice (公示): masking, the day-10 / day-11 boundary, objections, re-notice after a changed amount."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from claims.lifecycle.database import transaction
from claims.lifecycle.models import Claim, ClaimEvent, Notice, NoticeLine, Objection, User, UserCounty
from claims.lifecycle.notices import NoticeError, close_due, mask_name, notice_table, post_notice, record_objection
from claims.lifecycle.store import Household, Person, Policy, ProductVersion
from claims.lifecycle.transitions import Actor, advance
from claims.lifecycle.workflow import TransitionError
from tabular.resident_id import make_id

VILLAGE = "130434100200"
OTHER_VILLAGE = "130434100201"
DOCUMENT = {"notice_days": 10, "lines": [{"id": "illness", "name": "因病防贫", "peril": "illness"},
                                         {"id": "disaster", "name": "因灾防贫", "peril": "disaster"}]}


@dataclass
class Seeded:
    policy_id: int
    claim_ids: list[int]
    ids: dict[str, str]  # person name → resident ID
    county: Actor
    village: Actor
    insurer: Actor
    supervisor: Actor
    township: Actor


def seed(factory, amounts=("1200.50", "800.00", "333.33"), *, state="filed", village=VILLAGE,
         bank_accounts=True, rule=None) -> Seeded:
    """A policy, users, households (with heads and bank accounts) and claims in ``state``.

    Claim i belongs to household H{i} (a head 户主 and a member listed before the head); even claims are
    person lines (the member is shown), odd claims household lines (the head is shown).  The head is
    always the payee.  Up to 6 claims have distinct names.
    """
    names = [("张三", "李四"), ("欧阳小锋", "王五"), ("司马光", "赵六六"), ("孙七", "周八"), ("吴九", "郑十"),
             ("冯一", "陈二")]
    ids: dict[str, str] = {}
    with transaction(factory) as s:
        pv = ProductVersion(code="FPB", family="fangpinbao", name="防贫保", county="130434", year=2025,
                            digest="e" * 64, document=DOCUMENT)
        s.add(pv)
        s.flush()
        pol = Policy(product_version_id=pv.id, county="130434", year=2025, framed_heads=1000,
                     premium_per_head=Decimal("50.00"), premium_total=Decimal("50000.00"),
                     settlement_rule=rule or {"type": "rollover"}, period_start=dt.date(2025, 1, 1),
                     period_end=dt.date(2025, 12, 31))
        s.add(pol)
        s.flush()
        users = {}
        for username, role in [("county", "county_reviewer"), ("clerk", "village_clerk"),
                               ("ins", "insurer_adjudicator"), ("sup", "insurer_supervisor"),
                               ("town", "township_reviewer")]:
            u = User(username=username, name=username, role=role,
                     approval_limit=Decimal("100000.00") if role.startswith("insurer") else None)
            s.add(u)
            s.flush()
            s.add(UserCounty(user_id=u.id, county=pol.county))  # every user serves the policy's county
            users[username] = Actor.of(u)
        claim_ids = []
        for i, amount in enumerate(amounts):
            head, member = names[i % len(names)]
            hh = f"H{i:04d}"
            s.add(Household(household_no=hh, village_code=village, natural_village=["张庄", "李屯"][i % 2],
                            category="边缘易致贫户", per_capita_income=Decimal("5000.00"), members=2,
                            bank_account=f"62170000{i:011d}" if bank_accounts else None))
            s.flush()
            head_id, member_id = make_id("130434", "19700101", 2 * i + 1), make_id("130434", "20000101", 2 * i + 2)
            ids[head], ids[member] = head_id, member_id
            # the member is listed first: the head must still be found by relation
            s.add(Person(id_no=member_id, name=member, household_no=hh, relation="子女"))
            s.add(Person(id_no=head_id, name=head, household_no=hh, relation="户主"))
            s.flush()
            person_line = i % 2 == 0
            c = Claim(policy_id=pol.id, product_version_id=pv.id, line_id="illness" if person_line else "disaster",
                      peril="illness" if person_line else "disaster",
                      unit_type="person" if person_line else "household",
                      unit_id=member_id if person_line else hh, household_no=hh, village_code=village,
                      natural_village=["张庄", "李屯"][i % 2], state=state, base=Decimal(amount),
                      entitlement=Decimal(amount), paid_before=Decimal("0.00"), computed_amount=Decimal(amount),
                      amount=Decimal(amount), trace="t")
            s.add(c)
            s.flush()
            claim_ids.append(c.id)
        return Seeded(pol.id, claim_ids, ids, users["county"], users["clerk"], users["ins"], users["sup"],
                      users["town"])


def states(factory, ids):
    with factory() as s:
        return [s.get(Claim, i).state for i in ids]


# ---------------------------------------------------------------- masking

@pytest.mark.parametrize("name,masked", [
    ("张三", "张*"), ("张小三", "张*三"), ("欧阳锋", "欧阳*"), ("欧阳小锋", "欧阳*锋"), ("欧阳锋锋锋", "欧阳**锋"),
    ("司马光", "司马*"), ("诸葛孔明", "诸葛*明"), ("张", "张"), ("", ""), ("王大小二", "王**二"),
    ("欧阳", "欧*"),  # two characters: the ordinary rule (a bare compound surname has no given name to hide)
])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_notice_shows_masked_names_and_no_id_digits(db):
    _, factory = db
    sd = seed(factory)
    with transaction(factory) as s:
        notice = post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=dt.date(2025, 3, 1), hotline="0310-1234567")
        nid = notice.id
    with factory() as s:
        df = notice_table(s, nid)
    assert list(df.columns) == ["序号", "姓名", "自然村", "类别/责任", "金额(元)"]
    # claim 0: person line of 李四; claim 1: household line → head 欧阳小锋; claim 2: person line 赵六六
    assert sorted(df["姓名"]) == sorted(["李*", "欧阳*锋", "赵*六"])
    assert set(df["类别/责任"]) == {"因病防贫", "因灾防贫"}
    assert sorted(df["金额(元)"]) == sorted(["1200.50", "800.00", "333.33"])
    assert df.attrs["end_on"] == dt.date(2025, 3, 11) and df.attrs["hotline"] == "0310-1234567"
    # every shown cell (the header's village code is the public 12-digit division code, checked apart)
    cells = " ".join(str(v) for v in df.to_numpy().ravel()) + " " + str(df.attrs["hotline"])
    assert df.attrs["village_code"] == VILLAGE
    assert not re.search(r"\d{15,18}", cells)
    for id_no in sd.ids.values():
        for k in range(len(id_no) - 5):
            assert id_no[k:k + 6] not in cells, id_no[k:k + 6]
    assert "6217" not in cells  # no bank account either
    with factory() as s:
        assert all(c.notice_id == nid and c.state == "on_notice" for c in s.scalars(select(Claim)))
        assert s.scalar(select(func.count()).select_from(ClaimEvent).where(ClaimEvent.action == "post_notice")) == 3


def test_post_refuses_claims_not_filed_or_of_another_village(db):
    _, factory = db
    sd = seed(factory)
    with transaction(factory) as s:
        s.execute(update(Claim).where(Claim.id == sd.claim_ids[2]).values(village_code=OTHER_VILLAGE))
    with pytest.raises(NoticeError, match="not filed in village"), transaction(factory) as s:
        post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=dt.date(2025, 3, 1), claim_ids=sd.claim_ids)
    with pytest.raises(TransitionError, match="role 'insurer_adjudicator' may not 'post_notice'"), \
            transaction(factory) as s:
        post_notice(s, sd.policy_id, VILLAGE, sd.insurer, posted_on=dt.date(2025, 3, 1))
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Notice)) == 0
        assert s.scalar(select(func.count()).select_from(NoticeLine)) == 0
    assert states(factory, sd.claim_ids) == ["filed"] * 3
    with transaction(factory) as s:  # the village's own filed claims only
        n = post_notice(s, sd.policy_id, VILLAGE, sd.village, posted_on=dt.date(2025, 3, 1))
        assert n.days == 10
    assert states(factory, sd.claim_ids) == ["on_notice", "on_notice", "filed"]
    with pytest.raises(NoticeError, match="no filed claims"), transaction(factory) as s:
        post_notice(s, sd.policy_id, VILLAGE, sd.village, posted_on=dt.date(2025, 3, 2))


# ---------------------------------------------------------------- the boundary

def test_not_payable_on_day_10_payable_on_day_11(db):
    _, factory = db
    sd = seed(factory)
    with transaction(factory) as s:
        notice = post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=dt.date(2025, 3, 1))
        assert notice.end_on == dt.date(2025, 3, 11)
        nid = notice.id
    with transaction(factory) as s:
        assert close_due(s, today=dt.date(2025, 3, 11)) == {"notices_closed": 0, "claims_payable": 0}
    assert states(factory, sd.claim_ids) == ["on_notice"] * 3
    with transaction(factory) as s:
        assert close_due(s, today=dt.date(2025, 3, 12)) == {"notices_closed": 1, "claims_payable": 3}
    assert states(factory, sd.claim_ids) == ["payable"] * 3
    with factory() as s:
        assert s.get(Notice, nid).state == "ended"
        ev = s.scalars(select(ClaimEvent).where(ClaimEvent.action == "notice_ended")).all()
        assert len(ev) == 3 and all(e.role == "system" and e.at == dt.datetime(2025, 3, 12) for e in ev)
    with transaction(factory) as s:  # nothing left to do
        assert close_due(s, today=dt.date(2025, 3, 20)) == {"notices_closed": 0, "claims_payable": 0}


def test_notice_days_from_argument(db):
    _, factory = db
    sd = seed(factory)
    with transaction(factory) as s:
        # longer than the product's notice_days (10) is allowed; shorter is refused (tests/test_notice_rules.py)
        n = post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=dt.date(2025, 2, 25), days=12)
        assert n.end_on == dt.date(2025, 3, 9)  # calendar days across the end of February: 25 Feb + 12 = 9 Mar
    with transaction(factory) as s:
        assert close_due(s, today=dt.date(2025, 3, 9))["claims_payable"] == 0
        assert close_due(s, today=dt.date(2025, 3, 10))["claims_payable"] == 3


# ---------------------------------------------------------------- objections

def test_objection_blocks_payout_and_sends_claim_to_disputed(db):
    _, factory = db
    sd = seed(factory)
    with transaction(factory) as s:
        nid = post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=dt.date(2025, 3, 1)).id
    with pytest.raises(TransitionError, match="may not 'object'"), transaction(factory) as s:
        record_objection(s, sd.claim_ids[0], sd.county, "不符合条件")
    with transaction(factory) as s:
        obj = record_objection(s, sd.claim_ids[0], sd.village, "村民反映该户收入较高")
        assert obj.state == "open" and obj.notice_id == nid
    with transaction(factory) as s:
        assert close_due(s, today=dt.date(2025, 3, 12)) == {"notices_closed": 1, "claims_payable": 2}
    assert states(factory, sd.claim_ids) == ["disputed", "payable", "payable"]
    with pytest.raises(NoticeError, match="not on notice"), transaction(factory) as s:
        record_objection(s, sd.claim_ids[1], sd.village, "太晚了")
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Objection)) == 1


def test_changed_amount_after_objection_goes_on_a_new_full_notice(db):
    _, factory = db
    sd = seed(factory)
    cid = sd.claim_ids[0]
    with transaction(factory) as s:
        first = post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=dt.date(2025, 3, 1)).id
    with transaction(factory) as s:
        record_objection(s, cid, sd.village, "金额有误")
    # back through investigation (amount corrected), review and filing
    with transaction(factory) as s:
        advance(s, [cid], "disputed", "reinvestigate", sd.insurer)
        s.execute(update(Claim).where(Claim.id == cid).values(amount=Decimal("950.25")))
        advance(s, [cid], "investigating", "verify", sd.insurer, reason_code="objection")
        advance(s, [cid], "verified", "village_review", sd.village)
        advance(s, [cid], "village_reviewed", "township_review", sd.township)
        advance(s, [cid], "township_reviewed", "file", sd.county)
    with transaction(factory) as s:
        # day 11 of the first notice: the other two are payable, the corrected one is not on it any more
        assert close_due(s, today=dt.date(2025, 3, 12)) == {"notices_closed": 1, "claims_payable": 2}
    with transaction(factory) as s:
        second = post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=dt.date(2025, 3, 20))
        assert (second.posted_on, second.end_on, second.days) == (dt.date(2025, 3, 20), dt.date(2025, 3, 30), 10)
        second = second.id
    with factory() as s:
        assert s.scalar(select(Objection.state)) == "resolved"
        lines = {ln.notice_id: ln.amount for ln in s.scalars(select(NoticeLine).where(NoticeLine.claim_id == cid))}
        assert lines == {first: Decimal("1200.50"), second: Decimal("950.25")}
        assert list(notice_table(s, second)["金额(元)"]) == ["950.25"]
        assert "1200.50" in list(notice_table(s, first)["金额(元)"])
    with transaction(factory) as s:  # the new notice runs its own full period
        assert close_due(s, today=dt.date(2025, 3, 30))["claims_payable"] == 0
    assert states(factory, [cid]) == ["on_notice"]
    with transaction(factory) as s:
        assert close_due(s, today=dt.date(2025, 3, 31)) == {"notices_closed": 1, "claims_payable": 1}
    assert states(factory, sd.claim_ids) == ["payable"] * 3
