"""How values are shown on every page (issue 15.4 "readable everywhere"): one number format for yuan, a
code's Chinese label, a village's name, and the county's one hotline.  Wiring only: the names come from
:mod:`claims.lifecycle.villages`, the labels from :mod:`claims.lifecycle.labels`.

Jinja filters (registered by :func:`init_app`)::

    {{ amount|yuan }}                  1,368.71   (Decimal, int or text yuan; thousands separators, 2 places)
    {{ claim.state|label("state") }}   待复核     (the code itself where the table has no label)

Each request runs on the app's clock (:data:`claims.lifecycle.store.CLOCK_DAY`): with ``RELIEF_TODAY`` set, the
events, fund entries and postings it writes are dated that day, never after it.
"""

from __future__ import annotations

from contextlib import suppress
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from claims.lifecycle.labels import label
from claims.lifecycle.store import CLOCK_DAY
from claims.lifecycle.villages import county_hotline
from flask_app.clock import today

YUAN_PLACES = Decimal("0.01")


def yuan(value: Any) -> str:
    """Yuan with thousands separators and two decimals (the database's amounts are whole fen already):
    ``Decimal("1368.71")``, ``"1368.71"`` and ``"1,368.71"`` all give ``1,368.71``; ``None`` and ``""`` give
    ``""``; a text that is not a number is shown as it is.

    >>> yuan(Decimal("1368.71")), yuan("-5"), yuan(None)
    ('1,368.71', '-5.00', '')
    """
    if value is None or value == "":
        return ""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).replace(",", ""))
    except InvalidOperation:
        return str(value)
    return f"{amount.quantize(YUAN_PLACES):,.2f}"


def hotline(session: Session, code: str | None) -> str | None:
    """The hotline of the county of ``code`` (a county, township or village code): its settings row
    (``relief villages set-hotline``, the admin page), else the deployment's ``RELIEF_NOTICE_HOTLINE``."""
    return county_hotline(session, code, default=current_app.config.get("RELIEF_NOTICE_HOTLINE"))


def _clock_on() -> None:
    """Each request runs on the app's clock: new rows are dated the app's today (RELIEF_TODAY when fixed)."""
    fixed = current_app.config.get("RELIEF_TODAY")
    g.relief_clock = CLOCK_DAY.set(today() if fixed else None)


def _clock_off(_exc: BaseException | None = None) -> None:
    token = g.pop("relief_clock", None)
    if token is not None:
        with suppress(ValueError):  # set in another context (a streamed response): that context ends anyway
            CLOCK_DAY.reset(token)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["yuan"] = yuan
    app.jinja_env.filters["label"] = lambda code, kind: label(kind, code)
    app.before_request_funcs.setdefault(None, []).insert(0, _clock_on)  # first: logins and tokens read the clock
    app.teardown_request(_clock_off)


__all__ = ["hotline", "init_app", "yuan"]
