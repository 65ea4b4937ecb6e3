"""Quasi-identifier risk: k-anonymity, l-diversity and t-closeness from one aggregation over the chosen columns, with the rows
at risk per group.

Rows that share every quasi-identifier value form an equivalence class (a missing value is a value). **k** is the size of the
smallest class; a row is at risk when its class has fewer than ``k_min`` rows (someone who knows those values narrows the row
down to fewer than ``k_min`` people). For each sensitive column, **l** is the fewest distinct sensitive values in a class
(distinct l-diversity) and **t** the largest distance between a class's distribution of the sensitive values and the whole
table's: the earth mover's distance over the sorted values for numbers (the sum of |cumulative differences| over the m
distinct values, divided by m - 1), the total variation for categories (half the sum of |differences|): the definitions of
Li, Li and Venkatasubramanian (2007) as pycanon computes them. Over several sensitive columns, l is the smallest and t the
largest. Per group of a facet: the rows, the rows at risk and their share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay._errors import ConfigError, DataError, did_you_mean

__all__ = ["Anonymity", "anonymity"]


@dataclass
class Anonymity:
    quasi_identifiers: list[str]
    sensitive: list[str]
    k: int
    l: int | None  # noqa: E741  (the measure's name)
    t: float | None
    by_sensitive: dict[str, dict[str, Any]]
    classes: int
    rows: int
    at_risk: int
    k_min: int
    by_group: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"quasi_identifiers": self.quasi_identifiers, "sensitive": self.sensitive, "k": self.k, "l": self.l, "t": self.t,
                "by_sensitive": self.by_sensitive, "classes": self.classes, "rows": self.rows, "at_risk": self.at_risk, "k_min": self.k_min,
                "by_group": self.by_group}  # fmt: skip


def anonymity(data: Any, quasi_identifiers: Sequence[str], sensitive: Sequence[str] = (), *, facets: Sequence[str] = (), k_min: int = 5) -> Anonymity:
    """k, l and t of ``data`` over ``quasi_identifiers`` (and ``sensitive`` columns), with the rows at risk by each facet's group."""
    frame = _frame(data)
    qi, sa = list(quasi_identifiers), list(sensitive)
    if not qi:
        raise ConfigError("give at least one quasi-identifier column")
    if isinstance(k_min, bool) or not isinstance(k_min, int) or k_min < 2:
        raise ConfigError(f"k_min must be a whole number of at least 2, got {k_min!r}")
    names = [str(c) for c in frame.columns]
    for role, cols in (("quasi-identifier", qi), ("sensitive", sa), ("facet", list(facets))):
        for c in cols:
            if c not in names:
                raise DataError(f"the data has no {role} column {c!r}.{did_you_mean(c, names)}")
    if not len(frame):
        raise DataError("the data has no rows")
    cls = frame.groupby(qi, dropna=False, sort=False).ngroup().to_numpy()
    sizes = np.bincount(cls)
    row_size = sizes[cls]
    by_sensitive = {c: _diversity(frame[c], cls, sizes) for c in sa}
    risk = row_size < k_min
    out = Anonymity(qi, sa, int(sizes.min()), min((v["l"] for v in by_sensitive.values()), default=None),
                    max((v["t"] for v in by_sensitive.values()), default=None), by_sensitive, int(len(sizes)), int(len(frame)), int(risk.sum()), k_min)  # fmt: skip
    for f in facets:
        out.by_group[f] = [{"group": str(g), "rows": int(m.sum()), "at_risk": int((risk & m).sum()), "share_at_risk": float((risk & m).sum() / m.sum()),
                            "smallest_class": int(row_size[m].min())}
                           for g, m in ((g, (frame[f].astype(str) == g).to_numpy()) for g in sorted(frame[f].astype(str).unique()))]  # fmt: skip
    return out


def _frame(data: Any) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    from assay._tabulate import as_frame

    return as_frame(data).collect().to_pandas()


def _diversity(col: Any, cls: np.ndarray, sizes: np.ndarray) -> dict[str, Any]:
    """l (distinct values in the least diverse class) and t (the largest distance of a class's distribution from the table's)."""
    import pandas as pd

    values, codes = np.unique(col.astype(str).to_numpy() if not pd.api.types.is_numeric_dtype(col) else col.to_numpy(), return_inverse=True)
    m = len(values)
    counts = np.zeros((len(sizes), m))
    np.add.at(counts, (cls, codes), 1.0)
    distinct = (counts > 0).sum(axis=1)
    q = counts / sizes[:, None]
    p = np.bincount(codes, minlength=m) / len(codes)
    r = q - p
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        dist = np.abs(np.cumsum(r, axis=1)).sum(axis=1) / (m - 1) if m > 1 else np.zeros(len(sizes))
        kind = "earth mover's distance over the ordered values"
    else:
        dist = 0.5 * np.abs(r).sum(axis=1)
        kind = "total variation (equal distance)"
    return {"l": int(distinct.min()), "t": float(dist.max()), "values": int(m), "distance": kind}
