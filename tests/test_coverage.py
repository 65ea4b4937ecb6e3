"""Do the 95% intervals cover? Every registered metric, at parity and away from it, on simulated data with known truth.

Count metrics: rows are drawn from a population of cells P(stratum, group, label, prediction); the true value of a
metric is the metric of the population's cell probabilities (every count metric is a function of proportions).
Score and regression metrics: distributions with closed-form (or numerically integrated) group parameters.
A metric passes when its 95% interval holds the truth in 93-97% of 1,000 data sets (binomial SE 0.7 points).

FlipTest (FT) is left out: its estimand is defined by the nearest neighbours of the sample itself, not by a population.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import assay
from assay.bias._cells import Cells
from assay.bias._registry import METRICS

N_SETS = 1000
LOW, HIGH = 0.93, 0.97


def _population(classes: int, parity: bool) -> np.ndarray:
    """P(s, g, y, yhat): two strata, group 1 = d; at parity label and prediction are independent of the group."""
    share_s = np.array([0.6, 0.4])
    share_d = np.array([0.4, 0.4]) if parity else np.array([0.3, 0.5])
    P = np.zeros((2, 2, classes, classes))
    for s in range(2):
        for g in range(2):
            if parity:
                py = np.array([0.7, 0.3]) if classes == 2 else np.array([0.5, 0.3, 0.2])
                py = py[::-1] if s == 1 else py
                conf = np.full((classes, classes), 0.15 / (classes - 1))
                np.fill_diagonal(conf, 0.85)
            elif classes == 2:
                py = np.array([0.75, 0.25]) if g else np.array([0.6, 0.4])
                conf = np.array([[0.9, 0.1], [0.35, 0.65]]) if g else np.array([[0.85, 0.15], [0.2, 0.8]])
            else:
                py = np.array([0.55, 0.3, 0.15]) if g else np.array([0.4, 0.35, 0.25])
                acc = 0.78 if g else 0.88
                conf = np.full((classes, classes), (1 - acc) / (classes - 1))
                np.fill_diagonal(conf, acc)
            P[s, g] = share_s[s] * (share_d[s] if g else 1 - share_d[s]) * py[:, None] * conf
    return P


def _truths(P: np.ndarray) -> dict[tuple[str, int | None], float]:
    K = P.shape[2]
    common = {"has_pred": True, "label_values": list(range(K)), "label_ordered": True, "has_strata": True}
    out: dict[tuple[str, int | None], float] = {}
    for m in METRICS.values():
        if m.compute is None:
            continue
        pos = np.arange(K) == K - 1
        out[(m.name, None)] = float(m.compute(Cells(P, positive_label=pos, positive_pred=pos, **common)))
        if K > 2 and m.per_class:
            for k in range(K):
                pk = np.arange(K) == k
                out[(m.name, k)] = float(m.compute(Cells(P, positive_label=pk, positive_pred=pk, **common)))
    return out


def _count_coverage(classes: int, parity: bool, n_sets: int = N_SETS, n: int = 4000) -> dict[tuple[str, int | None], tuple[float, int]]:
    P = _population(classes, parity)
    truth = _truths(P)
    flat = P.reshape(-1)
    hits: dict[tuple[str, int | None], list[int]] = {}
    for i in range(n_sets):
        rng = np.random.default_rng([i, classes, parity])
        s, g, y, yhat = np.unravel_index(rng.choice(flat.size, size=n, p=flat), P.shape)
        df = pd.DataFrame({"s": s, "g": np.where(g == 1, "d", "a"), "y": y, "p": yhat})
        r = assay.audit(df, label="y", label_values_or_threshold=[classes - 1], facets=[{"name_or_index": "g", "value_or_threshold": ["d"]}],
                        predicted_label="p", group_variable="s", bootstrap_replicates=1000, seed=i)  # fmt: skip
        for stage in (r.pre_training, r.post_training):
            for m in stage.facets["g"][0].metrics:
                key = (m.name, m.label_value)
                if m.name == "FT":  # null here (no feature columns); see the module docstring
                    assert m.value is None
                    continue
                h = hits.setdefault(key, [0, 0])
                h[1] += 1
                lo, hi = m.ci
                h[0] += lo is not None and lo - 1e-12 <= truth[key] <= hi + 1e-12
    return {k: (h[0] / h[1], h[1]) for k, h in hits.items()}


def _assert_covers(cov: dict, expected: set[str]) -> None:
    assert {k[0] for k in cov} == expected, "every metric of the registry is simulated"
    bad = {k: c for k, (c, _) in cov.items() if not LOW <= c <= HIGH}
    assert not bad, bad


COUNT_METRICS = {m.name for m in METRICS.values() if m.compute is not None}


@pytest.mark.parametrize("parity", [True, False], ids=["parity", "away"])
def test_95_percent_intervals_of_every_count_metric_cover(parity):
    cov = _count_coverage(2, parity)
    _assert_covers(cov, COUNT_METRICS)
    if parity:  # the distances, maxima and min/max ratios are at the edge of their range here
        assert all(cov[(name, None)][0] >= LOW for name in ("KL", "JS", "LP", "TVD", "KS", "DPR", "EqOddsD", "EqOddsR"))


@pytest.mark.slow
@pytest.mark.parametrize("parity", [True, False], ids=["parity", "away"])
def test_95_percent_intervals_cover_with_three_label_classes(parity):
    cov = _count_coverage(3, parity)
    _assert_covers(cov, COUNT_METRICS)
    assert ("DPL", 0) in cov and ("DPPL", 2) in cov  # per-class metrics are simulated too


def test_interval_of_a_distance_reaches_parity_when_the_test_does_not_reject():
    """On one fair data set: the interval of every distance holds parity exactly when its p-value is above 5%."""
    agree = 0
    for i in range(40):
        P = _population(2, True).reshape(-1)
        rng = np.random.default_rng([i, 99])
        s, g, y, yhat = np.unravel_index(rng.choice(P.size, size=4000, p=P), (2, 2, 2, 2))
        df = pd.DataFrame({"g": np.where(g == 1, "d", "a"), "y": y, "p": yhat})
        r = assay.audit(df, label="y", label_values_or_threshold=[1], facets=[{"name_or_index": "g", "value_or_threshold": ["d"]}],
                        predicted_label="p", pre_training_methods=["TVD"], post_training_methods=["EqOddsD"], seed=i)  # fmt: skip
        tvd = r.metric("pre_training", "g", "d", "TVD")
        assert tvd.ci_method is not None and "parity" in tvd.ci_method
        agree += (tvd.ci[0] == 0.0) == (tvd.p_value > 0.05)
    assert agree >= 38  # a symmetric interval and the two-proportion test differ only at the margin


# -- score and regression metrics ------------------------------------------------------
def _beta_moments(a: float, b: float) -> tuple[float, float]:
    return a / (a + b), a * (a + 1) / ((a + b) * (a + b + 1))


def _score_truth(params: dict[int, tuple[float, tuple[float, float], tuple[float, float]]]) -> dict[str, float]:
    """AUC, Brier and calibration gap per group for y ~ Bern(q), score | y ~ Beta."""
    from scipy import integrate, stats

    out = {}
    for g, (q, pos, neg) in params.items():
        auc = integrate.quad(lambda x, pos=pos, neg=neg: stats.beta.pdf(x, *pos) * stats.beta.cdf(x, *neg), 0, 1)[0]
        m1, s1 = _beta_moments(*pos)
        m0, s0 = _beta_moments(*neg)
        brier = q * (1 - 2 * m1 + s1) + (1 - q) * s0
        calib = q * m1 + (1 - q) * m0 - q
        out[f"auc{g}"], out[f"brier{g}"], out[f"cal{g}"] = auc, brier, calib
    return {"AUCD": out["auc0"] - out["auc1"], "BSD": out["brier1"] - out["brier0"], "CalD": out["cal0"] - out["cal1"]}


def _abs_normal_mean(b: float, sd: float) -> float:
    from scipy.stats import norm

    return sd * math.sqrt(2 / math.pi) * math.exp(-(b**2) / (2 * sd**2)) + b * (1 - 2 * norm.cdf(-b / sd))


def _regression_truth(params: dict[int, tuple[float, float, float]]) -> dict[str, float]:
    """Outcome ~ Exp(mean mu), prediction = outcome + N(bias, sd): exponentially modified normal predictions."""
    from scipy import stats

    (mu_a, b_a, sd_a), (mu_d, b_d, sd_d) = params[0], params[1]
    t = np.linspace(-10, 60, 200_001)
    ks_l = float(np.abs(stats.expon.cdf(t, scale=mu_a) - stats.expon.cdf(t, scale=mu_d)).max())
    ga = stats.exponnorm.cdf(t, mu_a / sd_a, loc=b_a, scale=sd_a)
    gd = stats.exponnorm.cdf(t, mu_d / sd_d, loc=b_d, scale=sd_d)
    return {
        "MDL": mu_a - mu_d, "KS2L": ks_l, "MDP": (mu_a + b_a) - (mu_d + b_d), "MRD": b_a - b_d,
        "MAED": _abs_normal_mean(b_d, sd_d) - _abs_normal_mean(b_a, sd_a),
        "RMSED": math.hypot(b_d, sd_d) - math.hypot(b_a, sd_a), "KS2P": float(np.abs(ga - gd).max()),
    }  # fmt: skip


def _value_coverage(parity: bool, n_sets: int = N_SETS, n: int = 800) -> dict[str, float]:
    score = {0: (0.4, (4.0, 2.0), (2.0, 4.0)), 1: (0.4, (4.0, 2.0), (2.0, 4.0)) if parity else (0.3, (3.0, 2.5), (2.0, 3.0))}
    reg = {0: (5.0, 0.5, 1.0), 1: (5.0, 0.5, 1.0) if parity else (3.0, -0.3, 1.6)}
    truth = _score_truth(score) | _regression_truth(reg)
    hits = dict.fromkeys(truth, 0)
    facet = [{"name_or_index": "g", "value_or_threshold": ["d"]}]
    for i in range(n_sets):
        rng = np.random.default_rng([i, 3, parity])
        d = rng.random(n) < 0.4
        q = np.where(d, score[1][0], score[0][0])
        y = rng.random(n) < q
        pick = lambda g, k: np.where(d, score[1][k][g], score[0][k][g])  # noqa: E731
        s = np.where(y, rng.beta(pick(0, 1), pick(1, 1)), rng.beta(pick(0, 2), pick(1, 2)))
        mu, bias, sd = (np.where(d, reg[1][k], reg[0][k]) for k in range(3))
        v = rng.exponential(mu)
        df = pd.DataFrame({"g": np.where(d, "d", "a"), "y": y.astype(int), "s": s, "v": v, "pv": v + rng.normal(bias, sd)})
        r = assay.audit(df, label="y", label_values_or_threshold=[1], facets=facet, probability="s",
                        pre_training_methods=None, post_training_methods=["AUCD", "BSD", "CalD"], bootstrap_replicates=0)  # fmt: skip
        results = list(r.post_training.facets["g"][0].metrics)
        r = assay.audit(df, label="v", label_values_or_threshold=4.0, facets=facet, predicted_label="pv", pre_training_methods=["MDL", "KS2L"],
                        post_training_methods=["MDP", "MRD", "MAED", "RMSED", "KS2P"], bootstrap_replicates=300, seed=i)  # fmt: skip
        results += list(r.pre_training.facets["g"][0].metrics) + list(r.post_training.facets["g"][0].metrics)
        for m in results:
            lo, hi = m.ci
            hits[m.name] += lo is not None and lo - 1e-12 <= truth[m.name] <= hi + 1e-12
    return {k: v / n_sets for k, v in hits.items()}


VALUE_METRICS = {m.name for m in METRICS.values() if m.context in ("score", "regression")}


@pytest.mark.parametrize("parity", [True, False], ids=["parity", "away"])
def test_intervals_of_score_and_regression_metrics_cover(parity):
    cov = _value_coverage(parity)
    assert set(cov) == VALUE_METRICS
    bad = {k: c for k, c in cov.items() if not LOW <= c <= HIGH}
    assert not bad, bad
