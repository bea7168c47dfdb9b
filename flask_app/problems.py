"""Errors as RFC 9457 problem details (``application/problem+json``) with a stable ``type`` per error.

The one table from domain error to HTTP (:data:`DOMAIN_ERRORS`): each class of the project's error
hierarchy (:mod:`tabular.errors`) maps to a status and a type URI under ``/problems/…`` — a transition the
table refuses, a concurrent change (409), an import refused, input that cannot be used (422), an unknown
object (404) …  The API (and any request that asks for JSON) answers problem details; a browser gets an
error page in the site's layout with the same status (:func:`wants_problem`).
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
from claims.reports import ReportFileError
from tabular.errors import (
    InvalidInputError,
    NotAllowedError,
    NotFoundError,
    OverLimitError,
    ReliefError,
    StateConflictError,
)
from tabular.money import fen_to_decimal

PROBLEM_BASE = "/problems/"

#: exception class → (status, type slug, title).  The most specific class of an error's ancestry answers
#: (Flask looks the handler up along the class's MRO); the meanings at the end answer the rest.
DOMAIN_ERRORS: list[tuple[type[Exception], int, str, str]] = [
    (ConflictError, 409, "conflict", "已被他人修改 / changed by someone else"),
    (CapExceededError, 422, "cap-exceeded", "超过限额 / amount above a cap"),
    (TransitionError, 422, "transition-refused", "不允许的操作 / action not allowed"),
    (AlreadyImportedError, 409, "already-imported", "文件已导入 / file already imported"),
    (ImportRefusedError, 422, "import-refused", "导入被拒绝 / import refused"),
    (ReportFileError, 422, "import-refused", "导入被拒绝 / import refused"),
    (NoticeError, 422, "notice-refused", "公示操作被拒绝 / notice action refused"),
    (PayoutError, 422, "payout-refused", "支付操作被拒绝 / payout action refused"),
    # the meanings (tabular.errors), for every other domain error
    (StateConflictError, 409, "conflict", "已被他人修改 / changed by someone else"),
    (OverLimitError, 422, "over-limit", "超过限额 / amount above a limit"),
    (NotAllowedError, 422, "not-allowed", "不允许的操作 / action not allowed"),
    (NotFoundError, 404, "not-found", "不存在 / not found"),
    (InvalidInputError, 422, "invalid-request", "请求无效 / invalid request"),
    (ReliefError, 422, "refused", "请求被拒绝 / request refused"),
]


def problem(status: int, slug: str, title: str, detail: str | None = None, **extra: Any) -> Response:
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "instance": request.path}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")


def wants_problem() -> bool:
    """Problem details for the API and for a client that prefers JSON; an HTML page for a browser."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", "application/problem+json"])
    return best is not None and best != "text/html"


def extension_members(exc: Exception) -> dict[str, Any]:
    """What a problem adds to its type for a client to act on: the stale claims, the cap and its room, the
    columns a file lacks (the mapping page's data, for a client that maps the columns itself)."""
    if isinstance(exc, ConflictError):
        return {"claim_ids": exc.claim_ids}
    if isinstance(exc, CapExceededError):
        return {"cap": exc.cap.kind, "room": str(fen_to_decimal(exc.cap.room))}
    if isinstance(exc, ReportFileError) and exc.unmatched is not None:
        u = exc.unmatched
        return {"unmatched": {"missing": list(u.missing), "matched": u.matched, "headers": list(u.headers),
                              "header_line": u.header_line}}
    return {}


#: HTTP status → type slug of the problems the web framework raises (abort, validation, routing).
HTTP_SLUGS = {422: "validation", 401: "unauthenticated", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
              409: "conflict", 400: "bad-request", 413: "too-large"}


def http_problem(exc: HTTPException) -> Response:
    """An HTTP exception (``abort(…)``, a validation failure with its ``messages``) as problem details."""
    data = getattr(exc, "data", None) or {}
    errors = data.get("messages") if isinstance(data, dict) else None
    extra = {"errors": errors} if errors else {}
    return problem(exc.code or 500, HTTP_SLUGS.get(exc.code or 500, "http-error"), exc.name, exc.description, **extra)


#: the words of an HTML error page, by status (the framework's English description is for the API)
PAGE_TEXT = {
    400: ("请求无效", "bad request", "请求无法处理，请返回重试 / the request could not be handled; go back and try again"),
    401: ("请先登录", "log in first", "请先登录 / please log in"),
    403: ("无权访问", "forbidden", "您的角色不能打开此页面 / your role may not open this page"),
    404: ("页面不存在", "not found", "页面或记录不存在，或不在您的范围内 / no such page or record, or not in your scope"),
    405: ("不允许的方法", "method not allowed", "此地址不接受该请求 / this address does not take that request"),
    409: ("冲突", "conflict", "已被他人修改，请刷新后重试 / changed by someone else; reload and try again"),
    413: ("文件过大", "too large", "上传的文件超过大小限制 / the upload is larger than the limit"),
    500: ("服务器错误", "server error", "服务器出错，已记录；请稍后再试 / the server failed; please try again later"),
}


def error_page(status: int, title: str | None = None, detail: str | None = None) -> tuple[str, int]:
    """An error page in the site's layout (``error.html``)."""
    zh, en, text = PAGE_TEXT.get(status, ("错误", "error", ""))
    return render_template("error.html", status=status, title=title or f"{zh} / {en}", detail=detail or text), status


def http_error(exc: HTTPException) -> Any:
    """An HTTP error (``abort(…)``, routing, a body over the limit, a server error): problem details or a page."""
    if wants_problem():
        return http_problem(exc)
    status = exc.code or 500
    # an abort(…, description=…) of our own says something useful; werkzeug's English defaults do not
    own = exc.description if exc.description != type(exc).description else None
    return error_page(status, detail=own)


def init_app(app: Flask) -> None:
    for exc_class, status, slug, title in DOMAIN_ERRORS:
        def handler(exc: Exception, status: int = status, slug: str = slug, title: str = title) -> Any:
            if wants_problem():
                return problem(status, slug, title, str(exc), **extension_members(exc))
            return error_page(status, title, str(exc))
        app.register_error_handler(exc_class, handler)

    app.register_error_handler(HTTPException, http_error)  # flask_app.api's ProblemApi answers the same
