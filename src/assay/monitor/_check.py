"""Checks of a profile against a baseline: Model Monitor's violation types, and drift tests that know the sample size.

Data quality (Model Monitor's ``constraint_check_type`` names):

* ``missing_column_check`` / ``extra_column_check``: a baseline column is absent / a new column appears.
* ``data_type_check``: the share of values that do not have the baseline's type (Integral, Fractional or String: a number
  where the baseline has text counts against String) exceeds ``datatype_check_threshold``.
* ``completeness_check``: the share of present values is below the constraint's ``completeness`` and the
  shortfall is significant (one-sided binomial test).
* ``categorical_values_check``: the share of values outside ``string_constraints.domains`` exceeds
  ``domain_content_threshold``.
* ``non_negative_check`` (assay's): a column constrained ``is_non_negative`` has negative values.

Drift (``baseline_drift_check``), per column, with the statistic chosen by type:

* numbers: the two-sample Kolmogorov-Smirnov distance D (the largest gap between the two CDFs), less the
  sketches' rank error when a side is sketched (exact value counts give exact CDFs); with
  ``comparison_method: Robust`` the distance reported against the threshold is also less the KS critical value
  (Deequ's robust distance). p-value: the asymptotic KS distribution at the effective size nm/(n+m) (conservative
  with ties). Also reported: the Wasserstein distance in baseline standard deviations and the PSI over baseline deciles.
* categories: the chi-squared test of the two category tables (rare categories pooled so every expected count is
  at least 5), with the L-infinity distance (largest change in a category's share) and the Jensen-Shannon distance.

p-values are Benjamini-Hochberg adjusted across the columns checked (``correction``). A column drifts when its
q-value is below ``alpha`` **and** its distance exceeds ``comparison_threshold`` (``categorical_comparison_threshold``
for categories): large samples do not fire on trivial shifts, small samples do not fire on noise, and both the
effect and its significance are in the output.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from assay.monitor._baseline import inferred_type
from assay.monitor._profile import ColumnProfile, Profile

__all__ = ["CHECK_TYPES", "check"]

#: Every ``constraint_check_type`` a violation may have (Model Monitor's names, and assay's non_negative and bias checks).
CHECK_TYPES = ("missing_column_check", "extra_column_check", "data_type_check", "completeness_check", "categorical_values_check",
               "non_negative_check", "baseline_drift_check", "model_quality_check", "feature_attribution_drift_check", "bias_drift_check")  # fmt: skip


def _known(kind: str) -> str:
    assert kind in CHECK_TYPES, f"unknown constraint_check_type {kind!r}"
    return kind


def check(current: Profile, baseline: Profile, constraints: dict[str, Any], *, model: dict[str, Any] | None = None,
          model_baseline: dict[str, Any] | None = None, spec: Any = None) -> dict[str, Any]:  # fmt: skip
    """``constraint_violations.json``: ``violations`` (Model Monitor's shape, with assay's figures), ``features`` (every check), and with
    ``model`` and ``model_baseline`` (model quality and bias figures of the window and of the baseline) ``model_quality`` and
    ``bias_drift``."""
    from assay.stats import benjamini_hochberg

    mc = constraints.get("monitoring_config") or {}
    dc = mc.get("distribution_constraints") or {}
    alpha = float(mc.get("alpha", 0.05))
    type_tol = float(mc.get("datatype_check_threshold", 0.1))
    domain_tol = float(mc.get("domain_content_threshold", 0.1))
    num_thr = float(dc.get("comparison_threshold", 0.1))
    cat_thr = float(dc.get("categorical_comparison_threshold", num_thr))
    robust = dc.get("comparison_method", "Simple") == "Robust"
    compare = dc.get("perform_comparison", "Enabled") == "Enabled"
    cat_method = dc.get("categorical_drift_method", "LInfinity")
    by_name = {f["name"]: f for f in constraints.get("features", [])}
    violations: list[dict[str, Any]] = []
    features: dict[str, dict[str, Any]] = {}

    not_drift = {c for c in (getattr(spec, "id", None), getattr(spec, "timestamp", None)) if c}  # ids and times: never drift-tested, may be new

    def violate(name: str, kind: str, description: str, **figures: Any) -> None:
        violations.append({"feature_name": name, "constraint_check_type": _known(kind), "description": description, **figures})

    names = list(by_name) or list(baseline.columns)
    arrives_later = {spec.label} if spec is not None and getattr(spec, "ground_truth", None) and spec.label else set()
    for name in names:
        if name not in current.columns and name not in arrives_later:
            violate(name, "missing_column_check", f"column {name!r} of the baseline is not in the data")
    for name in current.columns:
        if name not in by_name and name not in baseline.columns and name not in not_drift:
            violate(name, "extra_column_check", f"column {name!r} is not in the baseline")

    drift_rows = []
    for name in names:
        cur = current.columns.get(name)
        if cur is None:
            continue
        constraint = by_name.get(name, {})
        base = baseline.columns.get(name)
        info: dict[str, Any] = {"rows": cur.rows, "missing": cur.missing, "completeness": cur.completeness}
        features[name] = info
        want = constraint.get("inferred_type") or (inferred_type(base) if base is not None else None)
        if want in ("Integral", "Fractional", "String") and cur.present:
            wrong = cur.present - cur.string if want == "String" else cur.string + (cur.fractional if want == "Integral" else 0)
            share = wrong / cur.present
            info["type_mismatch_share"] = share
            if share > type_tol:
                violate(name, "data_type_check", f"{share:.1%} of the values are not {want} (threshold {type_tol:.1%})", value=share, threshold=type_tol)
        if constraint.get("completeness") is not None and cur.rows:
            want_c = float(constraint["completeness"])
            got = cur.completeness or 0.0
            p = _binomial_below(cur.present, cur.rows, want_c)
            info["completeness_p_value"] = p
            if got < want_c and p < alpha:
                violate(name, "completeness_check", f"completeness {got:.4f} is below the constraint {want_c:.4f} (one-sided binomial p = {p:.2g})",
                        value=got, threshold=want_c, p_value=p)  # fmt: skip
        domains = (constraint.get("string_constraints") or {}).get("domains")
        if domains is not None and cur.present:
            counts, rest = cur.category_counts()
            allowed = set(map(str, domains))
            outside = sum(c for v, c in counts.items() if v not in allowed) + rest
            share = outside / cur.present
            info["outside_domain_share"] = share
            unknown = sorted((v for v in counts if v not in allowed), key=lambda v: -counts[v])[:5]
            if share > domain_tol:
                violate(name, "categorical_values_check", f"{share:.1%} of the values are outside the baseline's domain (threshold {domain_tol:.1%}); "
                        f"most frequent: {', '.join(map(repr, unknown))}", value=share, threshold=domain_tol)  # fmt: skip
        if (constraint.get("num_constraints") or {}).get("is_non_negative") and cur.n and cur.minimum < 0:
            violate(name, "non_negative_check", f"the constraint says non-negative, the minimum is {cur.minimum:g}", value=cur.minimum)
        identifier = base is not None and base.kind == "string" and cur.kind == "string" and min(base.distinct / max(base.present, 1),
                                                                                                  cur.distinct / max(cur.present, 1)) > 0.5  # fmt: skip
        if name in not_drift or identifier:
            info["drift"] = {"tested": False, "reason": "an id or timestamp column" if name in not_drift else
                             "looks like an identifier (distinct values are more than half the rows)"}  # fmt: skip
        elif compare and base is not None and base.present and cur.present:
            numeric = base.kind == "numeric" and cur.kind == "numeric" and base.n and cur.n
            d = _numeric_drift(base, cur, robust) if numeric else _categorical_drift(base, cur)
            d["threshold"] = num_thr if numeric else cat_thr
            if not numeric and cat_method == "LInfinity":
                d["distance"] = d["linf"]
            info["drift"] = d
            drift_rows.append((name, d))
    qs = benjamini_hochberg([d["p_value"] for _, d in drift_rows])
    for (name, d), q in zip(drift_rows, qs, strict=True):
        d["q_value"] = q
        d["drifted"] = bool(q is not None and q < alpha and d["distance"] > d["threshold"])
        if d["drifted"]:
            violate(name, "baseline_drift_check", f"{d['statistic']} distance {d['distance']:.4f} exceeds {d['threshold']:g}, q = {q:.2g} "
                    f"(baseline n = {d['n_baseline']:,}, data n = {d['n_current']:,})", value=d["distance"], threshold=d["threshold"],
                    p_value=d["p_value"], q_value=q)  # fmt: skip
    result: dict[str, Any] = {"violations": violations, "features": features,
                              "settings": {"alpha": alpha, "correction": "benjamini-hochberg across the columns checked (and, apart, across "
                                           "the model-quality metrics and across the bias metrics)",
                                           "comparison_method": "Robust" if robust else "Simple", "categorical_drift_method": cat_method}}  # fmt: skip
    if model is not None:
        _check_model(model, model_baseline, spec, alpha, violate, result)
    return result


def _check_model(model: dict[str, Any], base: dict[str, Any] | None, spec: Any, alpha: float, violate: Any, result: dict[str, Any]) -> None:
    from assay.monitor._model import compare_bias
    from assay.monitor._quality import compare_quality

    result["model"] = {"rows": model["rows"], "labelled_rows": model["labelled_rows"], "quality": model["quality"], "note": model.get("note")}
    if model["quality"] is None:
        return
    thresholds = getattr(spec, "quality_thresholds", None) or {}
    baseline_quality = base["quality"] if base is not None and base.get("quality") is not None else {"metrics": {}}  # none: thresholds only
    rows = compare_quality(model["quality"], baseline_quality, alpha=alpha, min_change=getattr(spec, "min_quality_change", 0.01), thresholds=thresholds)
    result["model_quality"] = rows
    for r in rows:
        crossed = (r.get("threshold") or {}).get("crossed")
        if r.get("worse") or crossed:
            why = []
            if r.get("worse"):
                why.append(f"{r['current']:.4f} against {r['baseline']:.4f} in the baseline, worse by {r['worse_by']:.4f} (q = {r['q_value']:.2g})")
            if crossed:
                t = r["threshold"]
                why.append(f"{r['current']:.4f} is {t['comparison_operator']} {t['threshold']:g}")
            violate(r["metric"], "model_quality_check", f"{r['metric']}: " + "; ".join(why), value=r["current"],
                    baseline=r.get("baseline"), q_value=r.get("q_value"))  # fmt: skip
    if base is not None and model.get("attribution") and base.get("attribution"):
        from assay.monitor._model import compare_attribution

        att = compare_attribution(model["attribution"], base["attribution"], getattr(spec, "ndcg_threshold", 0.9), alpha=alpha,
                                  min_change=getattr(spec, "attribution_min_change", 0.25))  # fmt: skip
        result["attribution_drift"] = att
        if att["drifted"]:
            what = [f"NDCG of the importance ranking {att['ndcg']:.3f} is below {att['threshold']:g}"] if att["ndcg_below"] else []
            what += [f"{c['feature']} {c['baseline']:.3g} -> {c['current']:.3g} (q = {c['q_value']:.2g})" for c in att["feature_changes"] if c["changed"]]
            violate("global_importance", "feature_attribution_drift_check", "; ".join(what) + f" (NDCG {att['ndcg']:.3f}, Spearman {att['spearman']:.2f})",
                    value=att["ndcg"], threshold=att["threshold"])  # fmt: skip
    if base is not None and model.get("bias") and base.get("bias"):
        level = float(model["quality"].get("confidence_level", 0.95))
        drift = compare_bias(model["bias"], base["bias"], alpha=alpha, level=level)
        result["bias_drift"] = drift
        for d in drift:
            if d["drifted"]:
                violate(f"{d['facet']}={d['value']}", "bias_drift_check", f"{d['metric']} {d['current']:.4f} (n = {d['size']:,}) against {d['baseline']:.4f} "
                        f"in the baseline: further from parity, q = {d['q_value']:.2g}", value=d["current"], baseline=d["baseline"],
                        q_value=d["q_value"], metric=d["metric"])  # fmt: skip


def _binomial_below(k: int, n: int, p0: float) -> float:
    """One-sided p-value of seeing at most k successes in n when the rate is p0."""
    from scipy.special import bdtr

    if p0 >= 1.0:
        return 0.0 if k < n else 1.0
    return float(bdtr(k, n, p0))


def _numeric_drift(b: ColumnProfile, c: ColumnProfile, robust: bool) -> dict[str, Any]:
    from scipy.special import kolmogorov  # the Kolmogorov distribution's survival function (scipy.special: no scipy.stats import)

    n, m = b.n, c.n
    if b.values is not None and c.values is not None:
        points = np.unique(np.fromiter((float(v) for v in list(b.values) + list(c.values)), dtype=np.float64))
    else:
        grid = np.linspace(0, 1, 2001)
        points = np.unique(np.r_[b.quantiles(grid), c.quantiles(grid)])
    gap = np.abs(b.cdf(points) - c.cdf(points))
    raw = float(gap.max()) if len(gap) else 0.0
    error = b.rank_error() + c.rank_error()
    d = max(0.0, raw - error)
    en = math.sqrt(n * m / (n + m))
    p = float(kolmogorov(d * en)) if d > 0 else 1.0
    distance = max(0.0, d - 1.8 / en) if robust else d  # Deequ's robust L-infinity: less c_alpha * sqrt((n + m) / nm), c_alpha = 1.8
    u = np.linspace(0.0005, 0.9995, 1000)
    sd = b.std or 0.0
    wasserstein = float(np.mean(np.abs(b.quantiles(u) - c.quantiles(u))))
    deciles = np.unique(b.quantiles(np.linspace(0.1, 0.9, 9)))
    pb = np.diff(np.r_[0.0, b.cdf(deciles), 1.0])
    pc = np.diff(np.r_[0.0, c.cdf(deciles), 1.0])
    eps = 1e-4
    psi = float(np.sum((np.maximum(pc, eps) - np.maximum(pb, eps)) * np.log(np.maximum(pc, eps) / np.maximum(pb, eps))))
    return {"statistic": "KS", "test": "two-sample Kolmogorov-Smirnov (asymptotic)", "ks_distance": raw, "sketch_error": error,
            "distance": distance, "p_value": p, "wasserstein_in_std": (wasserstein / sd) if sd > 0 else None, "psi": psi,
            "mean_baseline": b.mean, "mean_current": c.mean, "n_baseline": n, "n_current": m}  # fmt: skip


def _categorical_drift(b: ColumnProfile, c: ColumnProfile) -> dict[str, Any]:
    from assay.stats import chi2_independence

    cb, rb = b.category_counts()
    cc, rc = c.category_counts()
    keys = sorted(set(cb) | set(cc))
    tb = np.array([cb.get(k, 0) for k in keys] + [rb], dtype=np.float64)
    tc = np.array([cc.get(k, 0) for k in keys] + [rc], dtype=np.float64)
    labels = keys + ["(other)"]
    nb, nc = tb.sum(), tc.sum()
    pb, pc = tb / nb, tc / nc
    linf = float(np.abs(pb - pc).max())
    mid = 0.5 * (pb + pc)

    def kl(p: np.ndarray, q: np.ndarray) -> float:
        mask = p > 0
        return float(np.sum(p[mask] * np.log2(p[mask] / q[mask])))

    js = math.sqrt(max(0.0, 0.5 * kl(pb, mid) + 0.5 * kl(pc, mid)))
    table = np.vstack([tb, tc])
    expected = table.sum(axis=0) * min(nb, nc) / (nb + nc)
    keep = expected >= 5
    if (~keep).any():  # pool rare categories so the chi-squared approximation holds
        pooled = table[:, ~keep].sum(axis=1, keepdims=True)
        table = np.hstack([table[:, keep], pooled]) if pooled.sum() > 0 else table[:, keep]
    p = chi2_independence(table)
    p = 1.0 if p is None else p
    biggest = labels[int(np.argmax(np.abs(pb - pc)))]
    return {"statistic": "ChiSquared", "test": "chi-squared test of the category counts", "linf": linf, "jensen_shannon": js,
            "distance": linf, "p_value": p, "largest_change": {"category": biggest, "baseline_share": float(pb[labels.index(biggest)]),
                                                               "current_share": float(pc[labels.index(biggest)])},
            "n_baseline": int(nb), "n_current": int(nc)}  # fmt: skip
