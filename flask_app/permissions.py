"""Who may use what: one table, endpoint → roles.  Every endpoint of the app must be listed here
(a test checks); an endpoint missing from the table is refused to everyone.

Roles: insurer_adjudicator, insurer_supervisor (保险公司), county_reviewer (县), township_reviewer (乡镇, scoped
to its townships), village_clerk (村, scoped to its villages), actuary (精算), city_viewer (市级查看: the counties
it serves, read-only: pages and API lists that only read), admin.  Every user but an admin sees only the
counties they serve (``claims/lifecycle/scope.py``).
"""

from __future__ import annotations

INSURER = frozenset({"insurer_adjudicator", "insurer_supervisor"})
REVIEWERS = frozenset({"county_reviewer", "township_reviewer", "village_clerk"})
STAFF = INSURER | REVIEWERS | {"admin"}
CITY = frozenset({"city_viewer"})
#: Who may read the claims and notices (lists, details, the notice sheet): staff and the city's viewers.
READERS = STAFF | CITY
EVERYONE = STAFF | {"actuary"} | CITY

#: Endpoints anyone may reach without logging in.
PUBLIC = frozenset({"static", "auth.login", "auth.logout", "api-docs.openapi_json", "api-docs.openapi_swagger_ui",
                    "swagger_assets.asset", "health",
                    # the public check of a posted notice against the filed list: no personal data (views.notices)
                    "notices.verify", "notices.verify_form",
                    # the page language switch (also on the login page) and the icon browsers fetch unasked
                    "i18n.switch", "favicon"})

#: endpoint → roles allowed.  Pages and API alike.
ENDPOINT_ROLES: dict[str, frozenset[str]] = {
    "home.index": EVERYONE,
}

#: Roles that see full resident IDs (they pay and verify); everyone else sees 110105********002X.
FULL_ID_ROLES = INSURER | {"admin"}


def allowed(endpoint: str | None, role: str | None) -> bool:
    if endpoint in PUBLIC:
        return True
    if endpoint is None or role is None:
        return False
    return role in ENDPOINT_ROLES.get(endpoint, frozenset())


def allow(endpoint: str, roles: frozenset[str] | set[str]) -> None:
    """Declare an endpoint's roles (called next to the view by each blueprint module)."""
    ENDPOINT_ROLES[endpoint] = frozenset(roles)
