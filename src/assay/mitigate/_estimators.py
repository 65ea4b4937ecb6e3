"""The mitigators as scikit-learn estimators and transformers.

Each takes the groups as ``sensitive_features`` (fit and predict keyword,
requested through metadata routing inside a Pipeline or a grid search:
``.set_fit_request(sensitive_features=True)``), or as ``sensitive_columns``
(names or positions of columns of X). Without either, every row is one
group and a warning says the constraint is void: that keeps the estimators
usable by code that knows nothing of groups (scikit-learn's own checks).

Randomised decisions (group thresholds) flip one coin per row, drawn from a
hash of the row's content and ``random_state``: the same input always gets
the same decision, in any batch and any order, and the rates hold in
expectation.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, RegressorMixin, TransformerMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from assay._errors import ConfigError, DataError
from assay.mitigate._reweighing import resample_indices, reweighing_weights
from assay.mitigate._thresholds import fit_group_thresholds, fit_reject_option

__all__ = ["CorrelationRemover", "GroupThresholdClassifier", "ReductionsClassifier", "ReductionsRegressor", "ReweighingClassifier"]

NO_GROUPS = "no sensitive_features and no sensitive_columns were given: every row is one group, so the fairness constraint is void"


# == shared plumbing ==============================================================
def _table(X: Any) -> Any:
    """X as pandas for any dataframe (polars, pyarrow: converted once), as given for pandas, arrays and sparse matrices."""
    import scipy.sparse as sp

    if hasattr(X, "iloc") or sp.issparse(X) or isinstance(X, np.ndarray):
        return X.tocsr() if sp.issparse(X) and X.format in ("coo", "dia", "bsr") else X
    if hasattr(X, "to_pandas"):  # polars DataFrame, pyarrow Table, narwhals frames
        return X.to_pandas()
    if X is None:
        raise ValueError("X is None; expected a table or an array of rows")
    return np.asarray(X)


def _target(y: Any, *, classifier: bool, binary: bool = True) -> np.ndarray:
    """y as a 1-D array, with scikit-learn's messages for missing, 2-D, continuous or multiclass targets."""
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import column_or_1d

    if y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    y = column_or_1d(y, warn=True)
    if np.asarray(y).dtype.kind in "fc" and not np.isfinite(y).all():
        raise ValueError(f"Input y contains NaN or infinity ({int((~np.isfinite(y)).sum())} values); every row needs a finite label")
    if classifier:
        check_classification_targets(y)
        classes = np.unique(y)
        if binary and len(classes) > 2:
            raise ValueError(f"Only binary classification is supported by the mitigators; y has {len(classes)} classes: {list(classes)[:5]}")
    return np.asarray(y)


def _rows(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def _groups(owner: Any, X: Any, sensitive_features: Any) -> Any:
    """The groups of X's rows: given, taken from X's columns, or one group (with a warning)."""
    n = X.shape[0]
    if sensitive_features is not None:
        return sensitive_features
    cols = getattr(owner, "sensitive_columns", None)
    if cols is None:
        warnings.warn(NO_GROUPS, UserWarning, stacklevel=3)
        return np.zeros(n, dtype=np.int64)
    return _select(X, cols)


def _select(X: Any, cols: Any) -> Any:
    cols = [cols] if isinstance(cols, (str, int, np.integer)) else list(cols)
    if hasattr(X, "columns"):
        missing = [c for c in cols if (c not in X.columns if isinstance(c, str) else not 0 <= int(c) < X.shape[1])]
        if missing:
            raise DataError(f"sensitive column(s) {', '.join(map(repr, missing))} are not in X; its columns: {', '.join(map(str, X.columns))}")
        return X[[c for c in cols]] if all(isinstance(c, str) for c in cols) else X.iloc[:, [int(c) for c in cols]]
    if not all(isinstance(c, (int, np.integer)) for c in cols):
        raise DataError(f"sensitive_columns {cols!r} name columns, but X has no column names (an array): give positions instead")
    bad = [c for c in cols if not 0 <= int(c) < X.shape[1]]
    if bad:
        raise DataError(f"sensitive column position(s) {bad} are outside X's {X.shape[1]} columns")
    return np.asarray(X)[:, [int(c) for c in cols]]


def _fit_params(owner: Any, method: str, sample_weight: Any, params: dict[str, Any]) -> dict[str, Any]:
    """What the inner estimator's ``method`` gets: routed metadata when routing is on, else the params as given."""
    from sklearn.utils.metadata_routing import _routing_enabled, process_routing

    if _routing_enabled():
        extra = {} if sample_weight is None else {"sample_weight": sample_weight}
        return dict(process_routing(owner, method, **extra, **params).estimator[method])
    out = dict(params)
    if sample_weight is not None:
        out["sample_weight"] = sample_weight
    return out


def _weights(estimator: Any, w: np.ndarray) -> dict[str, Any]:
    """How to hand sample weights to ``estimator.fit``: a Pipeline without metadata routing takes them as ``laststep__sample_weight``."""
    from sklearn.pipeline import Pipeline
    from sklearn.utils.metadata_routing import _routing_enabled

    if isinstance(estimator, Pipeline) and not _routing_enabled():
        return {f"{estimator.steps[-1][0]}__sample_weight": w}
    return {"sample_weight": w}


def _router(owner: Any, *methods: str) -> Any:
    from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping

    mapping = MethodMapping()
    for m in methods:
        mapping.add(caller=m, callee=m)
    return MetadataRouter(owner=owner).add_self_request(owner).add(estimator=owner.estimator, method_mapping=mapping)


def _row_uniforms(X: Any, random_state: int | None) -> np.ndarray:
    """One uniform number per row from a hash of the row's values (order and batch independent)."""
    import pandas as pd
    import scipy.sparse as sp

    mult = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        if sp.issparse(X):
            csr = sp.csr_matrix(X)
            data = np.ascontiguousarray(csr.data, dtype=np.float64).view(np.uint64)
            elem = _mix64(data ^ (csr.indices.astype(np.uint64) * mult))
            h = np.zeros(csr.shape[0], dtype=np.uint64)
            nonempty = np.diff(csr.indptr) > 0
            if elem.size:
                h[nonempty] = np.add.reduceat(elem, csr.indptr[:-1][nonempty])
        else:
            frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X).reshape(X.shape[0], -1))
            h = np.zeros(len(frame), dtype=np.uint64)
            for j in range(frame.shape[1]):
                h = _mix64(h * mult + pd.util.hash_pandas_object(frame.iloc[:, j], index=False).to_numpy(dtype=np.uint64))
        h = _mix64(h ^ _mix64(np.full(1, (random_state or 0) + 1, dtype=np.uint64)))
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _positive_score(est: Any, X: Any) -> np.ndarray:
    if hasattr(est, "predict_proba"):
        return np.asarray(est.predict_proba(X))[:, 1]
    if hasattr(est, "decision_function"):
        return np.asarray(est.decision_function(X)).reshape(-1)
    raise ConfigError(f"{type(est).__name__} has neither predict_proba nor decision_function: group thresholds need a score")


def _binary(classes: np.ndarray) -> None:
    if len(classes) != 2:
        raise DataError(f"Only binary classification is supported by the mitigators; y has {len(classes)} class(es): {list(classes)[:5]}")


def _inner_tags(owner: Any, tags: Any) -> Any:
    from sklearn.utils import get_tags

    inner = get_tags(owner.estimator)
    tags.input_tags.sparse = inner.input_tags.sparse
    tags.input_tags.allow_nan = inner.input_tags.allow_nan
    return tags


def _adopt(owner: Any, fitted: Any) -> None:
    """The input description scikit-learn expects on a meta-estimator, from the estimator it fitted."""
    for attr in ("n_features_in_", "feature_names_in_"):
        if hasattr(fitted, attr):
            setattr(owner, attr, getattr(fitted, attr))


def _estimator_has(attr: str) -> Any:
    return lambda self: hasattr(self.estimator_ if hasattr(self, "estimator_") else self.estimator, attr)


# == post-processing ==============================================================
class GroupThresholdClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Group-specific (randomised) thresholds on a classifier's score.

    ``method="thresholds"``: the thresholds that maximise ``objective``
    with ``constraint`` (demographic_parity, equalized_odds,
    true_positive_rate_parity, predictive_parity) holding exactly in
    expectation on the fit data. ``method="reject_option"``: Kamiran's
    reject-option classification, disparity within ``bound``.

    Training scores are over-confident, so the thresholds should not be
    learnt from the scores of the rows the model was trained on. Two ways:
    ``prefit=True`` uses ``estimator`` as fitted and learns only the
    thresholds from (X, y), which should be data the model did not see;
    ``cv=5`` (an int or a scikit-learn splitter) fits the model on all of
    (X, y) and the thresholds on out-of-fold scores (each row scored by a
    model fitted without it), as scikit-learn's TunedThresholdClassifierCV
    does.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from assay.datasets import load_german
    >>> df = load_german()
    >>> X, y = df[["duration", "credit_amount", "age"]], df["class"]
    >>> clf = GroupThresholdClassifier(LogisticRegression(), constraint="demographic_parity")
    >>> _ = clf.fit(X, y, sensitive_features=df["sex"])
    >>> rates = clf.thresholds_.group_rates
    >>> round(rates["female"]["selection_rate"] - rates["male"]["selection_rate"], 12)
    0.0
    """

    def __init__(self, estimator: Any, *, constraint: str = "demographic_parity", objective: str = "accuracy", method: str = "thresholds",
                 bound: float = 0.05, prefit: bool = False, cv: Any = None, sensitive_columns: Any = None, random_state: int | None = 0,
                 max_bins: int = 4096) -> None:  # fmt: skip
        self.estimator = estimator
        self.cv = cv
        self.constraint = constraint
        self.objective = objective
        self.method = method
        self.bound = bound
        self.prefit = prefit
        self.sensitive_columns = sensitive_columns
        self.random_state = random_state
        self.max_bins = max_bins

    def __sklearn_tags__(self) -> Any:
        tags = _inner_tags(self, super().__sklearn_tags__())
        tags.classifier_tags.multi_class = False
        return tags

    def get_metadata_routing(self) -> Any:
        return _router(self, "fit", "predict", "predict_proba")

    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None, sample_weight: Any = None, **fit_params: Any) -> GroupThresholdClassifier:
        if self.method not in ("thresholds", "reject_option"):
            raise ConfigError(f"method must be thresholds or reject_option, got {self.method!r}")
        X, y = _table(X), _target(y, classifier=True)
        if self.prefit and self.cv is not None:
            raise ConfigError("give prefit=True (thresholds from the given data's scores) or cv (out-of-fold scores), not both")
        params = _fit_params(self, "fit", sample_weight, fit_params)
        if self.prefit:
            check_is_fitted(self.estimator)
            self.estimator_ = self.estimator
        else:
            self.estimator_ = clone(self.estimator).fit(X, y, **params)
        self.classes_ = np.asarray(self.estimator_.classes_)
        _adopt(self, self.estimator_)
        groups = _groups(self, X, sensitive_features)
        score = _positive_score(self.estimator_, X) if self.cv is None else self._out_of_fold(X, y, params)
        target = np.asarray(y) == self.classes_[1]
        if self.method == "thresholds":
            self.thresholds_ = fit_group_thresholds(score, target, groups, constraint=self.constraint, objective=self.objective,
                                                    sample_weight=sample_weight, max_bins=self.max_bins)  # fmt: skip
        else:
            self.thresholds_ = fit_reject_option(score, target, groups, constraint=self.constraint, bound=self.bound,
                                                 objective=self.objective, sample_weight=sample_weight, max_bins=self.max_bins)  # fmt: skip
        return self

    def _out_of_fold(self, X: Any, y: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        splitter = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state) if isinstance(self.cv, (int, np.integer)) else self.cv
        method = "predict_proba" if hasattr(self.estimator_, "predict_proba") else "decision_function"
        oof = np.asarray(cross_val_predict(clone(self.estimator), X, y, cv=splitter, method=method, params=params or None))
        return oof[:, 1] if oof.ndim == 2 else oof

    def _p(self, X: Any, sensitive_features: Any) -> np.ndarray:
        check_is_fitted(self, "thresholds_")
        X = _table(X)
        groups = _groups(self, X, sensitive_features)
        return self.thresholds_.positive_probability(_positive_score(self.estimator_, X), groups)

    def predict_proba(self, X: Any, *, sensitive_features: Any = None) -> np.ndarray:
        """Probability of each class under the randomised rule (not the model's calibrated probability)."""
        p = self._p(X, sensitive_features)
        return np.c_[1 - p, p]

    def predict(self, X: Any, *, sensitive_features: Any = None) -> np.ndarray:
        p = self._p(X, sensitive_features)
        return self.classes_[(_row_uniforms(_table(X), self.random_state) < p).astype(int)]

    def score(self, X: Any, y: Any, *, sensitive_features: Any = None, sample_weight: Any = None) -> float:
        """Accuracy of the (randomised) decisions; takes the groups, so a grid search can route them here."""
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(y, self.predict(X, sensitive_features=sensitive_features), sample_weight=sample_weight))


# == pre-processing ===============================================================
class ReweighingClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Fits ``estimator`` on data where the label is independent of the groups.

    ``method="weights"`` (Kamiran and Calders' reweighing: sample weights
    from the (group, label) counts; the estimator must take
    ``sample_weight``) or ``"resample"`` (each (group, label) cell drawn
    to its size under independence: for estimators without sample weights).
    Prediction is the fitted estimator's own, without groups.
    """

    def __init__(self, estimator: Any, *, method: str = "weights", sensitive_columns: Any = None, random_state: int | None = 0) -> None:
        self.estimator = estimator
        self.method = method
        self.sensitive_columns = sensitive_columns
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        return _inner_tags(self, super().__sklearn_tags__())

    def get_metadata_routing(self) -> Any:
        return _router(self, "fit", "predict", "predict_proba", "decision_function")

    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None, sample_weight: Any = None, **fit_params: Any) -> ReweighingClassifier:
        if self.method not in ("weights", "resample"):
            raise ConfigError(f"method must be weights or resample, got {self.method!r}")
        X, y = _table(X), _target(y, classifier=True, binary=False)
        groups = _groups(self, X, sensitive_features)
        if self.method == "weights":
            w = reweighing_weights(y, groups, sample_weight=sample_weight)
            params = _fit_params(self, "fit", None, fit_params)
            self.estimator_ = clone(self.estimator).fit(X, y, **_weights(self.estimator, w), **params)  # our weights, always
        else:
            idx = resample_indices(y, groups, sample_weight=sample_weight, random_state=self.random_state)
            self.estimator_ = clone(self.estimator).fit(_rows(X, idx), np.asarray(y)[idx], **_fit_params(self, "fit", None, fit_params))
        self.classes_ = self.estimator_.classes_
        _adopt(self, self.estimator_)
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.predict(_table(X)))

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.predict_proba(_table(X)))

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.decision_function(_table(X)))


class CorrelationRemover(TransformerMixin, BaseEstimator):
    """Removes the linear association of every numeric feature with the sensitive features.

    Each feature x becomes x - alpha * (S - mean(S)) b, where S is the
    one-hot coding of the groups (intersections when several columns) and b
    the least-squares coefficients of x on S fitted on the training data:
    with ``alpha=1`` every feature has the same mean in every group of the
    fit data (Pearson correlation 0 with each group indicator), and its
    within-group variation is kept. ``alpha`` between 0 and 1 trades
    between the two. With ``sensitive_columns`` those columns are taken
    from X and left out of the output (as Fairlearn does); with
    ``sensitive_features`` (routed) every column of X is kept.
    """

    def __init__(self, *, sensitive_columns: Any = None, alpha: float = 1.0) -> None:
        self.sensitive_columns = sensitive_columns
        self.alpha = alpha

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def _split(self, X: Any, sensitive_features: Any) -> tuple[np.ndarray, Any, list[str] | None]:
        import pandas as pd
        from sklearn.utils.validation import check_array

        X = _table(X)
        if not hasattr(X, "iloc"):
            X = check_array(X, dtype=np.float64, ensure_min_samples=1)
        groups = _groups(self, X, sensitive_features)
        rest = X
        if self.sensitive_columns is not None and sensitive_features is None:
            cols = [self.sensitive_columns] if isinstance(self.sensitive_columns, (str, int, np.integer)) else list(self.sensitive_columns)
            if hasattr(X, "columns"):
                keep = [c for i, c in enumerate(X.columns) if c not in cols and i not in cols]
                rest = X[keep]
            else:
                keep_idx = [i for i in range(X.shape[1]) if i not in cols]
                rest = np.asarray(X)[:, keep_idx]
        names = [str(c) for c in rest.columns] if isinstance(rest, pd.DataFrame) else None
        if isinstance(rest, pd.DataFrame):
            bad = [c for c in rest.columns if not pd.api.types.is_numeric_dtype(rest[c]) or pd.api.types.is_bool_dtype(rest[c])]
            if bad:
                raise DataError(f"column(s) {', '.join(map(repr, bad[:5]))} are not numeric; the correlation remover works on numbers: "
                                "encode them first (e.g. a OneHotEncoder in a ColumnTransformer before it)")  # fmt: skip
        arr = check_array(rest, dtype=np.float64, ensure_all_finite=True, ensure_min_samples=1)
        return arr, groups, names

    def fit(self, X: Any, y: Any = None, *, sensitive_features: Any = None) -> CorrelationRemover:
        from assay.mitigate._groups import group_codes

        if not 0 <= self.alpha <= 1:
            raise ConfigError(f"alpha must be between 0 and 1, got {self.alpha!r}")
        arr, groups, names = self._split(X, sensitive_features)
        X = _table(X)
        codes, self.groups_ = group_codes(groups, arr.shape[0])
        S = np.eye(len(self.groups_))[codes][:, 1:]  # one-hot, first group as reference
        self.s_mean_ = S.mean(axis=0)
        if S.shape[1]:
            self.coef_ = np.linalg.lstsq(np.c_[np.ones(len(S)), S - self.s_mean_], arr, rcond=None)[0][1:]
        else:
            self.coef_ = np.zeros((0, arr.shape[1]))
        self.n_features_in_ = X.shape[1]
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.feature_names_out_ = np.asarray(names if names is not None else [f"x{i}" for i in range(arr.shape[1])], dtype=object)
        return self

    def transform(self, X: Any, *, sensitive_features: Any = None) -> np.ndarray:
        from assay.mitigate._groups import known_group_codes

        check_is_fitted(self, "coef_")
        from sklearn.utils.validation import check_array

        X = _table(X)
        if not hasattr(X, "iloc"):
            X = check_array(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but CorrelationRemover is expecting {self.n_features_in_} features as input")
        arr, groups, _ = self._split(X, sensitive_features)
        codes = known_group_codes(groups, self.groups_, arr.shape[0]) if len(self.groups_) > 1 else np.zeros(arr.shape[0], dtype=np.int64)
        S = np.eye(len(self.groups_))[codes][:, 1:]
        return np.asarray(arr - self.alpha * (S - self.s_mean_) @ self.coef_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "coef_")
        return self.feature_names_out_


# == in-processing (Fairlearn's reductions behind our interface) =================
def _fairlearn_moment(constraint: str, eps: float, loss: str) -> Any:
    from assay._optional import require

    red = require("fairlearn.reductions", feature="the reductions mitigators")
    if constraint == "bounded_group_loss":  # on a target scaled to [0, 1] (see ReductionsRegressor.fit)
        return red.BoundedGroupLoss(red.SquareLoss(0.0, 1.0) if loss == "square" else red.AbsoluteLoss(0.0, 1.0), upper_bound=eps)
    moments = {"demographic_parity": red.DemographicParity, "equalized_odds": red.EqualizedOdds,
               "true_positive_rate_parity": red.TruePositiveRateParity, "error_rate_parity": red.ErrorRateParity}  # fmt: skip
    if constraint not in moments:
        raise ConfigError(f"constraint must be one of {', '.join(moments)} for a classifier, got {constraint!r}")
    return moments[constraint](difference_bound=eps)


class _Reductions(MetaEstimatorMixin, BaseEstimator):
    def __init__(self, estimator: Any, *, constraint: str = "demographic_parity", method: str = "exponentiated_gradient", eps: float = 0.01,
                 max_iter: int = 50, grid_size: int = 10, loss: str = "square", sensitive_columns: Any = None,
                 random_state: int | None = 0) -> None:  # fmt: skip
        self.estimator = estimator
        self.constraint = constraint
        self.method = method
        self.eps = eps
        self.max_iter = max_iter
        self.grid_size = grid_size
        self.loss = loss
        self.sensitive_columns = sensitive_columns
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = _inner_tags(self, super().__sklearn_tags__())
        tags.input_tags.sparse = False  # Fairlearn's reductions take dense data
        return tags

    def _fit(self, X: Any, y: Any, sensitive_features: Any, fit_params: dict[str, Any], bound: float | None = None) -> Any:
        from assay._optional import require

        red = require("fairlearn.reductions", feature="the reductions mitigators")
        if self.method not in ("exponentiated_gradient", "grid_search"):
            raise ConfigError(f"method must be exponentiated_gradient or grid_search, got {self.method!r}")
        if self.loss not in ("square", "absolute"):
            raise ConfigError(f"loss must be square or absolute, got {self.loss!r}")
        if fit_params:
            raise ConfigError(f"the reductions mitigators pass no fit parameters to the estimator; got {', '.join(fit_params)}")
        import scipy.sparse as sp

        if sp.issparse(X):
            raise TypeError("sparse input is not supported by the reductions mitigators (Fairlearn's reductions take dense data); pass X.toarray()")
        groups = _groups(self, X, sensitive_features)
        from assay.mitigate._groups import group_codes

        codes, self.groups_ = group_codes(groups, X.shape[0])
        if len(self.groups_) == 1:  # one group: no constraint to meet (Fairlearn divides by the number of groups' differences)
            self.mitigator_ = None
            self.estimator_ = clone(self.estimator).fit(X, y)
            self.n_iter_ = 1
            _adopt(self, self.estimator_)
            return self
        moment = _fairlearn_moment(self.constraint, self.eps if bound is None else bound, self.loss)
        weight_name = next(iter(_weights(self.estimator, np.ones(1))))  # a Pipeline takes laststep__sample_weight
        if self.method == "exponentiated_gradient":
            tolerance = self.eps if bound is None else 0.01  # Fairlearn's default for losses in [0, 1]
            self.mitigator_ = red.ExponentiatedGradient(clone(self.estimator), moment, eps=tolerance, max_iter=self.max_iter, sample_weight_name=weight_name)
        else:
            self.mitigator_ = red.GridSearch(clone(self.estimator), moment, grid_size=self.grid_size, sample_weight_name=weight_name)
        with warnings.catch_warnings():
            for category in (FutureWarning, DeprecationWarning):  # Fairlearn's own, about pandas versions to come
                warnings.filterwarnings("ignore", category=category, module="fairlearn")
            self.mitigator_.fit(X, y, sensitive_features=np.asarray(self.groups_, dtype=object)[codes])
        inner = getattr(self.mitigator_, "predictors_", None)
        if inner is not None and len(inner):
            _adopt(self, inner[0])
        if not hasattr(self, "n_features_in_"):
            self.n_features_in_ = X.shape[1]
        self.n_iter_ = max(1, len(getattr(self.mitigator_, "predictors_", [])))
        return self


class ReductionsClassifier(ClassifierMixin, _Reductions):
    """Fairlearn's exponentiated gradient or grid search over a fairness constraint, for any classifier that takes sample weights.

    ``constraint``: demographic_parity, equalized_odds,
    true_positive_rate_parity or error_rate_parity, each as a bound ``eps``
    on the difference between groups. Exponentiated gradient returns a
    randomised mixture of models; ``predict`` draws from it with
    ``random_state`` and ``predict_proba`` gives the mixture's probability
    of a positive decision. Grid search returns one model.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None, **fit_params: Any) -> ReductionsClassifier:
        X, y = _table(X), _target(y, classifier=True)
        self.classes_ = np.unique(y)
        _binary(self.classes_)
        return self._fit(X, (y == self.classes_[1]).astype(int), sensitive_features, fit_params)

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "mitigator_")
        X = _table(X)
        if self.mitigator_ is None:
            return self.classes_[np.asarray(self.estimator_.predict(X)).astype(int)]
        if self.method == "grid_search":
            return self.classes_[np.asarray(self.mitigator_.predict(X)).astype(int)]
        return self.classes_[(_row_uniforms(X, self.random_state) < self.predict_proba(X)[:, 1]).astype(int)]

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "mitigator_")
        X = _table(X)
        if self.mitigator_ is None:
            return np.asarray(self.estimator_.predict_proba(X))
        if self.method == "grid_search":
            p = np.asarray(self.mitigator_.predict(X), dtype=np.float64)
            return np.c_[1 - p, p]
        return np.asarray(self.mitigator_._pmf_predict(X))


class ReductionsRegressor(RegressorMixin, _Reductions):
    """Fairlearn's reductions for regression: bounded group loss (every group's mean loss at most ``eps``, in the target's units).

    ``loss``: square (``eps`` in squared target units) or absolute. The
    target is scaled to [0, 1] for Fairlearn (whose losses assume a bounded
    target) and predictions are scaled back. ``predict`` is the mixture's
    mean prediction.
    """

    def __init__(self, estimator: Any, *, constraint: str = "bounded_group_loss", method: str = "exponentiated_gradient", eps: float = 0.01,
                 max_iter: int = 50, grid_size: int = 10, loss: str = "square", sensitive_columns: Any = None,
                 random_state: int | None = 0) -> None:  # fmt: skip
        super().__init__(estimator, constraint=constraint, method=method, eps=eps, max_iter=max_iter, grid_size=grid_size, loss=loss,
                         sensitive_columns=sensitive_columns, random_state=random_state)  # fmt: skip

    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None, **fit_params: Any) -> ReductionsRegressor:
        if self.constraint != "bounded_group_loss":
            raise ConfigError(f"a regressor takes constraint bounded_group_loss, got {self.constraint!r}")
        target = _target(y, classifier=False).astype(np.float64)
        # Fairlearn's losses assume a bounded target: scale it to [0, 1] and the bound with it, and scale predictions back
        self.offset_, self.scale_ = float(target.min()), float(np.ptp(target)) or 1.0
        bound = self.eps / self.scale_**2 if self.loss == "square" else self.eps / self.scale_
        return self._fit(_table(X), (target - self.offset_) / self.scale_, sensitive_features, fit_params, bound=bound)

    def predict(self, X: Any) -> np.ndarray:
        """The mixture's mean prediction: for a convex loss its group losses are at most the randomised mixture's (Jensen)."""
        check_is_fitted(self, "mitigator_")
        X = _table(X)
        if self.mitigator_ is None:
            scaled = np.asarray(self.estimator_.predict(X), dtype=np.float64)
        elif self.method == "grid_search":
            scaled = np.asarray(self.mitigator_.predict(X), dtype=np.float64)
        else:
            scaled = np.asarray(self.mitigator_._pmf_predict(X), dtype=np.float64) @ np.asarray(self.mitigator_.weights_, dtype=np.float64)
        return self.offset_ + self.scale_ * scaled
