"""Counterfactual flips: would this row's decision change if only its sensitive attribute (and, declared, its proxies within
a range) were different?

For each row, every combination of the values that decide the model along the allowed changes (``_changes``) is scored;
the row flips when any of them gives another decision. Exact when every change is a category (any model: all values are
tried) or the model is a tree ensemble or a linear model that assay reads (one value per interval between thresholds, or
the ends of a range); otherwise values are drawn, and the share found is a lower bound. Reported per group of the sensitive
attribute: the rows, the share that flips (Wilson interval), split into rows that another value would help (now
unfavourable) and rows it would hurt; first for the sensitive attribute alone, then with the proxies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product
from typing import Any

import numpy as np

from assay.robustness._changes import Change, ModelReading, candidates, read_model
from assay.stats import wilson_interval

__all__ = ["counterfactual_flips", "flippable"]

CHUNK = 200_000  # hybrid rows scored at once


def flippable(rows: Any, decide: Callable[[Any], np.ndarray], changes: Sequence[Change], reading: ModelReading, *,
              draws: int = 50, max_combinations: int = 20_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, int]:  # fmt: skip
    """Per row of ``rows``: its decision, whether any allowed change gives another, and how many rows had more combinations
    than ``max_combinations`` (those are searched by ``draws`` random combinations only)."""
    import pandas as pd

    rng = np.random.default_rng([seed, 29])
    own = decide(rows)
    per_change = []
    for c in changes:
        x = rows[c.column].to_numpy(dtype=np.float64, na_value=np.nan) if c.within is not None else np.zeros(len(rows))
        per_change.append(candidates(c, x, reading, draws, rng))
    sizes, capped, grids = np.ones(len(rows), dtype=np.int64), 0, []
    for i in range(len(rows)):
        lists = [pc[i] for pc in per_change]
        total = int(np.prod([len(v) for v in lists]))
        if total > max_combinations:
            capped += 1
            grid = [v[rng.integers(0, len(v), draws)] for v in lists]
        else:
            grid = [np.asarray(col, dtype=object) for col in zip(*product(*lists))] if total else [v[:0] for v in lists]
        grids.append(grid)
        sizes[i] = len(grid[0])
    flips = np.zeros(len(rows), dtype=bool)
    owner = np.repeat(np.arange(len(rows)), sizes)
    values = [np.concatenate([g[j] for g in grids]) for j in range(len(changes))]
    for start in range(0, len(owner), CHUNK):
        part = owner[start : start + CHUNK]
        hybrid = rows.iloc[part].reset_index(drop=True)
        for j, c in enumerate(changes):
            hybrid[c.column] = _as_column(values[j][start : start + CHUNK], rows[c.column], pd)
        changed = decide(hybrid) != own[part]
        flips[part[changed]] = True
    return own, flips, capped


def _as_column(values: np.ndarray, like: Any, pd: Any) -> Any:
    """Values in the dtype of the column they replace (a category stays a category, an integer an integer)."""
    if isinstance(like.dtype, pd.CategoricalDtype):
        return pd.Categorical(values, categories=like.cat.categories)
    if pd.api.types.is_integer_dtype(like.dtype):
        return values.astype(np.float64).astype(like.dtype)
    if pd.api.types.is_float_dtype(like.dtype):
        return values.astype(np.float64)
    return values


def counterfactual_flips(rows: Any, model: Any, decide: Callable[[Any], np.ndarray], score: np.ndarray, changes: Sequence[Change], *,
                         sensitive: str, groups: np.ndarray, draws: int = 50, confidence_level: float = 0.95, seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """The flip test on ``rows`` (a table of the model's inputs): for the sensitive attribute alone (when ``changes[0]`` is
    it), and with every change, per group of ``groups`` (the sensitive attribute's value of each row)."""
    reading = read_model(model, rows, changes, score)
    exact = reading.kind != "sampled"
    method = {"exact": "exact: every value of each category", "tree": "exact: one value per interval between the trees' thresholds",
              "linear": "exact: the ends of each range (the model is monotone in each input)"}.get(reading.kind)  # fmt: skip
    out: dict[str, Any] = {
        "sensitive": sensitive, "changes": [c.to_dict() for c in changes], "rows": len(rows),
        "method": method or f"sampled: {draws} random values per row and the ends of each range ({reading.reason}); the shares are lower bounds",
        "exact": exact, "confidence_level": confidence_level, "sets": [],
    }  # fmt: skip
    direct = changes[0].column == sensitive
    sets = [("sensitive attribute alone", [changes[0]])] if direct else []
    if len(changes) > int(direct):
        sets.append(("with proxies" if direct else "proxies alone (the model does not read the sensitive attribute)", list(changes)))
    for name, subset in sets:
        sub_reading = reading if any(c.within is not None for c in subset) else ModelReading("exact", {})
        own, flips, capped = flippable(rows, decide, subset, sub_reading, draws=draws, seed=seed)
        entry: dict[str, Any] = {"changes": name, "columns": [c.column for c in subset], "exact": sub_reading.kind != "sampled",
                                 "overall": _shares(own, flips, confidence_level), "by_group": []}  # fmt: skip
        if capped:
            entry["exact"] = False
            entry["note"] = f"{capped:,} rows had more combinations than the limit and were searched by random draws"
        for g in sorted(set(groups)):
            m = groups == g
            entry["by_group"].append({"group": g, **_shares(own[m], flips[m], confidence_level)})
        out["sets"].append(entry)
    return out


def _shares(own: np.ndarray, flips: np.ndarray, level: float) -> dict[str, Any]:
    n, k = len(own), int(flips.sum())
    helped, hurt = int((flips & ~own).sum()), int((flips & own).sum())
    neg, pos = int((~own).sum()), int(own.sum())

    def share(x: int, m: int) -> dict[str, Any]:
        if m == 0:
            return {"value": None, "ci": [None, None], "rows": 0, "reason": "no row"}
        lo, hi = wilson_interval(x, m, level)
        return {"value": x / m, "ci": [lo, hi], "rows": m, "flipped": x}

    return {"rows": n, "flip_rate": share(k, n), "helped": share(helped, neg), "hurt": share(hurt, pos)}
