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
* predictive parity: one positive predictive value v; each group walks its
  thresholds from "everyone" to "one bin" and takes the best crossing of v
  (a mixture of two adjacent thresholds: PPV is a ratio, so mixing two
  thresholds reaches every PPV between theirs); v is chosen on a grid.
* reject-option classification (Kamiran, Karim and Zhang, 2012): around a
  classification threshold c, rows with scores in [c - m, c + m] get the
  favourable decision in deprived groups and the unfavourable one in
  favoured groups; (c, m) is the best pair on a grid whose disparity is
  within a bound. Deterministic, and only approximately fair.

The objective is accuracy, or balanced accuracy; both are linear in each
group's true and false positives, which is what keeps every search a sweep
over cumulative counts.

A fitted rule is, per group, a list of (threshold bin, probability) pairs:
P(positive | bin b) = sum of the probabilities of the thresholds at or below b.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from assay._errors import ConfigError, DataError
from assay.mitigate._groups import group_codes, known_group_codes

__all__ = ["CONSTRAINTS", "OBJECTIVES", "GroupThresholds", "fit_group_thresholds", "fit_reject_option"]

CONSTRAINTS = ("demographic_parity", "equalized_odds", "true_positive_rate_parity", "predictive_parity")
OBJECTIVES = ("accuracy", "balanced_accuracy")


@dataclass
class GroupThresholds:
    """Fitted per-group randomised thresholds over shared score bins."""

    edges: np.ndarray  # bin b holds scores in [edges[b-1], edges[b]) ... searchsorted(edges, s, "right")
    groups: list[Any]
    rules: list[list[tuple[int, float]]]  # per group: (threshold bin k, probability)
    constraint: str
    operating_point: dict[str, float]
    accuracy: float  # on the data it was fitted on (expected, over the randomisation)
    objective: str = "accuracy"
    objective_value: float = float("nan")  # expected, on the data it was fitted on
    group_rates: dict[str, dict[str, float | None]] | None = None  # expected selection rate, TPR, FPR, PPV per group on the fit data

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: the rule per group in score units, the operating point and the fitted rates."""
        lows = np.r_[-np.inf, self.edges]  # rule k = 0 is everyone
        return {
            "constraint": self.constraint,
            "objective": self.objective,
            "objective_value": self.objective_value,
            "accuracy": self.accuracy,
            "operating_point": self.operating_point,
            "rules": {g: [{"positive_when_score_at_least": (None if k == 0 else (None if k >= len(lows) else float(lows[k]))),
                           "nobody": bool(k >= len(lows)), "probability": p} for k, p in rule]
                      for g, rule in zip(self.groups, self.rules)},
            "group_rates": self.group_rates,
        }  # fmt: skip

    def positive_probability(self, score: Any, group: Any) -> np.ndarray:
        """P(predicted positive) for each row under the fitted rule."""
        s = np.asarray(score, dtype=np.float64)
        codes = known_group_codes(group, self.groups, len(s))
        b = np.searchsorted(self.edges, s, side="right")
        nb = len(self.edges) + 1
        step = np.zeros((len(self.groups), nb + 1))  # P(positive | group, bin) = running sum of the rule's probabilities up to the bin
        for g, rule in enumerate(self.rules):
            for k, p in rule:
                step[g, k] += p
        table = np.clip(np.cumsum(step, axis=1), 0.0, 1.0)
        return np.asarray(table[codes, b])

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
        s = np.asarray(score, dtype=np.float64)
        codes = known_group_codes(group, self.groups, len(s))
        for g in range(len(self.groups)):
            rows = np.flatnonzero(codes == g)
            order = rows[np.lexsort((rng.random(len(rows)), s[rows]))]  # by score, ties in random order
            run = np.cumsum(p[order]) + rng.random()
            taken = np.diff(np.floor(np.r_[run[0] - p[order][0], run]))
            out[order] = (taken > 0).astype(int)
        return out


@dataclass
class _Tensor:
    """The (group, score bin, label) count tensor and its cumulative sums over thresholds."""

    edges: np.ndarray
    lows: np.ndarray  # lowest score each bin can hold
    groups: list[str]
    tp: np.ndarray  # (groups, bins + 1): weight of positives at or above threshold k; k = bins predicts nobody
    fp: np.ndarray
    gain: tuple[float, float]  # objective = gain[0] * TP - gain[1] * FP + constant
    score_range: tuple[float, float]  # of the rows with positive weight

    @property
    def P(self) -> np.ndarray:
        return self.tp[:, 0]

    @property
    def N(self) -> np.ndarray:
        return self.fp[:, 0]

    def finish(self, rules: list[list[tuple[int, float]]], constraint: str, objective: str, point: dict[str, float]) -> GroupThresholds:
        """Expected accuracy, objective and per-group rates of ``rules`` on the fit data."""
        tp = np.array([sum(p * self.tp[i, k] for k, p in rule) for i, rule in enumerate(rules)])
        fp = np.array([sum(p * self.fp[i, k] for k, p in rule) for i, rule in enumerate(rules)])
        total = float((self.P + self.N).sum())
        accuracy = float((tp.sum() + (self.N - fp).sum()) / total)
        value = accuracy if objective == "accuracy" else float(0.5 * tp.sum() / self.P.sum() + 0.5 * (1 - fp.sum() / self.N.sum()))
        with np.errstate(divide="ignore", invalid="ignore"):
            rates = {g: {"selection_rate": float((tp[i] + fp[i]) / (self.P[i] + self.N[i])), "true_positive_rate": float(tp[i] / self.P[i]),
                         "false_positive_rate": float(fp[i] / self.N[i]),
                         "positive_predictive_value": (float(tp[i] / (tp[i] + fp[i])) if tp[i] + fp[i] > 0 else None),
                         "size": float(self.P[i] + self.N[i])}
                     for i, g in enumerate(self.groups)}  # fmt: skip
        return GroupThresholds(self.edges, self.groups, rules, constraint, point, accuracy, objective, value, rates)


def _tensor(score: Any, y: Any, sensitive_features: Any, sample_weight: Any, max_bins: int, objective: str) -> _Tensor:
    if objective not in OBJECTIVES:
        raise ConfigError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    s = np.asarray(score, dtype=np.float64).reshape(-1)
    yv = np.asarray(y).reshape(-1)
    if yv.dtype != bool:
        values = set(np.unique(yv).tolist())
        if not values <= {0, 1}:
            raise DataError(f"y must be binary (0/1 or booleans), got values {sorted(values, key=str)[:5]}")
    yv = yv.astype(bool)
    if len(s) != len(yv):
        raise DataError(f"the scores have {len(s)} rows and y has {len(yv)}; they must describe the same rows")
    if not np.isfinite(s).all():
        raise DataError(f"the scores must be finite numbers; {int((~np.isfinite(s)).sum())} are not")
    g, groups = group_codes(sensitive_features, len(s))
    w = np.ones(len(s)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if len(w) != len(s) or not np.isfinite(w).all() or (w < 0).any():
        raise DataError(f"sample_weight must hold one finite weight >= 0 per row ({len(s)} rows)")
    distinct = np.unique(s)
    edges = distinct[1:] if len(distinct) <= max_bins else np.unique(np.quantile(s, np.linspace(0, 1, max_bins + 1)[1:-1]))
    b = np.searchsorted(edges, s, side="right")  # bin 0 .. len(edges)
    nb = len(edges) + 1
    pos = np.bincount(g * nb + b, weights=w * yv, minlength=len(groups) * nb).reshape(len(groups), nb)  # the (group, bin, label) tensor
    neg = np.bincount(g * nb + b, weights=w * ~yv, minlength=len(groups) * nb).reshape(len(groups), nb)
    tp = np.concatenate([np.cumsum(pos[:, ::-1], axis=1)[:, ::-1], np.zeros((len(groups), 1))], axis=1)
    fp = np.concatenate([np.cumsum(neg[:, ::-1], axis=1)[:, ::-1], np.zeros((len(groups), 1))], axis=1)
    P, N = tp[:, 0], fp[:, 0]
    if (P == 0).any() or (N == 0).any():
        empty = [groups[i] for i in np.flatnonzero((P == 0) | (N == 0))]
        raise DataError(f"group(s) {', '.join(map(repr, empty))} have only one class in y; their rates are undefined, so no threshold can equalise them")
    gain = (1.0, 1.0) if objective == "accuracy" else (0.5 / P.sum(), 0.5 / N.sum())
    weighted = s[w > 0]
    return _Tensor(edges, np.r_[s.min(), edges], groups, tp, fp, gain, (float(weighted.min()), float(weighted.max())))


def fit_group_thresholds(score: Any, y: Any, sensitive_features: Any, *, constraint: str = "demographic_parity", objective: str = "accuracy",
                         sample_weight: Any = None, max_bins: int = 4096, grid: int = 2001) -> GroupThresholds:  # fmt: skip
    """Thresholds per group that maximise ``objective`` with ``constraint`` holding exactly (in expectation).

    ``sensitive_features``: one column, or several (a DataFrame: their
    combinations are the groups). ``constraint``: demographic_parity,
    equalized_odds, true_positive_rate_parity (equal opportunity) or
    predictive_parity. ``objective``: accuracy or balanced_accuracy.

    Examples
    --------
    >>> th = fit_group_thresholds([.1, .4, .6, .9, .2, .3, .7, .8], [0, 0, 1, 1, 0, 1, 0, 1], list("aaaabbbb"))
    >>> th.group_rates["a"]["selection_rate"] == th.group_rates["b"]["selection_rate"]
    True
    """
    if constraint not in CONSTRAINTS:
        raise ConfigError(f"constraint must be one of {', '.join(CONSTRAINTS)}, got {constraint!r}")
    t = _tensor(score, y, sensitive_features, sample_weight, max_bins, objective)
    if constraint == "demographic_parity":
        rules, point = _parity(t, grid)
    elif constraint == "predictive_parity":
        rules, point = _predictive_parity(t, grid)
    else:
        rules, point = _roc(t, grid, constraint)
    return t.finish(rules, constraint, objective, point)


def _mix(k_hi: int, k_lo: int, t: float) -> list[tuple[int, float]]:
    """Threshold k_hi with probability t, else k_lo (k_hi < k_lo selects more)."""
    return [(int(k), float(p)) for k, p in ((k_hi, t), (k_lo, 1.0 - t)) if p > 1e-15]


Rules = list[list[tuple[int, float]]]


def _parity(t: _Tensor, grid: int) -> tuple[Rules, dict[str, float]]:
    tp, fp, P, N = t.tp, t.fp, t.P, t.N
    sel = (tp + fp) / (P + N)[:, None]  # decreasing in k
    rates = np.linspace(0.0, 1.0, grid)
    value = np.zeros(grid)
    for i in range(len(P)):
        tp_at = np.interp(rates, sel[i, ::-1], tp[i, ::-1])
        fp_at = np.interp(rates, sel[i, ::-1], fp[i, ::-1])
        value += t.gain[0] * tp_at - t.gain[1] * fp_at
    r = float(rates[int(np.argmax(value))])
    rules = []
    for i in range(len(P)):
        k = int(np.searchsorted(-sel[i], -r, side="right")) - 1  # last k with sel >= r
        k = min(max(k, 0), sel.shape[1] - 1)
        if k + 1 >= sel.shape[1] or sel[i, k] == sel[i, k + 1]:
            rules.append([(k, 1.0)])
            continue
        mix = (r - sel[i, k + 1]) / (sel[i, k] - sel[i, k + 1])
        rules.append(_mix(k, k + 1, float(mix)))
    return rules, {"selection_rate": r}


def _predictive_parity(t: _Tensor, grid: int, chunk: int = 128) -> tuple[Rules, dict[str, float]]:
    """A common PPV v; per group the best mixture of two adjacent thresholds whose PPV is v."""
    tp, fp = t.tp[:, :-1], t.fp[:, :-1]  # "nobody" has no PPV
    u = t.gain[0] * tp - t.gain[1] * fp
    vs = np.linspace(0.0, 1.0, grid)
    best_u = np.full((len(t.groups), grid), -np.inf)
    best_k = np.zeros((len(t.groups), grid), dtype=np.int64)
    for i in range(len(t.groups)):
        for lo in range(0, grid, chunk):
            grid_v = vs[lo : lo + chunk, None]
            d = tp[i] - grid_v * (tp[i] + fp[i])  # > 0 where PPV > v
            a, b = d[:, :-1], d[:, 1:]
            cross = (a * b <= 0) & ((a != 0) | (b != 0))
            with np.errstate(divide="ignore", invalid="ignore"):
                mix = np.where(cross, b / (b - a), 0.0)  # weight of threshold k in the mixture with k + 1
            val = np.where(cross, mix * u[i, :-1] + (1 - mix) * u[i, 1:], -np.inf)
            k = np.argmax(val, axis=1)
            best_u[i, lo : lo + chunk] = val[np.arange(len(k)), k]
            best_k[i, lo : lo + chunk] = k
    total = best_u.sum(axis=0)
    if not np.isfinite(total).any():
        raise DataError("no common positive predictive value is reachable by every group with these scores")
    j = int(np.argmax(total))
    v = float(vs[j])
    rules = []
    for i in range(len(t.groups)):
        k = int(best_k[i, j])
        d_k = float(tp[i, k] - v * (tp[i, k] + fp[i, k]))
        d_next = float(tp[i, k + 1] - v * (tp[i, k + 1] + fp[i, k + 1]))
        rules.append(_mix(k, k + 1, d_next / (d_next - d_k)))
    return rules, {"positive_predictive_value": v}


def fit_reject_option(score: Any, y: Any, sensitive_features: Any, *, constraint: str = "demographic_parity", bound: float = 0.05,
                      objective: str = "accuracy", favoured: Any = None, sample_weight: Any = None, max_bins: int = 4096,
                      thresholds: int = 101, margins: int = 51) -> GroupThresholds:  # fmt: skip
    """Reject-option classification: flip the decisions near the threshold in favour of deprived groups.

    Searches ``thresholds`` classification thresholds c (evenly over the
    score range) and ``margins`` critical-region half-widths m; rows with a
    score in [c - m, c + m] are positive in deprived groups and negative in
    favoured ones, other rows are positive when score > c. Among the pairs
    whose disparity (largest difference between groups of the constraint's
    rates) is at most ``bound``, the one with the best ``objective`` wins;
    when none is, the pair with the smallest disparity, and
    ``operating_point["bound_met"]`` is 0. ``favoured``: the favoured groups
    (names); by default, at each c, the groups whose selection rate under
    "score > c" is at least the overall rate.
    """
    if constraint not in CONSTRAINTS[:3]:
        raise ConfigError(f"constraint must be one of {', '.join(CONSTRAINTS[:3])} for reject-option classification, got {constraint!r}")
    if not 0 <= bound <= 1:
        raise ConfigError(f"bound must be between 0 and 1, got {bound!r}")
    t = _tensor(score, y, sensitive_features, sample_weight, max_bins, objective)
    if favoured is not None:
        unknown = sorted(set(map(str, favoured)) - set(t.groups))
        if unknown:
            raise ConfigError(f"favoured group(s) {', '.join(map(repr, unknown))} are not among the groups: {', '.join(t.groups)}")
        fav_fixed = np.array([g in set(map(str, favoured)) for g in t.groups])
    s_min, s_max = t.score_range
    size, P, N = t.P + t.N, t.P, t.N
    best: tuple[float, float, float, float, np.ndarray] | None = None  # (met, value or -disparity, c, m, ks)
    for c in np.linspace(s_min, s_max, thresholds):
        plain = np.searchsorted(t.lows, c, side="right")  # first bin whose scores are all > c (at bin resolution)
        plain = min(plain, t.tp.shape[1] - 1)
        sel_plain = (t.tp[:, plain] + t.fp[:, plain]) / size
        fav = fav_fixed if favoured is not None else sel_plain >= sel_plain @ size / size.sum()
        for m in np.linspace(0.0, min(c - s_min, s_max - c), margins):
            k_dep = int(np.searchsorted(t.lows, c - m, side="left"))  # deprived: positive from c - m
            k_fav = min(int(np.searchsorted(t.lows, c + m, side="right")), t.tp.shape[1] - 1)  # favoured: positive above c + m
            ks = np.where(fav, k_fav, min(k_dep, t.tp.shape[1] - 1))
            tp, fp = t.tp[np.arange(len(ks)), ks], t.fp[np.arange(len(ks)), ks]
            rates = {"demographic_parity": [(tp + fp) / size], "true_positive_rate_parity": [tp / P],
                     "equalized_odds": [tp / P, fp / N]}[constraint]  # fmt: skip
            disparity = max(float(r.max() - r.min()) for r in rates)
            value = float(t.gain[0] * tp.sum() - t.gain[1] * fp.sum())
            met = disparity <= bound + 1e-12
            key = (float(met), value if met else -disparity)
            if best is None or key > best[:2]:
                best = (key[0], key[1], float(c), float(m), ks)
    assert best is not None
    rules: Rules = [[(int(k), 1.0)] for k in best[4]]
    fitted = t.finish(rules, constraint, objective, {"threshold": best[2], "margin": best[3], "bound": bound, "bound_met": best[0]})
    return fitted


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


def _roc(t: _Tensor, grid: int, constraint: str) -> tuple[Rules, dict[str, float]]:
    tp, fp, P, N = t.tp, t.fp, t.P, t.N
    tpr, fpr = tp / P[:, None], fp / N[:, None]
    hulls = [_hull(fpr[i], tpr[i]) for i in range(len(P))]
    xs = np.linspace(0.0, 1.0, grid)
    a, b = t.gain
    if constraint == "equalized_odds":
        top = np.min([np.interp(xs, fpr[i, h], tpr[i, h]) for i, h in enumerate(hulls)], axis=0)
        value = a * P.sum() * top - b * N.sum() * xs
        best = int(np.argmax(value))
        x, y = float(xs[best]), float(top[best])
        targets = [(x, y)] * len(P)
        point = {"false_positive_rate": x, "true_positive_rate": y}
    else:  # equal opportunity: a common TPR, each group at its lowest FPR for it
        ys = xs
        fx = np.array([np.interp(ys, tpr[i, h], fpr[i, h]) for i, h in enumerate(hulls)])  # hull is increasing in both
        value = a * P.sum() * ys - b * (N[:, None] * fx).sum(axis=0)
        best = int(np.argmax(value))
        y = float(ys[best])
        targets = [(float(fx[i, best]), y) for i in range(len(P))]
        point = {"true_positive_rate": y}
    rules = []
    for i, (x, y) in enumerate(targets):
        h = hulls[i]
        hx, hy = fpr[i, h], tpr[i, h]
        j = int(np.clip(np.searchsorted(hx, x, side="right") - 1, 0, len(h) - 2))
        mix = 0.0 if hx[j + 1] == hx[j] else (x - hx[j]) / (hx[j + 1] - hx[j])
        y_hull = hy[j] + mix * (hy[j + 1] - hy[j])
        # (x, y_hull) mixes hull vertices j (weight 1 - mix) and j + 1 (weight mix); lower y by mixing with the diagonal point (x, x)
        lam = 1.0 if y_hull - x <= 1e-15 else float(np.clip((y - x) / (y_hull - x), 0.0, 1.0))
        rule = [(int(h[j]), lam * (1 - mix)), (int(h[j + 1]), lam * mix), (0, (1 - lam) * x), (tp.shape[1] - 1, (1 - lam) * (1 - x))]
        merged: dict[int, float] = {}
        for k, p in rule:
            if p > 1e-15:
                merged[k] = merged.get(k, 0.0) + p
        rules.append(sorted(merged.items()))
    return rules, point
