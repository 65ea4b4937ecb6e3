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

from assay._config._models import AnalysisConfig, SparkOptions
from assay._errors import ConfigError, DataError
from assay._strict import checked
from assay.bias._settings import AuditSpec, FlipTestOptions

__all__ = ["audit_config", "audit_spec", "explain_config", "load_config", "mitigate_config"]


def load_config(source: str | os.PathLike[str] | Mapping[str, Any] | AnalysisConfig) -> AnalysisConfig:
    """Read a YAML or JSON config file (or take a dict) and check it: an unknown key, or a value of the wrong kind, is a
    :class:`ConfigError` that names the key (and the nearest known one)."""
    if isinstance(source, AnalysisConfig):
        return source
    if isinstance(source, Mapping):
        return checked(AnalysisConfig, dict(source))
    path = Path(source)
    if not path.exists():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            import yaml

            raw = yaml.safe_load(text)
    except (json.JSONDecodeError, Exception) as exc:  # yaml.YAMLError and friends
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot parse config {str(path)!r}: {first}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"config {str(path)!r} must be a mapping of keys to values, got {type(raw).__name__}")
    cfg = checked(AnalysisConfig, raw)
    cfg._base = str(path.parent)
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


def _methods(cfg: AnalysisConfig) -> tuple[Any, Any]:
    """The pre- and post-training metrics asked for: both 'all' without ``methods``; a stage left out of ``methods`` is not run."""
    if cfg.methods is None or not ({"pre_training_bias", "post_training_bias"} & cfg.methods.model_fields_set):
        return "all", "all"
    pre, post = cfg.methods.pre_training_bias, cfg.methods.post_training_bias
    given = cfg.methods.model_fields_set
    return ((pre.methods if pre else "all") if "pre_training_bias" in given else None,
            (post.methods if post else "all") if "post_training_bias" in given else None)  # fmt: skip


def _notes(cfg: AnalysisConfig, post: Any) -> tuple[Any, list[str]]:
    """What of a Clarify config the audit does not use, said as notes; ``post`` is None when post-training cannot run."""
    notes: list[str] = []
    methods = cfg.methods.model_fields_set if cfg.methods is not None else set()
    for ignored in ("shap", "pdp", "asymmetric_shapley_value"):
        if ignored in methods:
            notes.append(f"methods.{ignored} is not part of the bias audit; it is ignored here")
    if "report" in methods:
        notes.append("methods.report is ignored: assay audit writes analysis.json and prints a table")
    if post and cfg.predicted_label is None and cfg.probability is None and cfg.decision_probability is None:
        if cfg.given("predictor"):
            notes.append(
                "post_training_bias is skipped: Clarify got predictions from the 'predictor' endpoint, and assay does not call "
                "endpoints. Add the model's predictions as a column and name it in predicted_label (or its score in probability)."
            )
        else:
            notes.append("post_training_bias is skipped: name the predictions column in predicted_label (or a score in probability)")
        post = None
    elif cfg.given("predictor"):
        notes.append("'predictor' is ignored: predictions are read from the data")
    if isinstance(cfg.features, str) and not _is_jsonlines(cfg.dataset_uri or "", cfg.dataset_type):
        notes.append("'features' (a JMESPath) applies to JSON Lines datasets and is ignored for this one")
    for key in ("joinsource_name_or_index", "segment_config", "predicted_label_dataset_uri", "predicted_label_headers", "label_headers"):
        if cfg.given(key):
            notes.append(f"{key!r} is not supported yet and is ignored")
    return post, notes


def _facets(cfg: AnalysisConfig) -> list[Any]:
    """The config's facets, with columns given by index named from ``headers``."""
    if not cfg.facet:
        raise ConfigError("the config has no 'facet': list the sensitive columns, e.g. facet: [{name_or_index: sex}]")
    out = []
    for f in cfg.facet:
        names = f.name_or_index
        named = (
            [_column(n, cfg.headers, "facet name_or_index") for n in names] if isinstance(names, list) else _column(names, cfg.headers, "facet name_or_index")
        )
        out.append(f.model_copy(update={"name_or_index": named}))
    return out


def audit_spec(cfg: AnalysisConfig, **overrides: Any) -> tuple[AuditSpec, list[str]]:
    """The audit a checked config asks for, as :class:`assay.bias.AuditSpec` (``overrides`` replace its settings), with notes on
    what of the config the audit does not use."""
    from assay.bias._settings import spec_of

    if cfg.label is None:
        raise ConfigError("the config has no 'label': name the column that holds the observed outcome")
    pre, post = _methods(cfg)
    post, notes = _notes(cfg, post)
    fliptest = cfg.fliptest or FlipTestOptions()
    if cfg.excluded_columns and not (cfg.fliptest and cfg.fliptest.exclude):
        fliptest = fliptest.model_copy(update={"exclude": [str(c) for c in cfg.excluded_columns]})
    h = cfg.headers
    settings = {
        "label": _column(cfg.label, h, "label"), "label_values_or_threshold": cfg.label_values_or_threshold, "facets": _facets(cfg),
        "predicted_label": _column(cfg.predicted_label, h, "predicted_label"), "probability": _column(cfg.probability, h, "probability"),
        "probability_threshold": cfg.probability_threshold, "decision_probability": _column(cfg.decision_probability, h, "decision_probability"),
        "group_variable": _column(cfg.group_variable, h, "group_variable"), "sample_weight": _column(cfg.sample_weight, h, "sample_weight"),
        "pre_training_methods": pre, "post_training_methods": post, "headers": h, "label_type": cfg.label_type,
        "label_distribution": cfg.label_distribution, "confidence_level": cfg.confidence_level, "bootstrap_replicates": cfg.bootstrap_replicates,
        "seed": cfg.seed, "min_group_size": cfg.min_group_size, "fliptest": fliptest, "differential_privacy": cfg.differential_privacy,
    }  # fmt: skip
    return spec_of({**settings, **overrides}), notes


def audit_config(
    config: str | os.PathLike[str] | Mapping[str, Any] | AnalysisConfig,
    *,
    data: Any = None,
    progress: Callable[[str], None] | None = None,
    spark_master: str | None = None,
    **overrides: Any,
) -> Any:
    """Run :func:`assay.audit` from a config file or dict.

    ``data`` (a table or a path) overrides the config's ``dataset_uri``;
    ``overrides`` replace keyword arguments (e.g. ``bootstrap_replicates``).
    ``spark_master`` runs it on Spark (as the config's ``spark:`` does; "" for the config's master or ``local[*]``).
    """
    from assay.bias._audit import audit_spec as run

    cfg = load_config(config)
    cfg = _on_spark(cfg, spark_master)
    spec, notes = audit_spec(cfg, **overrides)
    result = run(_read(cfg, data), spec, progress=progress)
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


def _read(cfg: AnalysisConfig, data: Any) -> Any:
    """The config's data set (``dataset_uri``), or ``data`` (a table or a path) when given."""
    from assay._tabulate import read_dataset

    if cfg.spark is not None and (data is None or isinstance(data, (str, os.PathLike))):
        return _read_spark(cfg, data)
    if data is None:
        if not cfg.dataset_uri:
            raise ConfigError("no data: set dataset_uri in the config or pass the data (--data PATH on the command line)")
        data = _local_path(cfg.dataset_uri, cfg.base, "dataset_uri")
    if isinstance(data, (str, os.PathLike)):
        if isinstance(cfg.features, str) and _is_jsonlines(data, cfg.dataset_type):
            return _jsonlines_with_features(os.fspath(data), cfg)
        return read_dataset(data, dataset_type=cfg.dataset_type, headers=cfg.headers)
    return data


def _read_spark(cfg: AnalysisConfig, data: Any) -> Any:
    """The data set read by Spark: ``data`` (a path), else ``spark.table``, else ``dataset_uri`` (any path Spark reads: local,
    s3a://, hdfs://, a directory of part files), with the session of ``spark:``."""
    from assay.spark import read, session

    assert cfg.spark is not None
    where = data if data is not None else cfg.spark.table or cfg.dataset_uri
    if not where:
        raise ConfigError("no data: set dataset_uri or spark.table in the config, or pass the data (--data PATH on the command line)")
    where = os.fspath(where)
    if cfg.base and "://" not in where and not os.path.isabs(where) and not Path(where).exists() and (Path(cfg.base) / where).exists():
        where = str(Path(cfg.base) / where)
    spark = session(cfg.spark.master, app_name=cfg.spark.app_name, conf=cfg.spark.conf)
    table = data is None and bool(cfg.spark.table)
    return read(where, spark, dataset_type=None if table else cfg.dataset_type, headers=None if table else cfg.headers, table=table or None)


def _is_jsonlines(path: Any, dataset_type: Any) -> bool:
    """The dataset is JSON Lines, by the reader's own rule (dataset_type, else the file name)."""
    from assay._tabulate._engine import _kind

    try:
        return _kind(os.fspath(path), dataset_type) == "jsonl"
    except DataError:  # a format the reader refuses says so when it reads
        return False


def _jsonlines_with_features(path: str, cfg: AnalysisConfig) -> Any:
    """Clarify's JSON Lines dataset: ``features`` is a JMESPath to each line's list of feature values (named by ``headers``, else
    ``_c0``...), ``label``, ``predicted_label`` and ``probability`` JMESPaths to single values (each column is named by its path)."""
    import json

    import pandas as pd

    from assay._optional import require

    jmespath = require("jmespath", feature="Clarify's JSON Lines datasets (features as a JMESPath)")
    paths = {key: getattr(cfg, key) for key in ("label", "predicted_label", "probability") if isinstance(getattr(cfg, key), str)}
    try:
        compiled = {key: jmespath.compile(expr) for key, expr in {"features": cfg.features, **paths}.items()}
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
                raise DataError(f"{path} line {i}: features {cfg.features!r} gives {type(values).__name__}, not a list of feature values")
            if rows and len(values) != len(rows[0]):
                raise DataError(f"{path} line {i}: features {cfg.features!r} gives {len(values)} values; line 1 gave {len(rows[0])}")
            rows.append(values)
            for key in paths:
                extra[key].append(compiled[key].search(obj))
    if not rows:
        raise DataError(f"{path} holds no JSON Lines records")
    n = len(rows[0])
    names = [str(h) for h in (cfg.headers or [])][:n]
    if names and len(names) < n:
        raise ConfigError(f"headers names {len(names)} columns but features {cfg.features!r} gives {n} values per line")
    frame = pd.DataFrame(rows, columns=names or [f"_c{k}" for k in range(n)])
    for key, expr in paths.items():
        if expr in frame.columns:
            raise ConfigError(f"{key} {expr!r} is also a feature name in headers; name the label column differently")
        frame[expr] = extra[key]
    return frame


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


def _on_spark(cfg: AnalysisConfig, spark_master: str | None) -> AnalysisConfig:
    """The config with the command line's --engine spark / --spark-master ("" keeps the config's master, or local[*])."""
    if spark_master is None:
        return cfg
    options = cfg.spark or SparkOptions()
    return cfg.model_copy(update={"spark": options.model_copy(update={"master": spark_master or options.master})})


def explain_config(
    config: str | os.PathLike[str] | Mapping[str, Any] | AnalysisConfig,
    *,
    data: Any = None,
    progress: Callable[[str], None] | None = None,
    on_rows: Callable[[int, int], None] | None = None,
    n_jobs: int | None = None,
    spark_master: str | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Run :func:`assay.explain.explain` from a config: ``model``, ``methods.shap``, ``methods.pdp``, ``explain``.

    Returns the result and the output options (``save_local_shap_values``). ``spark_master`` explains on Spark, as the config's
    ``spark:`` section does.
    """
    from assay._config._models import PdpMethod, ShapMethod
    from assay.explain import explain

    cfg = _on_spark(load_config(config), spark_master)
    shap = (cfg.methods.shap if cfg.methods else None) or ShapMethod()
    pdp = (cfg.methods.pdp if cfg.methods else None) or PdpMethod()
    model = _model(cfg, "explanation")
    notes: list[str] = []
    if shap.num_samples is not None:
        notes.append("methods.shap.num_samples (Kernel SHAP's coalition budget) is not used: assay samples feature orders "
                     "exhaustively over the background; set explain.repeats (default 3) to trade time for precision")  # fmt: skip
    baseline = shap.baseline
    if isinstance(baseline, str):
        from assay._tabulate import read_dataset

        baseline = read_dataset(_local_path(baseline, cfg.base, "methods.shap.baseline"), headers=cfg.headers)
    frame = _read(cfg, data)
    exclude = [c for c in (cfg.label, cfg.predicted_label, cfg.probability) if isinstance(c, str)]
    exclude += [str(c) for c in cfg.excluded_columns or []]
    if isinstance(baseline, list):
        baseline = _baseline_rows(baseline, frame, exclude)
    kwargs: dict[str, Any] = {
        "exclude": exclude, "facets": [f.name_or_index for f in cfg.facet or [] if isinstance(f.name_or_index, str)],
        "baseline": baseline, "agg_method": shap.agg_method, "num_clusters": shap.num_clusters, "use_logit": shap.use_logit,
        "seed": shap.seed if shap.seed is not None else cfg.seed, "min_group_size": cfg.min_group_size, "headers": cfg.headers,
    }  # fmt: skip
    if shap.features_to_explain:
        kwargs["features"] = list(shap.features_to_explain)
    if pdp.features:
        kwargs["pdp_features"] = [_column(c, cfg.headers, "methods.pdp.features") for c in pdp.features]
    if pdp.top_k_features is not None:
        kwargs["pdp_top_k"] = pdp.top_k_features
    if pdp.grid_resolution is not None:
        kwargs["grid_resolution"] = pdp.grid_resolution
    kwargs.update({key: getattr(cfg.explain, key) for key in cfg.explain.model_fields_set})  # max_rows: null is every row
    if n_jobs is not None:
        kwargs["n_jobs"] = n_jobs
    result = explain(frame, model, progress=progress, on_rows=on_rows, **kwargs)
    result.warnings[:0] = notes
    return result, {"save_local_shap_values": shap.save_local_shap_values}


def _model_factory(cfg: AnalysisConfig) -> Any:
    """``model: module:function`` imported (a module beside the config file is found): the function that makes the unfitted model."""
    import importlib
    import sys

    spec = cfg.model
    if not isinstance(spec, str) or ":" not in spec:
        raise ConfigError("mitigation retrains the model, so 'model' must be module:function returning an unfitted scikit-learn "
                          f"classifier (e.g. assay.datasets:adult_model), got {spec!r}")  # fmt: skip
    module, _, fn = spec.partition(":")
    base = cfg.base
    added = bool(base) and str(base) not in sys.path
    if added:
        sys.path.insert(0, str(base))
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
    return make


def mitigate_config(config: str | os.PathLike[str] | Mapping[str, Any] | AnalysisConfig, *, data: Any = None,
                    progress: Callable[[str], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """Run :func:`assay.mitigate.compare_mitigations` from a config; the ``mitigation`` section of analysis.json.

    Keys: ``dataset_uri`` (training data), ``test_dataset_uri`` (held-out data; else ``mitigate.test_fraction`` of
    the data is held out), ``label``, ``label_values_or_threshold``, ``facet``, ``model: module:function`` (returns an
    unfitted classifier; called with ``features=`` when it takes them), ``features`` or ``excluded_columns``, and
    ``mitigate: {methods, folds, metric, seed, bootstrap_replicates, confidence_level, test_fraction}``.
    """
    import numpy as np

    from assay._tabulate import as_frame, read_dataset
    from assay.mitigate._compare import compare_mitigations

    cfg = load_config(config)
    opts = cfg.mitigate
    if cfg.label is None:
        raise ConfigError("the config has no 'label': name the column that holds the observed outcome")
    label = str(_column(cfg.label, cfg.headers, "label"))
    values = cfg.label_values_or_threshold
    if values is None:
        raise ConfigError("label_values_or_threshold is required: the positive label values (e.g. ['>50K']) or a number (label > it is positive)")

    def positive(col: Any) -> Any:
        if isinstance(values, (int, float)) and not isinstance(values, bool):
            return (col.astype(float) > float(values)).astype(int).to_numpy()
        return col.isin(list(values) if isinstance(values, list) else [values]).astype(int).to_numpy()

    make = _model_factory(cfg)

    def table(source: Any) -> Any:
        return as_frame(source, headers=cfg.headers).collect().to_pandas()

    frame = table(_read(cfg, data))
    seed = opts.seed if opts.seed is not None else cfg.seed
    if cfg.test_dataset_uri:
        test = table(read_dataset(_local_path(cfg.test_dataset_uri, cfg.base, "test_dataset_uri"), headers=cfg.headers))
        train = frame
    else:
        order = np.random.default_rng(seed).permutation(len(frame))
        cut = int(round(opts.test_fraction * len(frame)))
        test, train = frame.iloc[order[:cut]].reset_index(drop=True), frame.iloc[order[cut:]].reset_index(drop=True)
    facets = [f.name_or_index for f in _facets(cfg)]
    excluded = {str(c) for c in cfg.excluded_columns or []}
    features = list(cfg.features) if isinstance(cfg.features, list) else [c for c in train.columns if c != label and c not in excluded]
    return compare_mitigations(train, test, label=label, positive=positive, facets=facets, model=make, features=features,
                               methods=opts.methods, folds=opts.folds, metric=opts.metric, seed=seed,
                               bootstrap_replicates=opts.bootstrap_replicates, confidence_level=opts.confidence_level, progress=progress)  # fmt: skip


def discover_config(config: str | os.PathLike[str] | Mapping[str, Any] | AnalysisConfig, *, data: Any = None, spark_master: str | None = None) -> Any:
    """Run :func:`assay.discover.discover` from a config: ``dataset_uri``, ``label``, ``label_values_or_threshold``,
    ``predicted_label`` or ``probability`` (+ ``probability_threshold``), and the ``discover:`` section; on Spark with
    ``spark_master`` or the config's ``spark:`` section."""
    from assay.discover import discover

    cfg = _on_spark(load_config(config), spark_master)
    if cfg.label is None or cfg.label_values_or_threshold is None:
        raise ConfigError("subgroup discovery needs label and label_values_or_threshold (the positive label values, or a threshold)")
    label = str(_column(cfg.label, cfg.headers, "label"))
    predicted = _column(cfg.predicted_label, cfg.headers, "predicted_label")
    probability = _column(cfg.probability, cfg.headers, "probability")
    opts = cfg.discover.model_dump()
    threshold = 0.5 if cfg.probability_threshold is None else cfg.probability_threshold
    return discover(_read(cfg, data), label=label, label_values_or_threshold=cfg.label_values_or_threshold, predicted_label=predicted,
                    probability=probability, probability_threshold=threshold, **opts)  # fmt: skip


def tasks_config(config: str | os.PathLike[str] | Mapping[str, Any] | AnalysisConfig, *, data: Any = None) -> list[Any]:
    """Run :func:`assay.tasks.by_group` for every entry of the config's ``tasks:`` on ``dataset_uri`` (or ``data``), with the
    config's ``bootstrap_replicates``, ``confidence_level`` and ``seed``."""
    from assay.tasks import by_group

    cfg = load_config(config)
    if not cfg.tasks:
        raise ConfigError(
            "the config has no tasks: list the metrics, e.g. tasks: [{metric: wer, group: dialect, unit: speaker, reference: ref, hypothesis: hyp}]"
        )
    frame = _read(cfg, data)
    from assay._tabulate import as_frame

    table = frame if hasattr(frame, "iloc") else as_frame(frame).collect().to_pandas()
    return [by_group(table, **t.model_dump(), replicates=cfg.bootstrap_replicates, confidence_level=cfg.confidence_level, seed=cfg.seed) for t in cfg.tasks]


def privacy_config(config: str | os.PathLike[str] | Mapping[str, Any] | AnalysisConfig, *, data: Any = None,
                   explanations: Mapping[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """Run the ``privacy:`` checks of a config on its data: the personal-data scan (columns the config's ``features`` or all
    but the label marked as used), with ``quasi_identifiers`` k-anonymity, l-diversity and t-closeness by the facets, with
    ``membership`` the membership-inference attack on the config's ``model``, and the data-minimisation table (personal
    columns beside their share of the attribution in ``explanations``, the section of analysis.json, when given)."""
    from assay.privacy import anonymity, minimisation, scan

    cfg = load_config(config)
    opts = cfg.privacy
    if not opts.scan and not opts.quasi_identifiers and opts.membership is None and opts.epsilon_accuracy is None:
        raise ConfigError("privacy: has nothing to check: set scan: true, give quasi_identifiers, membership: {members: TRAIN} or epsilon_accuracy: {}")
    table = _table(_read(cfg, data))
    facets = [str(f.name_or_index) for f in cfg.facet or [] if isinstance(f.name_or_index, str)]
    out: dict[str, Any] = {}
    if opts.scan:
        features = cfg.features if isinstance(cfg.features, list) else None
        out["scan"] = scan(table, features=features, sample=opts.sample)
    if opts.quasi_identifiers:
        out["anonymity"] = anonymity(table, opts.quasi_identifiers, opts.sensitive, facets=facets, k_min=opts.k_min).to_dict()
    if opts.membership is not None:
        out["membership"] = _membership(cfg, facets)
    if opts.epsilon_accuracy is not None:
        out["epsilon_accuracy"] = _epsilon_accuracy(cfg, table)
    importance = None
    if explanations and explanations.get("global_importance"):
        importance = explanations["global_importance"].get("mean_abs") or next(iter(explanations["global_importance"].values()))
    out["minimisation"] = minimisation(out.get("scan"), importance, quasi_identifiers=opts.quasi_identifiers or [], sensitive=opts.sensitive)
    return out


def _epsilon_accuracy(cfg: AnalysisConfig, table: Any) -> dict[str, Any]:
    """The accuracy-against-epsilon table of the config's audit, over the public domain of ``differential_privacy``."""
    from assay.privacy import epsilon_accuracy

    opts = cfg.privacy.epsilon_accuracy
    assert opts is not None
    if cfg.differential_privacy is None:
        raise ConfigError("privacy.epsilon_accuracy needs differential_privacy: {epsilon: ..., domain: {column: [values]}} (the public domain it releases)")
    spec, _ = audit_spec(cfg, differential_privacy=None, bootstrap_replicates=opts.bootstrap_replicates)
    settings = {k: v for k, v in dict(spec).items() if k != "differential_privacy"}
    return epsilon_accuracy(table, domain=cfg.differential_privacy.domain, epsilons=opts.epsilons, runs=opts.runs,
                            neighbouring=cfg.differential_privacy.neighbouring, **settings)  # fmt: skip


def _table(frame: Any) -> Any:
    from assay._tabulate import as_frame

    return frame if hasattr(frame, "iloc") else as_frame(frame).collect().to_pandas()


def _model(cfg: AnalysisConfig, what: str) -> Any:
    from assay.explain import load_model

    if cfg.model is None:
        raise ConfigError(f"the config has no 'model' ({what} needs one): give a saved model (model: model.skops, .joblib or .pkl) or model: module:function")
    return load_model(cfg.model, base_dir=Path(cfg.base) if cfg.base else None, trusted=list(cfg.model_trusted_types))


def _model_inputs(cfg: AnalysisConfig, columns: Any) -> list[str]:
    """The model's input columns: ``features``, or every column but the label, the predictions and ``excluded_columns``."""
    if isinstance(cfg.features, list):
        missing = [c for c in cfg.features if c not in columns]
        if missing:
            raise DataError(f"features: the data has no column {missing[0]!r}")
        return list(cfg.features)
    drop = {str(c) for c in (cfg.label, cfg.predicted_label, cfg.probability, cfg.decision_probability, cfg.sample_weight) if c is not None}
    drop |= {str(c) for c in cfg.excluded_columns or []}
    return [c for c in columns if c not in drop]


def _membership(cfg: AnalysisConfig, facets: list[str]) -> dict[str, Any]:
    from assay._tabulate import read_dataset
    from assay.privacy import membership_inference

    opts = cfg.privacy.membership
    assert opts is not None
    if cfg.label is None or cfg.label_values_or_threshold is None or isinstance(cfg.label_values_or_threshold, (int, float)):
        raise ConfigError("privacy.membership needs label and label_values_or_threshold as the positive label values (e.g. ['>50K'])")
    unseen = opts.non_members or cfg.test_dataset_uri
    if unseen is None:
        raise ConfigError("privacy.membership needs rows the model never saw: give non_members: or test_dataset_uri")
    model = _model(cfg, "privacy.membership")
    if not hasattr(model, "predict_proba"):
        raise ConfigError(f"privacy.membership needs a model with predict_proba; {type(model).__name__} has none")
    label = str(_column(cfg.label, cfg.headers, "label"))
    frames = [_table(read_dataset(_local_path(path, cfg.base, key), headers=cfg.headers))
              for path, key in ((opts.members, "privacy.membership.members"), (unseen, "privacy.membership.non_members"))]  # fmt: skip
    inputs = _model_inputs(cfg, frames[0].columns)
    keep = list(dict.fromkeys([*inputs, label, *facets]))
    for f, key in zip(frames, ("members", "non_members")):
        missing = [c for c in keep if c not in f.columns]
        if missing:
            raise DataError(f"privacy.membership.{key}: the data has no column {missing[0]!r}")
    values = cfg.label_values_or_threshold
    positive = list(values) if isinstance(values, list) else [values]
    members, non_members = (f[keep] for f in frames)

    class _Inputs:  # the model scores its own columns only; the facets ride along for the groups
        def predict_proba(self, frame: Any) -> Any:
            return model.predict_proba(frame[inputs])

    return membership_inference(_Inputs(), members, non_members, label=label, positive=positive, facets=facets, fpr=opts.fpr,
                                replicates=opts.replicates, confidence_level=cfg.confidence_level, seed=cfg.seed)  # fmt: skip


def robustness_config(config: str | os.PathLike[str] | Mapping[str, Any] | AnalysisConfig, *, data: Any = None) -> dict[str, Any]:
    """Run :func:`assay.robustness.check_robustness` from a config: ``dataset_uri``, ``model``, ``features`` (or all columns but
    the label and predictions), ``facet`` (the groups; the first is the sensitive attribute unless ``robustness.sensitive``),
    ``probability_threshold`` and the ``robustness:`` section."""
    from assay.robustness import check_robustness

    cfg = load_config(config)
    opts = cfg.robustness
    facets = [str(f.name_or_index) for f in cfg.facet or [] if isinstance(f.name_or_index, str)]
    sensitive = opts.sensitive or (facets[0] if facets else None)
    if sensitive is None:
        raise ConfigError("robustness needs the sensitive attribute: give facet: [{name_or_index: sex}] or robustness.sensitive")
    model = _model(cfg, "robustness")
    table = _table(_read(cfg, data))
    features = _model_inputs(cfg, table.columns)
    proxies = [p if isinstance(p, str) else p.model_dump(exclude_none=True) for p in opts.proxies]
    threshold = 0.5 if cfg.probability_threshold is None else cfg.probability_threshold
    return check_robustness(table, model, sensitive=sensitive, features=features, proxies=proxies, facets=facets or [sensitive],
                            threshold=threshold, max_rows=opts.max_rows, draws=opts.draws, noise=opts.noise, swap_rate=opts.swap_rate,
                            replicates=opts.replicates, fliptest=opts.fliptest, fliptest_rows=opts.fliptest_rows,
                            confidence_level=cfg.confidence_level, seed=cfg.seed)  # fmt: skip
