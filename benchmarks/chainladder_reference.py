"""Reference results of chainladder-python for the sample triangles in ``tests/data/triangles/``.

Run ONCE in a throwaway environment (chainladder is not a dependency of this project):

    python -m venv /tmp/clvenv && /tmp/clvenv/bin/pip install chainladder==0.10.1
    /tmp/clvenv/bin/python benchmarks/chainladder_reference.py            # from the project root

It (1) exports the triangles from chainladder's bundled samples (``chainladder/utils/data/*.csv``) to one wide
CSV each (rows: origin year, columns: development age in months, an empty cell = not observed, a zero written
as 0; chainladder itself stores zeros as missing), and (2) reads those CSV files back into ``cl.Triangle`` and
writes ``reference.json``: per triangle, for ``Development(sigma_interpolation=…)`` "mack" and "log-linear"
followed by ``MackChainladder``: the age-to-age factors, σ (not σ²), ultimates, IBNR, Mack SE per origin and in
total; and ``TailCurve(curve="exponential")`` (defaults: 100 extrapolated periods, factors ≤ 1.00001 left out of
the fit): the tail factor and the ultimates.  ``tests/test_reserving_chainladder.py`` compares with them.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "triangles"

#: name → (sample, column, CLRD (GRNAME, LOB) or None)
TRIANGLES = {
    "raa": ("raa", "values", None),
    "abc": ("abc", "values", None),
    "genins": ("genins", "values", None),
    "xyz_reported_counts": ("xyz", "Reported", None),
    "xyz_paid": ("xyz", "Paid", None),
    "clrd_zero_american_agricultural_othliab": ("clrd", "CumPaidLoss", ("American Agricultural Ins Co", "othliab")),
    "clrd_zero_golden_bear_othliab": ("clrd", "CumPaidLoss", ("Golden Bear Ins Co", "othliab")),
    "clrd_negative_american_contractors_othliab": ("clrd", "CumPaidLoss", ("American Contractors Ins Grp", "othliab")),
    "clrd_negative_louisiana_medmal": ("clrd", "CumPaidLoss", ("Louisiana Med Mut Ins Co", "medmal")),
}


def export(cl) -> None:
    """Each triangle as a wide CSV; a cell inside the observed region that chainladder holds as NaN is a zero
    (in CLRD every cell of the upper triangle was reported), except, outside CLRD, the leading gap of an origin
    (ages before its data start: XYZ's oldest years), which stays empty."""
    for name, (sample, column, key) in TRIANGLES.items():
        tri = cl.load_sample(sample)
        if key is not None:
            tri = tri.loc[key]
        tri = tri[column]
        values = tri.values[0, 0]
        n_origin, n_dev = values.shape
        region = np.add.outer(np.arange(n_origin), np.arange(n_dev)) <= n_dev - 1 if n_origin == n_dev else \
            ~np.isnan(values)
        cells = np.where(region, values, np.nan)
        for r in range(n_origin):
            seen = np.flatnonzero(~np.isnan(cells[r]))
            if key is not None:  # CLRD: every cell of the region was reported (Schedule P), a missing one is 0
                cells[r, region[r]] = np.nan_to_num(cells[r, region[r]])
            elif seen.size:  # zeros inside the row's observed span; before its first value: not observed
                span = np.arange(seen[0], n_dev)
                inside = span[region[r, span]]
                cells[r, inside] = np.nan_to_num(cells[r, inside])
        frame = pd.DataFrame(cells, index=pd.Index(tri.origin.year, name="origin"),
                             columns=[str(int(a)) for a in tri.development])
        frame.to_csv(OUT / f"{name}.csv", float_format="%.10g")


def read(cl, path: Path):
    """The CSV back as a cumulative cl.Triangle (origin years, development in months)."""
    wide = pd.read_csv(path, index_col="origin")
    long = wide.stack().dropna().rename("values").reset_index()  # pandas 3 keeps NaN in stack
    long.columns = ["origin", "age", "values"]
    long["development"] = long["origin"] + long["age"].astype(int) // 12 - 1  # the valuation year, as raa.csv
    return cl.Triangle(long[["origin", "development", "values"]], origin="origin", development="development",
                       columns=["values"], cumulative=True)


def _vec(x) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(x, dtype=float).ravel()]


def reference(cl) -> dict:
    out: dict = {"chainladder": cl.__version__, "numpy": np.__version__, "triangles": {}}
    for name in TRIANGLES:
        tri = read(cl, OUT / f"{name}.csv")
        entry = {}
        for sigma in ("mack", "log-linear"):
            dev = cl.Development(sigma_interpolation=sigma).fit(tri)
            mack = cl.MackChainladder().fit(dev.transform(tri))
            entry[sigma] = {
                "ldf": _vec(dev.ldf_.values[0, 0, 0]), "sigma": _vec(dev.sigma_.values[0, 0, 0]),
                "ultimate": _vec(mack.ultimate_.values[0, 0, :, -1]), "ibnr": _vec(mack.ibnr_.values[0, 0, :, -1]),
                "mack_se": _vec(mack.summary_.values[0, 0, :, 3]),
                "mack_se_total": float(np.asarray(mack.total_mack_std_err_.values).ravel()[0]),
            }
        dev = cl.Development().fit_transform(tri)
        tail = cl.TailCurve(curve="exponential").fit(dev)
        cltail = cl.Chainladder().fit(tail.transform(dev))
        beyond = tail.ldf_.values[0, 0, 0, tri.shape[-1] - 1:]  # the factors beyond the last observed age
        entry["tail_exponential"] = {"ldf": _vec(tail.ldf_.values[0, 0, 0]), "tail": float(np.prod(beyond)),
                                     "ultimate": _vec(cltail.ultimate_.values[0, 0, :, -1])}
        out["triangles"][name] = entry
    return out


def main() -> int:
    import chainladder as cl

    warnings.filterwarnings("ignore")
    OUT.mkdir(parents=True, exist_ok=True)
    if "--no-export" not in sys.argv:
        export(cl)
    (OUT / "reference.json").write_text(json.dumps(reference(cl), indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
