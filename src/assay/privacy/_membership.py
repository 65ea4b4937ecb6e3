"""Membership inference: how well an attacker who sees a model's outputs tells the rows it was trained on from others, overall
and per group.

The attack is the loss threshold (Yeom et al. 2018): a row's membership score is minus the model's log loss on it (training
rows tend to have lower loss). Reported: the AUC of members against non-members (0.5: the model leaks nothing this attack
finds) and the true positive rate at a false positive rate of 0.1% (Carlini et al. 2022: the attack's success on the rows it
is sure about), each with a percentile bootstrap interval (members and non-members resampled separately), overall and for
every group of each facet. The TPR at an FPR of f needs at least 1 / f non-members to be defined; with fewer it is null with
that reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from assay._errors import ConfigError, DataError

__all__ = ["membership_inference"]


def membership_inference(model: Any, members: Any, non_members: Any, *, label: str, positive: Sequence[Any], facets: Sequence[str] = (),
                         fpr: float = 0.001, replicates: int = 500, confidence_level: float = 0.95, seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """The loss-threshold attack on ``model`` (``predict_proba`` of the positive class) with its training rows ``members`` and
    rows it never saw ``non_members`` (tables with the label and the model's features)."""
    import pandas as pd

    if not hasattr(model, "predict_proba"):
        raise ConfigError("membership inference needs a model with predict_proba (the attack reads the model's probability of the true label)")
    if not 0 < fpr < 1:
        raise ConfigError(f"fpr must be between 0 and 1, got {fpr!r}")
    frames = [m if isinstance(m, pd.DataFrame) else pd.DataFrame(m) for m in (members, non_members)]
    for f in frames:
        for c in [label, *facets]:
            if c not in f.columns:
                raise DataError(f"the data has no column {c!r}")
    scores = np.concatenate([_score(model, f, label, positive) for f in frames])
    member = np.concatenate([np.ones(len(frames[0]), dtype=bool), np.zeros(len(frames[1]), dtype=bool)])
    both = pd.concat(frames, ignore_index=True)
    rng = np.random.default_rng([seed, 13])
    out: dict[str, Any] = {"attack": "loss threshold (minus the log loss of the true label)", "fpr": fpr, "replicates": replicates,
                           "confidence_level": confidence_level, "overall": _measure(scores, member, fpr, replicates, confidence_level, rng), "by_group": {}}  # fmt: skip
    for facet in facets:
        col = both[facet].astype(str).to_numpy()
        out["by_group"][facet] = [
            {"group": g, **_measure(scores[col == g], member[col == g], fpr, replicates, confidence_level, rng)} for g in sorted(set(col))
        ]
    return out


def _score(model: Any, frame: Any, label: str, positive: Sequence[Any]) -> np.ndarray:
    y = frame[label].isin(list(positive)).to_numpy()
    try:
        proba = np.asarray(model.predict_proba(frame.drop(columns=[label])))
    except Exception as e:  # noqa: BLE001  (the model's own error, one line)
        raise DataError(f"the model could not score the rows: {type(e).__name__}: {e}") from None
    p = proba[:, 1] if proba.ndim == 2 else proba
    p = np.clip(p.astype(np.float64), 1e-15, 1 - 1e-15)
    return np.where(y, np.log(p), np.log(1 - p))  # minus the log loss: higher for rows the model fits better


def _auc(scores: np.ndarray, member: np.ndarray) -> float:
    from scipy.stats import rankdata

    n1, n0 = member.sum(), (~member).sum()
    ranks = rankdata(scores)
    return float((ranks[member].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _tpr(scores: np.ndarray, member: np.ndarray, fpr: float) -> float:
    threshold = np.quantile(scores[~member], 1 - fpr, method="higher")
    return float((scores[member] > threshold).mean())


def _measure(scores: np.ndarray, member: np.ndarray, fpr: float, replicates: int, level: float, rng: np.random.Generator) -> dict[str, Any]:
    n1, n0 = int(member.sum()), int((~member).sum())
    out: dict[str, Any] = {"members": n1, "non_members": n0}
    if n1 < 2 or n0 < 2:
        return out | {"auc": None, "auc_ci": [None, None], "tpr": None, "tpr_ci": [None, None], "reason": "fewer than 2 members or non-members"}
    i1, i0 = np.flatnonzero(member), np.flatnonzero(~member)
    defined = n0 >= 1 / fpr
    aucs, tprs = np.empty(replicates), np.empty(replicates)
    for r in range(replicates):
        idx = np.concatenate([rng.choice(i1, n1), rng.choice(i0, n0)])
        aucs[r] = _auc(scores[idx], member[idx])
        tprs[r] = _tpr(scores[idx], member[idx], fpr) if defined else np.nan
    q = [(1 - level) / 2, (1 + level) / 2]
    out |= {"auc": _auc(scores, member), "auc_ci": [float(x) for x in np.quantile(aucs, q)] if replicates else [None, None]}
    if defined:
        out |= {"tpr": _tpr(scores, member, fpr), "tpr_ci": [float(x) for x in np.quantile(tprs, q)] if replicates else [None, None]}
    else:
        out |= {"tpr": None, "tpr_ci": [None, None], "reason": f"a TPR at FPR {fpr:g} needs at least {int(np.ceil(1 / fpr)):,} non-members; this has {n0:,}"}
    return out
