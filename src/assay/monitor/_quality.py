"""Model quality with intervals, and its comparison with a baseline.

Binary classification: the confusion counts (a 2 x 2 count tensor) give
accuracy, precision, recall, specificity, FPR, FNR, F1 and balanced accuracy;
a 1000-replicate multinomial bootstrap over the four cells gives their
intervals. With a score, ROC AUC comes from per-class score histograms (2,000
equal bins of [0, 1]; ties within a bin count half) with DeLong's variance.
Regression: MAE, RMSE and R^2 with normal intervals (delta method) from sums
of the errors. Every figure comes from a count table (:func:`quality_table`),
so batches and windows of any size are measured by merging their tables.
Model Monitor estimated a standard deviation from five 80% subsamples and
only above 200 rows; these are proper intervals at any size, with the size
reported.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from assay._errors import DataError
from assay._tabulate import CountTable

__all__ = ["CONSTRAINT_METRICS", "compare_quality", "constraints_schema", "model_quality", "quality_constraints", "quality_from_table", "quality_table"]

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
SCORE_BINS = 2000  # the score histogram's bins of [0, 1], as the audit's (bias._values.MAX_BINS)
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


def score_key(score: np.ndarray) -> np.ndarray:
    """The score histogram's key of each score: the midpoint of one of SCORE_BINS equal bins of [0, 1], or the score itself
    outside [0, 1]. The key keeps the scores' order and does not depend on the data, so histograms of batches and of windows
    add up."""
    s = np.asarray(score, dtype=np.float64)
    unit = (s >= 0) & (s <= 1)
    mid = (np.clip(np.floor(np.where(unit, s, 0.0) * SCORE_BINS), 0, SCORE_BINS - 1) + 0.5) / SCORE_BINS
    return np.where(unit, mid, s)


def quality_table(y_true: Any, y_pred: Any = None, *, score: Any = None, task: str = "binary", threshold: float = 0.5) -> CountTable:
    """Model quality's sufficient statistics of labelled rows, mergeable across batches and windows. Binary: rows per (label ``__y``,
    decision ``__p``) and, with a score, per score bin ``__s`` (with the sums of the score's distance from the bin's key and of its
    square, which tell the bins that hold one distinct score). Regression: the sums of |e|, e^2, e^4, y and y^2 (e = prediction - label)."""
    import narwhals as nw
    import pyarrow as pa

    from assay._tabulate import as_frame, tabulate

    y = np.asarray(y_true)
    if task == "regression":
        yf = y.astype(np.float64)
        e = np.asarray(y_pred, dtype=np.float64) - yf
        frame = pa.table({"__all": np.zeros(len(e), dtype=np.int64), "e": e, "y": yf})
        return tabulate(as_frame(frame), {"__all": nw.col("__all")}, sums={"ae": nw.col("e").abs(), "e2": nw.col("e") ** 2,
                                                                        "e4": nw.col("e") ** 4, "y1": nw.col("y"), "y2": nw.col("y") ** 2})  # fmt: skip
    if y_pred is None and score is None:
        raise DataError("model quality needs predictions or scores next to the ground truth")
    yp = np.asarray(score, dtype=np.float64) > threshold if y_pred is None else np.asarray(y_pred).astype(bool)
    cols = {"__y": y.astype(bool).astype(np.int64), "__p": yp.astype(np.int64)}
    sums = {}
    if score is not None:
        s = np.asarray(score, dtype=np.float64)
        key = score_key(s)
        cols |= {"__s": key, "d": s - key}  # centred on the bin: the spread of a bin's scores is not lost to rounding
        sums = {"s1": nw.col("d"), "s2": nw.col("d") ** 2}
    keys = {k: nw.col(k) for k in cols if k != "d"}
    return tabulate(as_frame(pa.table(cols)), keys, sums=sums)


def confusion_quality(cm: Any, *, confidence_level: float = 0.95, replicates: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Binary quality metrics from a confusion matrix ``[tp, fp, fn, tn]``, each with a multinomial bootstrap interval (the rows
    resampled, as the cells are all these metrics read)."""
    cm = np.asarray(cm, dtype=np.int64)
    rng = np.random.default_rng(seed)
    reps = rng.multinomial(int(cm.sum()), cm / cm.sum(), size=replicates) if replicates and cm.sum() else None
    point = _binary(cm)
    boot = _binary(reps) if reps is not None else None
    return {name: _with_interval(float(v), None if boot is None else boot[name], confidence_level, f"{name} divides by zero here") for name, v in point.items()}


def quality_from_table(table: CountTable, *, task: str = "binary", confidence_level: float = 0.95, replicates: int = 1000,
                       seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """Metrics with intervals from :func:`quality_table`'s table."""
    if table.n_rows == 0:
        raise DataError("no rows with ground truth to measure model quality on")
    out: dict[str, Any] = {"task": task, "rows": table.n_rows, "confidence_level": confidence_level}
    if task == "regression":
        out["metrics"] = _regression(table, _z(confidence_level))
        return out
    yp = table.marginal(["__y", "__p"])
    cells = dict(zip(zip(yp.values("__y"), yp.values("__p")), yp.count))
    cm = np.array([cells.get(k, 0.0) for k in ((1, 1), (0, 1), (1, 0), (0, 0))]).astype(np.int64)
    metrics = confusion_quality(cm, confidence_level=confidence_level, replicates=replicates, seed=seed)
    if "__s" in table.keys:
        metrics["auc"] = _auc(table, confidence_level)
    out["confusion_matrix"] = {"tp": int(cm[0]), "fp": int(cm[1]), "fn": int(cm[2]), "tn": int(cm[3])}
    out["metrics"] = metrics
    return out


def _regression(table: CountTable, z: float) -> dict[str, Any]:
    """MAE, MSE, RMSE and R^2 with normal intervals (delta method) from the sums."""
    n = float(table.count.sum())
    ae, e2, e4, y1, y2 = (float(table.sums[k].sum()) for k in ("ae", "e2", "e4", "y1", "y2"))
    mae, mse = ae / n, e2 / n
    se_mae = math.sqrt(max(0.0, (e2 - ae * ae / n) / (n - 1)) / n) if n > 1 else math.nan
    se_mse = math.sqrt(max(0.0, (e4 - e2 * e2 / n) / (n - 1)) / n) if n > 1 else math.nan
    rmse = math.sqrt(mse)
    var_y = max(0.0, y2 / n - (y1 / n) ** 2)
    r2 = 1 - mse / var_y if var_y > 0 else None
    return {
        "mae": {"value": mae, "ci": [mae - z * se_mae, mae + z * se_mae], "se": se_mae},
        "mse": {"value": mse, "ci": [max(0.0, mse - z * se_mse), mse + z * se_mse], "se": se_mse},
        "rmse": {"value": rmse, "ci": [max(0.0, rmse - z * se_mse / (2 * rmse)), rmse + z * se_mse / (2 * rmse)] if rmse > 0 else [0.0, 0.0],
                 "se": se_mse / (2 * rmse) if rmse > 0 else 0.0},
        "r2": ({"value": r2, "ci": [r2 - z * se_mse / var_y, r2 + z * se_mse / var_y], "se": se_mse / var_y} if r2 is not None
               else {"value": None, "reason": "the ground truth is constant"}),
    }  # fmt: skip


def _auc(table: CountTable, level: float) -> dict[str, Any]:
    """ROC AUC from the score histogram, with DeLong's normal interval; a note bounds the error of bins that hold several scores."""
    from assay.stats import binned_auc

    h = table.marginal(["__s", "__y"], sums={"s1": "s1", "s2": "s2"})
    bins, y = h.keys["__s"], np.asarray(h.values("__y"))
    nb = len(h.levels["__s"])
    pos = np.bincount(bins[y == 1], weights=h.count[y == 1], minlength=nb)
    neg = np.bincount(bins[y == 0], weights=h.count[y == 0], minlength=nb)
    got = binned_auc(pos, neg, float(pos.sum()), float(neg.sum()))
    if got is None:
        return {"value": None, "reason": "one class only"}
    auc, var = got
    n = np.bincount(bins, weights=h.count, minlength=nb)
    m1, m2 = (np.bincount(bins, weights=h.sums[k], minlength=nb) / np.maximum(n, 1) for k in ("s1", "s2"))
    spread = m2 - m1**2 > 1e-9 * m2  # bins that hold more than one distinct score (the sums' rounding stays far below 1e-9)
    bound = float(0.5 * (pos * neg)[spread].sum() / (pos.sum() * neg.sum()))
    out: dict[str, Any] = {"value": auc, "ci": [None, None], "se": None}
    if math.isfinite(var):
        se = math.sqrt(var)
        out |= {"ci": [max(0.0, auc - _z(level) * se), min(1.0, auc + _z(level) * se)], "se": se}
    if bound > 0:
        out["note"] = f"from a {SCORE_BINS:,}-bin score histogram: exact to within {bound:.2g}; interval: DeLong's variance"
    return out


def model_quality(y_true: Any, y_pred: Any = None, *, score: Any = None, task: str = "binary", threshold: float = 0.5,
                  confidence_level: float = 0.95, replicates: int = 1000, seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """Metrics with intervals. Binary: ``y_true`` and ``y_pred`` as 0/1 (or ``score`` with ``threshold``). Regression: values."""
    if len(np.asarray(y_true)) == 0:
        raise DataError("no rows with ground truth to measure model quality on")
    table = quality_table(y_true, y_pred, score=score, task=task, threshold=threshold)
    return quality_from_table(table, task=task, confidence_level=confidence_level, replicates=replicates, seed=seed)


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
