"""A product read once into what the engine's stages need.

A line's position in ``product.lines`` is its code in every claim row (``line_pos``); the labels a claim
shows (line id, name, peril, unit type) are taken from the per-line lists by that code, and the shared
caps are the product's caps in the order they apply (:func:`claims.engine.caps.shared_caps`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from claims.engine.caps import SharedCap, shared_caps
from products.model import Line, Product


@dataclass(frozen=True)
class ProductPlan:
    """The product as the engine's stages read it: its identity, its lines in order, their labels, which
    are person-basis, each line's position by id, and the shared caps in the order they apply."""

    code: str
    digest: str
    lines: tuple[Line, ...]
    line_ids: list[str]
    line_names: list[str]
    perils: list[str]
    unit_types: list[str]  # each line's basis: person | household
    is_person: np.ndarray  # bool per line position
    position: dict[str, int]  # line id → position
    shared_caps: tuple[SharedCap, ...]

    @classmethod
    def of(cls, product: Product) -> ProductPlan:
        lines = tuple(product.lines)
        return cls(code=product.code, digest=product.digest, lines=lines,
                   line_ids=[line.id for line in lines], line_names=[line.name for line in lines],
                   perils=[line.peril for line in lines], unit_types=[line.basis for line in lines],
                   is_person=np.array([line.basis == "person" for line in lines]),
                   position={line.id: pos for pos, line in enumerate(lines)}, shared_caps=shared_caps(product))

    def person_rows(self, line_pos: np.ndarray) -> np.ndarray:
        """Per claim row: whether its line is person-basis (its unit a person)."""
        return self.is_person[line_pos]
