"""FlipTest by optimal transport (Black, Yeom and Fredrikson 2020), beside the nearest-neighbour FlipTest of Clarify.

The counterpart of a member of group d in the other group a is where an optimal transport plan between the two groups
sends it: the plan (POT's exact earth mover's solver, squared Euclidean cost on the standardised, one-hot encoded features)
moves the rows of d onto the rows of a as cheaply as possible as a whole, so a row at the 90th percentile of d is matched
to the 90th percentile of a when the groups are shifted, where the nearest neighbour matches it to whoever in a has the
same raw values. A row's counterfactual decision is the plan-weighted share of positive decisions among its counterparts
(positive above one half). F+ are the rows of d with a negative decision whose counterpart's is positive, F- the reverse;
FT = (|F+| - |F-|) / n_d, as Clarify's FT (positive: d is disfavoured). Each share has Wilson's interval, FT the normal
interval of the mean flip. The flipset's profile says which features its counterparts differ in: the mean difference
(counterpart minus row, in standard deviations) of each number, and for a category the share whose counterpart has
another value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

from assay.bias._fliptest import design_matrix, nearest
from assay.stats import wilson_interval

__all__ = ["fliptest_ot", "transport_counterparts"]


def transport_counterparts(x_d: np.ndarray, x_a: np.ndarray) -> np.ndarray:
    """The optimal transport plan (n_d, n_a) between the rows of d and of a, each row of d carrying mass 1 / n_d."""
    from assay._optional import require

    ot = require("ot", feature="the FlipTest by optimal transport")
    cost = ot.dist(x_d, x_a, metric="sqeuclidean")
    plan = ot.emd(np.full(len(x_d), 1.0 / len(x_d)), np.full(len(x_a), 1.0 / len(x_a)), cost, numItermax=10_000_000)
    return np.asarray(plan) * len(x_d)  # each row sums to 1


def fliptest_ot(rows: Any, predicted: np.ndarray, *, facet: str, features: Sequence[str], max_rows: int = 2000, k: int = 5,
                confidence_level: float = 0.95, seed: int = 0) -> list[dict[str, Any]]:  # fmt: skip
    """For each value of ``facet`` as d against the rest as a: F+, F- and FT by optimal transport and by nearest neighbours."""
    rng = np.random.default_rng([seed, 37])
    groups = rows[facet].astype(str).to_numpy()
    feats = [c for c in features if c != facet]
    design, owner = design_matrix({c: rows[c].tolist() for c in feats}, rows=len(rows))
    out = []
    for g in sorted(set(groups)):
        d_all, a_all = np.flatnonzero(groups == g), np.flatnonzero(groups != g)
        if len(d_all) < 2 or len(a_all) < 2:
            out.append({"group": g, "rows_d": len(d_all), "rows_a": len(a_all), "reason": "fewer than 2 rows in d or in the rest"})
            continue
        d = np.sort(rng.choice(d_all, min(max_rows, len(d_all)), replace=False))
        a = np.sort(rng.choice(a_all, min(max_rows, len(a_all)), replace=False))
        plan = transport_counterparts(design[d], design[a])
        ot_share = plan @ predicted[a].astype(np.float64)
        kk = 1 if len(a) <= 9 else min(k, len(a))
        nn_share = predicted[a][nearest(design[d], design[a], kk)].mean(axis=1)
        entry: dict[str, Any] = {"group": g, "rows_d": int(len(d_all)), "rows_a": int(len(a_all)), "sampled_d": int(len(d)), "sampled_a": int(len(a))}
        own = predicted[d]
        entry["optimal_transport"] = _flips(own, ot_share > 0.5, confidence_level)
        entry["nearest_neighbours"] = _flips(own, nn_share > 0.5, confidence_level)
        flipped = own != (ot_share > 0.5)
        entry["optimal_transport"]["profile"] = _profile(design[d][flipped], (plan @ design[a])[flipped], owner)
        out.append(entry)
    return out


def _flips(own: np.ndarray, counter: np.ndarray, level: float) -> dict[str, Any]:
    n = len(own)
    plus, minus = int((counter & ~own).sum()), int((~counter & own).sum())
    flips = (counter & ~own).astype(float) - (~counter & own).astype(float)
    value = float(flips.mean())
    se = float(flips.std(ddof=1) / math.sqrt(n))
    z = NormalDist().inv_cdf(0.5 + level / 2)
    ft = {"value": value, "ci": [max(-1.0, value - z * se), min(1.0, value + z * se)],
          "p_value": (1.0 if value == 0 else 0.0) if se == 0 else math.erfc(abs(value / se) / math.sqrt(2))}  # fmt: skip
    return {"FT": ft, "F+": {"rows": plus, "share": plus / n, "ci": list(wilson_interval(plus, n, level))},
            "F-": {"rows": minus, "share": minus / n, "ci": list(wilson_interval(minus, n, level))}}  # fmt: skip


def _profile(own: np.ndarray, counterpart: np.ndarray, owner: dict[str, list[int]], top: int = 5) -> list[dict[str, Any]]:
    """The features the flipset's counterparts differ in most: numbers by the mean difference in standard deviations,
    categories by the share whose counterpart (its plan-weighted mix) is another value (total variation)."""
    if len(own) == 0:
        return []
    rows: list[dict[str, Any]] = []
    for feature, cols in owner.items():
        if not cols:
            continue
        diff = counterpart[:, cols] - own[:, cols]
        if len(cols) == 1:
            rows.append({"feature": feature, "kind": "number", "mean_difference_sd": float(diff.mean()), "size": abs(float(diff.mean()))})
        else:
            tv = float((np.abs(diff).sum(axis=1) / 2).mean())
            rows.append({"feature": feature, "kind": "category", "changed_share": tv, "size": tv})
    rows.sort(key=lambda r: -float(r["size"]))
    return [{k: v for k, v in r.items() if k != "size"} for r in rows[:top]]
