"""How rows are explained: the method that applies to a model, and the attributions of a block of rows by it.

In process (:func:`assay.explain.explain`) and on a Spark executor alike, the
rows are cut into blocks of about 250,000 model evaluations; sampling draws
each row's feature orders from a generator of its own, so the values do not
depend on the blocks, the processes or the partitions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from assay._errors import ConfigError
from assay.explain._model import ModelFunction
from assay.explain._shapley import RowSeeds, ShapleyEstimate, exact_shapley, row_keys, sampled_shapley

__all__ = ["Blocks", "choose_method", "compute"]


def choose_method(fn: ModelFunction, x: Any, bg: Any, algorithm: str, repeats: int, *, exact_unavailable: str | None = None) -> tuple[str, dict[str, Any], Any]:
    """The method for explaining rows like ``x`` (the first that applies), how it is described, and the exact explainer read from
    the model (checked on ``x``) or None; ``how["say"]`` is a progress message. ``exact_unavailable`` skips the structured methods
    with that reason (they failed on other rows)."""
    from assay.explain._exact import exact_explainer

    m, b = len(x.columns), len(bg)
    how: dict[str, Any] = {}
    if exact_unavailable is None and algorithm in ("auto", "tree", "linear"):
        found = exact_explainer(fn, x, bg, np.asarray(fn.predict(x), dtype=np.float64), np.asarray(fn.predict(bg), dtype=np.float64))
        if not isinstance(found, str) and (algorithm == "auto" or found.name == algorithm):
            return found.name, {"name": found.name, "description": found.description,
                                "say": f"{found.name} SHAP (exact) over {m} features, {b} background rows"}, found  # fmt: skip
        exact_unavailable = found if isinstance(found, str) else f"the model is read as a {found.name} model"
    if exact_unavailable is not None:
        if algorithm in ("tree", "linear"):
            raise ConfigError(f"algorithm {algorithm!r} does not apply: {exact_unavailable}")
        how["exact_unavailable"] = exact_unavailable
    use_exact = algorithm == "exact" or (algorithm == "auto" and 2**m * b <= 2 * repeats * b * max(m - 1, 1))
    if algorithm == "exact" and m > 16:
        raise ConfigError(f"exact enumeration of {m} features needs 2^{m} coalitions per row; use algorithm: sampling")
    how["say"] = f"{'exact enumeration' if use_exact else 'permutation sampling'} over {m} features, {b} background rows"
    if use_exact:
        return "exact", how | {"name": "exact", "description": f"exact interventional Shapley values: all 2^{m} coalitions against every background row"}, None
    return "sampling", how | {"name": "sampling",
                              "description": "interventional Shapley values by antithetic permutation sampling, exhaustive over the background "
                                             f"({repeats} antithetic pairs of feature orders per background row, drawn from a generator "
                                             "seeded by the seed and the row's values); each value has a standard error"}, None  # fmt: skip


def compute(name: str, fn: ModelFunction, x: Any, bg: Any, weights: np.ndarray, repeats: int, seed: int, blocks: Blocks,
            found: Any = None) -> ShapleyEstimate | str:  # fmt: skip
    """The attributions of the rows ``x`` by method ``name``; for a structured method (tree, linear) without ``found``, the
    structure is read and checked on these rows first, and the reason is returned when it does not apply to them."""
    m, b = x.shape[1], len(bg)
    if name in ("tree", "linear"):
        fx = np.asarray(fn.predict(x), dtype=np.float64)
        fz = np.asarray(fn.predict(bg), dtype=np.float64)
        if found is None:
            from assay.explain._exact import exact_explainer

            found = exact_explainer(fn, x, bg, fx, fz)
            if isinstance(found, str) or found.name != name:
                return found if isinstance(found, str) else f"the model is read as a {found.name} model"
        est = blocks.run(_Structured(found.run, x, bg, weights, fx, float(fz @ (weights / weights.sum()))), 50)  # blocks of 5,000 rows
        est.model_rows = len(x) + len(bg)
        return est
    if name == "exact":
        return blocks.run(_Enumerate(fn.predict, x, bg, weights), 2**m * b)
    return blocks.run(_Sample(fn.predict, x, bg, weights, repeats, RowSeeds(seed, row_keys(x))), 2 * repeats * b * max(m - 1, 1))


# == work in blocks of rows (progress, bounded memory, several processes) =========
class Blocks:
    """Runs an estimator over blocks of explained rows: sequentially with progress, or in ``n_jobs`` processes."""

    def __init__(self, n: int, n_jobs: int | None, on_rows: Callable[[int, int], None] | None) -> None:
        import os

        cores = os.cpu_count() or 1
        jobs = 1 if n_jobs is None else (cores + 1 + n_jobs if n_jobs < 0 else n_jobs)
        self.n, self.n_jobs, self.on_rows = n, max(1, min(jobs, cores)), on_rows

    def run(self, work: Callable[[np.ndarray, int], ShapleyEstimate], cost_per_row: int) -> ShapleyEstimate:
        """``work(rows, block_number)`` over blocks of about 250,000 model rows (their size does not depend on n_jobs,
        so that seeded draws do not either)."""
        size = max(1, 250_000 // max(cost_per_row, 1))
        parts = [np.arange(i, min(self.n, i + size)) for i in range(0, self.n, size)] or [np.arange(0)]
        done, out = 0, []
        if self.n_jobs > 1 and len(parts) > 1:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=self.n_jobs, return_as="generator")(delayed(work)(idx, i) for i, idx in enumerate(parts))
        else:
            results = (work(idx, i) for i, idx in enumerate(parts))
        for idx, est in zip(parts, results):
            out.append(est)
            done += len(idx)
            if self.on_rows:
                self.on_rows(done, self.n)
        return ShapleyEstimate(np.vstack([e.values for e in out]), np.vstack([e.se for e in out]), out[0].expected_value,
                               np.concatenate([e.prediction for e in out]), sum(e.model_rows for e in out))  # fmt: skip


@dataclass
class _Sample:
    predict: Callable[[Any], np.ndarray]
    x: Any
    bg: Any
    weights: np.ndarray
    repeats: int
    seeds: RowSeeds  # each row's own draws: the same whatever the blocks, processes or partitions

    def __call__(self, idx: np.ndarray, block: int) -> ShapleyEstimate:
        seeds = RowSeeds(self.seeds.seed, self.seeds.keys[idx])
        return sampled_shapley(self.predict, self.x.iloc[idx], self.bg, self.weights, repeats=self.repeats, rng=seeds)


@dataclass
class _Enumerate:
    predict: Callable[[Any], np.ndarray]
    x: Any
    bg: Any
    weights: np.ndarray

    def __call__(self, idx: np.ndarray, block: int) -> ShapleyEstimate:
        return exact_shapley(self.predict, self.x.iloc[idx], self.bg, self.weights)


@dataclass
class _Structured:
    run: Callable[[Any, Any, np.ndarray], np.ndarray]
    x: Any
    bg: Any
    weights: np.ndarray
    fx: np.ndarray
    expected: float

    def __call__(self, idx: np.ndarray, block: int) -> ShapleyEstimate:
        phi = self.run(self.x.iloc[idx], self.bg, self.weights)
        return ShapleyEstimate(phi, np.zeros_like(phi), self.expected, self.fx[idx], 0)
