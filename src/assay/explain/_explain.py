"""`assay.explain`: attributions for any model, global importance with intervals, and the view by group."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay._errors import ConfigError, DataError, did_you_mean, list_some
from assay.explain._methods import Blocks, choose_method, compute
from assay.explain._model import ModelFunction, as_model_function, guarded
from assay.explain._shapley import ShapleyEstimate
from assay.spark import is_spark
from assay.stats import percentile_bounds

__all__ = ["ExplainResult", "explain"]

AGG_METHODS = ("mean_abs", "median", "mean_sq")
ALGORITHMS = ("auto", "tree", "linear", "exact", "sampling")
Progress = Callable[[str], None]


@dataclass
class ExplainResult:
    """Local attributions and their summaries; ``to_dict`` gives analysis.json's ``explanations``."""

    features: list[str]
    local: Any  # pandas DataFrame: one row per explained row, one column per feature
    se: Any  # pandas DataFrame of standard errors (0 for exact methods)
    expected_value: float
    prediction: np.ndarray
    method: dict[str, Any]
    global_importance: dict[str, dict[str, dict[str, Any]]]  # agg -> feature -> {value, ci}
    agg_method: str
    by_group: dict[str, Any] = field(default_factory=dict)
    pdp: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    background: Any = None  # the background rows (pandas DataFrame) the game is played against
    background_weights: Any = None  # their weights, summing to 1

    def to_dict(self) -> dict[str, Any]:
        from assay.bias._results import _clean

        chosen = self.global_importance[self.agg_method]
        return _clean({
            "kernel_shap": {"label0": {"global_shap_values": {f: chosen[f]["value"] for f in self.features},
                                       "expected_value": self.expected_value}},
            "method": self.method,
            "agg_method": self.agg_method,
            "global_importance": self.global_importance,
            "by_group": self.by_group,
            "pdp": self.pdp,
            "warnings": self.warnings,
        })  # fmt: skip

    def _repr_html_(self) -> str:
        """Rich display in notebooks: the explanation part of ``assay report``."""
        from assay._display import notebook_html
        from assay.bias._results import document_header

        return notebook_html(document_header() | {"explanations": self.to_dict()})

    def local_frame(self) -> Any:
        """Local attributions with the expected value, the prediction and each attribution's standard error."""
        out = self.local.copy()
        out.insert(0, "expected_value", self.expected_value)
        out.insert(1, "prediction", self.prediction)
        for f in self.features:
            out[f"se_{f}"] = self.se[f].to_numpy()
        return out


def explain(
    data: Any,
    model: Any,
    *,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    baseline: Any = None,
    background_size: int = 100,
    num_clusters: int | None = None,
    max_rows: int | None = 1000,
    repeats: int = 3,
    algorithm: str = "auto",
    agg_method: str = "mean_abs",
    use_logit: bool = False,
    facets: Sequence[str] = (),
    proxies: int = 3,
    min_group_size: int = 30,
    pdp_features: Sequence[str] | None = None,
    pdp_top_k: int = 10,
    grid_resolution: int = 15,
    confidence_level: float = 0.95,
    bootstrap_replicates: int = 1000,
    seed: int = 0,
    n_jobs: int | None = 1,
    headers: Sequence[str] | None = None,
    progress: Progress | None = None,
    on_rows: Callable[[int, int], None] | None = None,
) -> ExplainResult:
    """Explain a model's scores on ``data`` with interventional Shapley values.

    Parameters
    ----------
    data : any table assay reads (pandas, polars, pyarrow, a file path...).
    model : a fitted estimator or pipeline (binary classifier: probability of
        the positive class, or log-odds with ``use_logit``; regressor), or a
        callable mapping a table to scores.
    features : the columns the model takes; default: the estimator's
        ``feature_names_in_``, else every column not in ``exclude`` or ``facets``.
    baseline : background rows (a table); default a seeded sample of
        ``background_size`` rows of ``data``, or with ``num_clusters`` a
        k-prototypes summary of the data (categorical columns kept as
        categories), each centre weighted by its cluster's size.
    max_rows : explain a seeded sample of at most this many rows (None: all).
    repeats : antithetic pairs of feature orders per background row (>= 2).
    algorithm : ``auto`` (the first that applies: ``tree`` or ``linear``, read
        from the model and exact; ``exact`` enumeration when it costs no more
        than sampling; ``sampling``), or one of ``tree``, ``linear``, ``exact``
        (all coalitions), ``sampling``.
    facets : columns to disaggregate importance by (they need not be features).
    min_group_size : groups with fewer explained rows are flagged ``small_group``.
    n_jobs : processes to split the explained rows over (-1: all cores). Models
        that already use every core (LightGBM, XGBoost, HistGradientBoosting)
        gain little; single-threaded models and plain functions gain most.
    progress : called with a message at each stage.
    on_rows : called with (rows done, rows in all) after each block of rows.
    """
    say = progress or (lambda msg: None)
    _check_options(agg_method, algorithm, num_clusters)
    fn = guarded(model if isinstance(model, ModelFunction) else as_model_function(model, use_logit=use_logit))
    on_spark = is_spark(data)
    frame = data if on_spark else _to_pandas(data, headers)  # on Spark, only the column names until the features are known
    feats = _features(frame, fn, features, exclude, facets)
    for f in facets:
        if f not in frame.columns:
            raise DataError(f"facet {f!r} is not a column of the data.{did_you_mean(f, list(frame.columns))} Columns: {list_some(list(frame.columns), 20)}")
    rng = np.random.default_rng(seed)
    warnings: list[str] = []
    frame, rows = _explained_rows(frame, feats + [f for f in facets if f not in feats], max_rows, rng, seed, warnings)
    bg, weights, baseline_desc = _background(frame, feats, baseline, background_size, num_clusters, rng, say)
    _check_callable(fn, frame[feats].iloc[:5], feats)

    if on_spark:
        est, how, rows = rows.explain(fn, bg, weights, algorithm, repeats, seed, say)
    else:
        blocks = Blocks(len(rows), n_jobs, on_rows)
        est, how = _estimate(fn, rows[feats], bg, weights, algorithm, repeats, seed, say, blocks)
        how["n_jobs"] = blocks.n_jobs
    import pandas as pd

    local = pd.DataFrame(est.values, columns=feats)
    se = pd.DataFrame(est.se, columns=feats)
    say("global importance and intervals (bootstrap over explained rows)")
    importance = _global_importance(est.values, feats, confidence_level, bootstrap_replicates, rng)
    method = how | _method(fn, baseline_desc, len(bg), est, len(feats), confidence_level, bootstrap_replicates, seed)
    result = ExplainResult(feats, local, se, est.expected_value, est.prediction, method, importance, agg_method, warnings=warnings,
                           background=bg, background_weights=weights / weights.sum())  # fmt: skip
    if facets:
        say("importance by group, and the share carried by each facet's proxies")
        result.by_group = _by_group(frame, rows, est.values, feats, facets, proxies, confidence_level, bootstrap_replicates, rng, min_group_size)
        small = [f"{facet}={v['value']} ({v['rows']})" for facet, info in result.by_group.items() for v in info["values"] if v["small_group"]]
        if small:
            warnings.append(f"groups with fewer than {min_group_size} explained rows: {', '.join(small)}; their importance and "
                            "shares rest on few rows (wide intervals); explain more rows (max_rows) to narrow them")  # fmt: skip
    top = list(pdp_features) if pdp_features is not None else sorted(feats, key=lambda f: -importance["mean_abs"][f]["value"])[:pdp_top_k]
    if top:
        say(f"partial dependence and ICE for {len(top)} features")
        result.pdp = _pdp(fn, frame, rows[feats], top, grid_resolution, rng)
    return result


def _explained_rows(data: Any, columns: list[str], max_rows: int | None, rng: np.random.Generator, seed: int,
                    warnings: list[str]) -> tuple[Any, Any]:  # fmt: skip
    """The data the background and summaries come from (pandas), and the rows to explain: a pandas frame, or on Spark the
    :class:`SparkRows` that explains them there."""
    if is_spark(data):
        from assay.explain._spark import SparkRows

        spark_rows = SparkRows(data, columns, max_rows, seed, warnings)
        return spark_rows.frame, spark_rows
    rows = data
    if max_rows is not None and len(data) > max_rows:
        rows = data.iloc[np.sort(rng.choice(len(data), size=max_rows, replace=False))]
        warnings.append(f"explained a seeded random sample of {max_rows:,} of {len(data):,} rows (max_rows)")
    return data, rows.reset_index(drop=True)


def _check_options(agg_method: str, algorithm: str, num_clusters: Any) -> None:
    if agg_method not in AGG_METHODS:
        raise ConfigError(f"agg_method must be one of {', '.join(AGG_METHODS)}, got {agg_method!r}")
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    if num_clusters is not None and (isinstance(num_clusters, bool) or not isinstance(num_clusters, int) or num_clusters < 1):
        raise ConfigError(f"num_clusters must be a whole number of at least 1, got {num_clusters!r}")


def _method(fn: ModelFunction, baseline_desc: str, b: int, est: ShapleyEstimate, m: int, confidence_level: float, bootstrap_replicates: int,
            seed: int) -> dict[str, Any]:  # fmt: skip
    """How the explanation was made: the model, the baseline, the rows, and the estimate's own checks (standard error, additivity)."""
    n = len(est.prediction)
    return {
        "model": fn.description,
        "output": fn.output,
        "baseline": baseline_desc,
        "background_rows": b,
        "rows_explained": n,
        "features": m,
        "model_rows_evaluated": est.model_rows,
        "max_standard_error": float(est.se.max()) if est.se.size else 0.0,
        "additivity_max_error": float(np.abs(est.values.sum(axis=1) - (est.prediction - est.expected_value)).max()) if n else 0.0,
        "confidence_level": confidence_level,
        "bootstrap_replicates": bootstrap_replicates,
        "seed": seed,
    }


def _background(frame: Any, feats: list[str], baseline: Any, background_size: int, num_clusters: int | None, rng: np.random.Generator,
                say: Progress) -> tuple[Any, np.ndarray, str]:  # fmt: skip
    """The background rows, their weights and a description: given rows, k-prototypes centres weighted by cluster size, or a seeded
    sample of the data."""
    weights: np.ndarray | None = None
    if baseline is None and num_clusters is not None:
        from assay.explain._baseline import kprototypes

        say(f"summarising the data into {num_clusters} k-prototypes centres")
        bg, weights = kprototypes(frame[feats], int(num_clusters), rng=rng)
        baseline_desc = f"{len(bg)} k-prototypes centres of {min(len(frame), 20_000):,} rows, weighted by cluster size"
    elif baseline is None:
        k = min(background_size, len(frame))
        bg = frame.iloc[np.sort(rng.choice(len(frame), size=k, replace=False))][feats].reset_index(drop=True)
        baseline_desc = f"a seeded random sample of {k} rows of the data"
    else:
        bg = _to_pandas(baseline, None)
        missing = [f for f in feats if f not in bg.columns]
        if missing:
            raise DataError(f"the baseline lacks the feature column(s) {', '.join(map(repr, missing))}")
        bg = bg[feats].reset_index(drop=True)
        baseline_desc = f"{len(bg)} given rows"
    if len(bg) == 0:
        raise DataError("the baseline has no rows")
    return bg, np.ones(len(bg)) if weights is None else weights, baseline_desc


def _estimate(fn: ModelFunction, x: Any, bg: Any, weights: np.ndarray, algorithm: str, repeats: int, seed: int, say: Progress,
              blocks: Blocks) -> tuple[ShapleyEstimate, dict[str, Any]]:  # fmt: skip
    """Shapley values by the first method that applies: read from a tree or linear model, exact enumeration when it costs no more
    than sampling, or antithetic permutation sampling; the estimate and how it was made."""
    name, how, found = choose_method(fn, x, bg, algorithm, repeats)
    say(how.pop("say") + f", {len(x):,} rows")
    est = compute(name, fn, x, bg, weights, repeats, seed, blocks, found)
    assert not isinstance(est, str)  # the structure was checked on these very rows
    return est, how


# == inputs ======================================================================
def _to_pandas(data: Any, headers: Sequence[str] | None) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    from assay._tabulate import as_frame

    return as_frame(data, headers=headers).collect().to_pandas()


def _features(frame: Any, fn: ModelFunction, features: Sequence[str] | None, exclude: Sequence[str], facets: Sequence[str]) -> list[str]:
    names = getattr(fn.model, "feature_names_in_", None)
    if features is None and names is not None:
        feats = [str(c) for c in names]
    elif features is None:
        feats = [c for c in frame.columns if c not in set(exclude) | set(facets)]
    else:
        feats = list(features)
    missing = [f for f in feats if f not in frame.columns]
    if missing:
        raise DataError(
            f"the model expects feature column(s) {', '.join(map(repr, missing))}, which the data lacks."
            f"{did_you_mean(missing[0], list(frame.columns))} Columns: {list_some(list(frame.columns), 20)}"
        )
    if not feats:
        raise ConfigError("no feature columns to explain")
    return feats


def _check_callable(fn: ModelFunction, sample: Any, feats: list[str]) -> None:
    try:
        out = fn.predict(sample)
    except Exception as e:  # noqa: BLE001  (any model error, reported with context)
        raise DataError(
            f"the model could not score the data's feature columns ({', '.join(feats[:8])}{', ...' if len(feats) > 8 else ''}): "
            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from None
    out = np.asarray(out)
    if out.shape != (len(sample),):
        raise DataError(f"the model returned shape {out.shape} for {len(sample)} rows; assay needs one numeric score per row")
    if not np.issubdtype(out.dtype, np.number) or not np.isfinite(out.astype(float)).all():
        raise DataError("the model's scores are not finite numbers")


# == summaries ===================================================================
def _aggregate(values: np.ndarray, how: str, axis: int) -> np.ndarray:
    if how == "mean_abs":
        return np.abs(values).mean(axis=axis)
    if how == "median":
        return np.median(np.abs(values), axis=axis)
    return (values**2).mean(axis=axis)


def _global_importance(phi: np.ndarray, feats: list[str], level: float, replicates: int, rng: np.random.Generator) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    n = len(phi)
    for how in AGG_METHODS:
        point = _aggregate(phi, how, 0)
        lo = hi = np.full(len(feats), np.nan)
        if replicates and n > 1:
            reps = np.stack([_aggregate(phi[rng.integers(0, n, n)], how, 0) for _ in range(replicates)])
            lo, hi = percentile_bounds(reps, level)
        out[how] = {f: {"value": float(point[j]), "ci": [float(lo[j]), float(hi[j])]} for j, f in enumerate(feats)}
    return out


def _association(frame: Any, facet: str, feature: str) -> float:
    """Strength of association in [0, 1]: Cramer's V (categorical feature) or the correlation ratio eta (numeric)."""
    import pandas as pd

    g = frame[facet].astype(str)
    v = frame[feature]
    if pd.api.types.is_numeric_dtype(v) and v.nunique() > 20:
        x = v.astype(float)
        total = ((x - x.mean()) ** 2).sum()
        if total == 0:
            return 0.0
        between = x.groupby(g).agg(["count", "mean"])
        return float(math.sqrt(((between["count"] * (between["mean"] - x.mean()) ** 2).sum()) / total))
    table = pd.crosstab(g, v.astype(str)).to_numpy(dtype=float)
    if min(table.shape) < 2:
        return 0.0
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(math.sqrt(chi2 / table.sum() / (min(table.shape) - 1)))


def _by_group(frame: Any, rows: Any, phi: np.ndarray, feats: list[str], facets: Sequence[str], proxies: int, level: float,
              replicates: int, rng: np.random.Generator, min_group_size: int) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {}
    absphi = np.abs(phi)
    for facet in facets:
        assoc = {f: _association(frame, facet, f) for f in feats if f != facet}
        ranked = sorted(assoc, key=lambda f: -assoc[f])[:proxies]
        carriers = ([facet] if facet in feats else []) + ranked
        cols = [feats.index(f) for f in carriers]
        groups = rows[facet].astype(str).to_numpy()
        values = []
        for value in sorted(set(groups)):
            d = groups == value
            entry: dict[str, Any] = {"value": value, "rows": int(d.sum()), "rest_rows": int((~d).sum()), "small_group": bool(d.sum() < min_group_size)}
            if d.sum() == 0 or (~d).sum() == 0:
                entry["reason"] = "no explained row in this group or in the rest"
                values.append(entry)
                continue
            imp_d, imp_a = absphi[d].mean(0), absphi[~d].mean(0)
            share = lambda a: a[..., cols].sum(-1) / np.where(a.sum(-1) > 0, a.sum(-1), np.nan)  # noqa: E731
            reps_d = reps_a = None
            if replicates:
                nd, na = int(d.sum()), int((~d).sum())
                reps_d = np.stack([absphi[d][rng.integers(0, nd, nd)].mean(0) for _ in range(replicates)])
                reps_a = np.stack([absphi[~d][rng.integers(0, na, na)].mean(0) for _ in range(replicates)])
            diff = imp_d - imp_a
            lo, hi = percentile_bounds(reps_d - reps_a, level) if reps_d is not None else (np.full(len(feats), np.nan),) * 2
            entry["importance"] = {
                f: {"d": float(imp_d[j]), "rest": float(imp_a[j]), "difference": float(diff[j]), "ci": [float(lo[j]), float(hi[j])]}
                for j, f in enumerate(feats)
            }
            s_d, s_a = float(share(imp_d)), float(share(imp_a))
            s_ci: list[float | None] = [None, None]
            if reps_d is not None:
                slo, shi = percentile_bounds(share(reps_d) - share(reps_a), level)
                s_ci = [float(slo), float(shi)]
            entry["carried_by_facet_and_proxies"] = {"d": s_d, "rest": s_a, "difference": s_d - s_a, "ci": s_ci}
            values.append(entry)
        out[facet] = {
            "facet_is_feature": facet in feats,
            "proxies": [{"feature": f, "association": assoc[f]} for f in ranked],
            "association_measure": "Cramer's V (categorical or few values), correlation ratio eta (numeric)",
            "values": values,
        }
    return out


def _pdp(fn: ModelFunction, frame: Any, x: Any, features: list[str], resolution: int, rng: np.random.Generator, ice_rows: int = 50) -> list[dict[str, Any]]:
    import pandas as pd

    out = []
    sample = x if len(x) <= 1000 else x.iloc[np.sort(rng.choice(len(x), size=1000, replace=False))]
    ice_idx = np.arange(min(ice_rows, len(sample)))
    for f in features:
        col = frame[f]
        numeric = pd.api.types.is_numeric_dtype(col) and col.nunique() > resolution
        if numeric:
            grid = np.unique(np.quantile(col.dropna().astype(float), np.linspace(0.05, 0.95, resolution)))
            grid_values: list[Any] = [float(g) for g in grid]
        elif pd.api.types.is_numeric_dtype(col):  # few distinct values: each of them (at most 30)
            grid_values = sorted(col.dropna().unique().tolist())[:30]
        else:  # categories: the 30 most frequent, in order of appearance
            frequent = set(col.astype(str).value_counts().index[:30])
            grid_values = [v for v in col.dropna().unique() if str(v) in frequent]
        reps = pd.concat([sample] * len(grid_values), ignore_index=True)
        column = np.repeat(np.asarray(grid_values, dtype=object), len(sample))
        if isinstance(x[f].dtype, pd.CategoricalDtype):
            reps[f] = pd.Categorical(column, categories=x[f].dtype.categories)
        else:
            reps[f] = pd.array(column, dtype=x[f].dtype) if not numeric else column.astype(float)
        preds = fn.predict(reps).reshape(len(grid_values), len(sample))
        dist = col.astype(str).value_counts(normalize=True) if not numeric else None
        out.append({
            "feature_name": f,
            "data_type": "numerical" if numeric else "categorical",
            "feature_values": [v if isinstance(v, (int, float)) else str(v) for v in grid_values],
            "model_predictions": [float(v) for v in preds.mean(axis=1)],
            "ice": [[float(v) for v in preds[:, i]] for i in ice_idx],
            "data_distributions": ([float(dist.get(str(v), 0.0)) for v in grid_values] if dist is not None
                                   else np.histogram(col.dropna().astype(float), bins=10)[0].tolist()),
        })  # fmt: skip
    return out
