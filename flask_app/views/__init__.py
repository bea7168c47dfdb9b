"""Page blueprints (server-rendered Jinja, Chinese first).  Each module holds one area of the work."""

from __future__ import annotations

from flask import Flask

from flask_app.views import (
    admin,
    applications,
    cards,
    claims,
    fund,
    home,
    imports,
    jobs,
    monitoring,
    notices,
    payouts,
    products,
    reports,
)

PAGE_MODULES = [home, claims, imports, applications, monitoring, notices, cards, payouts, fund, reports, products, jobs, admin]


#: The navigation bar: (endpoint, label); each user sees the links their role may open.
NAV: list[tuple[str, str]] = [
    ("home.index", "首页"), ("claims.queue", "理赔"), ("imports.index", "导入"), ("applications.index", "申报"),
    ("monitoring.index", "监测"), ("notices.index", "公示"), ("cards.index", "明白卡"),
    ("payouts.index", "支付"), ("fund.index", "基金"), ("reports.index", "上报"), ("reports.statistics", "统计"),
    ("products.index", "产品"), ("jobs.index", "任务"), ("admin.users", "用户"),
]


def register_views(app: Flask) -> None:
    for module in PAGE_MODULES:
        app.register_blueprint(module.bp)

    @app.context_processor
    def _nav() -> dict:
        from flask_login import current_user

        from flask_app.permissions import allowed

        def nav_links() -> list[tuple[str, str]]:
            role = getattr(current_user, "role", None)
            return [(e, label) for e, label in NAV if e in app.view_functions and allowed(e, role)]

        return {"nav_links": nav_links}

    from flask_app.api import init_api

    init_api(app)
