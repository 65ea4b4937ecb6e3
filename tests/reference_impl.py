"""An independent, row-level computation of every metric, for conformance tests.

Written from the documented formulas directly over rows with pandas and
numpy, without assay's count tensor, so that agreement is evidence.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def _rates(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    n = len(y)
    tp = float(((y == 1) & (p == 1)).sum())
    fp = float(((y == 0) & (p == 1)).sum())
    tn = float(((y == 0) & (p == 0)).sum())
    fn = float(((y == 1) & (p == 0)).sum())

    def div(a: float, b: float) -> float:
        return a / b if b else math.nan

    return {
        "n": n, "n1": float(y.sum()), "n0": float(n - y.sum()), "p1": float(p.sum()), "p0": float(n - p.sum()),
        "TP": tp, "FP": fp, "TN": tn, "FN": fn,
        "q": div(y.sum(), n), "qp": div(p.sum(), n),
        "tpr": div(tp, tp + fn), "tnr": div(tn, tn + fp), "fpr": div(fp, fp + tn), "fnr": div(fn, fn + tp),
        "ppv": div(tp, tp + fp), "npv": div(tn, tn + fn), "fdr": div(fp, tp + fp), "for": div(fn, tn + fn),
        "acc": div(tp + tn, n), "c": div(y.sum(), p.sum()), "r": div(n - y.sum(), n - p.sum()),
    }  # fmt: skip


def reference_metrics(y: np.ndarray, p: np.ndarray, d: np.ndarray, strata: np.ndarray | None = None) -> dict[str, float]:
    """Every count-based metric for facet d (boolean mask) against the rest."""
    a_ = _rates(y[~d], p[~d])
    d_ = _rates(y[d], p[d])
    pa = np.array([1 - a_["q"], a_["q"]])
    pd_ = np.array([1 - d_["q"], d_["q"]])
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = float(sum(x * math.log(x / z) for x, z in zip(pa, pd_) if x > 0))
        m = (pa + pd_) / 2
        js = 0.5 * float(sum(x * math.log(x / z) for x, z in zip(pa, m) if x > 0) + sum(x * math.log(x / z) for x, z in zip(pd_, m) if x > 0))
    out = {
        "CI": (a_["n"] - d_["n"]) / (a_["n"] + d_["n"]),
        "DPL": a_["q"] - d_["q"],
        "KL": kl,
        "JS": js,
        "LP": float(np.sqrt(((pa - pd_) ** 2).sum())),
        "TVD": float(0.5 * np.abs(pa - pd_).sum()),
        "KS": abs(a_["q"] - d_["q"]),
        "DPPL": a_["qp"] - d_["qp"],
        "DI": d_["qp"] / a_["qp"],
        "DCAcc": a_["c"] - d_["c"],
        "DCR": d_["r"] - a_["r"],
        "RD": a_["tpr"] - d_["tpr"],
        "SD": d_["tnr"] - a_["tnr"],
        "DAR": a_["ppv"] - d_["ppv"],
        "DRR": d_["npv"] - a_["npv"],
        "AD": a_["acc"] - d_["acc"],
        "TE": d_["FN"] / d_["FP"] - a_["FN"] / a_["FP"],
        "DPR": min(a_["qp"], d_["qp"]) / max(a_["qp"], d_["qp"]),
        "EqOddsD": max(abs(a_["tpr"] - d_["tpr"]), abs(a_["fpr"] - d_["fpr"])),
        "EqOddsR": min(min(a_["tpr"], d_["tpr"]) / max(a_["tpr"], d_["tpr"]), min(a_["fpr"], d_["fpr"]) / max(a_["fpr"], d_["fpr"])),
        "EqOppD": d_["tpr"] - a_["tpr"],
        "AOD": 0.5 * ((d_["fpr"] - a_["fpr"]) + (d_["tpr"] - a_["tpr"])),
        "FPRD": d_["fpr"] - a_["fpr"],
        "FNRD": d_["fnr"] - a_["fnr"],
        "FDRD": d_["fdr"] - a_["fdr"],
        "FORD": d_["for"] - a_["for"],
    }
    b = p - y + 1
    mu = b.mean()
    out["GE"] = float(((b / mu) ** 2 - 1).sum() / (len(b) * 2))
    if strata is not None:
        for name, outcome in (("CDDL", y), ("CDDPL", p)):
            num = den = 0.0
            for s in np.unique(strata):
                m_ = strata == s
                rej, acc = (outcome[m_] == 0), (outcome[m_] == 1)
                if rej.sum() == 0 or acc.sum() == 0:
                    continue
                dd = (d[m_] & rej).sum() / rej.sum() - (d[m_] & acc).sum() / acc.sum()
                num += m_.sum() * dd
                den += m_.sum()
            out[name] = num / den
    return out


def confusion(y: np.ndarray, p: np.ndarray) -> dict[str, int]:
    return {"TP": int(((y == 1) & (p == 1)).sum()), "FP": int(((y == 0) & (p == 1)).sum()),
            "TN": int(((y == 0) & (p == 0)).sum()), "FN": int(((y == 1) & (p == 0)).sum())}  # fmt: skip


def masks(df: pd.DataFrame, facet: str | list[str]) -> dict[object, np.ndarray]:
    if isinstance(facet, str):
        return {v: (df[facet] == v).to_numpy() for v in sorted(df[facet].unique())}
    keys = df[facet].drop_duplicates().sort_values(facet).itertuples(index=False)
    return {tuple(k): np.logical_and.reduce([(df[c] == v).to_numpy() for c, v in zip(facet, k)]) for k in keys}
