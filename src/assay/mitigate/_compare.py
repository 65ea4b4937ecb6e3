"""Run mitigators side by side and judge each on held-out data with the audit engine: performance against disparity.

Every method, and the unmitigated model, is trained on the training data
(post-processing: the model on all of it, the thresholds on its out-of-fold
scores, since training scores are over-confident), predicts the test data, and the test
predictions are audited like any model's: each disparity with its interval
and group sizes, accuracy with a Wilson interval. Randomised classifiers
(group thresholds, exponentiated gradient) are judged by their expected
decisions (each row counts as positive with its probability): the
classifier's own rates, without the noise of one draw of its coins; the
realised accuracy of the decisions ``predict`` returns is kept beside them. A method is on the Pareto
front when no other method is at least as accurate with a disparity at
least as small (one of the two strictly).
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from assay._errors import ConfigError, DataError, did_you_mean
from assay._undefined import undefined
from assay.bias import parity_value
from assay.mitigate._thresholds import CONSTRAINTS, OBJECTIVES

__all__ = ["METHODS", "compare_mitigations"]

STAGE = {"none": "none", "reweighing": "pre-processing", "resampling": "pre-processing", "correlation_remover": "pre-processing",
         "exponentiated_gradient": "in-processing", "grid_search": "in-processing", "thresholds": "post-processing",
         "reject_option": "post-processing"}  # fmt: skip
METHODS = tuple(k for k in STAGE if k != "none")
_PARAMS = {"reweighing": set(), "resampling": set(), "correlation_remover": {"alpha"},
           "exponentiated_gradient": {"constraint", "eps", "max_iter"}, "grid_search": {"constraint", "grid_size"},
           "thresholds": {"constraint", "objective"}, "reject_option": {"constraint", "objective", "bound"}}  # fmt: skip
_CONSTRAINTS = {"thresholds": CONSTRAINTS, "reject_option": CONSTRAINTS[:3],
                "exponentiated_gradient": ("demographic_parity", "equalized_odds", "true_positive_rate_parity", "error_rate_parity"),
                "grid_search": ("demographic_parity", "equalized_odds", "true_positive_rate_parity", "error_rate_parity")}  # fmt: skip
EVALUATED = ("DPPL", "DI", "EqOddsD", "DAR")
DEFAULT_METHODS: list[Any] = ["reweighing", {"name": "thresholds", "constraint": "demographic_parity"},
                              {"name": "thresholds", "constraint": "equalized_odds"}, {"name": "reject_option", "constraint": "demographic_parity"}]  # fmt: skip


def _spec(entry: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(entry, str):
        name, params = entry, {}
    elif isinstance(entry, dict) and "name" in entry:
        name, params = str(entry["name"]), {k: v for k, v in entry.items() if k != "name"}
    else:
        raise ConfigError(f"each mitigation method is a name or a mapping with 'name', got {entry!r}")
    if name not in _PARAMS:
        raise ConfigError(f"unknown mitigation method {name!r}.{did_you_mean(name, list(_PARAMS))} Known: {', '.join(METHODS)}")
    unknown = set(params) - _PARAMS[name]
    if unknown:
        raise ConfigError(f"method {name}: unknown parameter(s) {', '.join(sorted(unknown))}; it takes {', '.join(sorted(_PARAMS[name])) or 'none'}")
    allowed = _CONSTRAINTS.get(name, ())
    if "constraint" in params and params["constraint"] not in allowed:
        raise ConfigError(f"method {name}: constraint must be one of {', '.join(allowed)}, got {params['constraint']!r}")
    if "objective" in params and params["objective"] not in OBJECTIVES:
        raise ConfigError(f"method {name}: objective must be one of {', '.join(OBJECTIVES)}, got {params['objective']!r}")
    for key in ("eps", "bound", "alpha"):
        if key in params and (not isinstance(params[key], (int, float)) or isinstance(params[key], bool) or params[key] < 0):
            raise ConfigError(f"method {name}: {key} must be a number >= 0, got {params[key]!r}")
    for key in ("max_iter", "grid_size"):
        if key in params and (not isinstance(params[key], int) or isinstance(params[key], bool) or params[key] < 1):
            raise ConfigError(f"method {name}: {key} must be a whole number >= 1, got {params[key]!r}")
    return name, params


def _title(name: str, params: dict[str, Any]) -> str:
    return name + (f" ({', '.join(str(v) for v in params.values())})" if params else "")


def _wilson(k: float, n: float, level: float) -> list[float]:
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [centre - half, centre + half]


def compare_mitigations(train: Any, test: Any, *, label: str, positive: Callable[[Any], np.ndarray], facets: Sequence[Any],
                        model: Callable[..., Any], features: Sequence[str], methods: Sequence[Any] | None = None, folds: int = 5, metric: str = "EqOddsD", seed: int = 0, bootstrap_replicates: int = 1000,
                        confidence_level: float = 0.95, progress: Callable[[str], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """Fit each method on ``train``, audit its predictions on ``test``; the ``mitigation`` section of analysis.json.

    ``facets``: column names or lists of names (intersections) for the audit;
    the first is the groups the mitigators act on. ``model()`` (or
    ``model(features)``) returns an unfitted scikit-learn classifier that
    takes a DataFrame of ``features``. ``positive(series)`` turns the label
    column into 0/1.
    """
    import assay

    say = progress or (lambda msg: None)
    if metric not in EVALUATED:
        raise ConfigError(f"metric must be one of {', '.join(EVALUATED)} (the disparity plotted against accuracy), got {metric!r}")
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ConfigError(f"folds must be a whole number >= 2 (post-processing fits its thresholds on out-of-fold scores), got {folds!r}")
    specs = [_spec(m) for m in (DEFAULT_METHODS if methods is None else methods)]
    for frame, name in ((train, "training"), (test, "test")):
        missing = [c for c in [label, *features, *[c for f in facets for c in ([f] if isinstance(f, str) else f)]] if c not in frame.columns]
        if missing:
            raise DataError(f"the {name} data has no column(s) {', '.join(map(repr, missing))}.{did_you_mean(missing[0], list(map(str, frame.columns)))}")
    group_cols = [facets[0]] if isinstance(facets[0], str) else list(facets[0])
    y_train, y_test = positive(train[label]), positive(test[label])
    g_train, g_test = train[group_cols], test[group_cols]
    X_train, X_test = train[list(features)], test[list(features)]
    takes_features = "features" in inspect.signature(model).parameters

    def new_model(cols: Sequence[str] = features) -> Any:
        return model(features=list(cols)) if takes_features else model()

    results = []
    for name, params in [("none", {})] + specs:
        say(f"fitting {_title(name, params)}")
        try:
            est, Xte, fit_seconds = _fit(name, params, new_model, X_train, y_train, g_train, X_test, g_test, train, features, group_cols, folds, seed)
        except ConfigError:
            raise
        except Exception as exc:  # a method the data or model cannot take: reported in its row, the others still run
            if name == "none":
                raise DataError(f"the model could not be trained on the training data: {type(exc).__name__}: {exc}") from None
            results.append({"name": name, "title": _title(name, params), "stage": STAGE[name], "params": params, "pareto": False,
                            "error": f"{type(exc).__name__}: {exc}"})  # fmt: skip
            continue
        post = name in ("thresholds", "reject_option")
        pred = np.asarray(est.predict(Xte, sensitive_features=g_test) if post else est.predict(Xte)).astype(int)
        randomised = name == "thresholds" or (name == "exponentiated_gradient" and getattr(est, "mitigator_", None) is not None)
        q = (est.predict_proba(Xte, sensitive_features=g_test) if post else est.predict_proba(Xte))[:, 1] if randomised else pred.astype(float)
        results.append(_evaluate(test, y_test, q, pred, facets, name, params, fit_seconds, bootstrap_replicates, confidence_level, seed, assay))
    _pareto(results, metric, facets[0])
    return {
        "method": {
            "training_rows": len(train),
            "test_rows": len(test),
            "folds": int(folds),
            "groups": " x ".join(group_cols),
            "facets": [f if isinstance(f, str) else " x ".join(f) for f in facets],
            "features": list(features),
            "metric": metric,
            "performance": "accuracy",
            "seed": seed,
            "bootstrap_replicates": bootstrap_replicates,
            "confidence_level": confidence_level,
            "design": (
                "every method is trained on the training data (post-processing: the thresholds on out-of-fold scores from "
                f"{folds} folds of it) and judged on the test data; randomised classifiers by their expected decisions"
            ),
        },  # fmt: skip
        "results": results,
    }


def _fit(name: str, params: dict[str, Any], new_model: Callable[..., Any], X_train: Any, y_train: np.ndarray, g_train: Any, X_test: Any,
         g_test: Any, train: Any, features: Sequence[str], group_cols: list[str], folds: int, seed: int) -> tuple[Any, Any, float]:  # fmt: skip
    """Fit one method; the fitted estimator, the test features it predicts from, and the seconds it took."""
    import pandas as pd

    from assay.mitigate._estimators import CorrelationRemover, GroupThresholdClassifier, ReductionsClassifier, ReweighingClassifier

    t0 = time.perf_counter()
    Xte = X_test
    if name == "none":
        est = new_model().fit(X_train, y_train)
    elif name in ("reweighing", "resampling"):
        est = ReweighingClassifier(new_model(), method="weights" if name == "reweighing" else "resample", random_state=seed)
        est.fit(X_train, y_train, sensitive_features=g_train)
    elif name == "correlation_remover":
        numeric = [c for c in features if pd.api.types.is_numeric_dtype(train[c]) and not pd.api.types.is_bool_dtype(train[c]) and c not in group_cols]
        if not numeric:
            raise DataError("correlation_remover: the features have no numeric columns to decorrelate")
        cr = CorrelationRemover(alpha=float(params.get("alpha", 1.0))).fit(X_train[numeric], sensitive_features=g_train)
        Xtr = X_train.assign(**dict(zip(numeric, cr.transform(X_train[numeric], sensitive_features=g_train).T)))
        Xte = X_test.assign(**dict(zip(numeric, cr.transform(X_test[numeric], sensitive_features=g_test).T)))
        est = new_model().fit(Xtr, y_train)
    elif name in ("exponentiated_gradient", "grid_search"):
        est = ReductionsClassifier(new_model(), method=name, constraint=params.get("constraint", "demographic_parity"),
                                   eps=float(params.get("eps", 0.01)), max_iter=int(params.get("max_iter", 50)),
                                   grid_size=int(params.get("grid_size", 10)), random_state=seed)  # fmt: skip
        est.fit(X_train, y_train, sensitive_features=g_train)
    else:  # the model on all the training data, the thresholds on its out-of-fold scores
        est = GroupThresholdClassifier(new_model(), cv=folds, method="thresholds" if name == "thresholds" else "reject_option",
                                       constraint=params.get("constraint", "demographic_parity"), objective=params.get("objective", "accuracy"),
                                       bound=float(params.get("bound", 0.05)), random_state=seed)  # fmt: skip
        est.fit(X_train, y_train, sensitive_features=g_train)
    return est, Xte, time.perf_counter() - t0


def _evaluate(test: Any, y: np.ndarray, q: np.ndarray, pred: np.ndarray, facets: Sequence[Any], name: str, params: dict[str, Any],
              fit_seconds: float, replicates: int, level: float, seed: int, assay: Any) -> dict[str, Any]:  # fmt: skip
    """Audit the decisions: a randomised classifier by its expected decisions ``q`` (P(positive) per row), others by ``pred``."""
    frame = test.assign(__y=y, __q=q)
    audit = assay.audit(frame, label="__y", label_values_or_threshold=[1], decision_probability="__q", facets=list(facets),
                        pre_training_methods=None, post_training_methods=list(EVALUATED), bootstrap_replicates=replicates,
                        confidence_level=level, seed=seed)  # fmt: skip
    table = audit.to_frame()
    disparities: dict[str, dict[str, Any]] = {}
    for facet, part in table.groupby("facet", sort=False):
        disparities[str(facet)] = {}
        for m in EVALUATED:
            rows = part[(part["metric"] == m) & part["value"].notna()]
            if rows.empty:
                reason = part.loc[part["metric"] == m, "reason"].dropna()
                disparities[str(facet)][m] = {"value": None, "reason": (reason.iloc[0] if len(reason) else "not computed")}
                continue
            # the group farthest from parity; for the ratio DI, the smallest ratio (the four-fifths convention: each group's
            # ratio to the rest, and a ratio above 1 for one group is a ratio below 1 for another)
            worst = rows.loc[rows["value"].idxmin()] if m == "DI" else rows.loc[(rows["value"] - parity_value(m)).abs().idxmax()]
            disparities[str(facet)][m] = {
                "value": float(worst["value"]), "ci": [None if undefined(worst["ci_low"]) else float(worst["ci_low"]),
                                                       None if undefined(worst["ci_high"]) else float(worst["ci_high"])],
                "group": str(worst["value_or_threshold"]), "size": int(worst["size"]), "rest_size": int(worst["rest_size"]),
                "p_value": None if undefined(worst["p_value"]) else float(worst["p_value"]),
                "worst_of": int(len(rows)),
            }  # fmt: skip
    correct = q * y + (1 - q) * (1 - y)  # each row's probability of a correct decision
    deterministic = bool(np.isin(q, (0.0, 1.0)).all())
    if deterministic:
        ci = _wilson(float(correct.sum()), len(y), level)
    else:  # a mean of numbers in [0, 1]: normal interval (n is large wherever mitigation is judged)
        from scipy.stats import norm

        half = float(norm.ppf(0.5 + level / 2)) * float(correct.std(ddof=1)) / math.sqrt(len(y))
        ci = [float(correct.mean()) - half, float(correct.mean()) + half]
    out = {
        "name": name, "title": _title(name, params), "stage": STAGE[name], "params": params, "fit_seconds": fit_seconds,
        "decisions": "deterministic" if deterministic else "randomised: judged by the expected decisions (each row positive with its probability)",
        "accuracy": {"value": float(correct.mean()), "ci": ci, "n": int(len(y))},
        "selection_rate": float(q.mean()), "disparities": disparities,
    }  # fmt: skip
    if not deterministic:
        out["realised"] = {"accuracy": float((pred == y).mean()), "selection_rate": float(pred.mean()),
                           "note": "one draw of the coin flips (the decisions predict() returns for these rows)"}  # fmt: skip
    return out


def _pareto(results: list[dict[str, Any]], metric: str, facet: Any) -> None:
    key = facet if isinstance(facet, str) else " x ".join(facet)
    ideal = parity_value(metric)
    points = []
    for r in results:
        d = r.get("disparities", {}).get(key, {}).get(metric, {})
        points.append(None if d.get("value") is None or "error" in r else (abs(d["value"] - ideal), r["accuracy"]["value"]))
    for r, p in zip(results, points):
        r["pareto"] = p is not None and not any(q is not None and q[0] <= p[0] and q[1] >= p[1] and q != p for q in points)
