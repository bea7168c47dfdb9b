"""Odd input refused at the door: a control character in the URL or a form field → 400, an ID too big
for the database in a path → 404.

PostgreSQL refuses a NUL byte in text and an integer beyond its column (``integer``: 2³¹ − 1), and both
used to surface as a 500 from deep inside a query.  :func:`init_app` installs, for every page and API
operation at once: the ``int`` URL converter bounded to ``1 … 2³¹ − 1`` (a 20-digit claim number is a
missing claim, 404), and a ``before_request`` hook answering 400 to a NUL byte or another control
character in the path or the query (keys, and values but ``next``'s), or to a NUL byte or a control character other
than tab, line feed and carriage return in a form field (free text keeps its line breaks).  JSON bodies
are checked field by field by the API's schemas (:mod:`flask_app.api.inputs`).
"""

from __future__ import annotations

import re

from flask import Flask, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from claims.lifecycle.store import MAX_ROW_ID

#: Largest page number of any list (× the largest page size stays far inside a 64-bit OFFSET).
MAX_PAGE = 10_000_000
#: C0 controls and DEL: none belongs in a URL.
URL_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: In a form field: a NUL byte or a control character other than tab, LF and CR.
FORM_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Query arguments checked where they are used: ``next`` after login (:mod:`flask_app.sessions` keeps only a
#: local path, so a link with a tab or line feed in it still logs the person in, to the home page).
OWN_CHECK = frozenset({"next"})
#: Forms that check their own fields: the login (a NUL in a user name is a failed attempt, recorded as such).
OWN_FORM_CHECK = frozenset({"auth.login"})
MESSAGE = "请求中含有控制字符（如 NUL）/ the request holds a control character (such as NUL)"


class BoundedInt(IntegerConverter):
    """``<int:…>`` limited to the database's integer range: a bigger number matches no route (404)."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002, ANN001, ANN002, ANN003 - werkzeug's signature
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


def refuse_control_characters() -> None:
    """400 for a control character in the path, the query or a form field (files are not looked at)."""
    if URL_CONTROL.search(request.path):
        raise BadRequest(MESSAGE)
    for key, value in request.args.items(multi=True):
        if URL_CONTROL.search(key) or (key not in OWN_CHECK and URL_CONTROL.search(value)):
            raise BadRequest(MESSAGE)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data") \
            and request.endpoint not in OWN_FORM_CHECK:
        for key, value in request.form.items(multi=True):
            if FORM_CONTROL.search(key) or FORM_CONTROL.search(value):
                raise BadRequest(MESSAGE)


def init_app(app: Flask) -> None:
    """Install the bounded ``int`` converter (before any route is added) and the control-character hook."""
    app.url_map.converters["int"] = BoundedInt
    app.before_request(refuse_control_characters)
