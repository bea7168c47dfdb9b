"""The API's bounded input fields: text without control characters, pages the database can reach.

``Text`` is the string field of every request schema: a NUL byte (which PostgreSQL refuses in text) or
another control character is a 422 naming the field, never a 500 from the database; ``multiline=True``
keeps tab, line feed and carriage return for free text (notes, objections).  Pagination: flask-smorest
bounds ``page`` only from below, and a page of 10²⁰ overflowed the query's OFFSET; :func:`bound_pages`
gives every blueprint a parser that refuses a page beyond :data:`MAX_PAGE` with the same 422.
"""

from __future__ import annotations

import re
from typing import Any

from flask_smorest import Blueprint, abort
from marshmallow import ValidationError, fields, validate
from webargs.flaskparser import FlaskParser

from claims.lifecycle.store import MAX_ROW_ID
from flask_app.odd_input import MAX_PAGE

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Text(fields.String):
    """A string without NUL bytes or other control characters (tab, LF, CR kept when ``multiline``)."""

    def __init__(self, *args: Any, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.multiline = multiline

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if (_CONTROL_MULTILINE if self.multiline else _CONTROL).search(text):
            raise ValidationError("不得含有控制字符（如 NUL）/ must not hold control characters (such as NUL)")
        return text


def Id(**kwargs: Any) -> fields.Integer:
    """An ID of a database row: 1 … 2³¹ − 1 (a bigger number is refused, not sent to the database)."""
    return fields.Integer(strict=kwargs.pop("strict", False), validate=validate.Range(min=1, max=MAX_ROW_ID), **kwargs)


class BoundedPagination(FlaskParser):
    """flask-smorest's pagination parser with ``page`` ≤ :data:`MAX_PAGE` (422 like any invalid argument)."""

    def parse(self, argmap: Any, req: Any = None, **kwargs: Any) -> Any:
        params = super().parse(argmap, req, **kwargs)
        if getattr(params, "page", 1) > MAX_PAGE:
            abort(422, message=f"页码须在 1 至 {MAX_PAGE:,} 之间 / page must be from 1 to {MAX_PAGE:,}",
                  messages={"query": {"page": [f"≤ {MAX_PAGE}"]}})
        return params


def bound_pages(blp: Blueprint) -> None:
    blp.PAGINATION_ARGUMENTS_PARSER = BoundedPagination()
