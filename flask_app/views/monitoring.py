"""Pages: 防贫监测 — the early-warning list (预警名单) of the user's county and villages with filters and the
Excel export, a household's tracking record (监测台账) and the form recording 已帮扶 / 已销号 with a reason.

Views only wire: the rules live in :mod:`claims.lifecycle.watchlist` (scoped by
:mod:`claims.lifecycle.scope`); the monthly run keeps the list (:mod:`claims.lifecycle.monitoring`).
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from claims.lifecycle.monitoring import WATCH_ACTIONS, WATCH_STATES
from claims.lifecycle.villages import village_label, village_names
from claims.lifecycle.watchlist import (
    ACTION_FROM,
    MAX_REASON,
    WatchFilters,
    WatchNotFound,
    export_xlsx,
    filter_options,
    history,
    record_action,
    watch_page,
    watched_in_scope,
)
from flask_app import db
from flask_app.odd_input import MAX_PAGE
from flask_app.permissions import READERS, allow
from flask_app.views.args import bounded_int
from tabular.errors import ReliefError

bp = Blueprint("monitoring", __name__)
#: County office, township and village staff see and act on their scope; insurer staff (and the city) read.
ACTORS = frozenset({"county_reviewer", "township_reviewer", "village_clerk", "admin"})
allow("monitoring.index", READERS)
allow("monitoring.export", READERS)
allow("monitoring.household", READERS)
allow("monitoring.action", ACTORS)

PER_PAGE = 50


@bp.get("/monitoring")
def index():  # noqa: ANN201
    s = db.session()
    filters = WatchFilters.of(request.args)
    page = bounded_int(request.args.get("page", "1"), high=MAX_PAGE) or 1
    rows, total = watch_page(s, current_user.scope, filters, page, PER_PAGE)
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    names = village_names(s, sorted({w.village_code for w in rows}))
    args = {k: v for k, v in vars(filters).items() if v}

    def page_url(n: int) -> str:
        return url_for("monitoring.index", **args, page=n)

    return render_template("monitoring_index.html", rows=rows, total=total, page=min(page, pages), pages=pages,
                           f=filters, options=filter_options(s, current_user.scope), states=WATCH_STATES,
                           names=names, page_url=page_url, export_url=url_for("monitoring.export", **args))


@bp.get("/monitoring/export.xlsx")
def export():  # noqa: ANN201
    import io

    data = export_xlsx(db.session(), current_user.scope, WatchFilters.of(request.args))
    return send_file(io.BytesIO(data), as_attachment=True, download_name="watchlist.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _watched_or_404(watch_id: int):  # noqa: ANN202
    try:
        return watched_in_scope(db.session(), current_user.scope, watch_id)
    except WatchNotFound:
        abort(404)  # another county's or village's households are not shown, not even their existence


@bp.get("/monitoring/<int:watch_id>")
def household(watch_id: int):  # noqa: ANN201
    w = _watched_or_404(watch_id)
    s = db.session()
    actions = [a for a, states in ACTION_FROM.items() if w.state in states] if current_user.role in ACTORS else []
    return render_template("monitoring_household.html", w=w, records=history(s, w), states=WATCH_STATES,
                           labels=WATCH_ACTIONS, actions=actions, max_reason=MAX_REASON,
                           village=village_label(s, w.village_code))


@bp.post("/monitoring/<int:watch_id>/action")
def action(watch_id: int):  # noqa: ANN201
    _watched_or_404(watch_id)
    chosen = request.form.get("action", "")
    try:
        with db.write() as s:
            actor = dataclasses.replace(current_user.actor, name=f"{current_user.name}（{current_user.username}）")
            record_action(s, current_user.scope, watch_id, chosen, request.form.get("reason", ""), actor)
    except WatchNotFound:
        abort(404)
    except ReliefError as exc:
        flash(str(exc), "error")
        return redirect(url_for("monitoring.household", watch_id=watch_id))
    flash(f"已记录“{WATCH_ACTIONS.get(chosen, chosen)}” / recorded: {chosen}", "ok")
    return redirect(url_for("monitoring.household", watch_id=watch_id))
