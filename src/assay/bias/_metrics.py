"""Bias metrics as pure functions of the count tensor.

Conventions (the same as SageMaker Clarify's documentation): facet *d* is the
group named by the facet value, facet *a* is the rest; ``(1)`` is the
positive label, ``'`` marks predicted labels. Clarify's differences are
"a minus d" (a positive value means d is disfavoured) except where its
documentation says otherwise (SD, DRR, DCR, TE). The metrics added from
Fairlearn and AIF360 keep their own definitions, stated with each one.

Undefined is not zero: a division by zero gives ``nan`` here and ``null``
with a reason in the report, where smclarify returned 0 or infinity.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from assay.bias._cells import A, Cells, D
from assay.bias._registry import register
from assay.stats import chi2_independence, two_proportions

Counter = Callable[[Cells, int], np.ndarray]


# -- tests -------------------------------------------------------------------
def _proportion_test(num: Counter, den: Counter) -> Callable[[Cells], tuple[float | None, str]]:
    """Two-proportion test of num/den between a and d (Kish effective sizes when weighted)."""

    def test(c: Cells) -> tuple[float | None, str]:
        xa, na, xd, nd = (float(f(c, g)) for f, g in ((num, A), (den, A), (num, D), (den, D)))
        w2 = c.extra.get("w2")
        if w2 is None:
            return two_proportions(xa, na, xd, nd)
        ea, ed = float(den(w2, A)), float(den(w2, D))
        na_eff = na * na / ea if ea > 0 else 0.0
        nd_eff = nd * nd / ed if ed > 0 else 0.0
        xa_eff = xa / na * na_eff if na > 0 else 0.0
        xd_eff = xd / nd * nd_eff if nd > 0 else 0.0
        p, how = two_proportions(xa_eff, na_eff, xd_eff, nd_eff, exact_ok=False)
        return p, how + " (Kish effective sizes)"

    return test


def _either(t1: Callable[[Cells], tuple[float | None, str]], t2: Callable[[Cells], tuple[float | None, str]]):  # type: ignore[no-untyped-def]
    """Bonferroni combination: H0 is that both component rates are equal."""

    def test(c: Cells) -> tuple[float | None, str]:
        p1, _ = t1(c)
        p2, _ = t2(c)
        ps = [p for p in (p1, p2) if p is not None]
        if not ps:
            return None, "no component test defined"
        return min(1.0, len(ps) * min(ps)), "Bonferroni over TPR and FPR tests"

    return test


def _label_distribution_test(c: Cells) -> tuple[float | None, str]:
    dist = c.label_dist
    if dist.shape[-1] == 2:
        return _label_rate_test(c)
    w2 = c.extra.get("w2")
    table = np.asarray(dist, dtype=np.float64)
    if w2 is not None:
        n = table.sum(axis=-1, keepdims=True)
        n2 = w2.label_dist.sum(axis=-1, keepdims=True)
        table = table / n * np.where(n2 > 0, n * n / n2, 0.0)
    p = chi2_independence(table)
    return p, "chi-square test of independence"


def _cmh_test(pred: bool) -> Callable[[Cells], tuple[float | None, str]]:
    """Cochran-Mantel-Haenszel test: no association of facet and outcome within strata."""

    def test(c: Cells) -> tuple[float | None, str]:
        from scipy.special import chdtrc

        s = c.strata  # (S, 2, 2, 2)
        tab = s.sum(axis=-1) if not pred else s.sum(axis=-2)  # (S, g, outcome)
        n_i = tab.sum(axis=(-2, -1))
        keep = n_i > 1
        tab, n_i = tab[keep], n_i[keep]
        if tab.size == 0:
            return None, "no stratum with two or more rows"
        x = tab[:, D, 1]
        nd_i = tab[:, D, :].sum(axis=-1)
        na_i = tab[:, A, :].sum(axis=-1)
        m1 = tab[:, :, 1].sum(axis=-1)
        m0 = tab[:, :, 0].sum(axis=-1)
        expected = nd_i * m1 / n_i
        var = nd_i * na_i * m1 * m0 / (n_i**2 * (n_i - 1))
        if var.sum() <= 0:
            return None, "no stratum has both facets and both outcomes"
        stat = float((x - expected).sum() ** 2 / var.sum())
        return float(chdtrc(1, stat)), "Cochran-Mantel-Haenszel test"

    return test


_label_rate_test = _proportion_test(lambda c, g: c.label_pos(g), lambda c, g: c.n(g))
_pred_rate_test = _proportion_test(lambda c, g: c.pred_pos(g), lambda c, g: c.n(g))
_tpr_test = _proportion_test(lambda c, g: c.tp(g), lambda c, g: c.label_pos(g))
_tnr_test = _proportion_test(lambda c, g: c.tn(g), lambda c, g: c.label_neg(g))
_ppv_test = _proportion_test(lambda c, g: c.tp(g), lambda c, g: c.pred_pos(g))
_npv_test = _proportion_test(lambda c, g: c.tn(g), lambda c, g: c.pred_neg(g))
_acc_test = _proportion_test(lambda c, g: c.tp(g) + c.tn(g), lambda c, g: c.n(g))
_eqodds_test = _either(_tpr_test, _tnr_test)


# -- signed parts of the distances (for intervals that can reach parity) -----------
def _binary_gap(c: Cells) -> np.ndarray | None:
    """q_a - q_d for a two-class label (the one signed part of TVD and KS); None for more classes."""
    pa, pd = c.label_probs(A), c.label_probs(D)
    if pa.shape[-1] != 2:
        return None
    return (pa[..., 1] - pd[..., 1])[..., None]


def _signed_root(divergence: Callable[[Cells], np.ndarray]) -> Callable[[Cells], np.ndarray | None]:
    """sign(q_a - q_d) sqrt(divergence): smooth through parity for a two-class label (the signed root deviance)."""

    def parts(c: Cells) -> np.ndarray | None:
        gap = _binary_gap(c)
        if gap is None:
            return None
        with np.errstate(invalid="ignore"):
            return np.sign(gap) * np.sqrt(np.maximum(divergence(c), 0.0))[..., None]

    return parts


def _lp_parts(c: Cells) -> np.ndarray | None:
    gap = _binary_gap(c)
    return None if gap is None else np.sqrt(2.0) * gap


def _ks_parts(c: Cells) -> np.ndarray | None:
    pa, pd = c.label_probs(A), c.label_probs(D)
    if pa.shape[-1] == 2:
        return _binary_gap(c)
    if not c.label_ordered:
        return None
    return (np.cumsum(pa, axis=-1) - np.cumsum(pd, axis=-1))[..., :-1]


def _log_ratio(x_a: np.ndarray, x_d: np.ndarray) -> np.ndarray:
    """ln(x_d / x_a): min/max is exp(-|ln(x_d / x_a)|); undefined (NaN) where a rate is 0, as the ratio's interval then is."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(x_d) - np.log(x_a)
    return np.where(np.isfinite(out), out, np.nan)


CLARIFY = "SageMaker Clarify bias metrics documentation"
_COLLAPSED = (" With more than two label classes, Clarify's processing job compares positive (label_values_or_threshold) against the rest;"
              " assay compares every class, or Clarify's form with label_distribution: positive.")  # fmt: skip
FAIRLEARN = "Fairlearn (fairlearn.metrics)"
AIF360 = "AIF360 (aif360.metrics.ClassificationMetric)"


# == pre-training =============================================================
@register(
    "CI", "pre_training", clarify=True,
    description="Class Imbalance (CI)",
    formula="(n_a - n_d) / (n_a + n_d)",
    range=("-1", "1"), ideal="0", reference=CLARIFY,
)  # fmt: skip
def class_imbalance(c: Cells) -> np.ndarray:
    na, nd = c.n(A), c.n(D)
    return c.div(na - nd, na + nd, "the data is empty")


@register(
    "DPL", "pre_training", clarify=True, per_class=True,
    description="Difference in Proportions of Labels (DPL)",
    formula="q_a - q_d, q = n(1) / n",
    range=("-1", "1"), ideal="0", reference=CLARIFY,
    test=_label_rate_test, test_name="two proportions",
)  # fmt: skip
def dpl(c: Cells) -> np.ndarray:
    return c.label_rate(A) - c.label_rate(D)


def _xlogy_ratio(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Elementwise p * ln(p / q) with 0 ln 0 = 0 and p > 0, q = 0 giving +inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0) / q), 0.0)
    return out


@register(
    "KL", "pre_training", clarify=True,
    description="Kullback-Leibler Divergence (KL)",
    formula="sum_y P_a(y) ln(P_a(y) / P_d(y)) over all label classes",
    range=("0", "inf"), ideal="0", reference=CLARIFY,
    test=_label_distribution_test, test_name="chi-square / two proportions",
    smclarify="smclarify drops label classes missing in either group and does not renormalise, so KL can be negative; assay sums over every class and reports null (infinite) when a class present in a is absent from d." + _COLLAPSED,
    parts=_signed_root(lambda c: kl(c)), from_distance="square",
)  # fmt: skip
def kl(c: Cells) -> np.ndarray:
    pa, pd = c.label_probs(A), c.label_probs(D)
    terms = _xlogy_ratio(pa, pd)
    value = terms.sum(axis=-1)
    if np.isinf(value).any():
        c.undefined("KL is infinite: a label class that occurs in facet a never occurs in facet d")
    return np.where(np.isinf(value), np.nan, value)


@register(
    "JS", "pre_training", clarify=True,
    description="Jensen-Shannon Divergence (JS)",
    formula="0.5 [KL(P_a || P) + KL(P_d || P)], P = (P_a + P_d) / 2",
    range=("0", "ln 2"), ideal="0", reference=CLARIFY,
    test=_label_distribution_test, test_name="chi-square / two proportions",
    smclarify="smclarify drops label classes missing in either group (no renormalisation); assay uses every class." + _COLLAPSED,
    parts=_signed_root(lambda c: js(c)), from_distance="square",
)  # fmt: skip
def js(c: Cells) -> np.ndarray:
    pa, pd = c.label_probs(A), c.label_probs(D)
    m = 0.5 * (pa + pd)
    return 0.5 * (_xlogy_ratio(pa, m).sum(axis=-1) + _xlogy_ratio(pd, m).sum(axis=-1))


@register(
    "LP", "pre_training", clarify=True,
    description="L-p Norm (LP), p = 2",
    formula="sqrt(sum_y (P_a(y) - P_d(y))^2)",
    range=("0", "sqrt 2"), ideal="0", reference=CLARIFY,
    test=_label_distribution_test, test_name="chi-square / two proportions",
    smclarify="smclarify drops label classes missing in either group; assay uses every class." + _COLLAPSED,
    parts=_lp_parts,
)  # fmt: skip
def lp(c: Cells) -> np.ndarray:
    pa, pd = c.label_probs(A), c.label_probs(D)
    return np.sqrt(((pa - pd) ** 2).sum(axis=-1))


@register(
    "TVD", "pre_training", clarify=True,
    description="Total Variation Distance (TVD)",
    formula="0.5 sum_y |P_a(y) - P_d(y)|",
    range=("0", "1"), ideal="0", reference=CLARIFY,
    test=_label_distribution_test, test_name="chi-square / two proportions",
    smclarify="smclarify drops label classes missing in either group, which understates TVD; assay uses every class." + _COLLAPSED,
    parts=_binary_gap,
)  # fmt: skip
def tvd(c: Cells) -> np.ndarray:
    pa, pd = c.label_probs(A), c.label_probs(D)
    return 0.5 * np.abs(pa - pd).sum(axis=-1)


@register(
    "KS", "pre_training", clarify=True,
    description="Kolmogorov-Smirnov distance (KS)",
    formula="max_v |F_a(v) - F_d(v)|, F the cumulative label distribution",
    range=("0", "1"), ideal="0", reference=CLARIFY,
    test=_label_distribution_test, test_name="chi-square / two proportions",
    smclarify="smclarify computes max_y |P_a(y) - P_d(y)| over the probability mass function (an L-infinity distance), not over the cumulative distribution; the two agree only for binary labels. assay uses the cumulative distribution over ordered (numeric) labels and reports null for unordered labels with more than two classes." + _COLLAPSED,
    parts=_ks_parts,
)  # fmt: skip
def ks(c: Cells) -> np.ndarray:
    pa, pd = c.label_probs(A), c.label_probs(D)
    if pa.shape[-1] == 2:
        return np.abs(pa[..., 1] - pd[..., 1])
    if not c.label_ordered:
        c.undefined("KS needs ordered label values; this label has more than two unordered classes (see TVD)")
        return np.full(pa.shape[:-1], np.nan)
    return np.abs(np.cumsum(pa, axis=-1) - np.cumsum(pd, axis=-1)).max(axis=-1)


def _cdd(c: Cells, *, pred: bool) -> np.ndarray:
    if not c.has_strata:
        c.undefined("conditional demographic disparity needs a group_variable")
        return np.full(c.n(A).shape, np.nan)
    s = c.strata  # (..., S, 2, 2, 2)
    tab = s.sum(axis=-1) if not pred else s.sum(axis=-2)  # (..., S, g, outcome)
    rejected = tab[..., :, :, 0].sum(axis=-1)
    accepted = tab[..., :, :, 1].sum(axis=-1)
    n_i = rejected + accepted
    ok = (rejected > 0) & (accepted > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(ok, tab[..., :, D, 0] / np.where(ok, rejected, 1) - tab[..., :, D, 1] / np.where(ok, accepted, 1), 0.0)
    weight = np.where(ok, n_i, 0.0)
    total = weight.sum(axis=-1)
    if c.reasons is not None and not ok.all():
        skipped = int((~ok & (n_i > 0)).sum())
        if skipped:
            c.reasons.append(f"note: {skipped} stratum(s) with only one outcome were left out of the weighted average")
    return c.div((weight * dd).sum(axis=-1), total, "no stratum has both outcomes")


_CDD_SMCLARIFY = (
    "smclarify sets a term with a zero denominator to 0, so a stratum with no accepted rows enters the average with "
    "DD = n_d(0)/n(0) (the share of d among its rejected) and one with no rejected rows with DD = -n_d(1)/n(1); "
    "DD is undefined there, and assay leaves such strata out of the weighted average and says how many."
)


@register(
    "CDDL", "pre_training", clarify=True,
    description="Conditional Demographic Disparity in Labels (CDDL)",
    formula="sum_i n_i DD_i / sum_i n_i, DD_i = n_d,i(0)/n_i(0) - n_d,i(1)/n_i(1) over strata i of the group variable",
    range=("-1", "1"), ideal="0", reference=CLARIFY,
    test=_cmh_test(pred=False), test_name="Cochran-Mantel-Haenszel",
    needs=("group_variable",), smclarify=_CDD_SMCLARIFY,
)  # fmt: skip
def cddl(c: Cells) -> np.ndarray:
    return _cdd(c, pred=False)


# == post-training ============================================================
@register(
    "DPPL", "post_training", clarify=True, per_class=True,
    description="Difference in Positive Proportions in Predicted Labels (DPPL)",
    formula="q'_a - q'_d, q' = n'(1) / n",
    range=("-1", "1"), ideal="0", reference=CLARIFY,
    test=_pred_rate_test, test_name="two proportions", needs=("predicted_label",),
)  # fmt: skip
def dppl(c: Cells) -> np.ndarray:
    return c.pred_rate(A) - c.pred_rate(D)


@register(
    "DI", "post_training", clarify=True, per_class=True,
    description="Disparate Impact (DI)",
    formula="q'_d / q'_a",
    range=("0", "inf"), ideal="1", reference=CLARIFY,
    test=_pred_rate_test, test_name="two proportions", needs=("predicted_label",),
    smclarify="smclarify returns 0 when no row is predicted positive (0/0) and Infinity when facet a has none; assay returns null with the reason.",
)  # fmt: skip
def di(c: Cells) -> np.ndarray:
    return c.div(c.pred_rate(D), c.pred_rate(A), "facet a has no predicted positives, so the ratio is undefined")


@register(
    "DCAcc", "post_training", clarify=True, aliases=("DCA",),
    description="Difference in Conditional Acceptance (DCAcc)",
    formula="c_a - c_d, c = n(1) / n'(1)",
    range=("-inf", "inf"), ideal="0", reference=CLARIFY, needs=("predicted_label",),
    smclarify="smclarify names it DCA and returns Infinity (or 0 when both groups divide by zero) where a group has no predicted positives; assay returns null with the reason.",
)  # fmt: skip
def dcacc(c: Cells) -> np.ndarray:
    ca = c.div(c.label_pos(A), c.pred_pos(A), "facet a has no predicted positives")
    cd = c.div(c.label_pos(D), c.pred_pos(D), "facet d has no predicted positives")
    return ca - cd


@register(
    "DCR", "post_training", clarify=True,
    description="Difference in Conditional Rejection (DCR)",
    formula="r_d - r_a, r = n(0) / n'(0)",
    range=("-inf", "inf"), ideal="0", reference=CLARIFY, needs=("predicted_label",),
)  # fmt: skip
def dcr(c: Cells) -> np.ndarray:
    ra = c.div(c.label_neg(A), c.pred_neg(A), "facet a has no predicted negatives")
    rd = c.div(c.label_neg(D), c.pred_neg(D), "facet d has no predicted negatives")
    return rd - ra


@register(
    "RD", "post_training", clarify=True, per_class=True,
    description="Recall Difference (RD)",
    formula="TP_a/(TP_a + FN_a) - TP_d/(TP_d + FN_d)",
    range=("-1", "1"), ideal="0", reference=CLARIFY,
    test=_tpr_test, test_name="two proportions", needs=("predicted_label",),
)  # fmt: skip
def rd(c: Cells) -> np.ndarray:
    return c.tpr(A) - c.tpr(D)


@register(
    "SD", "post_training", clarify=True,
    description="Specificity Difference (SD)",
    formula="TN_d/(TN_d + FP_d) - TN_a/(TN_a + FP_a)",
    range=("-1", "1"), ideal="0", reference=CLARIFY,
    test=_tnr_test, test_name="two proportions", needs=("predicted_label",),
)  # fmt: skip
def sd(c: Cells) -> np.ndarray:
    return c.tnr(D) - c.tnr(A)


@register(
    "DAR", "post_training", clarify=True,
    description="Difference in Acceptance Rates (DAR)",
    formula="TP_a/n'_a(1) - TP_d/n'_d(1)",
    range=("-1", "1"), ideal="0", reference=CLARIFY,
    test=_ppv_test, test_name="two proportions", needs=("predicted_label",),
)  # fmt: skip
def dar(c: Cells) -> np.ndarray:
    return c.ppv(A) - c.ppv(D)


@register(
    "DRR", "post_training", clarify=True,
    description="Difference in Rejection Rates (DRR)",
    formula="TN_d/n'_d(0) - TN_a/n'_a(0)",
    range=("-1", "1"), ideal="0", reference=CLARIFY,
    test=_npv_test, test_name="two proportions", needs=("predicted_label",),
)  # fmt: skip
def drr(c: Cells) -> np.ndarray:
    return c.npv(D) - c.npv(A)


@register(
    "AD", "post_training", clarify=True,
    description="Accuracy Difference (AD)",
    formula="ACC_a - ACC_d, ACC = (TP + TN) / n",
    range=("-1", "1"), ideal="0", reference=CLARIFY,
    test=_acc_test, test_name="two proportions", needs=("predicted_label",),
)  # fmt: skip
def ad(c: Cells) -> np.ndarray:
    return c.accuracy(A) - c.accuracy(D)


@register(
    "TE", "post_training", clarify=True,
    description="Treatment Equality (TE)",
    formula="FN_d/FP_d - FN_a/FP_a",
    range=("-inf", "inf"), ideal="0", reference=CLARIFY, needs=("predicted_label",),
    smclarify="smclarify returns 0 when neither group has a false positive and +/-Infinity when one has none; assay returns null with the reason.",
)  # fmt: skip
def te(c: Cells) -> np.ndarray:
    return c.div(c.fn(D), c.fp(D), "facet d has no false positives") - c.div(c.fn(A), c.fp(A), "facet a has no false positives")


@register(
    "CDDPL", "post_training", clarify=True,
    description="Conditional Demographic Disparity in Predicted Labels (CDDPL)",
    formula="as CDDL, with predicted labels",
    range=("-1", "1"), ideal="0", reference=CLARIFY,
    test=_cmh_test(pred=True), test_name="Cochran-Mantel-Haenszel",
    needs=("predicted_label", "group_variable"), smclarify=_CDD_SMCLARIFY,
)  # fmt: skip
def cddpl(c: Cells) -> np.ndarray:
    return _cdd(c, pred=True)


@register(
    "GE", "post_training", clarify=True,
    description="Generalized Entropy (GE), alpha = 2",
    formula="1/(2n) sum_i ((b_i/mu)^2 - 1), b = yhat - y + 1, mu = mean(b); over all rows, so the same for every facet",
    range=("0", "inf"), ideal="0", reference=CLARIFY, needs=("predicted_label",),
    smclarify="Clarify's documentation gives the range [0, 0.5]; GE with alpha = 2 is half the squared coefficient of variation of b and is unbounded (many false negatives and one false positive give values above 0.5; found by a property test).",
)  # fmt: skip
def ge(c: Cells) -> np.ndarray:
    b = c.binary.sum(axis=-3)  # (..., y, yhat) over both groups
    fn, fp = b[..., 1, 0], b[..., 0, 1]
    correct = b[..., 0, 0] + b[..., 1, 1]
    n = fn + fp + correct
    mu = c.div(correct + 2 * fp, n, "the data is empty")
    with np.errstate(divide="ignore", invalid="ignore"):
        total = fn * (0.0 - 1.0) + correct * ((1.0 / mu) ** 2 - 1) + fp * ((2.0 / mu) ** 2 - 1)
    if (mu == 0).any():
        c.undefined("every prediction is a false negative (mean benefit is 0)")
    return np.where(mu > 0, total / (2 * n), np.nan)


from assay.bias import _fliptest  # noqa: E402,F401  (registers FT after GE, Clarify's order)


# -- added from Fairlearn and AIF360 ---------------------------------------------
@register(
    "DPR", "post_training",
    description="Demographic Parity Ratio (Fairlearn)",
    formula="min(q'_a, q'_d) / max(q'_a, q'_d)",
    range=("0", "1"), ideal="1", reference=FAIRLEARN,
    test=_pred_rate_test, test_name="two proportions", needs=("predicted_label",),
    parts=lambda c: _log_ratio(c.pred_rate(A), c.pred_rate(D))[..., None], from_distance="exp_neg",
)  # fmt: skip
def dpr(c: Cells) -> np.ndarray:
    qa, qd = c.pred_rate(A), c.pred_rate(D)
    return c.div(np.minimum(qa, qd), np.maximum(qa, qd), "no row in either facet is predicted positive")


@register(
    "EqOddsD", "post_training",
    description="Equalized Odds Difference (Fairlearn, AIF360)",
    formula="max(|TPR_a - TPR_d|, |FPR_a - FPR_d|)",
    range=("0", "1"), ideal="0", reference=FAIRLEARN,
    test=_eqodds_test, test_name="Bonferroni over TPR and FPR", needs=("predicted_label",),
    parts=lambda c: np.stack([c.tpr(A) - c.tpr(D), c.fpr(A) - c.fpr(D)], axis=-1),
)  # fmt: skip
def eqodds_diff(c: Cells) -> np.ndarray:
    return np.maximum(np.abs(c.tpr(A) - c.tpr(D)), np.abs(c.fpr(A) - c.fpr(D)))


@register(
    "EqOddsR", "post_training",
    description="Equalized Odds Ratio (Fairlearn)",
    formula="min(min(TPR)/max(TPR), min(FPR)/max(FPR)) over a and d",
    range=("0", "1"), ideal="1", reference=FAIRLEARN,
    test=_eqodds_test, test_name="Bonferroni over TPR and FPR", needs=("predicted_label",),
    parts=lambda c: np.stack([_log_ratio(c.tpr(A), c.tpr(D)), _log_ratio(c.fpr(A), c.fpr(D))], axis=-1), from_distance="exp_neg",
)  # fmt: skip
def eqodds_ratio(c: Cells) -> np.ndarray:
    ta, td, fa, fd = c.tpr(A), c.tpr(D), c.fpr(A), c.fpr(D)
    r1 = c.div(np.minimum(ta, td), np.maximum(ta, td), "neither facet has a true positive")
    r2 = c.div(np.minimum(fa, fd), np.maximum(fa, fd), "neither facet has a false positive")
    return np.minimum(r1, r2)


@register(
    "EqOppD", "post_training",
    description="Equal Opportunity Difference (AIF360)",
    formula="TPR_d - TPR_a",
    range=("-1", "1"), ideal="0", reference=AIF360,
    test=_tpr_test, test_name="two proportions", needs=("predicted_label",),
)  # fmt: skip
def eqopp_diff(c: Cells) -> np.ndarray:
    return c.tpr(D) - c.tpr(A)


@register(
    "AOD", "post_training",
    description="Average Odds Difference (AIF360)",
    formula="0.5 [(FPR_d - FPR_a) + (TPR_d - TPR_a)]",
    range=("-1", "1"), ideal="0", reference=AIF360,
    test=_eqodds_test, test_name="Bonferroni over TPR and FPR", needs=("predicted_label",),
)  # fmt: skip
def aod(c: Cells) -> np.ndarray:
    return 0.5 * ((c.fpr(D) - c.fpr(A)) + (c.tpr(D) - c.tpr(A)))


@register(
    "FPRD", "post_training",
    description="False Positive Rate Difference (AIF360)",
    formula="FPR_d - FPR_a, FPR = FP / (FP + TN)",
    range=("-1", "1"), ideal="0", reference=AIF360,
    test=_tnr_test, test_name="two proportions", needs=("predicted_label",),
)  # fmt: skip
def fprd(c: Cells) -> np.ndarray:
    return c.fpr(D) - c.fpr(A)


@register(
    "FNRD", "post_training",
    description="False Negative Rate Difference (AIF360)",
    formula="FNR_d - FNR_a, FNR = FN / (FN + TP)",
    range=("-1", "1"), ideal="0", reference=AIF360,
    test=_tpr_test, test_name="two proportions", needs=("predicted_label",),
)  # fmt: skip
def fnrd(c: Cells) -> np.ndarray:
    return c.fnr(D) - c.fnr(A)


@register(
    "FDRD", "post_training",
    description="False Discovery Rate Difference (AIF360)",
    formula="FDR_d - FDR_a, FDR = FP / (TP + FP)",
    range=("-1", "1"), ideal="0", reference=AIF360,
    test=_ppv_test, test_name="two proportions", needs=("predicted_label",),
)  # fmt: skip
def fdrd(c: Cells) -> np.ndarray:
    return c.fdr(D) - c.fdr(A)


@register(
    "FORD", "post_training",
    description="False Omission Rate Difference (AIF360)",
    formula="FOR_d - FOR_a, FOR = FN / (TN + FN)",
    range=("-1", "1"), ideal="0", reference=AIF360,
    test=_npv_test, test_name="two proportions", needs=("predicted_label",),
)  # fmt: skip
def ford(c: Cells) -> np.ndarray:
    return c.for_(D) - c.for_(A)
