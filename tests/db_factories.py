"""Rows for database tests: a product version + policy, and claims with sensible defaults."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from claims.lifecycle.models import Claim
from claims.lifecycle.store import Policy, ProductVersion
from products import load_product


def add_policy(session) -> tuple[ProductVersion, Policy]:  # noqa: ANN001 - Session
    """A 防贫保 product version (the 魏县 catalog document: illness line capped at 50,000 a year, 100,000
    per person) and its 2025 policy for county 130434 (100 heads × 50.00)."""
    pv = ProductVersion(code="P", family="fangpinbao", name="p", county="130434", year=2025, digest="d" * 64,
                        document=load_product("fangpinbao-weixian-2025").document)
    session.add(pv)
    session.flush()
    pol = Policy(product_version_id=pv.id, county="130434", year=2025, framed_heads=100,
                 premium_per_head=Decimal("50.00"), premium_total=Decimal("5000.00"), settlement_rule={},
                 period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 12, 31))
    session.add(pol)
    session.flush()
    return pv, pol


def claim(pv: ProductVersion, pol: Policy, i: int, amount: Decimal | str, **fields: Any) -> Claim:
    """Claim number ``i`` (unit U{i}, household H{i}) for ``amount``, computed, illness, village 130434100200."""
    a = Decimal(amount)
    values: dict[str, Any] = dict(policy_id=pol.id, product_version_id=pv.id, line_id="illness", peril="illness",
                                  unit_type="person", unit_id=f"U{i}", household_no=f"H{i}",
                                  village_code="130434100200", state="computed", base=a, entitlement=a,
                                  paid_before=Decimal("0.00"), computed_amount=a, amount=a, trace="t")
    values.update(fields)
    return Claim(**values)
