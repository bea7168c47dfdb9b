"""Pages: product versions (产品版本) — the list, and one version's schedule as tables and a chart of payout
against base for each bracket line (computed by :func:`products.schedule.bracket_entitlement`)."""

from __future__ import annotations

import numpy as np
from flask import Blueprint, abort, render_template
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import func, select

from claims.lifecycle.registry import product_of
from claims.lifecycle.scope import scope_policies, scoped_versions
from claims.lifecycle.store import Policy, ProductVersion
from flask_app import db
from flask_app.permissions import EVERYONE, allow
from products.model import Line
from products.schedule import bracket_entitlement

bp = Blueprint("products", __name__)
allow("products.index", EVERYONE)
allow("products.show", EVERYONE)

GRID_POINTS = 241


def yuan(fen: int | None) -> str:
    return "—" if fen is None else f"{fen / 100:,.2f}".rstrip("0").rstrip(".") if fen % 100 else f"{fen // 100:,}"


def rate(rate_e4: int) -> str:
    return f"{rate_e4 / 100:g}%"


def base_grid(line: Line) -> np.ndarray:
    """Bases (fen) from 0 to past the last bracket limit and past the point where the cap is reached."""
    marks = [line.start_line, line.trigger] + [b.upto for b in line.brackets if b.upto is not None]
    top = max(max(marks) * 3 // 2, 1_000_000)  # at least 10,000 yuan
    if line.cap_per_year is not None:
        probe = np.linspace(0, top * 50, 5001).astype(np.int64)
        reached = probe[bracket_entitlement(probe, line).entitlement >= line.cap_per_year]
        if reached.size:
            top = max(top, int(reached[0]) * 5 // 4)
    return np.linspace(0, top, GRID_POINTS).astype(np.int64)


def payout_chart(line: Line, *, width: int = 720, height: int = 300) -> Markup:
    """Inline SVG: payout (entitlement, yuan) against base (yuan) for one bracket line."""
    bases = base_grid(line)
    pays = bracket_entitlement(bases, line).entitlement
    left, right, top, bottom = 80, 20, 20, 46
    pw, ph = width - left - right, height - top - bottom
    max_x, max_y = float(bases[-1]) or 1.0, float(max(int(pays.max()), 1))
    max_y *= 1.1

    def x(v: float) -> float:
        return left + pw * v / max_x

    def y(v: float) -> float:
        return top + ph - ph * v / max_y

    title = escape(f"{line.name} 赔付额-基数曲线 / payout against base")
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="100%" style="max-width:{width}px" aria-label="{title}">')]
    for i in range(5):
        vy, vx = max_y * i / 4, max_x * i / 4
        parts.append(f'<line x1="{left}" y1="{y(vy):.1f}" x2="{width - right}" y2="{y(vy):.1f}" stroke="#d9e2ec"/>'
                     f'<text x="{left - 6}" y="{y(vy) + 4:.1f}" text-anchor="end" font-size="11" fill="#616e7c">'
                     f'{vy / 100:,.0f}</text>'
                     f'<text x="{x(vx):.1f}" y="{top + ph + 16}" text-anchor="middle" font-size="11" fill="#616e7c">'
                     f'{vx / 100:,.0f}</text>')
    for mark, colour in [(line.start_line, "#616e7c")] + [(b.upto, "#9aa5b1") for b in line.brackets if b.upto]:
        parts.append(f'<line x1="{x(mark):.1f}" y1="{top}" x2="{x(mark):.1f}" y2="{top + ph}" stroke="{colour}" '
                     f'stroke-dasharray="4 3"/>')
    if line.cap_per_year is not None:
        parts.append(f'<line x1="{left}" y1="{y(line.cap_per_year):.1f}" x2="{width - right}" '
                     f'y2="{y(line.cap_per_year):.1f}" stroke="#b42318" stroke-dasharray="6 3"/>'
                     f'<text x="{width - right}" y="{y(line.cap_per_year) - 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#b42318">封顶 cap {yuan(line.cap_per_year)}</text>')
    points = " ".join(f"{x(float(b)):.1f},{y(float(p)):.1f}" for b, p in zip(bases, pays, strict=True))
    parts.append(f'<polyline points="{points}" fill="none" stroke="#2f6f9f" stroke-width="2.5"/>')
    parts.append(f'<line x1="{left}" y1="{top + ph}" x2="{width - right}" y2="{top + ph}" stroke="#1f2933"/>'
                 f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#1f2933"/>'
                 f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle" font-size="12">'
                 f'基数（元）base, yuan</text>'
                 f'<text x="14" y="{top + ph / 2}" text-anchor="middle" font-size="12" '
                 f'transform="rotate(-90 14 {top + ph / 2})">赔付（元）payout</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


@bp.get("/products")
def index():  # noqa: ANN201
    s = db.session()
    scope = current_user.scope
    policies = dict(s.execute(select(Policy.product_version_id, func.count())
                              .where(Policy.id.in_(scope_policies(scope)))
                              .group_by(Policy.product_version_id)).all())
    versions = s.scalars(scoped_versions(scope, select(ProductVersion))
                         .order_by(ProductVersion.year.desc(), ProductVersion.code)).all()
    return render_template("products_index.html", versions=versions, policies=policies)


@bp.get("/products/<int:version_id>")
def show(version_id: int):  # noqa: ANN201
    s = db.session()
    version = s.scalar(scoped_versions(current_user.scope, select(ProductVersion))
                       .where(ProductVersion.id == version_id))
    if version is None:  # another county's product version is not shown
        abort(404)
    try:
        product = product_of(version)
    except Exception as exc:  # noqa: BLE001 - a stored document that no longer validates is shown, not a 500
        return render_template("products_show.html", version=version, product=None, error=str(exc)[:2000],
                               charts={}, yuan=yuan, rate=rate)
    charts = {line.id: payout_chart(line) for line in product.lines if line.brackets}
    return render_template("products_show.html", version=version, product=product, error=None, charts=charts,
                           yuan=yuan, rate=rate)
