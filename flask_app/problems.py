"""Errors as RFC 9457 problem details (``application/problem+json``) with a stable ``type`` per error.

Domain errors map to a type URI under ``/problems/…``: a transition the table refuses, a concurrent
change (409), an unknown object (404), a refused import …  HTML pages get a readable error page instead.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json, render_template, request
from werkzeug.exceptions import HTTPException

from claims.lifecycle.adjudication import CapExceededError
from claims.lifecycle.imports import AlreadyImportedError, ImportRefusedError
from claims.lifecycle.notices import NoticeError
from claims.lifecycle.payouts import PayoutError
from claims.lifecycle.transitions import ConflictError
from claims.lifecycle.workflow import TransitionError
from tabular.money import fen_to_decimal

PROBLEM_BASE = "/problems/"

#: exception class → (status, type slug, title).  Order matters: subclasses first.
DOMAIN_ERRORS: list[tuple[type[Exception], int, str, str]] = [
    (ConflictError, 409, "conflict", "已被他人修改 / changed by someone else"),
    (CapExceededError, 422, "cap-exceeded", "超过限额 / amount above a cap"),
    (TransitionError, 422, "transition-refused", "不允许的操作 / action not allowed"),
    (AlreadyImportedError, 409, "already-imported", "文件已导入 / file already imported"),
    (ImportRefusedError, 422, "import-refused", "导入被拒绝 / import refused"),
    (NoticeError, 422, "notice-refused", "公示操作被拒绝 / notice action refused"),
    (PayoutError, 422, "payout-refused", "支付操作被拒绝 / payout action refused"),
]


def problem(status: int, slug: str, title: str, detail: str | None = None, **extra: Any) -> Response:
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "instance": request.path}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")


def wants_problem() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    for exc_class, status, slug, title in DOMAIN_ERRORS:
        def handler(exc: Exception, status: int = status, slug: str = slug, title: str = title) -> Any:
            if wants_problem():
                extra = {"claim_ids": exc.claim_ids} if isinstance(exc, ConflictError) else {}
                if isinstance(exc, CapExceededError):
                    extra = {"cap": exc.cap.kind, "room": str(fen_to_decimal(exc.cap.room))}
                return problem(status, slug, title, str(exc), **extra)
            return render_template("error.html", status=status, title=title, detail=str(exc)), status
        app.register_error_handler(exc_class, handler)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if wants_problem():
            data = getattr(exc, "data", None) or {}
            errors = data.get("messages") if isinstance(data, dict) else None
            slug = {422: "validation", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
                    405: "method-not-allowed", 409: "conflict", 400: "bad-request"}.get(exc.code or 500, "http-error")
            extra = {"errors": errors} if errors else {}
            return problem(exc.code or 500, slug, exc.name, exc.description, **extra)
        return render_template("error.html", status=exc.code, title=exc.name, detail=exc.description), exc.code
