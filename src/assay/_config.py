"""Audit configuration: SageMaker Clarify's ``analysis_config.json`` keys, as they are, plus assay's extensions.

A Clarify user's config runs unchanged. Keys that only make sense on AWS
(``predictor``, ``methods.shap``, ``methods.report``) are accepted and
reported as ignored, with what to do instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from assay._errors import ConfigError, DataError, did_you_mean

__all__ = ["CLARIFY_KEYS", "EXTENSION_KEYS", "audit_config", "explain_config", "load_config"]

#: Keys of Clarify's analysis configuration that assay reads.
CLARIFY_KEYS = {
    "version", "dataset_type", "dataset_uri", "headers", "label", "label_values_or_threshold",
    "predicted_label", "probability", "probability_threshold", "facet", "group_variable", "methods",
    "predictor", "excluded_columns", "joinsource_name_or_index", "features", "label_headers",
    "predicted_label_dataset_uri", "predicted_label_headers", "segment_config",
}  # fmt: skip

#: assay's own keys (documented in docs/configuration.md).
EXTENSION_KEYS = {
    "label_type", "label_distribution", "sample_weight", "confidence_level", "bootstrap_replicates", "seed",
    "min_group_size", "fliptest", "model", "model_trusted_types", "explain", "mitigate", "test_dataset_uri", "decision_probability",
    "id", "timestamp", "ground_truth", "model_quality_constraints", "monitor",
}  # fmt: skip

_SHAP_KEYS = {"baseline", "num_samples", "agg_method", "use_logit", "save_local_shap_values", "seed", "num_clusters", "features_to_explain"}
_PDP_KEYS = {"grid_resolution", "features", "top_k_features"}
_EXPLAIN_KEYS = {"max_rows", "background_size", "repeats", "algorithm", "proxies", "bootstrap_replicates", "confidence_level", "n_jobs"}

_METHOD_KEYS = {"pre_training_bias", "post_training_bias", "shap", "pdp", "report", "asymmetric_shapley_value"}


def load_config(source: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Read a YAML or JSON config file (or take a dict) and check its keys."""
    if isinstance(source, Mapping):
        cfg = dict(source)
        base = None
    else:
        path = Path(source)
        if not path.exists():
            raise ConfigError(f"config file {str(path)!r} does not exist")
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix.lower() == ".json":
                cfg = json.loads(text)
            else:
                import yaml

                cfg = yaml.safe_load(text)
        except (json.JSONDecodeError, Exception) as exc:  # yaml.YAMLError and friends
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"cannot parse config {str(path)!r}: {first}") from exc
        if not isinstance(cfg, dict):
            raise ConfigError(f"config {str(path)!r} must be a mapping of keys to values, got {type(cfg).__name__}")
        base = path.parent
    known = CLARIFY_KEYS | EXTENSION_KEYS
    for key in cfg:
        if key not in known:
            raise ConfigError(f"unknown config key {key!r}.{did_you_mean(key, known)} Known keys: {', '.join(sorted(known))}")
    methods = cfg.get("methods") or {}
    if not isinstance(methods, dict):
        raise ConfigError("'methods' must be a mapping, e.g. {pre_training_bias: {methods: all}}")
    for key in methods:
        if key not in _METHOD_KEYS:
            raise ConfigError(f"unknown key methods.{key}.{did_you_mean(key, _METHOD_KEYS)} Known: {', '.join(sorted(_METHOD_KEYS))}")
    if base is not None:
        cfg["__base__"] = str(base)
    return cfg


def _column(value: Any, headers: list[str] | None, key: str) -> str | None:
    """A column given by name, or by index into ``headers`` (Clarify allows both)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{key} must be a column name or index, got {value!r}")
    if isinstance(value, int):
        if not headers:
            raise ConfigError(f"{key} is the index {value}, which needs 'headers' to name the columns")
        if not 0 <= value < len(headers):
            raise ConfigError(f"{key} index {value} is out of range: headers has {len(headers)} names")
        return headers[value]
    return str(value)


def audit_kwargs(cfg: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Translate a checked config into keyword arguments of :func:`assay.audit`, plus notes."""
    notes: list[str] = []
    headers = cfg.get("headers")
    if headers is not None and (not isinstance(headers, list) or not all(isinstance(h, str) for h in headers)):
        raise ConfigError("'headers' must be a list of column names")
    if "label" not in cfg:
        raise ConfigError("the config has no 'label': name the column that holds the observed outcome")
    if "facet" not in cfg:
        raise ConfigError("the config has no 'facet': list the sensitive columns, e.g. facet: [{name_or_index: sex}]")
    facets_cfg = cfg["facet"]
    if isinstance(facets_cfg, dict):
        facets_cfg = [facets_cfg]
    if not isinstance(facets_cfg, list) or not facets_cfg:
        raise ConfigError("'facet' must be a non-empty list of {name_or_index, value_or_threshold}")
    facets = []
    for f in facets_cfg:
        if isinstance(f, str):
            f = {"name_or_index": f}
        if not isinstance(f, dict):
            raise ConfigError(f"each facet must be a mapping with name_or_index, got {f!r}")
        f = dict(f)
        names = f.get("name_or_index")
        if isinstance(names, list):
            f["name_or_index"] = [_column(n, headers, "facet name_or_index") for n in names]
        else:
            f["name_or_index"] = _column(names, headers, "facet name_or_index")
        facets.append(f)
    methods = cfg.get("methods") or {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}}
    pre = (methods.get("pre_training_bias") or {}).get("methods") if "pre_training_bias" in methods else None
    post = (methods.get("post_training_bias") or {}).get("methods") if "post_training_bias" in methods else None
    if "pre_training_bias" in methods and pre is None:
        pre = "all"
    if "post_training_bias" in methods and post is None:
        post = "all"
    for ignored in ("shap", "pdp", "asymmetric_shapley_value"):
        if ignored in methods:
            notes.append(f"methods.{ignored} is not part of the bias audit; it is ignored here")
    if "report" in methods:
        notes.append("methods.report is ignored: assay audit writes analysis.json and prints a table")
    predicted = _column(cfg.get("predicted_label"), headers, "predicted_label")
    probability = _column(cfg.get("probability"), headers, "probability")
    decision_probability = _column(cfg.get("decision_probability"), headers, "decision_probability")
    if post and predicted is None and probability is None and decision_probability is None:
        if "predictor" in cfg:
            notes.append(
                "post_training_bias is skipped: Clarify got predictions from the 'predictor' endpoint, and assay does not call "
                "endpoints. Add the model's predictions as a column and name it in predicted_label (or its score in probability)."
            )
        else:
            notes.append("post_training_bias is skipped: name the predictions column in predicted_label (or a score in probability)")
        post = None
    elif "predictor" in cfg:
        notes.append("'predictor' is ignored: predictions are read from the data")
    if isinstance(cfg.get("features"), str) and not _is_jsonlines(cfg.get("dataset_uri", ""), cfg.get("dataset_type")):
        notes.append("'features' (a JMESPath) applies to JSON Lines datasets and is ignored for this one")
    for key in ("joinsource_name_or_index", "segment_config", "predicted_label_dataset_uri", "predicted_label_headers", "label_headers"):
        if key in cfg:
            notes.append(f"{key!r} is not supported yet and is ignored")
    ptype = _typed(cfg["probability_threshold"], float, "probability_threshold") if cfg.get("probability_threshold") is not None else None
    kwargs: dict[str, Any] = {
        "label": _column(cfg["label"], headers, "label"),
        "label_values_or_threshold": cfg.get("label_values_or_threshold"),
        "facets": facets,
        "predicted_label": predicted,
        "probability": probability,
        "probability_threshold": ptype,
        "decision_probability": decision_probability,
        "group_variable": _column(cfg.get("group_variable"), headers, "group_variable"),
        "sample_weight": _column(cfg.get("sample_weight"), headers, "sample_weight"),
        "pre_training_methods": pre,
        "post_training_methods": post,
        "headers": headers,
    }
    for key, kind in (
        ("label_type", str),
        ("label_distribution", str),
        ("confidence_level", float),
        ("bootstrap_replicates", int),
        ("seed", int),
        ("min_group_size", int),
    ):
        if key in cfg:
            kwargs[key] = _typed(cfg[key], kind, key)
    fl = dict(cfg.get("fliptest") or {})
    if cfg.get("excluded_columns"):
        fl.setdefault("exclude", list(cfg["excluded_columns"]))
    if fl:
        kwargs["fliptest"] = fl
    return kwargs, notes


def audit_config(
    config: str | os.PathLike[str] | Mapping[str, Any],
    *,
    data: Any = None,
    progress: Callable[[str], None] | None = None,
    **overrides: Any,
) -> Any:
    """Run :func:`assay.audit` from a config file or dict.

    ``data`` (a table or a path) overrides the config's ``dataset_uri``;
    ``overrides`` replace keyword arguments (e.g. ``bootstrap_replicates``).
    """
    from assay.bias import audit

    cfg = load_config(config)
    kwargs, notes = audit_kwargs(cfg)
    data = _read(cfg, data, kwargs.get("headers"))
    kwargs.update(overrides)
    result = audit(data, progress=progress, **kwargs)
    result.warnings[:0] = notes
    return result


def _local_path(uri: Any, base: str | None, key: str) -> str:
    """A local path from a config value, tried from the current directory, then from the config's."""
    uri = str(uri)
    if uri.startswith(("s3://", "http://", "https://")):
        raise ConfigError(f"{key} {uri!r} is remote; assay reads local files. Download it and give the local path.")
    if base and not os.path.isabs(uri) and not Path(uri).exists() and (Path(base) / uri).exists():
        return str(Path(base) / uri)
    return uri


def _read(cfg: Mapping[str, Any], data: Any, headers: Any) -> Any:
    """The config's data set (``dataset_uri``), or ``data`` (a table or a path) when given."""
    from assay._tabulate import read_dataset

    if data is None:
        if not cfg.get("dataset_uri"):
            raise ConfigError("no data: set dataset_uri in the config or pass the data (--data PATH on the command line)")
        data = _local_path(cfg["dataset_uri"], cfg.get("__base__"), "dataset_uri")
    if isinstance(data, (str, os.PathLike)):
        if isinstance(cfg.get("features"), str) and _is_jsonlines(data, cfg.get("dataset_type")):
            return _jsonlines_with_features(os.fspath(data), cfg)
        return read_dataset(data, dataset_type=cfg.get("dataset_type"), headers=headers)
    return data


def _is_jsonlines(path: Any, dataset_type: Any) -> bool:
    """The dataset is JSON Lines, by the reader's own rule (dataset_type, else the file name)."""
    from assay._tabulate._engine import _kind

    try:
        return _kind(os.fspath(path), dataset_type) == "jsonl"
    except DataError:  # a format the reader refuses says so when it reads
        return False


def _jsonlines_with_features(path: str, cfg: Mapping[str, Any]) -> Any:
    """Clarify's JSON Lines dataset: ``features`` is a JMESPath to each line's list of feature values (named by ``headers``, else
    ``_c0``...), ``label``, ``predicted_label`` and ``probability`` JMESPaths to single values (each column is named by its path)."""
    import json

    import pandas as pd

    from assay._optional import require

    jmespath = require("jmespath", feature="Clarify's JSON Lines datasets (features as a JMESPath)")
    paths = {key: cfg[key] for key in ("label", "predicted_label", "probability") if isinstance(cfg.get(key), str)}
    try:
        compiled = {key: jmespath.compile(expr) for key, expr in {"features": cfg["features"], **paths}.items()}
    except jmespath.exceptions.JMESPathError as exc:
        raise ConfigError(f"features/label: not a JMESPath expression ({exc})") from None
    rows: list[list[Any]] = []
    extra: dict[str, list[Any]] = {key: [] for key in paths}
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path} line {i} is not JSON ({exc})") from None
            values = compiled["features"].search(obj)
            if not isinstance(values, list):
                raise DataError(f"{path} line {i}: features {cfg['features']!r} gives {type(values).__name__}, not a list of feature values")
            if rows and len(values) != len(rows[0]):
                raise DataError(f"{path} line {i}: features {cfg['features']!r} gives {len(values)} values; line 1 gave {len(rows[0])}")
            rows.append(values)
            for key in paths:
                extra[key].append(compiled[key].search(obj))
    if not rows:
        raise DataError(f"{path} holds no JSON Lines records")
    n = len(rows[0])
    names = [str(h) for h in (cfg.get("headers") or [])][:n]
    if names and len(names) < n:
        raise ConfigError(f"headers names {len(names)} columns but features {cfg['features']!r} gives {n} values per line")
    frame = pd.DataFrame(rows, columns=names or [f"_c{k}" for k in range(n)])
    for key, expr in paths.items():
        if expr in frame.columns:
            raise ConfigError(f"{key} {expr!r} is also a feature name in headers; name the label column differently")
        frame[expr] = extra[key]
    return frame


def _typed(value: Any, kind: type, key: str) -> Any:
    """A config value of the expected kind, never coerced: 2.5 or true is not a number of replicates."""
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return value
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int and not (number and float(value).is_integer()):
        raise ConfigError(f"{key} must be a whole number, got {value!r}")
    if kind is float and not number:
        raise ConfigError(f"{key} must be a number, got {value!r}")
    return kind(value)


def _baseline_rows(rows: list[Any], frame: Any, exclude: list[str]) -> Any:
    """``methods.shap.baseline`` given inline: records (dicts), or Clarify's positional rows (lists of feature values, in the order of
    the dataset's columns less the label, predictions and excluded columns)."""
    import narwhals as nw
    import pandas as pd

    if not rows:
        raise ConfigError("methods.shap.baseline is an empty list; give baseline rows, or leave it out for a sample of the data")
    if all(isinstance(r, dict) for r in rows):
        return pd.DataFrame(rows)
    if not all(isinstance(r, list) for r in rows):
        raise ConfigError("methods.shap.baseline rows must all be lists of feature values (Clarify's form) or all records (objects)")
    names = list(nw.from_native(frame).collect_schema().names()) if not hasattr(frame, "columns") else [str(c) for c in frame.columns]
    features = [c for c in names if c not in exclude]
    bad = next((i for i, r in enumerate(rows) if len(r) != len(features)), None)
    if bad is not None:
        raise ConfigError(f"methods.shap.baseline row {bad} has {len(rows[bad])} values but the data has {len(features)} feature columns "
                          f"({', '.join(features[:8])}{', ...' if len(features) > 8 else ''}): Clarify's rows give every feature, in the data's order")  # fmt: skip
    return pd.DataFrame(rows, columns=features)


def explain_config(
    config: str | os.PathLike[str] | Mapping[str, Any],
    *,
    data: Any = None,
    progress: Callable[[str], None] | None = None,
    on_rows: Callable[[int, int], None] | None = None,
    n_jobs: int | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Run :func:`assay.explain.explain` from a config: ``model``, ``methods.shap``, ``methods.pdp``, ``explain``.

    Returns the result and the output options (``save_local_shap_values``).
    """
    from assay.explain import explain, load_model

    cfg = load_config(config)
    headers = cfg.get("headers")
    if "model" not in cfg:
        raise ConfigError("the config has no 'model': give a saved model (model: model.skops, .joblib or .pkl) or model: module:function")
    methods = cfg.get("methods") or {}
    shap_cfg = dict(methods.get("shap") or {})
    pdp_cfg = dict(methods.get("pdp") or {})
    extra = dict(cfg.get("explain") or {})
    for section, got, known in (("methods.shap", shap_cfg, _SHAP_KEYS), ("methods.pdp", pdp_cfg, _PDP_KEYS), ("explain", extra, _EXPLAIN_KEYS)):
        for key in got:
            if key not in known:
                raise ConfigError(f"unknown key {section}.{key}.{did_you_mean(key, known)} Known: {', '.join(sorted(known))}")
    base = Path(cfg["__base__"]) if cfg.get("__base__") else None
    model = load_model(str(cfg["model"]), base_dir=base, trusted=list(cfg.get("model_trusted_types") or []))
    notes: list[str] = []
    if "num_samples" in shap_cfg:
        notes.append("methods.shap.num_samples (Kernel SHAP's coalition budget) is not used: assay samples feature orders "
                     "exhaustively over the background; set explain.repeats (default 3) to trade time for precision")  # fmt: skip
    baseline = shap_cfg.get("baseline")
    if isinstance(baseline, str):
        from assay._tabulate import read_dataset

        baseline = read_dataset(_local_path(baseline, cfg.get("__base__"), "methods.shap.baseline"), headers=headers)
    frame = _read(cfg, data, headers)
    exclude = [c for c in (cfg.get("label"), cfg.get("predicted_label"), cfg.get("probability")) if isinstance(c, str)]
    exclude += list(cfg.get("excluded_columns") or [])
    if isinstance(baseline, list):
        baseline = _baseline_rows(baseline, frame, exclude)
    facets = []
    for f in cfg.get("facet") or []:
        name = f.get("name_or_index") if isinstance(f, dict) else f
        if isinstance(name, str):
            facets.append(name)
    kwargs: dict[str, Any] = {
        "exclude": exclude,
        "facets": facets,
        "baseline": baseline,
        "agg_method": shap_cfg.get("agg_method", "mean_abs"),
        "num_clusters": shap_cfg.get("num_clusters"),
        "use_logit": _typed(shap_cfg.get("use_logit", False), bool, "methods.shap.use_logit"),
        "seed": _typed(shap_cfg.get("seed", cfg.get("seed", 0)), int, "methods.shap.seed"),
        "min_group_size": _typed(cfg.get("min_group_size", 30), int, "min_group_size"),
        "headers": headers,
    }
    if shap_cfg.get("features_to_explain"):
        kwargs["features"] = list(shap_cfg["features_to_explain"])
    if pdp_cfg.get("features"):
        kwargs["pdp_features"] = list(pdp_cfg["features"])
    if "top_k_features" in pdp_cfg:
        kwargs["pdp_top_k"] = _typed(pdp_cfg["top_k_features"], int, "methods.pdp.top_k_features")
    if "grid_resolution" in pdp_cfg:
        kwargs["grid_resolution"] = _typed(pdp_cfg["grid_resolution"], int, "methods.pdp.grid_resolution")
    for key, kind in (("max_rows", int), ("background_size", int), ("repeats", int), ("algorithm", str), ("proxies", int),
                      ("bootstrap_replicates", int), ("confidence_level", float), ("n_jobs", int)):  # fmt: skip
        if key == "max_rows" and key in extra and extra[key] is None:
            kwargs[key] = None  # every row
        elif key in extra:
            kwargs[key] = _typed(extra[key], kind, f"explain.{key}")
    if n_jobs is not None:
        kwargs["n_jobs"] = n_jobs
    result = explain(frame, model, progress=progress, on_rows=on_rows, **kwargs)
    result.warnings[:0] = notes
    return result, {"save_local_shap_values": _typed(shap_cfg.get("save_local_shap_values", True), bool, "methods.shap.save_local_shap_values")}


_MITIGATE_KEYS = {"methods", "folds", "test_fraction", "metric", "seed", "bootstrap_replicates", "confidence_level"}


def mitigate_config(config: str | os.PathLike[str] | Mapping[str, Any], *, data: Any = None,
                    progress: Callable[[str], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """Run :func:`assay.mitigate.compare_mitigations` from a config; the ``mitigation`` section of analysis.json.

    Keys: ``dataset_uri`` (training data), ``test_dataset_uri`` (held-out data; else ``mitigate.test_fraction`` of
    the data is held out), ``label``, ``label_values_or_threshold``, ``facet``, ``model: module:function`` (returns an
    unfitted classifier; called with ``features=`` when it takes them), ``features`` or ``excluded_columns``, and
    ``mitigate: {methods, folds, metric, seed, bootstrap_replicates, confidence_level, test_fraction}``.
    """
    import importlib

    import numpy as np

    from assay.mitigate._compare import compare_mitigations

    cfg = load_config(config)
    opts = dict(cfg.get("mitigate") or {})
    for key in opts:
        if key not in _MITIGATE_KEYS:
            raise ConfigError(f"unknown key mitigate.{key}.{did_you_mean(key, _MITIGATE_KEYS)} Known: {', '.join(sorted(_MITIGATE_KEYS))}")
    kwargs, _ = audit_kwargs({k: v for k, v in cfg.items() if k not in ("methods", "predicted_label", "probability", "decision_probability")})
    label = kwargs["label"]
    values = kwargs["label_values_or_threshold"]
    if values is None:
        raise ConfigError("label_values_or_threshold is required: the positive label values (e.g. ['>50K']) or a number (label > it is positive)")

    def positive(col: Any) -> Any:
        if isinstance(values, (int, float)) and not isinstance(values, bool):
            return (col.astype(float) > float(values)).astype(int).to_numpy()
        return col.isin(list(values) if isinstance(values, list) else [values]).astype(int).to_numpy()

    spec = cfg.get("model")
    if not isinstance(spec, str) or ":" not in spec:
        raise ConfigError("mitigation retrains the model, so 'model' must be module:function returning an unfitted scikit-learn "
                          f"classifier (e.g. assay.datasets:adult_model), got {spec!r}")  # fmt: skip
    module, _, fn = spec.partition(":")
    import sys

    base = cfg.get("__base__")
    added = bool(base) and str(base) not in sys.path
    if added:
        sys.path.insert(0, str(base))  # a module next to the config file is found
    try:
        make = getattr(importlib.import_module(module), fn)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"model {spec!r} cannot be imported ({exc}); give module:function importable from the config's directory "
                          "or the Python path") from None  # fmt: skip
    finally:
        if added:
            sys.path.remove(str(base))
    if not callable(make):
        raise ConfigError(f"model {spec!r} is not a function")
    from assay._tabulate import as_frame

    def table(source: Any) -> Any:
        return as_frame(source, headers=cfg.get("headers")).collect().to_pandas()

    frame = table(_read(cfg, data, cfg.get("headers")))
    seed = _typed(opts.get("seed", cfg.get("seed", 0)), int, "mitigate.seed")
    if cfg.get("test_dataset_uri"):
        from assay._tabulate import read_dataset

        test = table(read_dataset(_local_path(cfg["test_dataset_uri"], cfg.get("__base__"), "test_dataset_uri"), headers=cfg.get("headers")))
        train = frame
    else:
        frac = float(opts.get("test_fraction", 0.3))
        if not 0 < frac < 1:
            raise ConfigError(f"mitigate.test_fraction must be between 0 and 1, got {frac!r}")
        order = np.random.default_rng(seed).permutation(len(frame))
        cut = int(round(frac * len(frame)))
        test, train = frame.iloc[order[:cut]].reset_index(drop=True), frame.iloc[order[cut:]].reset_index(drop=True)
    facets = [f["name_or_index"] for f in kwargs["facets"]]
    excluded = set(cfg.get("excluded_columns") or [])
    features = list(cfg["features"]) if cfg.get("features") else [c for c in train.columns if c != label and c not in excluded]
    return compare_mitigations(train, test, label=label, positive=positive, facets=facets, model=make, features=features,
                               methods=opts.get("methods"), folds=_typed(opts.get("folds", 5), int, "mitigate.folds"),
                               metric=str(opts.get("metric", "EqOddsD")), seed=seed,
                               bootstrap_replicates=_typed(opts.get("bootstrap_replicates", 1000), int, "mitigate.bootstrap_replicates"),
                               confidence_level=float(opts.get("confidence_level", 0.95)), progress=progress)  # fmt: skip
