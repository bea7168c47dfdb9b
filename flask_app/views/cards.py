"""Pages: documents for households — the 明白卡 of a household and the policy summary (保障方案摘要) as PDF.

Village and county users (and the insurer) open them for the households and policies of their own area
(:mod:`claims.lifecycle.scope`); the words come from :mod:`claims.lifecycle.household_cards`, the PDF from
:mod:`flask_app.documents` (without a Chinese font: a page that says so, HTTP 503, as for the notice PDF).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from claims.lifecycle.household_cards import default_policy, household_card, summary_for_policy
from claims.lifecycle.scope import policy_in_scope, scope_policies, scoped
from claims.lifecycle.store import Household, Policy, ProductVersion
from flask_app import db, pdf
from flask_app.clock import today
from flask_app.display import hotline
from flask_app.documents import NoCjkFontError, card_html, summary_html, to_pdf
from flask_app.permissions import STAFF, allow
from flask_app.views.args import bounded_int

bp = Blueprint("cards", __name__)

allow("cards.index", STAFF)
allow("cards.household", STAFF)
allow("cards.policy", STAFF)


def _policies() -> list:
    return db.session().execute(
        select(Policy.id, Policy.county, Policy.year, ProductVersion.name, ProductVersion.family)
        .join(ProductVersion, ProductVersion.id == Policy.product_version_id)
        .where(Policy.id.in_(scope_policies(current_user.scope))).order_by(Policy.year.desc(), Policy.id)).all()


@bp.get("/cards")
def index():  # noqa: ANN201
    return render_template("cards_index.html", policies=_policies())


def _pdf(html: str, filename: str):  # noqa: ANN202
    try:
        data = to_pdf(html)
    except NoCjkFontError:
        page = render_template("cards_nofont.html", families=pdf.CJK_FAMILIES)
        return Response(page, status=503, mimetype="text/html", headers={"Retry-After": "3600"})
    return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'})


@bp.get("/cards/household")
def household():  # noqa: ANN201
    """The 明白卡 of ``household_no`` (in the user's area) under ``policy_id`` (default: the county's newest)."""
    s = db.session()
    household_no = request.args.get("household_no", "").strip()[:40]
    found = s.scalar(scoped(current_user.scope, select(Household.household_no)
                            .where(Household.household_no == household_no), Household.village_code,
                            county=func.substr(Household.village_code, 1, 6))) if household_no else None
    if found is None:
        abort(404)  # another area's household is answered as a missing one
    policy_id = bounded_int(request.args.get("policy_id", "")) or default_policy(s, household_no)
    if not policy_in_scope(s, current_user.scope, policy_id):
        abort(404)
    county = s.scalar(select(Policy.county).where(Policy.id == policy_id))
    card = household_card(s, household_no, policy_id, hotline=hotline(s, county), issued_on=today())
    safe = "".join(ch for ch in household_no if ch.isascii() and (ch.isalnum() or ch in "-_")) or "household"
    return _pdf(card_html(card), f"card-{safe}.pdf")


@bp.get("/cards/policy/<int:policy_id>.pdf", endpoint="policy")
def policy_summary(policy_id: int):  # noqa: ANN201
    s = db.session()
    if not policy_in_scope(s, current_user.scope, policy_id):
        abort(404)
    county = s.scalar(select(Policy.county).where(Policy.id == policy_id))
    summary = summary_for_policy(s, policy_id, hotline=hotline(s, county))
    return _pdf(summary_html(summary), f"policy-{policy_id}-summary.pdf")
