"""Model quality with intervals, and its comparison with a baseline.

Binary classification: the confusion counts (a 2 x 2 count tensor) give
accuracy, precision, recall, specificity, FPR, FNR, F1 and balanced accuracy;
a 1000-replicate multinomial bootstrap over the four cells gives their
intervals. With a score, ROC AUC comes from per-class score histograms (1000
bins on the pooled score quantiles; ties within a bin count half), resampled
the same way. Regression: MAE, RMSE and R^2 with normal intervals (delta
method). Model Monitor estimated a standard deviation from five 80% subsamples
and only above 200 rows; these are proper intervals at any size, with the
size reported.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from assay._errors import DataError

__all__ = ["CONSTRAINT_METRICS", "compare_quality", "constraints_schema", "model_quality", "quality_constraints"]

HIGHER_IS_BETTER = {"accuracy": True, "precision": True, "recall": True, "specificity": True, "f1": True, "balanced_accuracy": True, "auc": True,
                    "false_positive_rate": False, "false_negative_rate": False, "mae": False, "mse": False, "rmse": False, "r2": True,
                    "true_positive_rate": True, "true_negative_rate": True, "f0_5": True, "f2": True}  # fmt: skip
_CONSTANT = ("recall", "precision", "accuracy", "f0_5", "f1", "f2")  # Model Monitor's best-constant-classifier references
HIGHER_IS_BETTER |= {f"{m}_best_constant_classifier": True for m in _CONSTANT}

#: The metrics a model-quality constraint may name, per task: Model Monitor's list (and assay's extra binary metrics).
CONSTRAINT_METRICS = {
    "regression": ("mae", "mse", "rmse", "r2"),
    "binary": ("recall", "precision", "accuracy", "true_positive_rate", "true_negative_rate", "false_positive_rate", "false_negative_rate",
               "auc", "f0_5", "f1", "f2", *(f"{m}_best_constant_classifier" for m in _CONSTANT), "specificity", "balanced_accuracy"),
}  # fmt: skip
_CONSTRAINT_FILE_KEYS = {"regression_constraints": "regression", "binary_classification_constraints": "binary",
                         "multiclass_classification_constraints": "multiclass"}  # fmt: skip
OPERATORS = ("LessThanThreshold", "LessThanOrEqualToThreshold", "GreaterThanThreshold", "GreaterThanOrEqualToThreshold")


def constraints_schema(task: str) -> dict[str, Any]:
    """The JSON schema of what ``quality_constraints`` takes for ``task``: assay's ``{metric: {...}}`` or a Model Monitor file's body."""
    one = {"type": "object", "properties": {"threshold": {"type": "number"}, "comparison_operator": {"enum": list(OPERATORS)}},
           "required": ["threshold"], "additionalProperties": False}  # fmt: skip
    metrics = {"type": "object", "propertyNames": {"enum": list(CONSTRAINT_METRICS[task])}, "additionalProperties": one}
    key = next(k for k, t in _CONSTRAINT_FILE_KEYS.items() if t == task)
    wrapped = {"type": "object", "properties": {"version": {"type": "number"}, key: metrics}, "required": [key], "additionalProperties": False}
    return {"anyOf": [metrics, wrapped]}


def quality_constraints(raw: Any, task: str) -> dict[str, dict[str, Any]]:
    """Validated model-quality constraints ``{metric: {threshold, comparison_operator}}`` for ``task``.

    Takes assay's ``{metric: {...}}`` or the body of a Model Monitor ``constraints.json`` for model quality
    (``{"version": 0.0, "binary_classification_constraints": {...}}``). A metric that the task does not have, a
    threshold that is not a finite number and an unknown operator are errors naming the key.
    """
    from assay._errors import ConfigError, did_you_mean

    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"model_quality_constraints must be {{metric: {{threshold, comparison_operator}}}}, got {raw!r}")
    wrapped = [k for k in raw if k in _CONSTRAINT_FILE_KEYS]
    if wrapped:
        if len(wrapped) > 1 or set(raw) - {"version", *wrapped}:
            raise ConfigError(
                f"model_quality_constraints: a Model Monitor constraints file has one of {', '.join(_CONSTRAINT_FILE_KEYS)} and version; got {sorted(raw)}"
            )
        if _CONSTRAINT_FILE_KEYS[wrapped[0]] != task:
            raise ConfigError(
                f"model_quality_constraints has {wrapped[0]}, but this model's task is {task}"
                + (" (assay monitors binary classification and regression)" if _CONSTRAINT_FILE_KEYS[wrapped[0]] == "multiclass" else "")
            )
        raw = raw[wrapped[0]] or {}
    known = CONSTRAINT_METRICS.get(task, ())
    out: dict[str, dict[str, Any]] = {}
    for name, c in raw.items():
        if name not in known:
            other = [t for t, names in CONSTRAINT_METRICS.items() if name in names]
            why = f" (a {other[0]} metric; this model's task is {task})" if other else did_you_mean(str(name), known)
            raise ConfigError(f"model_quality_constraints: {name!r} is not a {task} metric.{why} Known: {', '.join(known)}")
        if not isinstance(c, dict) or "threshold" not in c:
            raise ConfigError(f"model_quality_constraints.{name} must be {{threshold: NUMBER, comparison_operator: ...}}, got {c!r}")
        thr = c["threshold"]
        if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not math.isfinite(thr):
            raise ConfigError(f"model_quality_constraints.{name}.threshold must be a finite number, got {thr!r}")
        op = c.get("comparison_operator", "LessThanThreshold")
        if op not in OPERATORS:
            raise ConfigError(f"model_quality_constraints.{name}.comparison_operator must be one of {', '.join(OPERATORS)}, got {op!r}")
        extra = set(c) - {"threshold", "comparison_operator"}
        if extra:
            raise ConfigError(f"model_quality_constraints.{name}: unknown key {sorted(extra)[0]!r}; known: threshold, comparison_operator")
        out[str(name)] = {"threshold": float(thr), "comparison_operator": op}
    return out


def _z(level: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(0.5 + level / 2))


def _binary(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics of confusion counts cm[..., (tp, fp, fn, tn)] (NaN where undefined)."""
    tp, fp, fn, tn = (cm[..., i].astype(np.float64) for i in range(4))
    with np.errstate(divide="ignore", invalid="ignore"):
        n = tp + fp + fn + tn
        precision = tp / (tp + fp)
        recall = tp / (tp + fn)
        specificity = tn / (tn + fp)
        base = (tp + fn) / n  # the best constant classifier predicts every row positive (accuracy: the majority class)
        out = {"accuracy": (tp + tn) / n, "precision": precision, "recall": recall, "specificity": specificity,
               "false_positive_rate": fp / (fp + tn), "false_negative_rate": fn / (fn + tp),
               "f1": 2 * tp / (2 * tp + fp + fn), "balanced_accuracy": 0.5 * (recall + specificity),
               "true_positive_rate": recall, "true_negative_rate": specificity,
               "f0_5": 1.25 * tp / (1.25 * tp + 0.25 * fn + fp), "f2": 5 * tp / (5 * tp + 4 * fn + fp),
               "recall_best_constant_classifier": np.where(tp + fn > 0, 1.0, np.nan), "precision_best_constant_classifier": base,
               "accuracy_best_constant_classifier": np.maximum(base, 1 - base)}  # fmt: skip
        for beta, key in ((0.5, "f0_5"), (1.0, "f1"), (2.0, "f2")):
            out[f"{key}_best_constant_classifier"] = (1 + beta**2) * base / (beta**2 + base)
        return out


def _auc(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """ROC AUC from score-bin counts pos[..., b], neg[..., b] (bins in increasing score)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        below = np.cumsum(neg, axis=-1) - neg  # negatives in lower bins
        wins = (pos * (below + 0.5 * neg)).sum(axis=-1)
        return wins / (pos.sum(axis=-1) * neg.sum(axis=-1))


def model_quality(y_true: Any, y_pred: Any = None, *, score: Any = None, task: str = "binary", threshold: float = 0.5,
                  confidence_level: float = 0.95, replicates: int = 1000, seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """Metrics with intervals. Binary: ``y_true`` and ``y_pred`` as 0/1 (or ``score`` with ``threshold``). Regression: values."""
    y = np.asarray(y_true)
    if len(y) == 0:
        raise DataError("no rows with ground truth to measure model quality on")
    z = _z(confidence_level)
    out: dict[str, Any] = {"task": task, "rows": int(len(y)), "confidence_level": confidence_level}
    if task == "regression":
        p = np.asarray(y_pred, dtype=np.float64)
        e = p - y.astype(np.float64)
        n = len(e)
        mae, mse = float(np.abs(e).mean()), float((e**2).mean())
        se_mae = float(np.abs(e).std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        se_mse = float((e**2).std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        rmse = math.sqrt(mse)
        var_y = float(y.astype(np.float64).var())
        r2 = 1 - mse / var_y if var_y > 0 else None
        out["metrics"] = {
            "mae": {"value": mae, "ci": [mae - z * se_mae, mae + z * se_mae], "se": se_mae},
            "mse": {"value": mse, "ci": [max(0.0, mse - z * se_mse), mse + z * se_mse], "se": se_mse},
            "rmse": {"value": rmse, "ci": [max(0.0, rmse - z * se_mse / (2 * rmse)), rmse + z * se_mse / (2 * rmse)] if rmse > 0 else [0.0, 0.0],
                     "se": se_mse / (2 * rmse) if rmse > 0 else 0.0},
            "r2": ({"value": r2, "ci": [r2 - z * se_mse / var_y, r2 + z * se_mse / var_y], "se": se_mse / var_y} if r2 is not None
                   else {"value": None, "reason": "the ground truth is constant"}),
        }  # fmt: skip
        return out
    yt = y.astype(bool)
    if y_pred is None:
        if score is None:
            raise DataError("model quality needs predictions or scores next to the ground truth")
        yp = np.asarray(score, dtype=np.float64) > threshold
    else:
        yp = np.asarray(y_pred).astype(bool)
    cm = np.array([(yt & yp).sum(), (~yt & yp).sum(), (yt & ~yp).sum(), (~yt & ~yp).sum()], dtype=np.int64)
    rng = np.random.default_rng(seed)
    reps = rng.multinomial(int(cm.sum()), cm / cm.sum(), size=replicates) if replicates else None
    point = _binary(cm)
    boot = _binary(reps) if reps is not None else None
    metrics: dict[str, Any] = {}
    for name, v in point.items():
        metrics[name] = _with_interval(float(v), None if boot is None else boot[name], confidence_level, f"{name} divides by zero here")
    if score is not None:
        s = np.asarray(score, dtype=np.float64)
        edges = np.unique(np.quantile(s, np.linspace(0, 1, 1001)[1:-1]))
        b = np.searchsorted(edges, s, side="right")
        pos = np.bincount(b[yt], minlength=len(edges) + 1).astype(np.float64)
        neg = np.bincount(b[~yt], minlength=len(edges) + 1).astype(np.float64)
        cells = np.r_[pos, neg]
        auc_reps = None
        if replicates and cells.sum():
            draws = rng.multinomial(int(cells.sum()), cells / cells.sum(), size=replicates).astype(np.float64)
            auc_reps = _auc(draws[:, : len(pos)], draws[:, len(pos) :])
        metrics["auc"] = _with_interval(float(_auc(pos, neg)), auc_reps, confidence_level, "one class only")
    out["confusion_matrix"] = {"tp": int(cm[0]), "fp": int(cm[1]), "fn": int(cm[2]), "tn": int(cm[3])}
    out["metrics"] = metrics
    return out


def _with_interval(value: float, reps: np.ndarray | None, level: float, why: str) -> dict[str, Any]:
    if not math.isfinite(value):
        return {"value": None, "reason": why}
    if reps is None:
        return {"value": value, "ci": [None, None], "se": None}
    finite = reps[np.isfinite(reps)]
    if len(finite) < 10:
        return {"value": value, "ci": [None, None], "se": None}
    lo, hi = np.quantile(finite, [(1 - level) / 2, 1 - (1 - level) / 2])
    return {"value": value, "ci": [float(lo), float(hi)], "se": float(finite.std(ddof=1))}


def compare_quality(current: dict[str, Any], baseline: dict[str, Any], *, alpha: float = 0.05, min_change: float = 0.01,
                    thresholds: dict[str, Any] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Each metric against the baseline: the change, a one-sided z-test that it got worse, and Model Monitor thresholds when given.

    A metric is flagged when it is worse by more than ``min_change`` and the
    worsening is significant after Benjamini-Hochberg control across the
    metrics, or when it crosses a threshold from ``thresholds`` (Model
    Monitor's ``{metric: {threshold, comparison_operator}}``).
    """
    from scipy.special import ndtr

    from assay.stats import benjamini_hochberg

    rows = []
    alone = []  # metrics without a baseline value: only their thresholds apply
    for name, cur in current["metrics"].items():
        base = baseline.get("metrics", {}).get(name)
        if cur.get("value") is None:
            continue
        if base is None or base.get("value") is None:
            if name in (thresholds or {}):
                alone.append({"metric": name, "current": cur["value"]})
            continue
        better = HIGHER_IS_BETTER.get(name, True)
        change = cur["value"] - base["value"]
        worse_by = -change if better else change
        se = math.sqrt((cur.get("se") or 0.0) ** 2 + (base.get("se") or 0.0) ** 2)
        p = float(ndtr(-worse_by / se)) if se > 0 else (0.0 if worse_by > 0 else 1.0)
        rows.append({"metric": name, "baseline": base["value"], "current": cur["value"], "change": change, "worse_by": worse_by,
                     "p_value_worse": p, "current_ci": cur.get("ci"), "baseline_ci": base.get("ci")})  # fmt: skip
    qs = benjamini_hochberg([r["p_value_worse"] for r in rows])
    for r, q in zip(rows, qs, strict=True):
        r["q_value"] = q
        r["worse"] = bool(q is not None and q < alpha and r["worse_by"] > min_change)
    for r in rows + alone:
        t = (thresholds or {}).get(r["metric"])
        if t:
            op, thr = t.get("comparison_operator", "LessThanThreshold"), float(t["threshold"])
            r["threshold"] = {"threshold": thr, "comparison_operator": op, "crossed": crossed(r["current"], thr, op, r["metric"])}
    return rows + alone


def crossed(value: float, threshold: float, operator: str, metric: str) -> bool:
    """Model Monitor's comparison of a metric with its threshold."""
    ops = {"LessThanThreshold": value < threshold, "LessThanOrEqualToThreshold": value <= threshold,
           "GreaterThanThreshold": value > threshold, "GreaterThanOrEqualToThreshold": value >= threshold}  # fmt: skip
    if operator not in ops:
        raise DataError(f"model quality constraint {metric}: comparison_operator {operator!r} is not one of Model Monitor's "
                        "LessThanThreshold, LessThanOrEqualToThreshold, GreaterThanThreshold, GreaterThanOrEqualToThreshold")  # fmt: skip
    return bool(ops[operator])
