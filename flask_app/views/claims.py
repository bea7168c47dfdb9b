"""Pages: the claims queue (filters, sort, pagination, bulk actions) and the claim detail (person,
household, source rows with file and line, calculation trace, event history, action forms).

Views only wire: every change goes through :mod:`claims.lifecycle.adjudication` (and the transition table);
the queue reads one page of rows (LIMIT/OFFSET) plus one COUNT, so it stays fast at 100,000 claims.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from claims.engine.cap_room import CAP_KINDS
from claims.lifecycle import adjudication
from claims.lifecycle.adjudication import ADJUST_REASONS, BULK_ACTIONS, REJECT_REASONS
from claims.lifecycle.counts import count_claims
from claims.lifecycle.labels import label
from claims.lifecycle.models import Claim, ClaimEvent, ImportBatch, ImportRow, User
from claims.lifecycle.recompute import PERSON_DEPARTMENTS
from claims.lifecycle.scope import scoped, scoped_versions, search
from claims.lifecycle.store import Household, Person, ProductVersion
from claims.lifecycle.villages import village_label, village_names, village_options
from claims.lifecycle.workflow import ACTIONS, ROLE_GROUPS, STATES, TRANSITIONS
from claims.reports.fields import source_fields
from claims.reports.householders import is_head
from flask_app import db
from flask_app.odd_input import MAX_PAGE
from flask_app.permissions import READERS, STAFF, allow
from flask_app.views.args import bounded_ids, bounded_int
from products.model import PERILS
from tabular.errors import InvalidInputError, ReliefError
from tabular.money import fen_to_decimal
from tabular.resident_id import mask_id

bp = Blueprint("claims", __name__)
allow("claims.queue", READERS)
allow("claims.detail", READERS)
allow("claims.bulk_action", STAFF)
allow("claims.action", STAFF)



PER_PAGE = 50

#: Amount bands (code → label, low inclusive, high exclusive).
AMOUNT_BANDS: dict[str, tuple[str, Decimal | None, Decimal | None]] = {
    "lt1000": ("< 1,000", None, Decimal(1000)),
    "1000-5000": ("1,000 – 5,000", Decimal(1000), Decimal(5000)),
    "5000-20000": ("5,000 – 20,000", Decimal(5000), Decimal(20000)),
    "ge20000": ("≥ 20,000", Decimal(20000), None),
}

#: Sort keys (code → label, column).
SORTS = {
    "id": ("编号 / ID", Claim.id),
    "amount": ("金额 / amount", Claim.amount),
    "village": ("村 / village", Claim.village_code),
    "state": ("状态 / state", Claim.state),
    "updated": ("更新时间 / updated", Claim.updated_at),
}

#: Actions done on the detail page (others belong to notices and payouts, or to the system).
DETAIL_ACTIONS = ("start_investigation", "verify", "approve", "return", "village_review", "township_review", "file",
                  "reinvestigate", "reject")


def _role_may(state: str, action: str, role: str) -> bool:
    return any(s == state and a == action and role in ROLE_GROUPS[g] for (s, a, g) in TRANSITIONS)


def actions_for(state: str, role: str, allowed: tuple[str, ...] = DETAIL_ACTIONS) -> list[str]:
    """The actions ``role`` may take on a claim in ``state`` (from the transition table)."""
    return [a for a in allowed if _role_may(state, a, role)]


def bulk_actions_for(role: str, state: str | None) -> list[str]:
    """Bulk actions offered on the queue: those the role may take in the filtered state (or any state)."""
    states = [state] if state else list(STATES)
    return [a for a in (*BULK_ACTIONS, "reject") if any(_role_may(s, a, role) for s in states)]


def _flash_error(exc: Exception) -> None:
    flash(str(exc), "error")


def _show_id(id_no: str | None) -> str:
    if not id_no:
        return ""
    return id_no if current_user.sees_full_ids else mask_id(id_no)


def _claimants(claims: list) -> dict[int, tuple[str, str]]:
    """claim id → (name, resident ID) of the person (or household head) the claim is for."""
    s = db.session()
    person_ids = [c.unit_id for c in claims if c.unit_type == "person"]
    households = [c.household_no for c in claims if c.unit_type != "person"]
    by_id: dict[str, tuple[str, str]] = {}
    heads: dict[str, tuple[str, str]] = {}
    if person_ids:
        by_id = {i: (n, i) for i, n in s.execute(select(Person.id_no, Person.name).where(Person.id_no.in_(person_ids)))}
    if households:
        for hh, n, i, relation in s.execute(select(Person.household_no, Person.name, Person.id_no, Person.relation)
                                            .where(Person.household_no.in_(households))):
            if is_head(relation):
                heads.setdefault(hh, (n, i))
    out = {}
    for c in claims:
        out[c.id] = by_id.get(c.unit_id, ("", "")) if c.unit_type == "person" else heads.get(c.household_no, ("", ""))
    return out


def _line_label(claim) -> str:
    zh = PERILS.get(claim.peril, {}).get("zh", claim.peril)
    return f"{zh}" if claim.line_id == claim.peril else f"{zh}（{claim.line_id}）"


def _filters() -> dict[str, str]:
    keys = ("village", "line", "state", "band", "batch", "above", "q", "sort", "dir")
    return {k: request.args.get(k, "").strip() for k in keys if request.args.get(k, "").strip()}


def _apply_filters(query, f: dict[str, str]):
    if f.get("village"):
        query = query.where(Claim.village_code == f["village"])
    if f.get("line"):
        query = query.where(Claim.line_id == f["line"])
    if f.get("state") in STATES:
        query = query.where(Claim.state == f["state"])
    if f.get("band") in AMOUNT_BANDS:
        _, low, high = AMOUNT_BANDS[f["band"]]
        if low is not None:
            query = query.where(Claim.amount >= low)
        if high is not None:
            query = query.where(Claim.amount < high)
    if f.get("above") == "1":
        query = query.where(Claim.above_entitlement)
    batch_id = bounded_int(f.get("batch"))
    if batch_id is not None:
        department = db.session().scalar(select(ImportBatch.department).where(ImportBatch.id == batch_id))
        keys = select(ImportRow.unit_key).where(ImportRow.batch_id == batch_id)
        perils = [p for p, spec in PERILS.items() if spec["source"] == department] or ["-"]
        query = query.where(or_(Claim.unit_id.in_(keys), Claim.household_no.in_(keys)), Claim.peril.in_(perils))
    if f.get("q"):  # masked IDs: whole ID or name only (claims.lifecycle.scope.search)
        query = query.where(search(f["q"], prefix=current_user.sees_full_ids))
    return query


@bp.get("/claims")
def queue():
    s = db.session()
    f = _filters()
    page = bounded_int(request.args.get("page", "1"), high=MAX_PAGE) or 1
    base = _apply_filters(scoped(current_user.scope, select(Claim.id)), f)
    total = count_claims(s, select(func.count()).select_from(base.subquery()))
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    page = min(page, pages)
    sort_key = f.get("sort") if f.get("sort") in SORTS else "id"
    column = SORTS[sort_key][1]
    order = column.asc() if f.get("dir") == "asc" else column.desc()
    rows_query = _apply_filters(scoped(current_user.scope, select(Claim)), f).order_by(order, Claim.id.desc()) \
        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)
    claims = list(s.scalars(rows_query))
    people = _claimants(claims)

    scope = current_user.scope
    # the scope's villages with their names, read once: the filter's options and the rows' village names
    known = dict(village_options(s, scope))
    if not known:  # no division table loaded: the villages that have claims, by their codes
        known = {c: c for c in s.scalars(scoped(scope, select(Claim.village_code).distinct())
                                         .order_by(Claim.village_code)) if c}
    codes = {c.village_code for c in claims if c.village_code}
    names = {code: known[code] for code in codes if known.get(code)}
    names.update(village_names(s, codes - known.keys()))  # rows outside the division table: rare, by code
    filter_villages = [(c, name or c) for c, name in known.items()]
    # the lines of the scope's products (a few documents), not DISTINCT over every claim (55 ms at 100,000)
    line_names = {str(line["id"]): str(line.get("name") or label("peril", line.get("peril")) or line["id"])
                  for doc in s.scalars(scoped_versions(scope, select(ProductVersion.document)))
                  for line in (doc or {}).get("lines", []) if isinstance(line, dict) and "id" in line}
    lines = sorted(line_names)
    batches = s.execute(scoped(scope, select(ImportBatch.id, ImportBatch.file_name, ImportBatch.department), None,
                               policy=ImportBatch.policy_id).order_by(ImportBatch.id.desc()).limit(200)).all()

    rows = [{"claim": c, "name": people[c.id][0], "id_no": _show_id(people[c.id][1]),
             "village": names.get(c.village_code or "", c.village_code or ""), "line": _line_label(c),
             "state": STATES.get(c.state, c.state)} for c in claims]
    args = {k: v for k, v in f.items()}

    def page_url(n: int) -> str:
        return url_for("claims.queue", **args, page=n)

    def sort_url(key: str) -> str:
        direction = "asc" if sort_key == key and f.get("dir") != "asc" else "desc"
        return url_for("claims.queue", **{**args, "sort": key, "dir": direction})

    return render_template(
        "claims_queue.html", rows=rows, total=total, page=page, pages=pages, f=f, states=STATES, lines=lines,
        line_names=line_names,
        villages=filter_villages, bands=AMOUNT_BANDS, batches=batches, sorts=SORTS, sort_key=sort_key,
        page_url=page_url, sort_url=sort_url, actions=ACTIONS,
        claim_prefix=url_for("claims.detail", claim_id=0)[:-1],  # "/claims/": one url_for, not one per row
        bulk_actions=bulk_actions_for(current_user.role, f.get("state")), reject_reasons=REJECT_REASONS,
        back=request.full_path)


def _safe_back(default: str) -> str:
    back = request.form.get("back", "")
    return back if back.startswith("/") and not back.startswith("//") else default


@bp.post("/claims/bulk")
def bulk_action():
    back = _safe_back(url_for("claims.queue"))
    action = request.form.get("action", "")
    ids = bounded_ids(request.form.getlist("claim_id")) or []
    if not ids:
        flash("请先勾选理赔 / select at least one claim", "error")
        return redirect(back)
    note = request.form.get("note", "").strip() or None
    try:
        with db.write() as s:
            if action == "reject":
                n = adjudication.reject(s, ids, current_user.actor, request.form.get("reason_code", ""), note)
            else:
                n = adjudication.bulk(s, ids, action, current_user.actor, note=note)
    except ReliefError as exc:
        _flash_error(exc)
        return redirect(back)
    flash(f"已对 {n} 笔理赔执行“{ACTIONS.get(action, action)}” / {action}: {n} claim(s)", "ok")
    return redirect(back)


def _load_claim(claim_id: int) -> Claim:
    claim = db.session().scalar(scoped(current_user.scope, select(Claim).where(Claim.id == claim_id)))
    if claim is None:
        abort(404)  # another county's or village's people are not shown, not even their existence
    return claim


def _source_rows(claim: Claim) -> list[dict]:
    """The imported rows the claim was computed from: its unit's rows of the line's department, each field under
    its Chinese name with amounts in yuan (:func:`claims.reports.fields.source_fields`)."""
    s = db.session()
    department = PERILS.get(claim.peril, {}).get("source")
    if department is None:
        return []
    if department in PERSON_DEPARTMENTS:
        if claim.unit_type == "person":
            keys = [claim.unit_id]
        else:
            keys = list(s.scalars(select(Person.id_no).where(Person.household_no == claim.household_no)))
    else:
        keys = [claim.household_no]
    rows = s.execute(
        select(ImportRow.line, ImportRow.event_date, ImportRow.data, ImportRow.setl_id, ImportBatch.id,
               ImportBatch.file_name, ImportBatch.period)
        .join(ImportBatch, ImportBatch.id == ImportRow.batch_id)
        .where(ImportRow.department == department, ImportRow.unit_key.in_(keys or ["-"]),
               ImportBatch.policy_id == claim.policy_id)
        .order_by(ImportRow.event_date, ImportBatch.id, ImportRow.line)).all()
    out = []
    for line, date, data, setl_id, batch_id, file_name, period in rows:
        shown = dict(data or {})
        for key in ("id_no", "householder_id"):
            if not current_user.sees_full_ids and shown.get(key):
                shown[key] = mask_id(str(shown[key]))
        out.append({"line": line, "date": date, "setl_id": setl_id, "batch_id": batch_id, "file_name": file_name,
                    "period": period, "fields": source_fields(department, shown)})
    return out


@bp.get("/claims/<int:claim_id>")
def detail(claim_id: int):
    s = db.session()
    claim = _load_claim(claim_id)
    household = s.scalar(select(Household).where(Household.household_no == claim.household_no))
    members = list(s.scalars(select(Person).where(Person.household_no == claim.household_no).order_by(Person.id)))
    name, id_no = _claimants([claim])[claim.id]
    village = village_label(s, claim.village_code)
    events = list(s.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim.id).order_by(ClaimEvent.id)))
    actors = sorted({e.actor_id for e in events if e.actor_id is not None})
    users = dict(s.execute(select(User.id, User.name).where(User.id.in_(actors))).all()) if actors else {}
    available = actions_for(claim.state, current_user.role)
    tightest = adjudication.room_left(s, claim.id) if {"verify", "approve"} & set(available) else None
    room = None if tightest is None else {"cap_name": " / ".join(CAP_KINDS[tightest.kind]),
                                          "cap": fen_to_decimal(tightest.cap), "room": fen_to_decimal(tightest.room)}
    return render_template(
        "claims_detail.html", claim=claim, household=household, village=village, name=name,
        id_no=_show_id(id_no), members=[{"name": p.name, "id_no": _show_id(p.id_no), "relation": p.relation or ""}
                                        for p in members],
        line=_line_label(claim), state=STATES.get(claim.state, claim.state), states=STATES, events=events,
        users=users, actions=ACTIONS, available=available, room=room, adjust_reasons=ADJUST_REASONS,
        reject_reasons=REJECT_REASONS, sources=_source_rows(claim))


def _amount(text: str) -> Decimal | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InvalidInputError(f"金额无效 / invalid amount: {text!r}") from None


@bp.post("/claims/<int:claim_id>/action")
def action(claim_id: int):
    claim = _load_claim(claim_id)
    target = url_for("claims.detail", claim_id=claim.id)
    form = request.form
    act = form.get("action", "")
    note = form.get("note", "").strip() or None
    reason = form.get("reason_code", "").strip() or None
    actor = current_user.actor
    version = bounded_int(form.get("expected_version", ""))
    if version is None:
        flash("缺少版本号 / expected_version missing", "error")
        return redirect(target)
    try:
        amount = _amount(form.get("amount", "")) if act == "verify" else None
        with db.write() as s:
            adjudication.act(s, claim.id, act, actor, expected_version=version, amount=amount, reason_code=reason,
                             note=note)
    except ReliefError as exc:
        _flash_error(exc)
        return redirect(target)
    flash(f"已执行“{ACTIONS.get(act, act)}” / done: {act}", "ok")
    return redirect(target)
