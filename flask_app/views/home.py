"""The start page: what is waiting for this user's role, with counts."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from claims.lifecycle.models import Claim
from claims.lifecycle.scope import scoped
from claims.lifecycle.workflow import STATES
from flask_app import db
from flask_app.clock import today
from flask_app.permissions import EVERYONE, allow

bp = Blueprint("home", __name__)
allow("home.index", EVERYONE)

#: Which states each role works on (the start page lists these first).
ROLE_QUEUES = {
    "insurer_adjudicator": ("computed", "investigating", "disputed", "payable"),
    "insurer_supervisor": ("awaiting_approval", "payable", "in_payout"),
    "village_clerk": ("verified", "on_notice"),
    "township_reviewer": ("village_reviewed",),
    "county_reviewer": ("township_reviewed", "filed"),
    "actuary": ("paid",),
    "admin": tuple(STATES),
}


@bp.get("/")
def index():  # noqa: ANN201
    query = scoped(current_user.scope, select(Claim.state, func.count(), func.coalesce(func.sum(Claim.amount), 0))
                   .group_by(Claim.state))
    counts = {state: (n, total) for state, n, total in db.session().execute(query).all()}
    queue = ROLE_QUEUES.get(current_user.role, ())
    return render_template("home.html", counts=counts, queue=queue, states=STATES, today=today())
