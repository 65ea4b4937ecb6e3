"""Hypothesis tests used by the bias metrics, on counts.

Proportions are compared with the pooled two-proportion z-test, or with
Fisher's exact test when an expected cell count is below 5 and the counts are
whole numbers (unweighted data). With sample weights the counts are Kish
effective sample sizes, and the z-test is used.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["chi2_independence", "fisher_exact", "greater_proportion", "mean_interval", "newcombe_difference", "two_proportions", "welch", "wilson_interval"]


def two_proportions(x_a: float, n_a: float, x_d: float, n_d: float, *, exact_ok: bool = True) -> tuple[float | None, str]:
    """Two-sided p-value for H0: the two proportions are equal.

    Returns ``(p, method)``; ``p`` is ``None`` when a group is empty.
    """
    if n_a <= 0 or n_d <= 0:
        return None, "a group is empty"
    x = x_a + x_d
    n = n_a + n_d
    p = x / n
    expected = [n_a * p, n_a * (1 - p), n_d * p, n_d * (1 - p)]
    whole = all(abs(v - round(v)) < 1e-9 for v in (x_a, n_a, x_d, n_d))
    if exact_ok and whole and min(expected) < 5:
        return fisher_exact(round(x_a), round(n_a), round(x_d), round(n_d)), "fisher-exact"
    if p <= 0 or p >= 1:
        return 1.0, "z-test (no variation)"
    se = math.sqrt(p * (1 - p) * (1 / n_a + 1 / n_d))
    z = (x_a / n_a - x_d / n_d) / se
    return math.erfc(abs(z) / math.sqrt(2)), "z-test"


def _log_comb(n: np.ndarray | int, k: np.ndarray | int) -> np.ndarray:
    from scipy.special import gammaln

    return gammaln(np.asarray(n) + 1) - gammaln(np.asarray(k) + 1) - gammaln(np.asarray(n) - np.asarray(k) + 1)


def fisher_exact(x_a: int, n_a: int, x_d: int, n_d: int) -> float:
    """Two-sided Fisher exact test on the 2x2 table (x_a, n_a - x_a; x_d, n_d - x_d).

    The two-sided p-value sums the probabilities of all tables at most as
    likely as the observed one (the convention of R and SciPy).
    """
    k = x_a + x_d
    lo, hi = max(0, k - n_d), min(k, n_a)
    support = np.arange(lo, hi + 1)
    logp = _log_comb(n_a, support) + _log_comb(n_d, k - support) - _log_comb(n_a + n_d, k)
    probs = np.exp(logp - logp.max())
    probs /= probs.sum()
    observed = probs[x_a - lo]
    return float(min(1.0, probs[probs <= observed * (1 + 1e-7)].sum()))


def chi2_independence(table: np.ndarray) -> float | None:
    """p-value of Pearson's chi-square test of independence of a 2 x K table."""
    from scipy.special import chdtrc

    t = np.asarray(table, dtype=np.float64)
    t = t[:, t.sum(axis=0) > 0]
    if t.shape[1] < 2 or (t.sum(axis=1) <= 0).any():
        return None
    expected = t.sum(axis=1, keepdims=True) * t.sum(axis=0, keepdims=True) / t.sum()
    stat = float(((t - expected) ** 2 / expected).sum())
    return float(chdtrc(t.shape[1] - 1, stat))


def wilson_interval(x: float, n: float, level: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson's score interval for a proportion x / n (None, None for no rows): valid near 0 and 1, unlike the Wald interval."""
    if n <= 0:
        return None, None
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2))
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(x_a: float, n_a: float, x_b: float, n_b: float, level: float = 0.95) -> tuple[float | None, float | None]:
    """Newcombe's hybrid score interval for x_a / n_a - x_b / n_b (method 10 of Newcombe 1998), from the two Wilson intervals."""
    lo_a, hi_a = wilson_interval(x_a, n_a, level)
    lo_b, hi_b = wilson_interval(x_b, n_b, level)
    if lo_a is None or lo_b is None or hi_a is None or hi_b is None:
        return None, None
    pa, pb = x_a / n_a, x_b / n_b
    d = pa - pb
    return d - math.sqrt((pa - lo_a) ** 2 + (hi_b - pb) ** 2), d + math.sqrt((hi_a - pa) ** 2 + (pb - lo_b) ** 2)


def greater_proportion(x_a: float, n_a: float, x_b: float, n_b: float) -> float | None:
    """One-sided p-value for H1: x_a / n_a > x_b / n_b, by Fisher's exact test (the hypergeometric tail of x_a given the
    margins); None when a group is empty. Exact for any counts: the normal approximation's right tail is too light for
    rates below one half, which makes the tiny p-values that multiple testing needs too small."""
    if n_a <= 0 or n_b <= 0:
        return None
    from scipy.stats import hypergeom

    total, bad = round(n_a + n_b), round(x_a + x_b)
    return float(min(1.0, hypergeom.sf(round(x_a) - 1, total, bad, round(n_a))))


def mean_interval(total: float, squares: float, n: float, level: float = 0.95) -> tuple[float | None, float | None]:
    """Student's t interval for a mean, from the sum and the sum of squares of n values (None, None for fewer than two)."""
    if n < 2:
        return None, None
    from scipy.stats import t

    mean = total / n
    se = math.sqrt(max(squares - total * total / n, 0.0) / (n - 1) / n)
    half = float(t.ppf(0.5 + level / 2, n - 1)) * se
    return float(mean - half), float(mean + half)


def welch(a: tuple[float, float, float], b: tuple[float, float, float], level: float = 0.95, *,
          alternative: str = "greater") -> tuple[float | None, tuple[float | None, float | None]]:  # fmt: skip
    """Welch's t-test of mean(a) - mean(b), each given as (sum, sum of squares, n): the p-value (``alternative`` "greater":
    H1 mean(a) > mean(b); "two-sided") and the interval of the difference, with Welch-Satterthwaite degrees of freedom. None
    for a group of fewer than two; a difference of two constant groups is exact (p 0 or 1)."""
    (sa, qa, na), (sb, qb, nb) = a, b
    if na < 2 or nb < 2:
        return None, (None, None)
    from scipy.stats import t

    va, vb = max(qa - sa * sa / na, 0.0) / (na - 1) / na, max(qb - sb * sb / nb, 0.0) / (nb - 1) / nb
    d, se = sa / na - sb / nb, math.sqrt(va + vb)
    if se == 0:
        p = (0.0 if d > 0 else 1.0) if alternative == "greater" else (0.0 if d != 0 else 1.0)
        return p, (float(d), float(d))
    df = (va + vb) ** 2 / ((va * va / (na - 1) if va else 0.0) + (vb * vb / (nb - 1) if vb else 0.0))
    stat = d / se
    p = float(t.sf(stat, df)) if alternative == "greater" else float(2 * t.sf(abs(stat), df))
    half = float(t.ppf(0.5 + level / 2, df)) * se
    return min(1.0, p), (float(d - half), float(d + half))
