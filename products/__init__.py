"""Product definitions and versions, the payout schedule maths, premium rules and the insured roster.

Pure code and configuration: no HTTP, no report parsing.  Entry point: :func:`load_product`.
"""

from products.loader import CATALOG, ProductError, catalog, load_product
from products.model import PERILS, Bracket, Eligibility, Line, Product
from products.schedule import bracket_entitlement, bracket_parts

__all__ = [
    "CATALOG",
    "PERILS",
    "Bracket",
    "Eligibility",
    "Line",
    "Product",
    "ProductError",
    "bracket_entitlement",
    "bracket_parts",
    "catalog",
    "load_product",
]
