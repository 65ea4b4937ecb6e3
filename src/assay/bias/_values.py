"""Metrics that need more than counts: scores (AUC, calibration, Brier) and continuous values.

They use the count tensor's pattern with two more additive summaries, both
computed by GROUP BYs in the data's engine and both mergeable:

* **moments**: for every cell of the count tensor, the (weighted) sums of
  powers of the score (s, s^2, s^3, s^4), or, for a continuous label, of the
  label, the predicted value and the residual. Means, Brier scores, MAE and
  RMSE, and their variances, follow exactly.
* **histograms**: for every facet combination and label class, the weighted
  count of each distinct value (of the score, the label or the prediction),
  or of 2,000 equal-width bins when there are more distinct values than
  that. AUC with DeLong's variance, calibration tables and two-sample KS come
  from them: exact on distinct values, and within a stated bound on bins.

Intervals are analytic (DeLong for AUC, Welch for differences of means, the
normal approximation with Kish effective sizes for error measures), except
for KS, whose interval is a Poisson bootstrap over the histogram cells.
Signs follow the rest of the registry: a positive value means facet d is
disfavoured (a lower AUC, a larger error, lower outcomes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import narwhals as nw
import numpy as np

from assay._tabulate import CountTable, tabulate
from assay.bias._registry import MetricValue, register
from assay.stats import binned_auc, sup_interval

__all__ = ["MAX_BINS", "ValueInputs", "ValueContext"]

#: Distinct values up to which histograms are exact; above it, equal-width bins.
MAX_BINS = 2000
#: Equal-width bins of [0, 1] in the per-group calibration tables and ECE.
CALIBRATION_BINS = 10


# == what to summarise ==========================================================
@dataclass
class ValueInputs:
    """The columns whose values (not just classes) the audit uses."""

    score: str | None = None  # a probability column, for AUC / calibration / Brier
    label_value: str | None = None  # a continuous label
    prediction: str | None = None  # a continuous predicted value

    def sums(self) -> dict[str, nw.Expr]:
        """Additive per-cell sums for the count tensor's GROUP BY."""
        out: dict[str, nw.Expr] = {}
        if self.score is not None:
            s = nw.col(self.score).cast(nw.Float64)
            out |= {"s1": s, "s2": s * s, "s3": s * s * s, "s4": (s * s) * (s * s)}
        if self.label_value is not None:
            y = nw.col(self.label_value).cast(nw.Float64)
            out |= {"y1": y, "y2": y * y}
            if self.prediction is not None:
                p = nw.col(self.prediction).cast(nw.Float64)
                e = p - y
                out |= {"p1": p, "p2": p * p, "e1": e, "e2": e * e, "ae": e.abs(), "e4": (e * e) * (e * e)}
        return out


@dataclass
class Histogram:
    """A value's histogram by facet combination and label class (a :class:`CountTable` with key ``b``)."""

    table: CountTable
    exact: bool
    lo: float
    width: float
    column: str

    @classmethod
    def build(cls, frame: nw.LazyFrame[Any], keys: dict[str, nw.Expr], column: str, stats: dict[str, Any], *, weight: str | None, unit: bool) -> Histogram:
        b, exact, lo, width = cls.bins(column, stats, unit=unit)
        table = tabulate(frame, {**keys, "b": b}, weight=weight, sums={"v": nw.col(column).cast(nw.Float64)})
        return cls(table, exact, lo, width, column)

    @staticmethod
    def bins(column: str, stats: dict[str, Any], *, unit: bool) -> tuple[nw.Expr, bool, float, float]:
        """The bin of each value (key ``b``: the value itself when it has at most MAX_BINS distinct values), whether that is
        exact, and the bins' start and width."""
        v = nw.col(column).cast(nw.Float64)
        lo, hi = float(stats["min"]), float(stats["max"])
        exact = int(stats["n_unique"]) <= MAX_BINS
        if unit and 0 <= lo and hi <= 1:
            lo, hi = 0.0, 1.0  # bins that line up with the calibration bins
        width = (hi - lo) / MAX_BINS if hi > lo else 1.0
        return (v if exact else ((v - lo) / width).floor().clip(0, MAX_BINS - 1)), exact, lo, width

    def bin_values(self) -> np.ndarray:
        """A representative value for each level of ``b``: the value itself, or the bin's midpoint."""
        levels = np.asarray(self.table.levels["b"], dtype=np.float64)
        return levels if self.exact else self.lo + (levels + 0.5) * self.width


# == per-comparison context ======================================================
@dataclass
class GroupArrays:
    """Sums by group g (0 = a, 1 = d) and binary label y: each of shape (2, 2)."""

    w: np.ndarray
    w2: np.ndarray
    n: np.ndarray
    sums: dict[str, np.ndarray]

    def n_eff(self, g: int, y: int | None = None) -> float:
        w = self.w[g].sum() if y is None else self.w[g, y]
        w2 = self.w2[g].sum() if y is None else self.w2[g, y]
        return float(w * w / w2) if w2 > 0 else 0.0


@dataclass
class HistArrays:
    """A histogram split by group and binary label: arrays of shape (2, 2, B)."""

    w: np.ndarray
    n: np.ndarray
    v: np.ndarray  # weighted sum of the value in each bin
    values: np.ndarray  # (B,) representative value of each bin
    exact: bool
    width: float


@dataclass
class ValueContext:
    """What the score and regression metrics see for one comparison (d against the rest)."""

    kind: str  # "score" or "regression"
    groups: GroupArrays
    hists: dict[str, HistArrays]
    level: float
    replicates: int
    rng: np.random.Generator
    unit_scores: bool = True
    score_range: tuple[float, float] | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    # -- score summaries -------------------------------------------------------
    def auc(self, g: int) -> tuple[float, float, float] | None:
        """AUC of group g, DeLong's variance, and the bound on its error from ties within bins."""
        key = f"auc{g}"
        if key not in self.cache:
            self.cache[key] = _auc(self.hists["score"], self.groups, g)
        return self.cache[key]  # type: ignore[no-any-return]

    def brier(self, g: int) -> tuple[float, float] | None:
        gr, s = self.groups, self.groups.sums
        w = gr.w[g].sum()
        if w <= 0:
            return None
        w1 = gr.w[g, 1]
        e2 = s["s2"][g].sum() - 2 * s["s1"][g, 1] + w1
        e4 = s["s4"][g].sum() - 4 * s["s3"][g, 1] + 6 * s["s2"][g, 1] - 4 * s["s1"][g, 1] + w1
        mean = e2 / w
        return float(mean), _var_of_mean(e4 / w - mean * mean, gr.n_eff(g))

    def calibration_gap(self, g: int) -> tuple[float, float] | None:
        """Mean score minus positive rate of group g, and the variance of that mean."""
        gr = self.groups
        w = gr.w[g].sum()
        b = self.brier(g)
        if w <= 0 or b is None:
            return None
        gap = (gr.sums["s1"][g].sum() - gr.w[g, 1]) / w
        return float(gap), _var_of_mean(b[0] - gap * gap, gr.n_eff(g))

    def calibration_table(self, g: int) -> list[dict[str, Any]] | None:
        if not self.unit_scores:
            return None
        h = self.hists["score"]
        idx = np.minimum((h.values * CALIBRATION_BINS).astype(np.int64), CALIBRATION_BINS - 1)
        w = np.bincount(idx, weights=h.w[g].sum(axis=0), minlength=CALIBRATION_BINS)
        n = np.bincount(idx, weights=h.n[g].sum(axis=0), minlength=CALIBRATION_BINS)
        pos = np.bincount(idx, weights=h.w[g, 1], minlength=CALIBRATION_BINS)
        sv = np.bincount(idx, weights=h.v[g].sum(axis=0), minlength=CALIBRATION_BINS)
        rows = []
        for i in range(CALIBRATION_BINS):
            lo, hi = i / CALIBRATION_BINS, (i + 1) / CALIBRATION_BINS
            rows.append({
                "bin": f"[{lo:g}, {hi:g}{']' if i == CALIBRATION_BINS - 1 else ')'}",
                "rows": int(round(n[i])), "weight": float(w[i]),
                "mean_score": float(sv[i] / w[i]) if w[i] > 0 else None,
                "positive_rate": float(pos[i] / w[i]) if w[i] > 0 else None,
            })  # fmt: skip
        return rows

    def ece(self, g: int) -> float | None:
        table = self.calibration_table(g)
        if table is None:
            return None
        total = sum(r["weight"] for r in table)
        if total <= 0:
            return None
        return float(sum(r["weight"] / total * abs(r["mean_score"] - r["positive_rate"]) for r in table if r["weight"] > 0))

    # -- regression summaries ----------------------------------------------------
    def mean(self, name: str, g: int) -> tuple[float, float] | None:
        """Weighted mean of a regression sum (``y``, ``p``, ``e`` or ``ae``) in group g and its variance."""
        gr = self.groups
        w = gr.w[g].sum()
        if w <= 0:
            return None
        first = {"y": "y1", "p": "p1", "e": "e1", "ae": "ae"}[name]
        second = {"y": "y2", "p": "p2", "e": "e2", "ae": "e2"}[name]
        m = gr.sums[first][g].sum() / w
        return float(m), _var_of_mean(gr.sums[second][g].sum() / w - m * m, gr.n_eff(g))

    def rmse(self, g: int) -> tuple[float, float] | None:
        gr = self.groups
        w = gr.w[g].sum()
        if w <= 0:
            return None
        mse = gr.sums["e2"][g].sum() / w
        var_mse = _var_of_mean(gr.sums["e4"][g].sum() / w - mse * mse, gr.n_eff(g))
        rmse = math.sqrt(max(mse, 0.0))
        return rmse, (var_mse / (4 * mse) if mse > 0 else math.nan)  # delta method

    # -- per-group figures for the report ------------------------------------------
    def group_figures(self, stage: str) -> dict[str, dict[str, Any]] | None:
        out: dict[str, dict[str, Any]] = {}
        for name, g in (("d", 1), ("rest", 0)):
            fig: dict[str, Any] = {}
            if self.kind == "score" and stage == "post_training":
                auc = self.auc(g)
                fig["auc"] = auc[0] if auc else None
                fig["auc_ci"] = list(_normal_ci(auc[0], auc[1], self.level)) if auc else [None, None]
                if self.unit_scores:
                    b, gap = self.brier(g), self.calibration_gap(g)
                    fig["brier"] = b[0] if b else None
                    fig["calibration_gap"] = gap[0] if gap else None
                    fig["ece"] = self.ece(g)
                    fig["calibration"] = self.calibration_table(g)
            elif self.kind == "regression":
                fig["mean_label"] = _first(self.mean("y", g))
                if stage == "post_training" and "p1" in self.groups.sums:
                    fig["mean_prediction"] = _first(self.mean("p", g))
                    fig["mean_residual"] = _first(self.mean("e", g))
                    fig["mae"] = _first(self.mean("ae", g))
                    fig["rmse"] = _first(self.rmse(g))
            if fig:
                out[name] = fig
        return out or None


def build_context(
    kind: str,
    table: CountTable,
    d_mask: np.ndarray,
    positive_label: np.ndarray,
    hists: dict[str, Histogram],
    facet_keys: tuple[str, ...],
    *,
    level: float,
    replicates: int,
    rng: np.random.Generator,
    score_range: tuple[float, float] | None = None,
) -> ValueContext:
    """Split the moments and histograms of ``table`` into a (facet d, the rest) comparison."""
    y = positive_label[table.keys["y"]].astype(np.int64)
    idx = d_mask.astype(np.int64) * 2 + y

    def agg(x: np.ndarray) -> np.ndarray:
        return np.bincount(idx, weights=x, minlength=4).reshape(2, 2)

    groups = GroupArrays(agg(table.weight), agg(table.weight_sq), agg(table.count), {k: agg(v) for k, v in table.sums.items()})
    split = {name: _split_hist(h, table, d_mask, positive_label, facet_keys) for name, h in hists.items()}
    unit = score_range is None or (0.0 <= score_range[0] and score_range[1] <= 1.0)
    return ValueContext(kind, groups, split, level, replicates, rng, unit_scores=unit, score_range=score_range)


def _split_hist(h: Histogram, table: CountTable, d_mask: np.ndarray, positive_label: np.ndarray, facet_keys: tuple[str, ...]) -> HistArrays:
    ht = h.table
    # a facet combination is in d when the count tensor says so; match combinations by their values
    radix = [len(table.levels[k]) for k in facet_keys]
    main_code = np.zeros(table.n_cells, dtype=np.int64)
    hist_code = np.zeros(ht.n_cells, dtype=np.int64)
    for k, r in zip(facet_keys, radix, strict=True):
        position = {v: i for i, v in enumerate(table.levels[k])}
        remap = np.array([position[v] for v in ht.levels[k]], dtype=np.int64)
        main_code = main_code * r + table.keys[k]
        hist_code = hist_code * r + remap[ht.keys[k]]
    d = np.isin(hist_code, np.unique(main_code[d_mask & (table.count > 0)]))
    label_pos = {v: bool(p) for v, p in zip(table.levels["y"], positive_label, strict=True)}
    y = np.array([label_pos[v] for v in ht.levels["y"]], dtype=np.int64)[ht.keys["y"]]
    nb = len(ht.levels["b"])
    idx = (d.astype(np.int64) * 2 + y) * nb + ht.keys["b"]

    def agg(x: np.ndarray) -> np.ndarray:
        return np.bincount(idx, weights=x, minlength=4 * nb).reshape(2, 2, nb)

    return HistArrays(agg(ht.weight), agg(ht.count), agg(ht.sums["v"]), h.bin_values(), h.exact, h.width)


# == helpers =======================================================================
def _var_of_mean(var: float, n_eff: float) -> float:
    """Variance of a weighted mean: the (population) variance over n_eff - 1."""
    if n_eff <= 1:
        return math.nan
    return max(float(var), 0.0) / (n_eff - 1)


def _first(x: tuple[float, float] | None) -> float | None:
    return x[0] if x is not None else None


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def _normal_ci(value: float, var: float, level: float) -> tuple[float | None, float | None]:
    if not math.isfinite(var):
        return None, None
    half = _z(level) * math.sqrt(var)
    return value - half, value + half


def _auc(h: HistArrays, groups: GroupArrays, g: int) -> tuple[float, float, float] | None:
    h1, h0 = h.w[g, 1], h.w[g, 0]
    got = binned_auc(h1, h0, groups.n_eff(g, 1), groups.n_eff(g, 0))
    if got is None:
        return None
    ties = 0.0 if h.exact else float(0.5 * (h1 * h0).sum() / (h1.sum() * h0.sum()))
    return got[0], got[1], ties


def _difference(a: tuple[float, float] | None, d: tuple[float, float] | None, level: float, *, a_minus_d: bool, what: str, test: str) -> MetricValue:
    if a is None or d is None:
        side = "d" if d is None else "a (the rest)"
        return MetricValue(None, reason=f"{what} is undefined for facet {side}")
    value = a[0] - d[0] if a_minus_d else d[0] - a[0]
    var = a[1] + d[1]
    if not math.isfinite(var):
        return MetricValue(value, note="interval not computed: a group has fewer than two effective rows")
    lo, hi = _normal_ci(value, var, level)
    if var == 0:
        return MetricValue(value, (value, value), p_value=1.0 if value == 0 else 0.0, test=test)
    p = math.erfc(abs(value) / math.sqrt(2 * var))
    return MetricValue(value, (lo, hi), p_value=p, test=test)


def _welch(a: tuple[float, float] | None, d: tuple[float, float] | None, ctx: ValueContext, what: str, *, a_minus_d: bool = True) -> MetricValue:
    """a - d (or d - a) with Welch's t interval and test (effective sizes when weighted)."""
    if a is None or d is None:
        return MetricValue(None, reason=f"{what} is undefined: facet {'d' if d is None else 'a (the rest)'} is empty")
    from scipy.stats import t as student

    value = a[0] - d[0] if a_minus_d else d[0] - a[0]
    va, vd = a[1], d[1]
    if not (math.isfinite(va) and math.isfinite(vd)):
        return MetricValue(value, note="interval not computed: a group has fewer than two effective rows")
    var = va + vd
    if var == 0:
        return MetricValue(value, (value, value), p_value=1.0 if value == 0 else 0.0, test="Welch t-test (no variation)")
    na, nd = ctx.groups.n_eff(0), ctx.groups.n_eff(1)
    df = var**2 / ((va**2 / (na - 1) if va else 0.0) + (vd**2 / (nd - 1) if vd else 0.0))
    half = float(student.ppf(0.5 + ctx.level / 2, df)) * math.sqrt(var)
    p = float(2 * student.sf(abs(value) / math.sqrt(var), df))
    return MetricValue(value, (value - half, value + half), p_value=p, test="Welch t-test")


def _ks(ctx: ValueContext, name: str) -> MetricValue:
    """Two-sample Kolmogorov-Smirnov statistic between d's and a's values, from the histogram."""
    from scipy.stats import kstwo

    h = ctx.hists[name]
    wa, wd = h.w[0].sum(axis=0), h.w[1].sum(axis=0)
    if wa.sum() <= 0 or wd.sum() <= 0:
        return MetricValue(None, reason=f"facet {'d' if wd.sum() <= 0 else 'a (the rest)'} is empty")

    def gaps(a: np.ndarray, d: np.ndarray) -> np.ndarray:
        """F_a - F_d at each bin: the signed parts whose largest absolute value is the statistic."""
        ta, td = a.sum(axis=-1, keepdims=True), d.sum(axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.cumsum(a, axis=-1) / ta - np.cumsum(d, axis=-1) / td

    value = float(np.abs(gaps(wa, wd)).max())
    na, nd = ctx.groups.n_eff(0), ctx.groups.n_eff(1)
    en = na * nd / (na + nd)
    p = float(kstwo.sf(value, max(1, round(en))))
    ci: tuple[float | None, float | None] = (None, None)
    note = None
    if ctx.replicates:
        na_raw, nd_raw = h.n[0].sum(axis=0), h.n[1].sum(axis=0)
        mean_a = np.divide(wa, na_raw, out=np.zeros_like(wa), where=na_raw > 0)
        mean_d = np.divide(wd, nd_raw, out=np.zeros_like(wd), where=nd_raw > 0)
        ra = ctx.rng.poisson(na_raw, size=(ctx.replicates, na_raw.size)) * mean_a
        rd = ctx.rng.poisson(nd_raw, size=(ctx.replicates, nd_raw.size)) * mean_d
        lo, hi = sup_interval(gaps(wa, wd), gaps(ra, rd), ctx.level)
        if lo is not None and p > 1 - ctx.level:
            lo = 0.0  # where the test does not reject parity, neither does the interval
        ci = (lo, hi)
        note = (
            "interval: the largest gap's Poisson-bootstrap interval over the histogram, less the bootstrap's bias of a maximum; "
            "from 0 where the KS test does not reject parity"
        )
    if not h.exact:
        gap = float(max((wa / wa.sum()).max(), (wd / wd.sum()).max()))
        note = (note + "; " if note else "") + f"from a {MAX_BINS:,}-bin histogram: the exact statistic is at most {gap:.2g} higher"
    return MetricValue(value, ci, p_value=p, test="Kolmogorov-Smirnov (asymptotic, effective sizes)", note=note)


# == registered metrics =============================================================
_SCORE_KINDS = ("binary", "continuous")
_REF_SCORE = "Hanley and McNeil (1982); DeLong et al. (1988); Brier (1950)"


@register(
    "AUCD", "post_training", kind="evaluate", context="score", label_kinds=_SCORE_KINDS,
    description="Difference in AUC (AUCD)",
    formula="AUC_a - AUC_d, AUC = P(score of a positive > score of a negative) + P(tie) / 2, within each group",
    range=("-1", "1"), ideal="0", reference=_REF_SCORE, needs=("probability",),
    test_name="z-test with DeLong's variance",
)  # fmt: skip
def auc_difference(ctx: ValueContext) -> MetricValue:
    a, d = ctx.auc(0), ctx.auc(1)
    if a is None or d is None:
        side = "d" if d is None else "a (the rest)"
        return MetricValue(None, reason=f"AUC needs positive and negative labels in facet {side}")
    mv = _difference(a[:2], d[:2], ctx.level, a_minus_d=True, what="AUC", test="z-test with DeLong's variance")
    bound = a[2] + d[2]
    if bound > 0:
        mv.note = f"from a {MAX_BINS:,}-bin score histogram: exact to within {bound:.2g}"
    return mv


@register(
    "BSD", "post_training", kind="evaluate", context="score", label_kinds=_SCORE_KINDS,
    description="Difference in Brier score (BSD)",
    formula="B_d - B_a, B = mean((score - y)^2), y = 1 for the positive label",
    range=("-1", "1"), ideal="0", reference=_REF_SCORE, needs=("probability",),
    test_name="z-test",
)  # fmt: skip
def brier_difference(ctx: ValueContext) -> MetricValue:
    if not ctx.unit_scores:
        return _not_probabilities(ctx)
    return _difference(ctx.brier(0), ctx.brier(1), ctx.level, a_minus_d=False, what="the Brier score", test="z-test")


@register(
    "CalD", "post_training", kind="evaluate", context="score", label_kinds=_SCORE_KINDS,
    description="Difference in calibration-in-the-large (CalD)",
    formula="(mean score - q)_a - (mean score - q)_d, q = share of positive labels",
    range=("-2", "2"), ideal="0", reference="Kleinberg, Mullainathan and Raghavan (2017), calibration within groups",
    needs=("probability",), test_name="z-test",
)  # fmt: skip
def calibration_difference(ctx: ValueContext) -> MetricValue:
    if not ctx.unit_scores:
        return _not_probabilities(ctx)
    return _difference(ctx.calibration_gap(0), ctx.calibration_gap(1), ctx.level, a_minus_d=True, what="calibration", test="z-test")


def _not_probabilities(ctx: ValueContext) -> MetricValue:
    lo, hi = ctx.score_range or (math.nan, math.nan)
    return MetricValue(None, reason=f"the score ranges from {lo:g} to {hi:g}, outside [0, 1]: calibration and Brier need probabilities")


_REF_REG = "Welch (1947); Fairlearn's bounded group loss (Agarwal, Dudik and Wu, 2019) for error disparities"


@register(
    "MDL", "pre_training", kind="evaluate", context="regression", label_kinds=("continuous",),
    description="Difference in Mean Labels (MDL)",
    formula="mean(y)_a - mean(y)_d",
    range=("-inf", "inf"), ideal="0", reference=_REF_REG, test_name="Welch t-test",
)  # fmt: skip
def mean_label_difference(ctx: ValueContext) -> MetricValue:
    return _welch(ctx.mean("y", 0), ctx.mean("y", 1), ctx, "the mean label")


@register(
    "KS2L", "pre_training", kind="evaluate", context="regression", label_kinds=("continuous",),
    description="Two-sample Kolmogorov-Smirnov distance of labels (KS2L)",
    formula="max over t of |F_a(t) - F_d(t)|, F the empirical distribution of the label",
    range=("0", "1"), ideal="0", reference="Kolmogorov (1933), Smirnov (1948)",
    needs=("label_histogram",), test_name="Kolmogorov-Smirnov",
)  # fmt: skip
def ks_labels(ctx: ValueContext) -> MetricValue:
    return _ks(ctx, "label")


@register(
    "MDP", "post_training", kind="evaluate", context="regression", label_kinds=("continuous",),
    description="Difference in Mean Predictions (MDP)",
    formula="mean(y')_a - mean(y')_d",
    range=("-inf", "inf"), ideal="0", reference=_REF_REG, needs=("predicted_label",), test_name="Welch t-test",
)  # fmt: skip
def mean_prediction_difference(ctx: ValueContext) -> MetricValue:
    return _welch(ctx.mean("p", 0), ctx.mean("p", 1), ctx, "the mean prediction")


@register(
    "MRD", "post_training", kind="evaluate", context="regression", label_kinds=("continuous",),
    description="Difference in Mean Residuals (MRD)",
    formula="mean(y' - y)_a - mean(y' - y)_d",
    range=("-inf", "inf"), ideal="0", reference=_REF_REG, needs=("predicted_label",), test_name="Welch t-test",
)  # fmt: skip
def mean_residual_difference(ctx: ValueContext) -> MetricValue:
    return _welch(ctx.mean("e", 0), ctx.mean("e", 1), ctx, "the mean residual")


@register(
    "MAED", "post_training", kind="evaluate", context="regression", label_kinds=("continuous",),
    description="Difference in Mean Absolute Error (MAED)",
    formula="mean|y' - y|_d - mean|y' - y|_a",
    range=("-inf", "inf"), ideal="0", reference=_REF_REG, needs=("predicted_label",), test_name="Welch t-test",
)  # fmt: skip
def mae_difference(ctx: ValueContext) -> MetricValue:
    return _welch(ctx.mean("ae", 0), ctx.mean("ae", 1), ctx, "the mean absolute error", a_minus_d=False)


@register(
    "RMSED", "post_training", kind="evaluate", context="regression", label_kinds=("continuous",),
    description="Difference in Root Mean Squared Error (RMSED)",
    formula="sqrt(mean (y' - y)^2)_d - sqrt(mean (y' - y)^2)_a",
    range=("-inf", "inf"), ideal="0", reference=_REF_REG, needs=("predicted_label",), test_name="z-test (delta method)",
)  # fmt: skip
def rmse_difference(ctx: ValueContext) -> MetricValue:
    return _difference(ctx.rmse(0), ctx.rmse(1), ctx.level, a_minus_d=False, what="RMSE", test="z-test (delta method)")


@register(
    "KS2P", "post_training", kind="evaluate", context="regression", label_kinds=("continuous",),
    description="Two-sample Kolmogorov-Smirnov distance of predictions (KS2P)",
    formula="max over t of |F'_a(t) - F'_d(t)|, F' the empirical distribution of the predicted value",
    range=("0", "1"), ideal="0", reference="Kolmogorov (1933), Smirnov (1948)", needs=("predicted_label", "prediction_histogram"),
    test_name="Kolmogorov-Smirnov",
)  # fmt: skip
def ks_predictions(ctx: ValueContext) -> MetricValue:
    return _ks(ctx, "prediction")
