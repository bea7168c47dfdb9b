"""Page blueprints (server-rendered Jinja, Chinese first).  Each module holds one area of the work."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _

from flask_app.views import (
    actuary,
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

PAGE_MODULES = [home, claims, imports, applications, monitoring, notices, cards, payouts, fund, reports, products, jobs, actuary,
                admin]


#: The navigation bar: (endpoint, label); each user sees the links their role may open.  The labels are Chinese
#: msgids translated when the page is rendered (``lazy_gettext``, flask_app/i18n.py).
NAV: list[tuple[str, str]] = [
    ("home.index", _("首页")), ("claims.queue", _("理赔")), ("imports.index", _("导入")),
    ("applications.index", _("申报")), ("monitoring.index", _("监测")), ("notices.index", _("公示")),
    ("cards.index", _("明白卡")), ("payouts.index", _("支付")), ("fund.index", _("基金")), ("actuary.index", _("精算")),
    ("reports.index", _("上报")),
    ("reports.statistics", _("统计")), ("products.index", _("产品")), ("jobs.index", _("任务")), ("admin.users", _("用户")),
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
