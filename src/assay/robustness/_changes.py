"""The changes a counterfactual test may make to a row, and the values of them that decide it.

A change is the sensitive attribute set to another of its values, or a declared proxy moved within a range (a number:
``within``, clipped to the values the column takes) or set to another of its values (a category). For a model whose
structure assay reads, the values that matter are few: a tree ensemble is constant between consecutive split thresholds of
a feature (holding the others), so one value per interval between the thresholds that fall in a row's range decides every
value in it; a linear model is monotone in each input, so the ends of the range decide it. The product of these values over
the changes is then every distinct output the allowed changes reach: the test is exact. For other models, values are drawn
(the ends and the row's own value, and random draws), and what is found is a lower bound.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assay._errors import ConfigError, DataError

__all__ = ["Change", "ModelReading", "parse_changes", "read_model"]


@dataclass(frozen=True)
class Change:
    """One column a counterfactual may change: to any of ``values`` (categories), or by at most ``within`` (numbers)."""

    column: str
    values: tuple[Any, ...] | None = None
    within: float | None = None
    integer: bool = False
    low: float = -math.inf  # the smallest and largest values the column takes: a counterfactual stays among them
    high: float = math.inf

    def box(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The range of each row's allowed values (numbers), integers only for an integer column."""
        assert self.within is not None
        lo, hi = np.maximum(x - self.within, self.low), np.minimum(x + self.within, self.high)
        return (np.ceil(lo), np.floor(hi)) if self.integer else (lo, hi)

    def to_dict(self) -> dict[str, Any]:
        if self.values is not None:
            return {"column": self.column, "values": [_plain(v) for v in self.values]}
        return {"column": self.column, "within": self.within, "integer": self.integer, "range": [self.low, self.high]}


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def parse_changes(frame: Any, sensitive: str, proxies: Sequence[str | Mapping[str, Any]] = ()) -> list[Change]:
    """The sensitive attribute (any of its values) and the declared proxies (``{column, within}`` for a number, ``column`` or
    ``{column, values}`` for a category), checked against ``frame``."""
    import pandas as pd

    out = [_categories(frame, sensitive, None, "sensitive")]
    for i, p in enumerate(proxies):
        spec = {"column": p} if isinstance(p, str) else dict(p)
        where = f"proxies[{i}]"
        unknown = set(spec) - {"column", "within", "values"}
        if unknown or "column" not in spec:
            raise ConfigError(f"{where}: give column and within (a number's range) or values (categories); unknown keys {sorted(unknown)}")
        col = str(spec["column"])
        if col == sensitive or col in {c.column for c in out}:
            raise ConfigError(f"{where}: column {col!r} is already a change")
        if col not in frame.columns:
            raise DataError(f"{where}: the data has no column {col!r}")
        numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col])
        if spec.get("within") is not None:
            within = spec["within"]
            if not numeric:
                raise ConfigError(f"{where}: within applies to a numeric column; {col!r} holds {frame[col].dtype} (give values: instead)")
            if isinstance(within, bool) or not isinstance(within, (int, float)) or not math.isfinite(within) or within <= 0:
                raise ConfigError(f"{where}: within must be a positive number, got {within!r}")
            x = frame[col].to_numpy(dtype=np.float64, na_value=np.nan)
            if np.isnan(x).all():
                raise DataError(f"{where}: column {col!r} has no values")
            integer = bool(np.all(np.isnan(x) | (x == np.round(x))))
            out.append(Change(col, within=float(within), integer=integer, low=float(np.nanmin(x)), high=float(np.nanmax(x))))
        else:
            if numeric and frame[col].nunique() > 20 and spec.get("values") is None:
                raise ConfigError(f"{where}: {col!r} is numeric with {frame[col].nunique()} values: give within: (how far it may move)")
            out.append(_categories(frame, col, spec.get("values"), where))
    return out


def _categories(frame: Any, col: str, values: Any, where: str) -> Change:
    if col not in frame.columns:
        raise DataError(f"{where}: the data has no column {col!r}")
    seen = list(frame[col].dropna().unique())
    if values is None:
        values = sorted(seen, key=str)
    else:
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        missing = [v for v in values if v not in seen]
        if missing:
            raise DataError(f"{where}: {missing[0]!r} is not a value of column {col!r} (it takes {sorted(map(str, seen))[:10]})")
    if len(values) < 2:
        raise DataError(f"{where}: column {col!r} has {len(values)} value: a counterfactual needs at least two")
    return Change(col, values=tuple(values))


@dataclass
class ModelReading:
    """How the values of each numeric change are chosen: ``exact`` (``tree`` or ``linear``: the thresholds, in the input's
    units, of every split on it; none for a linear model) or sampled, with the reason."""

    kind: str  # "tree", "linear" or "sampled"
    thresholds: dict[str, np.ndarray]
    reason: str = ""


def read_model(model: Any, rows: Any, changes: Sequence[Change], score: Any) -> ModelReading:
    """Read the thresholds that decide ``model`` along each numeric change, checked on ``rows`` against its scores ``score``."""
    numeric = [c for c in changes if c.within is not None]
    if not numeric:
        return ModelReading("exact", {}, "")
    from assay.explain._exact import _matrix_function
    from assay.explain._tree import read_ensemble

    if model is None or not hasattr(model, "predict"):
        return ModelReading("sampled", {}, "the model is a plain function: its structure cannot be read")
    pre, final = (model[:-1], model[-1]) if getattr(model, "steps", None) else (None, model)
    matrix = _matrix_function(pre, final)
    try:
        base = matrix(rows)
    except (TypeError, ValueError) as e:
        return ModelReading("sampled", {}, f"cannot form the estimator's numeric input ({type(e).__name__})")
    linear = hasattr(final, "coef_") and hasattr(final, "intercept_") and np.asarray(final.coef_).reshape(-1).size == base.shape[1]
    ens = None
    if not linear:
        for output in ("probability", "log_odds", "raw"):
            read = read_ensemble(final, output)
            if not isinstance(read, str):
                mine = read.predict(base)
                target = score if output != "log_odds" else np.log(np.clip(score, 1e-12, 1) / np.clip(1 - score, 1e-12, 1))
                ok = np.abs(mine - target) <= 1e-6 * max(1.0, float(np.abs(target).max(initial=0.0)))
                if output != "log_odds" and ok.all() or output == "log_odds" and (ok | (np.abs(target) > 20)).all():
                    ens = read
                    break
        if ens is None:
            reason = read if isinstance(read, str) else "the trees read do not reproduce the model's scores"
            return ModelReading("sampled", {}, reason)
    thresholds: dict[str, np.ndarray] = {}
    for c in numeric:
        mapped = _affine_column(matrix, rows, c)
        if isinstance(mapped, str):
            return ModelReading("sampled", {}, mapped)
        if mapped is None:  # the estimator never sees the column
            thresholds[c.column] = np.empty(0)
            continue
        col, a, b = mapped
        if ens is None:
            thresholds[c.column] = np.empty(0)
            continue
        nodes = ens.feature == col
        if (ens.cat_size[nodes] > 0).any():
            return ModelReading("sampled", {}, f"a categorical split reads {c.column!r}")
        thresholds[c.column] = np.unique((ens.threshold[nodes] - b) / a)
    return ModelReading("tree" if ens is not None else "linear", thresholds, "")


def _affine_column(matrix: Any, rows: Any, change: Change) -> tuple[int, float, float] | str | None:
    """The estimator's column that ``change``'s input becomes, as col = a * input + b (a != 0); None when no column depends on
    it; a reason when its transform is not of that form."""
    lo, hi = change.low, change.high
    probe = rows.iloc[[0, 0, 0, 0]].copy()
    values = np.array([lo, lo + (hi - lo) / 3, lo + 2 * (hi - lo) / 3, hi])
    if change.integer:
        values = np.round(values)
    probe[change.column] = values.astype(rows[change.column].dtype) if change.integer else values
    out = matrix(probe)
    moved = np.flatnonzero(~np.isclose(out, out[:1], equal_nan=True).all(axis=0))
    if len(moved) == 0:
        return None
    if len(moved) > 1:
        return f"{change.column!r} becomes {len(moved)} columns of the estimator's input: its splits cannot be read as thresholds"
    y = out[:, moved[0]]
    a = (y[-1] - y[0]) / (values[-1] - values[0])
    b = y[0] - a * values[0]
    if a == 0 or not np.allclose(a * values + b, y, rtol=1e-9, atol=1e-9 * max(1.0, float(np.abs(y).max()))):
        return f"the transform of {change.column!r} is not a scale and shift: its thresholds cannot be mapped back"
    return int(moved[0]), float(a), float(b)


def candidates(change: Change, x: np.ndarray, reading: ModelReading, draws: int, rng: np.random.Generator) -> list[np.ndarray]:
    """For each row, the values of ``change`` to try: every category; for a number, one per interval between the thresholds in
    the row's range (exact), the range's ends (linear), or the ends, the row's value and ``draws`` random values (sampled)."""
    if change.values is not None:
        return [np.asarray(change.values, dtype=object)] * len(x)
    lo, hi = change.box(x)
    out = []
    cuts = reading.thresholds.get(change.column)
    for i in range(len(x)):
        a, b = lo[i], hi[i]
        if not a <= b or math.isnan(x[i]):  # a missing value: left as it is
            out.append(np.array([x[i]]))
        elif reading.kind == "sampled" or cuts is None:
            r = rng.uniform(a, b, draws)
            out.append(np.unique(np.concatenate([[a, b, x[i]], np.round(r) if change.integer else r])))
        elif change.integer:
            inside = cuts[(cuts >= a) & (cuts <= b)]
            pts = np.concatenate([[a, b], np.floor(inside), np.floor(inside) + 1, np.ceil(inside)])
            out.append(np.unique(pts[(pts >= a) & (pts <= b)]))
        else:
            inside = np.unique(np.concatenate([[a, b], cuts[(cuts > a) & (cuts < b)]]))
            out.append(np.unique(np.concatenate([[a, b], (inside[1:] + inside[:-1]) / 2])))
    return out
