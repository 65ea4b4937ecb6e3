"""A task's metric by group, with intervals from a bootstrap that resamples units (speakers, queries, sessions) when rows of a
unit are not independent: what Fairlearn's MetricFrame reports, with the uncertainty it lacks.

Built-in metrics are ratios of sums, so a group's value and every bootstrap replicate come from per-unit sums:

    wer, cer           edits / reference words (characters): ``reference`` and ``hypothesis`` text columns
    mae, mse, rmse     |y - p|, (y - p)^2 over rows (rmse: the square root of mse): ``label`` and ``prediction``
    mean_error         y - p over rows
    ndcg               NDCG@k of each query (gain = relevance, as scikit-learn), averaged over queries: ``query``, ``relevance``, ``score``
    exposure           the mean position-based exposure 1 / log2(1 + rank) of a group's items within their queries (top k)

Each replicate draws as many units as there are, with replacement (rows, when no ``unit`` is given), and recomputes every
group's value and its difference from the rest; percentile intervals. A metric given as a function ``f(frame) -> float`` is
recomputed on each replicate's rows (slower; any metric).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay._errors import ConfigError, DataError, did_you_mean

__all__ = ["METRICS", "GroupMetrics", "by_group"]

METRICS = ("wer", "cer", "mae", "mse", "rmse", "mean_error", "ndcg", "exposure")
CHUNK = 64  # replicates drawn at a time (a chunk x units matrix of counts)


@dataclass
class GroupMetrics:
    metric: str
    group: str
    unit: str | None
    overall: dict[str, Any]
    groups: list[dict[str, Any]]
    settings: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "group": self.group, "unit": self.unit, "overall": self.overall, "groups": self.groups,
                "settings": self.settings, "warnings": self.warnings}  # fmt: skip

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([{"group": g["group"], "value": g["value"], "ci_low": g["ci"][0], "ci_high": g["ci"][1], "rows": g["rows"], "units": g["units"],
                              "difference": g["difference"], "difference_ci_low": g["difference_ci"][0], "difference_ci_high": g["difference_ci"][1]}
                             for g in self.groups])  # fmt: skip


def by_group(data: Any, *, metric: str | Callable[[Any], float], group: str, unit: str | None = None, reference: str | None = None,
             hypothesis: str | None = None, label: str | None = None, prediction: str | None = None, query: str | None = None,
             relevance: str | None = None, score: str | None = None, k: int = 10, replicates: int = 1000, confidence_level: float = 0.95,
             seed: int = 0) -> GroupMetrics:  # fmt: skip
    """``metric`` of every value of ``group``, with intervals (see the module's description)."""
    frame = _frame(data)
    name = metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
    if isinstance(metric, str) and metric not in METRICS:
        raise ConfigError(f"metric must be one of {', '.join(METRICS)} or a function of a table, got {metric!r}.{did_you_mean(metric, list(METRICS))}")
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 0:
        raise ConfigError(f"replicates must be a whole number, got {replicates!r}")
    if not 0 < confidence_level < 1:
        raise ConfigError(f"confidence_level must be between 0 and 1, got {confidence_level!r}")
    if metric in ("ndcg", "exposure") and unit is None:
        unit = query  # a query's rows are one unit: its ranking
    needed = {"group": group, "unit": unit, **_columns(metric, reference, hypothesis, label, prediction, query, relevance, score)}
    for role, col in needed.items():
        if col is not None and col not in frame.columns:
            raise DataError(f"the data has no {role} column {col!r}.{did_you_mean(col, [str(c) for c in frame.columns])}")
    if frame[group].isna().any():
        raise DataError(f"group column {group!r} has {int(frame[group].isna().sum())} missing values; fill them (e.g. 'unknown') or drop those rows")
    rng = np.random.default_rng([seed, 11])
    units = frame[unit].to_numpy() if unit is not None else np.arange(len(frame))
    u_codes, u_index = np.unique(units, return_inverse=True)
    g_values, g_index = np.unique(frame[group].astype(str).to_numpy(), return_inverse=True)
    if callable(metric):
        point, reps = _callable(frame, metric, u_index, len(u_codes), g_index, len(g_values), replicates, rng)
    else:
        num, den = _terms(frame, str(metric), reference, hypothesis, label, prediction, query, relevance, score, k)
        point, reps = _ratio(num, den, u_index, len(u_codes), g_index, len(g_values), replicates, rng, root=metric == "rmse")
    return _result(name, group, unit, frame, g_values, g_index, u_index, point, reps, confidence_level, replicates, seed, k)


def _frame(data: Any) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    from assay._tabulate import as_frame

    return as_frame(data).collect().to_pandas()


def _columns(metric: Any, reference: Any, hypothesis: Any, label: Any, prediction: Any, query: Any, relevance: Any, score: Any) -> dict[str, Any]:
    need = {"wer": {"reference": reference, "hypothesis": hypothesis}, "cer": {"reference": reference, "hypothesis": hypothesis},
            "ndcg": {"query": query, "relevance": relevance, "score": score}, "exposure": {"query": query, "score": score}}.get(
        metric, {"label": label, "prediction": prediction} if isinstance(metric, str) else {})  # fmt: skip
    missing = [role for role, col in need.items() if col is None]
    if missing:
        raise ConfigError(f"metric {metric} needs the columns {', '.join(need)}; give {', '.join(missing)}")
    return need


def _terms(frame: Any, metric: str, reference: Any, hypothesis: Any, label: Any, prediction: Any, query: Any, relevance: Any, score: Any,
           k: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per row, the numerator and the denominator of the metric's ratio of sums."""
    import pandas as pd

    if metric in ("wer", "cer"):
        from assay.tasks._edits import edit_counts

        return edit_counts(frame[reference].fillna("").astype(str).tolist(), frame[hypothesis].fillna("").astype(str).tolist(),
                           unit="word" if metric == "wer" else "char")  # fmt: skip
    if metric in ("ndcg", "exposure"):
        return _ranking(frame, metric, query, relevance, score, k)
    y, p = (pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64) for c in (label, prediction))
    bad = np.isnan(y) | np.isnan(p)
    if bad.any():
        raise DataError(f"{label!r} or {prediction!r} has {int(bad.sum())} values that are not numbers (first at row {int(np.flatnonzero(bad)[0])})")
    diff = y - p
    term = {"mae": np.abs(diff), "mse": diff**2, "rmse": diff**2, "mean_error": diff}[metric]
    return term, np.ones(len(frame))


def _ranking(frame: Any, metric: str, query: str, relevance: Any, score: str, k: int) -> tuple[np.ndarray, np.ndarray]:
    """NDCG@k: each query's value on its first row (denominator 1 there, 0 elsewhere); exposure: 1 / log2(1 + rank) within the
    top k of each item's query (0 below), each item a denominator of 1."""
    import pandas as pd

    s = pd.to_numeric(frame[score], errors="coerce")
    if s.isna().any():
        raise DataError(f"score column {score!r} has {int(s.isna().sum())} values that are not numbers")
    rank = s.groupby(frame[query]).rank(ascending=False, method="first").to_numpy()
    gain = np.where(rank <= k, 1.0 / np.log2(1.0 + rank), 0.0)
    if metric == "exposure":
        return gain, np.ones(len(frame))
    rel = pd.to_numeric(frame[relevance], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)
    ideal_rank = pd.Series(rel).groupby(frame[query].to_numpy()).rank(ascending=False, method="first").to_numpy()
    dcg = pd.Series(rel * gain).groupby(frame[query].to_numpy()).transform("sum").to_numpy()
    idcg = pd.Series(np.where(ideal_rank <= k, rel / np.log2(1.0 + ideal_rank), 0.0)).groupby(frame[query].to_numpy()).transform("sum").to_numpy()
    first = ~pd.Series(frame[query].to_numpy()).duplicated().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ndcg = np.where(idcg > 0, dcg / idcg, np.nan)
    keep = first & ~np.isnan(ndcg)  # a query with no relevant item has no NDCG
    return np.where(keep, ndcg, 0.0), keep.astype(np.float64)


def _ratio(num: np.ndarray, den: np.ndarray, u_index: np.ndarray, n_units: int, g_index: np.ndarray, n_groups: int, replicates: int,
           rng: np.random.Generator, *, root: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(groups + 1) point values (the last: all rows) and (replicates, groups + 1, 2) replicates of [value, rest's value]."""
    cell = u_index * n_groups + g_index
    N = np.bincount(cell, weights=num, minlength=n_units * n_groups).reshape(n_units, n_groups)  # noqa: N806
    D = np.bincount(cell, weights=den, minlength=n_units * n_groups).reshape(n_units, n_groups)  # noqa: N806

    def values(n: np.ndarray, d: np.ndarray) -> np.ndarray:  # (..., groups) sums -> (..., groups + 1, 2): each group and its rest
        tn, td = n.sum(axis=-1, keepdims=True), d.sum(axis=-1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = np.concatenate([n / d, tn / td], axis=-1)
            rest = np.concatenate([(tn - n) / (td - d), np.full_like(tn, np.nan)], axis=-1)
        out = np.stack([inside, rest], axis=-1)
        return np.sqrt(out) if root else out

    point = values(N.sum(axis=0), D.sum(axis=0))
    reps = np.empty((replicates, n_groups + 1, 2))
    for start in range(0, replicates, CHUNK):
        b = min(CHUNK, replicates - start)
        counts = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=b).astype(np.float64)  # units drawn with replacement
        reps[start : start + b] = values(counts @ N, counts @ D)
    return point, reps


def _callable(frame: Any, fn: Callable[[Any], float], u_index: np.ndarray, n_units: int, g_index: np.ndarray, n_groups: int, replicates: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    rows_of = [np.flatnonzero(u_index == u) for u in range(n_units)]

    def values(rows: np.ndarray) -> np.ndarray:
        g = g_index[rows]
        out = np.full((n_groups + 1, 2), np.nan)
        for j in range(n_groups):
            inside = rows[g == j]
            out[j] = [_call(fn, frame, inside), _call(fn, frame, rows[g != j])]
        out[n_groups, 0] = _call(fn, frame, rows)
        return out

    point = values(np.arange(len(frame)))
    reps = np.empty((replicates, n_groups + 1, 2))
    for r in range(replicates):
        drawn = rng.integers(0, n_units, n_units)
        reps[r] = values(np.concatenate([rows_of[u] for u in drawn]))
    return point, reps


def _call(fn: Callable[[Any], float], frame: Any, rows: np.ndarray) -> float:
    if len(rows) == 0:
        return float("nan")
    try:
        return float(fn(frame.iloc[rows]))
    except Exception as e:  # noqa: BLE001  (the user's function: one line)
        raise DataError(f"the metric function failed on a group's rows: {type(e).__name__}: {e}") from None


def _result(name: str, group: str, unit: str | None, frame: Any, g_values: np.ndarray, g_index: np.ndarray, u_index: np.ndarray, point: np.ndarray,
            reps: np.ndarray, level: float, replicates: int, seed: int, k: int) -> GroupMetrics:  # fmt: skip
    def num(x: float) -> float | None:
        return None if not np.isfinite(x) else float(x)

    def ci(samples: np.ndarray) -> list[float | None]:
        finite = samples[np.isfinite(samples)]
        if replicates == 0 or len(finite) < max(10, 0.9 * len(samples)):
            return [None, None]
        lo, hi = np.quantile(finite, [(1 - level) / 2, (1 + level) / 2])
        return [float(lo), float(hi)]

    groups = []
    for j, value in enumerate(g_values):
        inside = g_index == j
        v, rest = point[j]
        groups.append({"group": str(value), "value": num(v), "ci": ci(reps[:, j, 0]), "rest_value": num(rest), "difference": num(v - rest),
                       "difference_ci": ci(reps[:, j, 0] - reps[:, j, 1]), "rows": int(inside.sum()), "units": int(len(np.unique(u_index[inside]))),
                       **({} if np.isfinite(v) else {"reason": "no rows with a defined value in this group"})})  # fmt: skip
    overall = {"value": num(point[-1, 0]), "ci": ci(reps[:, -1, 0]), "rows": len(frame), "units": int(len(np.unique(u_index)))}
    settings = {"replicates": replicates, "confidence_level": level, "seed": seed, "k": k,
                "bootstrap": f"percentile; each replicate resamples {'the ' + unit + ' units' if unit else 'rows'} with replacement"}  # fmt: skip
    warnings = (
        [] if unit else ["rows were resampled as independent; if rows of one speaker, query or session are correlated, give unit= for a cluster bootstrap"]
    )
    return GroupMetrics(name, group, unit, overall, groups, settings, warnings)
