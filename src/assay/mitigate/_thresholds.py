"""Group-specific (randomised) thresholds on a score, computed from per-group score histograms.

Each group's scores are counted into the same bins (every distinct score when
there are at most ``max_bins`` of them, else quantile bins), with positives
and negatives apart: the (group, bin, label) count tensor. A decision rule
"positive when the bin is at or above k" has, per group, cumulative counts
of true and false positives; randomising between two such thresholds reaches
every point between them, which is what makes exact equality possible.

* demographic parity: one selection rate s for all groups; each group's true
  positives at s are interpolated between its two bracketing thresholds; the
  s that maximises accuracy is chosen on a fine grid.
* equalized odds: each group's ROC points have an upper convex hull h_g;
  the common operating point (x, min_g h_g(x)) is reachable by every group
  (mixing its hull point with the diagonal, i.e. with "all" and "none"); the
  x that maximises accuracy is chosen (Hardt, Price and Srebro, 2016).
* equal opportunity: one true positive rate y; each group takes the lowest
  false positive rate at y on its hull.

A fitted rule is, per group, a list of (threshold bin, probability) pairs:
P(positive | bin b) = sum of the probabilities of the thresholds at or below b.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from assay._errors import ConfigError, DataError

__all__ = ["CONSTRAINTS", "GroupThresholds", "fit_group_thresholds"]

Constraint = Literal["demographic_parity", "equalized_odds", "true_positive_rate_parity"]
CONSTRAINTS = ("demographic_parity", "equalized_odds", "true_positive_rate_parity")


@dataclass
class GroupThresholds:
    """Fitted per-group randomised thresholds over shared score bins."""

    edges: np.ndarray  # bin b holds scores in [edges[b-1], edges[b]) ... searchsorted(edges, s, "right")
    groups: list[Any]
    rules: list[list[tuple[int, float]]]  # per group: (threshold bin k, probability)
    constraint: str
    operating_point: dict[str, float]
    accuracy: float  # on the data it was fitted on (expected, over the randomisation)

    def positive_probability(self, score: Any, group: Any) -> np.ndarray:
        """P(predicted positive) for each row under the fitted rule."""
        s = np.asarray(score, dtype=np.float64)
        codes = _codes(group, self.groups)
        b = np.searchsorted(self.edges, s, side="right")
        out = np.zeros(len(s))
        for g, rule in enumerate(self.rules):
            rows = codes == g
            for k, p in rule:
                out[rows] += p * (b[rows] >= k)
        return np.clip(out, 0.0, 1.0)

    def predict(self, score: Any, group: Any, *, random_state: int | np.random.Generator | None = 0,
                method: Literal["systematic", "independent"] = "systematic") -> np.ndarray:  # fmt: skip
        """Randomised decisions (0/1), reproducible for a given ``random_state``.

        Every row is positive with its probability either way. ``independent``
        flips one coin per row (as Fairlearn does). ``systematic`` (default)
        walks each group's rows in score order with one random start, taking a
        row whenever the running sum of probabilities passes an integer: the
        number of positives in every group and score range is then within one
        of its expectation, so the realised rates are as close to equal as the
        batch allows.
        """
        p = self.positive_probability(score, group)
        rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
        if method == "independent":
            return (rng.random(len(p)) < p).astype(int)
        if method != "systematic":
            raise ConfigError(f"method must be systematic or independent, got {method!r}")
        out = np.zeros(len(p), dtype=int)
        codes = _codes(group, self.groups)
        s = np.asarray(score, dtype=np.float64)
        for g in range(len(self.groups)):
            rows = np.flatnonzero(codes == g)
            order = rows[np.lexsort((rng.random(len(rows)), s[rows]))]  # by score, ties in random order
            run = np.cumsum(p[order]) + rng.random()
            taken = np.diff(np.floor(np.r_[run[0] - p[order][0], run]))
            out[order] = (taken > 0).astype(int)
        return out


def _codes(group: Any, known: list[Any]) -> np.ndarray:
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(group, dtype=object))
    index = {str(v): i for i, v in enumerate(known)}
    names = [str(u) for u in uniques]
    unknown = sorted(set(names) - set(index))
    if unknown or (codes < 0).any():
        shown = ", ".join(map(repr, unknown[:5])) or "missing"
        raise DataError(f"group value(s) {shown} were not seen when the thresholds were fitted; fitted groups: {', '.join(map(str, known))}")
    return np.array([index[n] for n in names], dtype=np.int64)[codes]


def fit_group_thresholds(score: Any, y: Any, group: Any, *, constraint: str = "demographic_parity", sample_weight: Any = None,
                         max_bins: int = 4096, grid: int = 2001) -> GroupThresholds:  # fmt: skip
    """Fit thresholds that maximise accuracy subject to ``constraint`` holding exactly (in expectation)."""
    import pandas as pd

    if constraint not in CONSTRAINTS:
        raise ConfigError(f"constraint must be one of {', '.join(CONSTRAINTS)}, got {constraint!r}")
    s = np.asarray(score, dtype=np.float64)
    yv = np.asarray(y)
    if yv.dtype != bool:
        values = set(np.unique(yv).tolist())
        if not values <= {0, 1}:
            raise DataError(f"y must be binary (0/1 or booleans), got values {sorted(values)[:5]}")
    yv = yv.astype(bool)
    if not (len(s) == len(yv) == len(np.asarray(group, dtype=object))):
        raise DataError("score, y and the groups must have the same number of rows")
    if not np.isfinite(s).all():
        raise DataError("the scores must be finite numbers")
    w = np.ones(len(s)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    codes, uniques = pd.factorize(np.asarray(group, dtype=object), sort=True)  # hashing, not string conversion of every row
    if (codes < 0).any():
        raise DataError(f"the groups have {int((codes < 0).sum())} missing values; give every row a group (a missing value can be its own category)")
    groups = [str(u) for u in uniques]
    g = codes
    distinct = np.unique(s)
    edges = distinct[1:] if len(distinct) <= max_bins else np.unique(np.quantile(s, np.linspace(0, 1, max_bins + 1)[1:-1]))
    b = np.searchsorted(edges, s, side="right")  # bin 0 .. len(edges)
    nb = len(edges) + 1
    pos = np.bincount(g * nb + b, weights=w * yv, minlength=len(groups) * nb).reshape(len(groups), nb)  # the (group, bin, label) tensor
    neg = np.bincount(g * nb + b, weights=w * ~yv, minlength=len(groups) * nb).reshape(len(groups), nb)
    # threshold k predicts positive for bins >= k; k = 0 .. nb (nb: nobody)
    tp = np.concatenate([np.cumsum(pos[:, ::-1], axis=1)[:, ::-1], np.zeros((len(groups), 1))], axis=1)
    fp = np.concatenate([np.cumsum(neg[:, ::-1], axis=1)[:, ::-1], np.zeros((len(groups), 1))], axis=1)
    P, N = tp[:, 0], fp[:, 0]
    total = float((P + N).sum())
    if (P == 0).any() or (N == 0).any():
        empty = [groups[i] for i in np.flatnonzero((P == 0) | (N == 0))]
        raise DataError(f"group(s) {', '.join(map(repr, empty))} have only one class in y; their rates are undefined, so no threshold can equalise them")
    if constraint == "demographic_parity":
        rules, point, acc = _parity(tp, fp, P, N, total, grid)
    else:
        rules, point, acc = _roc(tp, fp, P, N, total, grid, constraint)
    return GroupThresholds(edges, groups, rules, constraint, point, acc)


def _mix(k_hi: int, k_lo: int, t: float) -> list[tuple[int, float]]:
    """Threshold k_hi with probability t, else k_lo (k_hi < k_lo selects more)."""
    return [(int(k), float(p)) for k, p in ((k_hi, t), (k_lo, 1.0 - t)) if p > 1e-15]


def _parity(tp: np.ndarray, fp: np.ndarray, P: np.ndarray, N: np.ndarray, total: float, grid: int) -> tuple[list[list[tuple[int, float]]], dict[str, float], float]:
    sel = (tp + fp) / (P + N)[:, None]  # decreasing in k
    rates = np.linspace(0.0, 1.0, grid)
    acc = np.zeros(grid)
    for i in range(len(P)):
        tp_at = np.interp(rates, sel[i, ::-1], tp[i, ::-1])
        fp_at = np.interp(rates, sel[i, ::-1], fp[i, ::-1])
        acc += tp_at + (N[i] - fp_at)
    best = int(np.argmax(acc))
    r = float(rates[best])
    rules = []
    for i in range(len(P)):
        k = int(np.searchsorted(-sel[i], -r, side="right")) - 1  # last k with sel >= r
        k = min(max(k, 0), sel.shape[1] - 1)
        if k + 1 >= sel.shape[1] or sel[i, k] == sel[i, k + 1]:
            rules.append([(k, 1.0)])
            continue
        t = (r - sel[i, k + 1]) / (sel[i, k] - sel[i, k + 1])
        rules.append(_mix(k, k + 1, float(t)))
    return rules, {"selection_rate": r}, float(acc[best] / total)


def _hull(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the upper convex hull of points sorted by x (then y), from (0, 0) to (1, 1)."""
    order = np.lexsort((y, x))
    hull: list[int] = []
    for i in order:
        while len(hull) >= 2:
            a, b_ = hull[-2], hull[-1]
            if (x[b_] - x[a]) * (y[i] - y[a]) - (y[b_] - y[a]) * (x[i] - x[a]) >= 0:  # b is not above the chord a-i
                hull.pop()
            else:
                break
        hull.append(int(i))
    return np.array(hull)


def _roc(tp: np.ndarray, fp: np.ndarray, P: np.ndarray, N: np.ndarray, total: float, grid: int,
         constraint: str) -> tuple[list[list[tuple[int, float]]], dict[str, float], float]:  # fmt: skip
    tpr, fpr = tp / P[:, None], fp / N[:, None]
    hulls = [_hull(fpr[i], tpr[i]) for i in range(len(P))]
    xs = np.linspace(0.0, 1.0, grid)
    if constraint == "equalized_odds":
        top = np.min([np.interp(xs, fpr[i, h], tpr[i, h]) for i, h in enumerate(hulls)], axis=0)
        acc = (P.sum() * top + N.sum() * (1 - xs))
        best = int(np.argmax(acc))
        x, y = float(xs[best]), float(top[best])
        targets = [(x, y)] * len(P)
        point = {"false_positive_rate": x, "true_positive_rate": y}
    else:  # equal opportunity: a common TPR, each group at its lowest FPR for it
        ys = xs
        fx = np.array([np.interp(ys, tpr[i, h], fpr[i, h]) for i, h in enumerate(hulls)])  # hull is increasing in both
        acc = (P.sum() * ys + (N[:, None] * (1 - fx)).sum(axis=0))
        best = int(np.argmax(acc))
        y = float(ys[best])
        targets = [(float(fx[i, best]), y) for i in range(len(P))]
        point = {"true_positive_rate": y}
    rules = []
    for i, (x, y) in enumerate(targets):
        h = hulls[i]
        hx, hy = fpr[i, h], tpr[i, h]
        j = int(np.clip(np.searchsorted(hx, x, side="right") - 1, 0, len(h) - 2))
        t = 0.0 if hx[j + 1] == hx[j] else (x - hx[j]) / (hx[j + 1] - hx[j])
        y_hull = hy[j] + t * (hy[j + 1] - hy[j])
        # (x, y_hull) mixes hull vertices j (weight 1 - t) and j + 1 (weight t); lower y by mixing with the diagonal point (x, x)
        lam = 1.0 if y_hull - x <= 1e-15 else float(np.clip((y - x) / (y_hull - x), 0.0, 1.0))
        rule = [(int(h[j]), lam * (1 - t)), (int(h[j + 1]), lam * t), (0, (1 - lam) * x), (tp.shape[1] - 1, (1 - lam) * (1 - x))]
        merged: dict[int, float] = {}
        for k, p in rule:
            if p > 1e-15:
                merged[k] = merged.get(k, 0.0) + p
        rules.append(sorted(merged.items()))
    return rules, point, float(acc[best] / total)
