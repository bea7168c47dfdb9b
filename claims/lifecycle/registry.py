"""Product versions and policies in the database.

* :func:`register_product` stores a product document once per digest (the sha256 of its canonical
  form); registering the same document again returns the stored row.
* :func:`create_policy` buys a version for its county and year:
  ``premium_total = framed_heads × premium_per_head`` (fen, exact), period = the product's period.
  One policy per (version, county, year): asking again returns the existing one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.lifecycle.store import Policy, ProductVersion
from products.loader import load_product
from products.model import Product
from tabular.errors import InvalidInputError
from tabular.money import fen_to_decimal


class RegistryError(InvalidInputError):
    """A product or policy that cannot be stored as asked (bilingual message)."""


def register_product(session: Session, product: Product) -> ProductVersion:
    """The stored version of ``product`` (by digest), inserting it when new.

    A different document under an existing product code is refused: a changed product needs a new code.
    """
    existing = session.scalar(select(ProductVersion).where(ProductVersion.digest == product.digest))
    if existing is not None:
        return existing
    clash = session.scalar(select(ProductVersion).where(ProductVersion.code == product.code))
    if clash is not None:
        raise RegistryError(
            f"产品代码 {product.code} 已登记为另一版本（id {clash.id}），修改后的产品须使用新代码 / product code "
            f"{product.code} is already registered with a different document (version id {clash.id}); a changed "
            f"product needs a new code")
    version = ProductVersion(code=product.code, family=product.family, name=product.name, county=product.county,
                             year=product.year, digest=product.digest, document=product.document)
    session.add(version)
    session.flush()
    return version


def product_of(version: ProductVersion) -> Product:
    """The :class:`Product` a stored version describes (re-validated from its document)."""
    return load_product(version.document)


def create_policy(session: Session, version: ProductVersion, framed_heads: int, *,
                  settlement_rule: dict[str, Any] | None = None, county_cosign: bool = False) -> Policy:
    """The policy of ``version`` for its county and year; premium_total = framed_heads × premium_per_head;
    ``county_cosign``: the county office co-signs each payout batch before it is paid."""
    if int(framed_heads) <= 0:
        raise RegistryError(f"承保人数须为正整数：{framed_heads} / framed heads must be a positive integer: {framed_heads}")
    product = product_of(version)
    existing = session.scalar(select(Policy).where(
        Policy.product_version_id == version.id, Policy.county == product.county, Policy.year == product.year))
    if existing is not None:
        return existing
    policy = Policy(
        product_version_id=version.id, county=product.county, year=product.year, framed_heads=int(framed_heads),
        premium_per_head=fen_to_decimal(product.premium_per_head),
        premium_total=fen_to_decimal(int(framed_heads) * product.premium_per_head),
        settlement_rule=dict(settlement_rule or {}), period_start=product.period_start, period_end=product.period_end,
        county_cosign=bool(county_cosign))
    session.add(policy)
    session.flush()
    return policy


__all__ = ["RegistryError", "create_policy", "product_of", "register_product"]
