"""明白卡 (one per insured household) and the policy summary (one per product version), from the product document.

Seeds 000 and 002 篇七: "按户向参保贫困户发放保险服务明白卡，明确保障范围及理赔流程".  So a card says, in Chinese, on
one page: who in the household is insured (resident IDs masked: first 6 and last 4 characters), what each line
(责任) pays and from when, how a claim is made, and the hotline.  Every figure is read from the product
(:func:`products.load_product` on the stored document), never typed here:

* a bracket line (起付线 + 阶梯赔付 + 封顶): "{measure} 超过 {trigger} 元时赔付；{lower}–{upto} 元部分赔付 {rate}% …；
  每人(户)每年最高 {cap} 元", with a worked example at the top of its last bounded bracket + 5,000 yuan
  (:func:`products.schedule.bracket_entitlement`, the engine's own schedule);
* a lump sum (升学): each level's amount, once; death: the sum insured; disability: the sum insured × the
  grade's rate; income drop: (protection line − per-capita income) × members × rate;
* the covers' and the product's shared caps.

How a claim is made follows seeds 000 ("农户自主申报…拨打12317咨询服务电话") and 003 ("人社、教育、民政、医保等相关
部门,每月向区扶贫办报送…委托合作保险机构…调查核实…由乡镇、村“两委”审核…备案…在拟发放对象所在行政村、自然村进行
为期10天的公示"), with the product's own notice days (or none when ``notice_required`` is false).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.lifecycle.store import Household, Person, Policy, ProductVersion
from claims.lifecycle.villages import county_hotline, village_label
from products import load_product
from products.model import Line, Product
from products.schedule import apply_cap, bracket_entitlement
from tabular.errors import NotFoundError
from tabular.resident_id import mask_id

#: The national 防返贫 consultation line named by seed 000 ("拨打12317咨询服务电话").
NATIONAL_HOTLINE = "12317"
FAMILY_NAMES = {"fangpinbao": "防贫保", "zhunongbao": "助农保"}
MEASURES_ZH = {"self_paid": "年度个人自付医疗费用", "policy_self_paid": "年度政策范围内个人自付费用",
               "medfee_sumamt": "年度医疗总费用", "net_cost": "年度教育支出（扣除资助后）",
               "net_loss": "损失（扣除救助、赔偿后）", "assessed_loss": "核定损失", "medical_cost": "意外伤害医疗费用"}
BASIS_ZH = {"person": "每人", "household": "每户"}


def yuan(fen: int | None) -> str:
    """Fen as yuan for people: 500000 → "5,000", 123456 → "1,234.56"."""
    if fen is None:
        return ""
    whole, cents = divmod(int(fen), 100)
    return f"{whole:,}" if cents == 0 else f"{whole:,}.{cents:02d}"


def percent(rate_e4: int) -> str:
    """Ten-thousandths as a percentage: 5000 → "50%", 1250 → "12.5%"."""
    text = f"{Decimal(rate_e4) / 100:f}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + "%"


@dataclass(frozen=True)
class LineTerms:
    """What one line pays, in words (Chinese), from the product."""

    id: str
    name: str
    basis: str  # 每人 / 每户
    terms: list[str]
    example: str | None = None


def _bracket_terms(line: Line) -> tuple[list[str], str | None]:
    measure = MEASURES_ZH.get(line.measure or "", line.measure or "")
    threshold = max(line.trigger, line.start_line)
    terms = [f"{measure}超过 {yuan(threshold)} 元时赔付" if threshold else f"按{measure}赔付"]
    if line.inpatient_only:
        terms[0] += "（仅限住院）"
    for b in line.brackets:
        part = (f"{yuan(b.lower)}–{yuan(b.upto)} 元部分" if b.upto is not None
                else f"{yuan(b.lower)} 元以上部分" if b.lower else "全部")
        terms.append(f"{part}赔付 {percent(b.rate_e4)}")
    if line.cap_per_year is not None:
        terms.append(f"{BASIS_ZH.get(line.basis, '')}每年最高 {yuan(line.cap_per_year)} 元")
    if line.cap_household_per_year is not None and line.basis == "person":
        terms.append(f"全户每年合计最高 {yuan(line.cap_household_per_year)} 元")
    if line.event_types:
        terms.append("限：" + "、".join(line.event_types))
    bounded = [b.upto for b in line.brackets if b.upto is not None]
    base = (max(bounded) if bounded else line.brackets[0].lower if line.brackets else 0) + 500_000
    result = bracket_entitlement(np.array([base], dtype=np.int64), line)
    paid = int(apply_cap(result.entitlement, line.cap_per_year)[0])
    parts = [f"{yuan(int(p))}×{percent(b.rate_e4)}" for p, b in zip(result.parts[0], line.brackets) if p > 0]
    example = f"例：{measure} {yuan(base)} 元，赔付 {' + '.join(parts)} = {yuan(paid)} 元" if parts else None
    return terms, example


def line_terms(line: Line) -> LineTerms:
    """The line's terms in words (see the module docstring), with a worked example for a bracket line."""
    example = None
    if line.kind == "bracket":
        terms, example = _bracket_terms(line)
    elif line.kind == "lump_sum":
        terms = ["一次性补助：" + "，".join(f"{level} {yuan(fen)} 元" for level, fen in line.lump_sums.items())]
    elif line.kind == "death":
        terms = [f"意外身故给付 {yuan(line.sum_insured)} 元"]
    elif line.kind == "disability":
        grades = "，".join(f"{g}级 {percent(r)}" for g, r in sorted(line.grade_rates_e4.items()))
        terms = [f"意外伤残按等级给付保额 {yuan(line.sum_insured)} 元的：{grades}"]
    elif line.kind == "income_drop":
        terms = [f"家庭人均收入低于 {yuan(line.protection_line)} 元时，差额×家庭人口×{percent(line.rate_e4)}"]
        if line.cap_per_year is not None:
            terms.append(f"每户每年最高 {yuan(line.cap_per_year)} 元")
    else:  # pragma: no cover - every kind of products.model.PERILS is listed above
        terms = [line.peril_zh]
    return LineTerms(line.id, line.name, BASIS_ZH.get(line.basis, line.basis), terms, example)


def shared_caps(product: Product) -> list[str]:
    """The covers' and the product's caps in words."""
    words = []
    for cover in product.covers:
        names = "、".join(product.line(x).name for x in cover.lines)
        if cover.per_person_year is not None:
            words.append(f"{cover.name}（{names}）每人每年合计最高 {yuan(cover.per_person_year)} 元")
        if cover.per_household_year is not None:
            words.append(f"{cover.name}（{names}）每户每年合计最高 {yuan(cover.per_household_year)} 元")
        if cover.household_cap_by_victims:
            steps = "，".join(f"{n}人{'及以上' if n == max(cover.household_cap_by_victims) else ''} {yuan(f)} 元"
                             for n, f in cover.household_cap_by_victims.items())
            words.append(f"{cover.name}每户按受害人数封顶：{steps}")
    if product.cap_per_person_year is not None:
        words.append(f"全部责任每人每年合计最高 {yuan(product.cap_per_person_year)} 元")
    if product.cap_per_household_year is not None:
        words.append(f"全部责任每户每年合计最高 {yuan(product.cap_per_household_year)} 元")
    return words


def claim_steps(product: Product, hotline: str | None) -> list[str]:
    """How a claim is made (seeds 000, 003), with the product's notice rule and the hotline."""
    lines = [f"农户自主申报：向村委会或乡镇申报，或拨打 {NATIONAL_HOTLINE} 热线"
             + (f"、{hotline}" if hotline and hotline != NATIONAL_HOTLINE else "") + " 申报。",
             "医保、教育、民政、应急等部门每月报送监测到的费用和损失，符合条件的无需重复申请。",
             "保险公司调查核实、核定金额，村、乡镇审核，县级备案。"]
    if product.notice_required:
        lines.append(f"拟赔付名单在本行政村、自然村公示 {product.notice_days} 天，无异议后赔付。")
    else:
        lines.append("本产品理赔名单不公示，县级备案后赔付。")
    lines.append("赔款直接打入户主社保卡或“一卡通”账户。")
    return lines


@dataclass(frozen=True)
class PolicySummary:
    """保障方案摘要 of one product version (and, given one, its policy's dates and county)."""

    product_name: str
    family_name: str
    code: str
    county: str
    year: int
    period_start: dt.date
    period_end: dt.date
    premium: str
    categories: str
    excluded: str
    lines: list[LineTerms]
    caps: list[str]
    steps: list[str]
    hotline: str
    digest: str


def policy_summary(product: Product, *, hotline: str | None = None, period: tuple[dt.date, dt.date] | None = None
                   ) -> PolicySummary:
    """The summary of a product version (pure: the product in, words out)."""
    start, end = period or (product.period_start, product.period_end)
    basis = "每人" if product.premium_basis == "person" else "每户"
    elig = product.eligibility
    return PolicySummary(
        product_name=product.name, family_name=FAMILY_NAMES.get(product.family, product.family), code=product.code,
        county=product.county, year=product.year, period_start=start, period_end=end,
        premium=f"{basis}每年 {yuan(product.premium_per_head)} 元（财政或帮扶资金缴纳）",
        categories="、".join(elig.categories) if elig.categories is not None else "全部在册农户",
        excluded="、".join(elig.exclude_categories) or "无",
        lines=[line_terms(line) for line in product.lines], caps=shared_caps(product),
        steps=claim_steps(product, hotline), hotline=hotline or NATIONAL_HOTLINE, digest=product.digest)


@dataclass(frozen=True)
class HouseholdCard:
    """明白卡 of one household under one policy."""

    household_no: str
    village: str
    natural_village: str
    category: str
    members: list[dict[str, str]]  # name, relation, masked ID
    summary: PolicySummary
    issued_on: dt.date


def _policy(session: Session, policy_id: int) -> tuple[Policy, Product]:
    policy = session.get(Policy, policy_id)
    if policy is None:
        raise NotFoundError(f"保单 {policy_id} 不存在 / policy {policy_id} does not exist")
    document = session.scalar(select(ProductVersion.document).where(ProductVersion.id == policy.product_version_id))
    return policy, load_product(document)


def summary_for_policy(session: Session, policy_id: int, *, hotline: str | None = None) -> PolicySummary:
    """The summary of the product version a policy bought, with the policy's own period and the hotline given,
    else the county's (:func:`claims.lifecycle.villages.county_hotline`)."""
    policy, product = _policy(session, policy_id)
    return policy_summary(product, hotline=hotline or county_hotline(session, policy.county),
                          period=(policy.period_start, policy.period_end))


def household_card(session: Session, household_no: str, policy_id: int, *, hotline: str | None = None,
                   issued_on: dt.date | None = None) -> HouseholdCard:
    """The 明白卡 of a household under a policy of its county: members with masked IDs, the policy's lines, the
    hotline given, else the county's (the one its village notices carry)."""
    household = session.scalar(select(Household).where(Household.household_no == household_no))
    if household is None:
        raise NotFoundError(f"户 {household_no} 不在参保名单中 / household {household_no} is not on the roster")
    policy, product = _policy(session, policy_id)
    if not household.village_code.startswith(policy.county):
        raise NotFoundError(f"户 {household_no} 不属于保单 {policy_id} 的县（{policy.county}） / household "
                            f"{household_no} is not in the county of policy {policy_id} ({policy.county})")
    people = session.execute(select(Person.name, Person.relation, Person.id_no)
                             .where(Person.household_no == household_no).order_by(Person.id)).all()
    head_first = sorted(people, key=lambda p: 0 if (p.relation or "") in ("户主", "本人") else 1)
    return HouseholdCard(
        household_no=household_no, village=village_label(session, household.village_code),
        natural_village=household.natural_village or "", category=household.category,
        members=[{"name": p.name, "relation": p.relation or "", "id": mask_id(p.id_no)} for p in head_first],
        summary=policy_summary(product, hotline=hotline or county_hotline(session, policy.county),
                               period=(policy.period_start, policy.period_end)),
        issued_on=issued_on or dt.date.today())


def default_policy(session: Session, household_no: str) -> int:
    """The newest policy of the household's county (the card's policy when none is named)."""
    code = session.scalar(select(Household.village_code).where(Household.household_no == household_no))
    if code is None:
        raise NotFoundError(f"户 {household_no} 不在参保名单中 / household {household_no} is not on the roster")
    policy_id = session.scalar(select(Policy.id).where(Policy.county == code[:6])
                               .order_by(Policy.year.desc(), Policy.id.desc()))
    if policy_id is None:
        raise NotFoundError(f"户 {household_no} 所在县没有保单 / no policy for the county of household {household_no}")
    return int(policy_id)


__all__ = ["NATIONAL_HOTLINE", "HouseholdCard", "LineTerms", "PolicySummary", "claim_steps",
           "default_policy", "household_card", "line_terms", "percent", "policy_summary", "shared_caps",
           "summary_for_policy", "yuan"]
