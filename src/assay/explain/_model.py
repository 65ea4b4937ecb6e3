"""Any model as a function from a table to one score per row, and how to load one from a config."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from assay._errors import ConfigError, DataError

__all__ = ["ModelFunction", "as_model_function", "guarded", "load_model"]

Output = Literal["auto", "probability", "log_odds", "raw"]


@dataclass
class ModelFunction:
    """A scoring function with a description of what it returns."""

    predict: Callable[[Any], np.ndarray]
    output: str  # "probability", "log_odds", "raw" (regression or decision function)
    description: str
    model: Any = None


def as_model_function(model: Any, *, use_logit: bool = False, output: Output = "auto") -> ModelFunction:
    """Wrap an estimator (or a callable) so that it maps a table to one score per row.

    Classifiers give the probability of the positive (last) class, or its
    log-odds with ``use_logit``; regressors their prediction; a plain
    callable is used as it is, or with ``use_logit`` its outputs (which must
    be probabilities in (0, 1)) are turned into log-odds.
    """
    name = type(model).__name__
    if hasattr(model, "predict_proba") and output in ("auto", "probability", "log_odds"):
        want_logit = use_logit or output == "log_odds"

        margin = _margin(model) if want_logit else None

        def proba(frame: Any) -> np.ndarray:
            if margin is not None:
                return np.asarray(margin(frame), dtype=np.float64).reshape(-1)
            p = np.asarray(model.predict_proba(frame), dtype=np.float64)
            if p.ndim != 2 or p.shape[1] != 2:
                raise DataError(f"{name}.predict_proba returned shape {p.shape}; assay explains binary classifiers and regressors (one score per row)")
            p1 = np.clip(p[:, 1], 1e-12, 1 - 1e-12)
            return np.log(p1 / (1 - p1)) if want_logit else p[:, 1]

        what = "log-odds of the positive class" if want_logit else "probability of the positive class"
        return ModelFunction(proba, "log_odds" if want_logit else "probability", f"{name}: {what}", model)
    if hasattr(model, "predict"):

        def pred(frame: Any) -> np.ndarray:
            return np.asarray(model.predict(frame), dtype=np.float64).reshape(len(frame), -1)[:, -1]

        return ModelFunction(pred, "raw", f"{name}.predict", model)
    if callable(model):
        return _callable(model, use_logit=use_logit or output == "log_odds")
    raise ConfigError(f"cannot use {name} as a model: give a fitted estimator with predict or predict_proba, or a callable that maps a table to scores")


def guarded(fn: ModelFunction) -> ModelFunction:
    """``fn`` whose failures are one-line errors that say how many rows the model was scoring and what it raised (an explanation
    scores thousands of hybrid rows a user never wrote; a traceback from inside the model would not say that)."""
    from dataclasses import replace

    from assay._errors import AssayError

    predict = fn.predict

    def scored(frame: Any) -> np.ndarray:
        try:
            return predict(frame)
        except AssayError:
            raise
        except Exception as e:  # noqa: BLE001  (any model error, reported with context)
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise DataError(f"the model failed to score {len(frame):,} rows: {type(e).__name__}: {first}") from None

    return replace(fn, predict=scored)


def _callable(model: Callable[[Any], Any], *, use_logit: bool) -> ModelFunction:
    """A plain function (Clarify's black box: an endpoint that returns scores); with ``use_logit`` its probabilities become log-odds."""
    label = getattr(model, "__qualname__", type(model).__name__)

    def call(frame: Any) -> np.ndarray:
        out = np.asarray(model(frame))
        if out.ndim == 2 and out.shape[1] in (1, 2):  # a column, or (P(negative), P(positive))
            out = out[:, -1]
        if not use_logit:
            return out
        p = np.asarray(out, dtype=np.float64)
        outside = ~((p > 0) & (p < 1))
        if outside.any():
            raise DataError(
                f"use_logit: the callable {label} returned {p[outside][0]!r}, not a probability strictly between 0 and 1 "
                f"({int(outside.sum())} of {p.size} outputs); give probabilities, or set use_logit: false to explain its output as it is"
            )
        return np.log(p / (1 - p))

    if use_logit:
        return ModelFunction(call, "log_odds", f"the callable {label}: log-odds of its probability, ln(p / (1 - p))", model)
    return ModelFunction(call, "raw", f"the callable {label}", model)


_LOG_ODDS_DECISION = ("LogisticRegression", "LogisticRegressionCV", "HistGradientBoostingClassifier", "GradientBoostingClassifier")


def _margin(model: Any) -> Callable[[Any], np.ndarray] | None:
    """The model's own log-odds for binary classifiers that have them (exact, where log(p / (1 - p)) saturates)."""
    final = model[-1] if hasattr(model, "steps") else model
    classes = getattr(final, "classes_", None)
    if classes is None or len(classes) != 2:
        return None
    module, name = type(final).__module__, type(final).__name__
    if name in _LOG_ODDS_DECISION and getattr(final, "loss", "log_loss") == "log_loss" and hasattr(model, "decision_function"):
        return model.decision_function  # type: ignore[no-any-return]
    if name == "SGDClassifier" and getattr(final, "loss", "") == "log_loss":
        return model.decision_function  # type: ignore[no-any-return]
    if module.startswith("lightgbm"):
        return lambda frame: model.predict(frame, raw_score=True)
    if module.startswith("xgboost"):
        return lambda frame: model.predict(frame, output_margin=True)
    if module.startswith("catboost"):
        return lambda frame: model.predict(frame, prediction_type="RawFormulaVal")
    return None


def load_model(spec: str, *, base_dir: Path | None = None, trusted: list[str] | None = None) -> Any:
    """Load ``PATH`` (skops, joblib or pickle) or ``module:function`` named in a config.

    Loading a pickle or joblib file runs code from that file: only load files
    you trust. skops files are checked first, and types outside scikit-learn
    and numpy must be listed in ``trusted``.
    """
    if ":" in spec and not Path(spec).exists() and not (len(spec) > 1 and spec[1] == ":"):
        module, _, attr = spec.partition(":")
        try:
            obj = importlib.import_module(module)
        except ImportError as e:
            raise ConfigError(f"model {spec!r}: cannot import module {module!r} ({e}). Hint: run from the directory that holds it, or install it.") from None
        for part in attr.split("."):
            if not hasattr(obj, part):
                raise ConfigError(f"model {spec!r}: module {module!r} has no attribute {attr!r}")
            obj = getattr(obj, part)
        return obj
    path = Path(spec)
    if not path.is_absolute() and not path.exists() and base_dir is not None:
        path = base_dir / path
    if not path.exists():
        raise ConfigError(f"model file {spec!r} does not exist")
    if path.is_dir():
        raise ConfigError(f"model {spec!r} is a directory; name the model file in it (.skops, .joblib or .pkl)")
    if path.suffix == ".skops":
        from assay._optional import require

        sio = require("skops.io", feature="loading .skops models")
        try:
            untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in (trusted or [])]
        except Exception as e:  # noqa: BLE001  (not a zip file, no schema.json, a schema skops cannot read)
            raise ConfigError(f"cannot read model {spec!r} as a skops file ({type(e).__name__}: {e}); save it again with skops.io.dump") from None
        if untrusted:
            raise ConfigError(
                f"model {spec!r} holds types that skops does not trust by default: {', '.join(untrusted)}. "
                "If you trust the file, list them under model_trusted_types in the config."
            )
        try:
            return sio.load(path, trusted=list(trusted or []) or None)
        except Exception as e:  # noqa: BLE001  (a damaged member of the archive)
            raise ConfigError(f"cannot load model {spec!r} from its skops file ({type(e).__name__}: {e}); save it again with skops.io.dump") from None
    if path.suffix in (".joblib", ".pkl", ".pickle"):
        warnings.warn(
            f"loading {path.name} runs code stored in it (pickle); only load model files you trust. Save models with skops (.skops) for safe loading.",
            stacklevel=2,
        )
        import joblib

        try:
            return joblib.load(path)
        except Exception as e:  # noqa: BLE001  (any unpickling failure)
            raise ConfigError(f"cannot load model {spec!r}: {type(e).__name__}: {e}") from None
    raise ConfigError(f"model {spec!r}: unknown file type {path.suffix!r}; use .skops (safe), .joblib or .pkl, or module:function")
