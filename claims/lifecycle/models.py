"""Persistence of the claims layer (SQLAlchemy 2.0 typed models): imports with their rows and
exceptions, claims and their append-only events, notices and objections, payout batches, the fund
ledger, users, review samples.  Services own the transactions; nothing here holds business rules.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from claims.lifecycle.store import Base, Chained, Money, now
from claims.lifecycle.workflow import STATES

_STATE_LIST = ", ".join(f"'{s}'" for s in STATES)


class User(Base):
    """A staff user with one role; village clerks are scoped to their villages (UserVillage)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(
        "role IN ('insurer_adjudicator', 'insurer_supervisor', 'county_reviewer', 'township_reviewer', "
        "'village_clerk', 'actuary', 'admin', 'system', 'city_viewer')", name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(30))
    approval_limit: Mapped[Decimal | None] = mapped_column(Money())  # insurer users: largest amount they verify alone
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # stored in the session cookie at login and checked on every request: logout and a password change
    # increment it, which ends every session issued before (flask_app/auth.py)
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class UserVillage(Base):
    __tablename__ = "user_villages"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    village_code: Mapped[str] = mapped_column(String(12), primary_key=True)


class ApiToken(Base):
    """An API token (:mod:`claims.lifecycle.api_tokens`): only the sha256 of its secret is kept.  It opens the
    API only, as its user, read-only or not (``scope``), until ``expires_at`` or until revoked."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("scope IN ('read', 'write')", name="scope"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    scope: Mapped[str] = mapped_column(String(5))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class UserEvent(Base):
    """One administrative change to a user or their tokens (:mod:`claims.lifecycle.users`): who made it
    (``actor_id``, or the CLI's operator in ``actor``), whose, what (``action``, ``detail``: before/after)."""

    __tablename__ = "user_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class LoginEvent(Base):
    """One login attempt (success or failure, with the reason) or logout: the user, or the name tried when
    no such user exists, the time and the remote address (written by flask_app/auth.py)."""

    __tablename__ = "login_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    username: Mapped[str] = mapped_column(String(60))  # as typed (control characters replaced), cut to 60
    kind: Mapped[str] = mapped_column(String(10))  # login | logout
    success: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(30))  # wrong-password, unknown-user, locked, inactive …
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now, index=True)


class UserCounty(Base):
    """The counties (6-digit codes, ``Policy.county``) a user serves: they see those counties' policies only
    (``claims/lifecycle/scope.py``); a user with none sees nothing, except an admin."""

    __tablename__ = "user_counties"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    county: Mapped[str] = mapped_column(String(6), primary_key=True)


class ImportBatch(Base):
    """One department file, imported once (sha256 unique); immutable after it lands."""

    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    department: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    period: Mapped[str | None] = mapped_column(String(20))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_stored: Mapped[int] = mapped_column(Integer, default=0)
    rows_exception: Mapped[int] = mapped_column(Integer, default=0)
    rows_duplicate: Mapped[int] = mapped_column(Integer, default=0)  # identical re-sends, not stored again
    rows_corrected: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # stored, superseding
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_by_name: Mapped[str | None] = mapped_column(String(60))  # the user, or the CLI's operator
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


class ImportRow(Chained, Base):
    """A usable report row in canonical form (amounts in fen inside ``data``), with its file line.

    ``record_key`` is the row's record identity and ``content_digest`` the digest of its canonical
    values (:mod:`claims.reports.identity`); a later row with the same key and another digest supersedes
    it (an :class:`ImportRowEvent`; the row itself is never updated).
    """

    __tablename__ = "import_rows"
    __table_args__ = (Index("ix_import_rows_record_key", "department", "record_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    department: Mapped[str] = mapped_column(String(20), index=True)
    line: Mapped[int] = mapped_column(Integer)
    setl_id: Mapped[str | None] = mapped_column(String(60), index=True)  # a refund row shares its original's
    record_key: Mapped[str] = mapped_column(String(255))
    content_digest: Mapped[str] = mapped_column(String(64))
    unit_key: Mapped[str] = mapped_column(String(40), index=True)  # id_no or household_no
    event_date: Mapped[dt.date] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class ImportRowEvent(Base):
    """A correction: ``row_id`` (the earlier row) superseded by ``superseded_by`` (a row of ``batch_id``
    with the same record key and other values); the rows that count are those never superseded."""

    __tablename__ = "import_row_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    row_id: Mapped[int] = mapped_column(ForeignKey("import_rows.id"), unique=True)
    superseded_by: Mapped[int] = mapped_column(ForeignKey("import_rows.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    old_values: Mapped[dict[str, Any]] = mapped_column(JSON)  # the changed canonical values, before
    new_values: Mapped[dict[str, Any]] = mapped_column(JSON)  # and after


class ImportException(Base):
    __tablename__ = "import_exceptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))


class Claim(Base):
    """A claim: what one unit (person or household) is owed on one line, as computed from the imports.

    ``amount`` is what will be paid: the computed due, or the insurer's verified amount (with a coded
    ``adjustment_reason``).  ``version`` guards concurrent edits (optimistic locking).
    """

    __tablename__ = "claims"
    __table_args__ = (
        CheckConstraint(f"state IN ({_STATE_LIST})", name="state"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        # at most one claim still being computed per unit and line: new imports update it in place
        Index("uq_claims_open_computed", "policy_id", "line_id", "unit_id", unique=True,
              sqlite_where=text("state = 'computed'"), postgresql_where=text("state = 'computed'")),
        Index("ix_claims_state_village", "state", "village_code"),
        Index("ix_claims_state_amount", "state", "amount"),  # the queue's amount-band filter
        Index("ix_claims_village_line", "village_code", "line_id"),
        Index("ix_claims_amount_id", "amount", "id"),  # the queue sorted by amount (0011)
        Index("ix_claims_updated_id", "updated_at", "id"),  # … by last change
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    product_version_id: Mapped[int] = mapped_column(ForeignKey("product_versions.id"))
    line_id: Mapped[str] = mapped_column(String(40))
    peril: Mapped[str] = mapped_column(String(30))
    unit_type: Mapped[str] = mapped_column(String(10))  # person | household
    unit_id: Mapped[str] = mapped_column(String(40), index=True)
    household_no: Mapped[str] = mapped_column(String(40), index=True)
    village_code: Mapped[str | None] = mapped_column(String(12))
    natural_village: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20), default="computed")
    base: Mapped[Decimal] = mapped_column(Money())
    entitlement: Mapped[Decimal] = mapped_column(Money())
    paid_before: Mapped[Decimal] = mapped_column(Money())
    computed_amount: Mapped[Decimal] = mapped_column(Money())
    amount: Mapped[Decimal] = mapped_column(Money())
    adjustment_reason: Mapped[str | None] = mapped_column(String(40))
    proposed_amount: Mapped[Decimal | None] = mapped_column(Money())  # maker's amount awaiting a checker
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    trace: Mapped[str] = mapped_column(Text)
    flags: Mapped[str | None] = mapped_column(Text)  # e.g. cross-department duplicate suspicion
    # verified or proposed above computed_amount (claims.lifecycle.adjudication: reason, note, supervisor's approval)
    above_entitlement: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    reverses_claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)

    __mapper_args__ = {"version_id_col": version}


class ClaimEvent(Chained, Base):
    """Append-only audit of every change of a claim (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "claim_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(30))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    amount_before: Mapped[Decimal | None] = mapped_column(Money())
    amount_after: Mapped[Decimal | None] = mapped_column(Money())


class AllowedTransition(Base):
    """The (from, to) pairs of the workflow table, read by the trigger that guards claims.state."""

    __tablename__ = "allowed_transitions"
    from_state: Mapped[str] = mapped_column(String(20), primary_key=True)
    to_state: Mapped[str] = mapped_column(String(20), primary_key=True)


class Notice(Base):
    """公示: one list per administrative village; claims become payable the day after ``end_on``."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    posted_on: Mapped[dt.date] = mapped_column(Date)
    end_on: Mapped[dt.date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default="posted")  # posted | ended
    hotline: Mapped[str | None] = mapped_column(String(40))
    posted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


class NoticeLine(Base):
    """Exactly what the notice shows for one claim (masked name, village, line, amount) — a snapshot."""

    __tablename__ = "notice_lines"
    __table_args__ = (UniqueConstraint("notice_id", "claim_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    masked_name: Mapped[str] = mapped_column(String(60))
    natural_village: Mapped[str | None] = mapped_column(String(100))
    line_name: Mapped[str] = mapped_column(String(60))
    amount: Mapped[Decimal] = mapped_column(Money())


class Objection(Base):
    __tablename__ = "objections"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="open")  # open | resolved
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PayoutBatch(Base):
    """支付批次: one per policy and period (the database refuses a second)."""

    __tablename__ = "payout_batches"
    __table_args__ = (UniqueConstraint("policy_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    period: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(12), default="exported")  # exported | reconciled
    total: Mapped[Decimal] = mapped_column(Money())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


class PayoutLine(Chained, Base):
    __tablename__ = "payout_lines"
    __table_args__ = (UniqueConstraint("batch_id", "claim_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payout_batches.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    payee_name: Mapped[str] = mapped_column(String(60))
    payee_id_masked: Mapped[str] = mapped_column(String(18))
    account: Mapped[str | None] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Money())
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | paid | failed
    bank_reason: Mapped[str | None] = mapped_column(Text)
    returned_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class FundEntry(Chained, Base):
    """Fund ledger (基金台账): signed amounts per policy; balance = Σ amount."""

    __tablename__ = "fund_entries"
    __table_args__ = (CheckConstraint(
        "kind IN ('premium_due', 'premium_received', 'claim_paid', 'reversal', 'recovery', 'settlement', "
        "'carry_over')", name="kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money())
    reference: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    payer: Mapped[str | None] = mapped_column(String(20))  # premiums: government 财政 / individual 个人 / other 其他


class Recovery(Base):
    """追回: money paid on a (line, unit) beyond its entitlement (:mod:`claims.lifecycle.recovery`).

    ``open`` (at most one per policy, line and unit; recomputation keeps its amount current) →
    ``recovered`` (the money came back: a fund entry ``recovery``) | ``waived`` (a supervisor, with a
    reason; no money) | ``cancelled`` (a later import made the unit no longer overpaid).
    """

    __tablename__ = "recoveries"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'recovered', 'waived', 'cancelled')", name="state"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("uq_recoveries_open", "policy_id", "line_id", "unit_id", unique=True,
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)  # the (last) paid claim
    line_id: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Money())
    state: Mapped[str] = mapped_column(String(10), default="open")
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)  # why waived or cancelled


class ReviewSample(Base):
    """A seeded, stratified review sample; seed and strata are stored so an auditor can redraw it."""

    __tablename__ = "review_samples"
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    seed: Mapped[int] = mapped_column(Integer)
    strata: Mapped[list[Any]] = mapped_column(JSON)
    fraction: Mapped[str] = mapped_column(String(20))
    population: Mapped[dict[str, Any]] = mapped_column(JSON)  # the filter that defined the list
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


class ReviewSampleMember(Base):
    __tablename__ = "review_sample_members"
    sample_id: Mapped[int] = mapped_column(ForeignKey("review_samples.id"), primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), primary_key=True)


class MappingProfile(Base):
    """A department's column mapping saved under a name (canonical column → the header a county's files
    use), reused by later imports whose header row holds all its headers (:mod:`claims.lifecycle.mapping_profiles`)."""

    __tablename__ = "mapping_profiles"
    __table_args__ = (UniqueConstraint("department", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    department: Mapped[str] = mapped_column(String(20))
    columns: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


class AuditEvent(Base):
    """One audited change outside the chained tables (:func:`claims.lifecycle.audit.record`): roster and
    bank-account changes, fund entries, objection resolutions, each with its actor."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str | None] = mapped_column(String(60))  # the CLI's operator when no user
    kind: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


# Tables kept in modules of their own (this one is at its size limit), imported here so that whoever collects
# this module's metadata (the migrations' environment, tests/test_migrations.py) sees them too.
from claims.lifecycle import applications as _applications  # noqa: E402,F401  household applications 申报
from claims.lifecycle import budget_runs as _budget_runs  # noqa: E402,F401  the actuary's budget runs 预算测算
from claims.lifecycle import county_settings as _county_settings  # noqa: E402,F401  county hotline 县级设置
from claims.lifecycle import jobs as _jobs  # noqa: E402,F401  background jobs 后台任务
from claims.lifecycle import monitoring as _monitoring  # noqa: E402,F401  防贫监测 watched households
from claims.lifecycle import notice_postings as _notice_postings  # noqa: E402,F401  notice sheets, postings
