"""The budget report's charts (PNG, Agg canvas directly, no pyplot state): :func:`write_charts`.

    loss_distribution.png   density of next year's payout S, budget marked, P10–P90 shaded
    experience.png          paid per head by year and line, next year's mean and budget per head
    whatif.png              current vs draft per principle, per head (only with a what-if)

Labels are Chinese when a CJK font is installed (:data:`CJK_FONTS`, looked up through
``matplotlib.font_manager``), otherwise English, so that no label is ever drawn as tofu boxes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CHART_DPI", "CJK_FONTS", "cjk_font", "experience_frame", "flat_frame", "write_charts"]

#: CJK fonts tried in this order (Debian: fonts-wqy-zenhei, fonts-noto-cjk).
CJK_FONTS = ("WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
             "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "AR PL UMing CN")
CHART_DPI = 110


def flat_frame(frame: pd.DataFrame | None) -> pd.DataFrame:
    """Index levels become columns (named index levels keep their names)."""
    if frame is None:
        return pd.DataFrame()
    if isinstance(frame.index, pd.MultiIndex) or frame.index.name is not None:
        return frame.reset_index()
    return frame.copy()


# ------------------------------------------------------------------------------------------ fonts
#: How long a missing CJK font is believed missing before the system's font folders are scanned again.
RECHECK_MISSING_SECONDS = 30.0
_missing_since: list[float] = []


def cjk_font() -> str | None:
    """Name of an installed CJK font from :data:`CJK_FONTS` (None when there is none).

    matplotlib reads the system's fonts once per process (its font cache); when none of ours is among them,
    the font folders are scanned again at most every :data:`RECHECK_MISSING_SECONDS` and new files added,
    so a font installed under a running server is used without a restart."""
    import time

    from matplotlib import font_manager

    def known() -> str | None:
        installed = {f.name for f in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in installed), None)

    found = known()
    if found is not None or (_missing_since and time.monotonic() - _missing_since[0] < RECHECK_MISSING_SECONDS):
        return found
    _missing_since[:] = [time.monotonic()]
    seen = {f.fname for f in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in seen:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # a file matplotlib cannot read is not a font for us
                continue
    return known()


class _Labels:
    """Chart labels: Chinese (with the English in brackets where short) when a CJK font exists, else English."""

    def __init__(self, chinese: bool) -> None:
        self.chinese = chinese

    def __call__(self, zh: str, en: str) -> str:
        return zh if self.chinese else en


def _rc(font: str | None) -> dict[str, Any]:
    family = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    return {"font.family": family, "axes.unicode_minus": False, "font.size": 10}


# ------------------------------------------------------------------------------------------ charts
def _coarse_density(pmf: np.ndarray, bucket: float, lo: float, hi: float,
                    bins: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """Density of S on ``bins`` equal cells of [lo, hi]: (cell probability from the cdf) / cell width."""
    cdf = np.cumsum(pmf)
    edges = np.linspace(lo, hi, bins + 1)
    idx = np.clip(np.floor(edges / bucket + 0.5).astype(np.int64) - 1, -1, pmf.size - 1)
    at = np.where(idx >= 0, cdf[np.maximum(idx, 0)], 0.0)
    dens = np.diff(at) / np.diff(edges)
    return 0.5 * (edges[:-1] + edges[1:]), dens


def _loss_chart(result: Any, path: Path, label: _Labels) -> None:
    from matplotlib.figure import Figure

    dist = result.predictive
    pmf = np.asarray(dist.pmf, dtype=float)
    b = float(dist.bucket)

    def q(p: float) -> float:
        return float(dist.quantile(p))

    lo, hi = q(0.0005), max(q(0.9995), float(result.budget_total) * 1.05)
    lo = max(0.0, lo - 0.05 * (hi - lo))
    scale = 1e4 if hi >= 1e5 else 1.0  # 万元 for county-size totals, 元 for small ones
    unit_zh, unit_en = ("万元", "10,000 yuan") if scale > 1 else ("元", "yuan")
    x, dens = _coarse_density(pmf, b, lo, hi)
    p10, p90 = (float(result.band.loc[p, "total"]) if p in result.band.index else q(p) for p in (0.10, 0.90))
    fig = Figure(figsize=(8, 4.2), dpi=CHART_DPI)
    ax = fig.add_subplot()
    ax.plot(x / scale, dens * scale, color="#1f4e79", lw=1.6,
            label=label("预测分布（含参数不确定性）", "predictive distribution"))
    plug = getattr(result, "plug_in", None)
    if plug is not None:
        xp, dp = _coarse_density(np.asarray(plug.pmf, dtype=float), float(plug.bucket), lo, hi)
        ax.plot(xp / scale, dp * scale, color="#7f7f7f", lw=1.0, ls="--", label=label("点估计分布", "plug-in"))
    band = (x >= p10) & (x <= p90)
    ax.fill_between(x[band] / scale, 0, dens[band] * scale, color="#9dc3e6", alpha=0.6,
                    label=label("P10–P90 区间", "P10–P90 band"))
    budget = float(result.budget_total)
    ax.axvline(budget / scale, color="#c00000", lw=1.8,
               label=label(f"建议预算 {budget / scale:,.1f} {unit_zh}", f"budget {budget / scale:,.1f} ({unit_en})"))
    ax.axvline(float(dist.mean) / scale, color="#548235", lw=1.0, ls=":",
               label=label("期望赔付", "expected payout"))
    ax.set_xlabel(label(f"明年赔付总额 S（{unit_zh}）", f"next year's total payout S ({unit_en})"))
    ax.set_ylabel(label(f"概率密度（每{unit_zh}）", f"density (per {unit_en})"))
    ax.set_title(label(f"{result.year} 年赔付总额分布", f"Distribution of total payout, {result.year}"))
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png")


def experience_frame(result: Any) -> pd.DataFrame:
    """The experience table (year × line) with its index levels as columns."""
    return flat_frame(result.experience)


def _line_names(result: Any) -> dict[str, str]:
    """line id → line name, from the modelled lines and the lines priced at experience."""
    names = {p.line_id: p.name for p in result.perils}
    extra = getattr(result, "experience_lines", None)
    if isinstance(extra, pd.DataFrame) and {"line_id", "name"} <= set(extra.columns):
        names.update(dict(zip(extra["line_id"], extra["name"])))
    return names


def _experience_chart(result: Any, path: Path, label: _Labels) -> None:
    from matplotlib.figure import Figure

    exp = experience_frame(result)
    fig = Figure(figsize=(8, 4.2), dpi=CHART_DPI)
    ax = fig.add_subplot()
    names = _line_names(result)
    per_line = "peril" in exp.columns and "paid_per_head" in exp.columns  # column peril = the line id
    if per_line and not exp.empty:
        table = exp.pivot_table(index="year", columns="peril", values="paid_per_head", aggfunc="sum").fillna(0.0)
        years = [int(y) for y in table.index]
        bottom = np.zeros(len(years))
        colors = ["#1f4e79", "#ed7d31", "#70ad47", "#ffc000", "#5b9bd5", "#a5a5a5"]
        for i, line_id in enumerate(table.columns):
            vals = table[line_id].to_numpy(dtype=float)
            name = names.get(line_id, line_id) if label.chinese else line_id
            ax.bar([str(y) for y in years], vals, bottom=bottom, color=colors[i % len(colors)], label=name, width=0.6)
            bottom += vals
    nxt = str(result.year)
    mean_ph = float(result.predictive.mean) / float(result.heads)
    ax.bar([nxt], [mean_ph], color="#d9d9d9", edgecolor="#7f7f7f", hatch="//", width=0.6,
           label=label(f"{result.year} 期望赔付", f"{result.year} expected payout"))
    ax.scatter([nxt], [float(result.budget_per_head)], color="#c00000", marker="D", zorder=5,
               label=label(f"{result.year} 建议预算（每人）", f"{result.year} budget per head"))
    ax.set_xlabel(label("年度", "year"))
    ax.set_ylabel(label("每人赔付（元）", "paid per head (yuan)"))
    ax.set_title(label("历年每人赔付（按责任）与明年预算", "Paid per head by year and peril, and next year's budget"))
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png")


def _whatif_chart(result: Any, path: Path, label: _Labels) -> None:
    from matplotlib.figure import Figure

    from actuarial.premium import PRINCIPLES

    draft = result.whatif
    keys = [k for k in PRINCIPLES if k in result.premiums.index and k in draft.premiums.index]
    cur = [float(result.premiums.loc[k, "per_head"]) for k in keys]
    new = [float(draft.premiums.loc[k, "per_head"]) for k in keys]
    short_zh = {"expected_value": "期望值", "standard_deviation": "标准差", "var": "VaR", "tvar": "TVaR",
                "cost_of_capital": "资本成本"}
    short_en = {"expected_value": "expected value", "standard_deviation": "std. dev.", "var": "VaR", "tvar": "TVaR",
                "cost_of_capital": "cost of capital"}
    ticks = [label(short_zh.get(k, k), short_en.get(k, k)) for k in keys]
    fig = Figure(figsize=(8, 4.2), dpi=CHART_DPI)
    ax = fig.add_subplot()
    xs = np.arange(len(keys))
    w = 0.38
    b1 = ax.bar(xs - w / 2, cur, w, color="#1f4e79",
                label=label(f"现行 {result.product_name}", f"current {result.product_code}"))
    b2 = ax.bar(xs + w / 2, new, w, color="#ed7d31",
                label=label(f"草案 {draft.product_name}", f"draft {draft.product_code}"))
    for bars in (b1, b2):
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
    ax.set_xticks(xs, ticks)
    ax.set_ylabel(label("每人保费（元）", "premium per head (yuan)"))
    ax.set_title(label("方案比较：各保费原则下的每人保费", "What-if: premium per head by principle"))
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png")


def write_charts(result: Any, charts_dir: str | Path) -> dict[str, Path]:
    """The report's PNG charts under ``charts_dir``; returns {name: path}."""
    import matplotlib

    out = Path(charts_dir)
    out.mkdir(parents=True, exist_ok=True)
    font = cjk_font()
    label = _Labels(font is not None)
    paths = {"loss_distribution": out / "loss_distribution.png", "experience": out / "experience.png"}
    # the CJK fonts are registered at weight 500 only: matplotlib logs a "Failed to find font weight" warning
    # for every text drawn at the default weight 400 and then uses the 500 face, which is what we want
    fm_log = logging.getLogger("matplotlib.font_manager")
    old_level = fm_log.level
    fm_log.setLevel(logging.ERROR)
    try:
        with matplotlib.rc_context(_rc(font)):
            _draw_all(result, paths, label)
    finally:
        fm_log.setLevel(old_level)
    return paths


def _draw_all(result: Any, paths: dict[str, Path], label: _Labels) -> None:
    _loss_chart(result, paths["loss_distribution"], label)
    _experience_chart(result, paths["experience"], label)
    if getattr(result, "whatif", None) is not None:
        paths["whatif"] = paths["loss_distribution"].parent / "whatif.png"
        _whatif_chart(result, paths["whatif"], label)
