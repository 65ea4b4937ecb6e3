"""The audit: one GROUP BY into a count tensor, then every metric with its interval."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np

from assay._errors import ConfigError, DataError, did_you_mean, list_some
from assay._tabulate import CountTable, as_frame, tabulate
from assay._tabulate._private import private_bootstrap, private_table
from assay.bias import (
    _metrics,  # noqa: F401  (registers the metrics)
    _values,  # noqa: F401  (registers the score and regression metrics)
)
from assay.bias._cells import A, Cells, D
from assay.bias._fliptest import FlipTestContext
from assay.bias._registry import Metric, MetricValue, Stage, is_all, parity_value, resolve
from assay.bias._results import AuditResult, FacetValueResult, GroupStats, MetricResult, StageResult
from assay.bias._settings import AuditSpec, DifferentialPrivacy, FlipTestOptions, spec_of
from assay.bias._spec import CATEGORICAL_MAX_DISTINCT, Facet, FacetInput, Label
from assay.bias._values import Histogram, ValueInputs, build_context
from assay.stats import benjamini_hochberg, max_abs_interval, percentile_interval

__all__ = ["audit"]

Progress = Callable[[str], None]


@dataclass
class _Comparison:
    facet: Facet
    value: Any
    facet_values: dict[str, Any]
    d_mask: np.ndarray  # over table cells
    keys: tuple[str, ...] = ()  # the table keys of the facet's columns


def audit(
    data: Any,
    *,
    label: str | Label,
    facets: Sequence[FacetInput] | FacetInput,
    label_values_or_threshold: Sequence[Any] | Any = None,
    predicted_label: str | None = None,
    probability: str | None = None,
    probability_threshold: float | None = None,
    decision_probability: str | None = None,
    frequency_weight: str | None = None,
    group_variable: str | None = None,
    sample_weight: str | None = None,
    pre_training_methods: Sequence[str] | str | None = "all",
    post_training_methods: Sequence[str] | str | None = "all",
    label_type: str = "auto",
    label_distribution: str = "classes",
    confidence_level: float = 0.95,
    bootstrap_replicates: int = 1000,
    seed: int = 0,
    min_group_size: int = 30,
    headers: Sequence[str] | None = None,
    fliptest: dict[str, Any] | None = None,
    differential_privacy: dict[str, Any] | DifferentialPrivacy | None = None,
    progress: Progress | None = None,
) -> AuditResult:
    """Audit data (pre-training) and predictions (post-training) for bias.

    Every metric comes with a bootstrap confidence interval (a multinomial
    resample of the count tensor, so its cost does not grow with the number
    of rows), a p-value where a test exists, and a Benjamini-Hochberg
    q-value across the whole report.

    Parameters
    ----------
    data : pandas / polars / pyarrow table, DuckDB relation, numpy array
        (with ``headers``), dict of arrays, or a path or glob to CSV,
        Parquet or JSON Lines files.
    label : the observed-outcome column (or a :class:`Label`).
    facets : column names, lists of names (intersections), dicts in
        Clarify's form ``{"name_or_index": ..., "value_or_threshold": [...]}``
        or :class:`Facet` objects.
    label_values_or_threshold : the positive label values, or one number
        that makes a continuous label binary (``label > threshold``).
    predicted_label, probability : the model's output: predicted labels, or
        a score turned into a label as ``score > probability_threshold``.
        Give both to audit the decisions actually made (``predicted_label``)
        and the score's AUC and calibration by group (``probability``) in
        one run.
    probability_threshold : 0.5 by default, for scores in [0, 1]; a score
        outside [0, 1] (a logit, a margin) needs an explicit threshold.
    decision_probability : for a randomised classifier (group thresholds,
        exponentiated gradient), each row's probability of a positive
        decision: every row counts as positive with that weight, so
        post-training metrics are those of the classifier's expected
        decisions, without the noise of its coin flips (probabilities are
        rounded to 4 decimals to count them).
    label_distribution : ``classes`` (default): KL, JS, LP, TVD and KS
        compare the label's distribution over all its classes; ``positive``:
        over positive (a label value in ``label_values_or_threshold``) and
        the rest, as SageMaker Clarify computes them. The two agree for
        binary labels.
    frequency_weight : a column of row counts: each row of ``data`` stands
        for that many rows (a count tensor stored as cells, as monitoring
        keeps it). Results equal those on the rows it summarises; sizes and
        bootstrap intervals use the counts. FlipTest and the score and value
        histogram metrics need the rows themselves and are not computed.
    differential_privacy : ``{"epsilon": 1.0, "domain": {column: [values]}}``
        releases the count tensor with epsilon-differential privacy (OpenDP's
        discrete Laplace on every cell of the public domain) and computes the
        audit from the release alone; intervals include the noise (a
        parametric bootstrap), no p-values are given, and FlipTest and the
        score and value histogram metrics (which need rows) are not
        computed. ``domain`` lists the public values of each categorical
        facet, label and group variable (docs/privacy.md).

    Examples
    --------
    >>> import assay
    >>> from assay.datasets import load_adult
    >>> df = load_adult("test")
    >>> result = assay.audit(df, label="income", label_values_or_threshold=[">50K"],
    ...                      facets=["sex"], bootstrap_replicates=200)
    >>> m = result.metric("pre_training", "sex", "Female", "DPL")
    >>> round(m.value, 4), m.significant
    (0.1964, True)
    """
    settings = dict(locals())
    del settings["data"], settings["progress"]
    return audit_spec(data, spec_of(settings), progress=progress)


def audit_spec(data: Any, spec: AuditSpec, *, progress: Progress | None = None) -> AuditResult:
    """The audit of ``data`` that ``spec`` asks for (what :func:`audit` and a config run)."""
    checked = _Spec.of(as_frame(data, headers=spec.headers), spec)
    _check_spec(checked)
    return _run(checked, progress or (lambda msg: None))


def counted(data: Any, spec: AuditSpec, *, progress: Progress | None = None) -> Callable[[DifferentialPrivacy | None], AuditResult]:
    """Count ``data`` once for ``spec``; the function returned gives the audit from those counts, released with the differential
    privacy it is given (``None``: the exact audit). What an accuracy-against-epsilon table runs many times."""
    checked = _Spec.of(as_frame(data, headers=spec.headers), spec)
    _check_spec(checked)
    say = progress or (lambda msg: None)
    plan, table, score_hist = _counts(checked, say)
    return lambda dp: _from_counts(dataclasses.replace(checked, differential_privacy=dp), plan, table, score_hist, say)


def _run(spec: _Spec, say: Progress) -> AuditResult:
    """Plan, count (one GROUP BY), resample the counts, evaluate every comparison, and assemble the result."""
    return _from_counts(spec, *_counts(spec, say), say)


def _counts(spec: _Spec, say: Progress) -> tuple[_Plan, CountTable, Any]:
    plan = _plan(spec, say)
    say("counting (one GROUP BY in the data's engine)" + (", with the score's histogram" if plan.with_score else ""))
    table, score_hist = _count(spec.frame, plan.keys, plan.values, plan.stats, spec.sample_weight, spec.frequency_weight, plan.with_score)
    if table.n_rows == 0:
        raise DataError("the data has no rows")
    _check_missing(table, spec.facets, plan.lab, spec.predicted_label or spec.probability or spec.decision_probability, spec.group_variable)
    return plan, table, score_hist


def _from_counts(spec: _Spec, plan: _Plan, table: CountTable, score_hist: Any, say: Progress) -> AuditResult:
    """The audit from the counts: released privately first when the spec asks for differential privacy."""
    release = None
    if spec.differential_privacy is not None:
        dp = spec.differential_privacy
        say(f"releasing the count tensor with epsilon {dp.epsilon:g} (OpenDP discrete Laplace over the public domain)")
        table, release = private_table(table, _public_domains(spec, plan, table), dp.epsilon, dp.neighbouring)
    warnings: list[str] = []
    classes = _classes(table, spec, plan, warnings)
    comparisons = _comparisons(table, spec.facets, plan.facet_types, plan.stats, warnings)
    rows_needed = spec.frequency_weight is not None or release is not None
    value_hists = {} if rows_needed else _value_histograms(spec.frame, plan.keys, plan.stages, plan.values, plan.stats, classes.label_kind,
                                                           spec.sample_weight, say, score=score_hist)  # fmt: skip
    say(f"bootstrap: {spec.bootstrap_replicates} {'draws of the private release' if release else 'multinomial resamples'} of {table.n_cells} cells")
    rng = np.random.default_rng(spec.seed)
    draws = None
    if spec.bootstrap_replicates:
        draws = private_bootstrap(table, release, spec.bootstrap_replicates, rng) if release else table.bootstrap(spec.bootstrap_replicates, rng)
    ft_context = _fliptest_context(spec, plan, table, say)
    results = _evaluate_comparisons(spec, plan, classes, table, comparisons, draws, value_hists, ft_context, warnings)
    _q_values(results, 1 - spec.confidence_level)
    out = _assemble(spec, plan, classes, table, results, value_hists, warnings)
    if release is not None:
        out.settings["differential_privacy"] = release.to_dict() | {"domain": _domain_shown(spec, table)}
        out.settings["ci_method"] = ("parametric bootstrap of the private release: each replicate a multinomial resample of the released total "
                                     "plus fresh discrete Laplace noise of the release's scale (sampling and noise)")  # fmt: skip
        out.settings["multiple_testing"] = "none: no p-values under differential privacy (judge by the intervals, which include the noise)"
    return out


def _domain_shown(spec: _Spec, table: CountTable) -> dict[str, list[Any]]:
    """The released domain by column (a continuous facet by its bins' indices)."""
    column = {"y": spec.lab.column, "p": spec.predicted_label or f"{spec.probability} > threshold", "s": spec.group_variable}
    return {str(column.get(k, k[2:])): [_show(v) for v in table.levels[k]] for k in table.keys}


def _public_domains(spec: _Spec, plan: _Plan, table: CountTable) -> dict[str, list[Any]]:
    """Each key's public values under differential privacy: declared in ``domain`` (by column), or known from the config (a
    threshold's two sides, a continuous facet's bins); a predicted label has its label's domain unless declared. Nothing is read
    from the data."""
    assert spec.differential_privacy is not None
    declared = spec.differential_privacy.domain
    roles = {c for f in spec.facets for c in f.columns} | {spec.lab.column, spec.predicted_label, spec.group_variable}
    for col in declared:
        if col not in roles:
            raise ConfigError(f"differential_privacy.domain names {col!r}, which is not a facet, the label, the predicted label or the group variable")
        numeric = spec.schema[col].is_numeric()
        wrong = next((v for v in declared[col] if isinstance(v, str) == numeric or (numeric and isinstance(v, bool))), None)
        if wrong is not None:
            raise ConfigError(f"differential_privacy.domain of {col!r}: {wrong!r} is not a value of its type {spec.schema[col]}")
    if spec.decision_probability is not None:
        raise ConfigError("differential privacy needs decisions with a public domain: decision_probability (probabilities) is not supported")
    if spec.sample_weight is not None or spec.frequency_weight is not None:
        raise ConfigError("differential privacy here releases row counts: drop sample_weight and frequency_weight (a weighted release needs "
                          "bounded weights, which this mechanism does not take)")  # fmt: skip

    def of(col: str, what: str) -> list[Any]:
        if col not in declared:
            raise ConfigError(f"differential privacy releases every value of {what} {col!r}, so they must be public: give them in "
                              f"differential_privacy.domain: {{{col}: [...]}}")  # fmt: skip
        return list(declared[col])

    first_cut = {c: _cuts_for(f, c) for f in reversed(spec.facets) for c in f.columns if plan.facet_types[c] == "continuous"}
    lab_bool = plan.lab.threshold is not None
    out: dict[str, list[Any]] = {}
    for key in table.keys:
        if key.startswith("f:"):
            col, _, cut = key[2:].partition("@")
            if plan.facet_types[col] == "continuous":
                out[key] = list(range((len(cut.split(",")) if cut else len(first_cut[col])) + 1))
            else:
                out[key] = of(col, "facet")
        elif key == "y":
            out[key] = [False, True] if lab_bool else of(spec.lab.column, "label")
        elif key == "p":
            pred = spec.predicted_label
            if pred is None or lab_bool:
                out[key] = [False, True]
            elif pred in declared:
                out[key] = of(pred, "predicted label")
            elif spec.schema[pred].is_numeric() != spec.schema[spec.lab.column].is_numeric():
                raise ConfigError(f"predicted label {pred!r} ({spec.schema[pred]}) does not hold the label's values ({spec.schema[spec.lab.column]}): "
                                  f"give its own in differential_privacy.domain: {{{pred}: [...]}}")  # fmt: skip
            else:
                out[key] = of(spec.lab.column, "label")
        else:
            out[key] = of(str(spec.group_variable), "group variable")
    return out


@dataclass
class _Spec:
    """What was asked: the data and the audit's settings, checked against its columns by :func:`_check_spec`."""

    frame: nw.LazyFrame[Any]
    lab: Label
    facets: list[Facet]
    predicted_label: str | None
    probability: str | None
    probability_threshold: float | None
    decision_probability: str | None
    frequency_weight: str | None
    group_variable: str | None
    sample_weight: str | None
    pre_training_methods: Sequence[str] | str | None
    post_training_methods: Sequence[str] | str | None
    label_distribution: str
    confidence_level: float
    bootstrap_replicates: int
    seed: int
    min_group_size: int
    fliptest: FlipTestOptions
    differential_privacy: DifferentialPrivacy | None

    def __post_init__(self) -> None:
        self.schema = self.frame.collect_schema()
        self.columns = list(self.schema.names())

    @classmethod
    def of(cls, frame: nw.LazyFrame[Any], spec: AuditSpec) -> _Spec:
        roles = {name: getattr(spec, name) for name in cls.__dataclass_fields__ if name not in ("frame", "lab", "facets")}
        return cls(frame=frame, lab=spec.lab, facets=list(spec.facets), **roles)

    @property
    def has_pred(self) -> bool:
        return self.predicted_label is not None or self.probability is not None or self.decision_probability is not None

    @property
    def fliptest_possible(self) -> bool:
        """FlipTest needs hard predictions and the rows themselves (not a count tensor stored as cells)."""
        return (
            (self.predicted_label is not None or self.probability is not None)
            and self.decision_probability is None
            and self.frequency_weight is None
            and self.differential_privacy is None
        )


def _check_spec(spec: _Spec) -> None:
    """Every role names a column of the data with the type it needs; no column has two roles."""
    lab, schema = spec.lab, spec.schema
    if spec.decision_probability is not None and (spec.predicted_label is not None or spec.probability is not None):
        raise ConfigError("decision_probability gives the decisions; do not give predicted_label or probability with it")
    if spec.predicted_label is not None and spec.probability is not None and spec.probability_threshold is not None:
        raise ConfigError(f"probability_threshold turns scores into decisions, but the decisions are predicted_label {spec.predicted_label!r}; "
                          "drop probability_threshold (the score is used for AUC, calibration and the score metrics)")  # fmt: skip
    for role, col in [("label", lab.column), ("predicted_label", spec.predicted_label), ("probability", spec.probability),
                      ("decision_probability", spec.decision_probability), ("frequency_weight", spec.frequency_weight),
                      ("group_variable", spec.group_variable), ("sample_weight", spec.sample_weight)]:  # fmt: skip
        if col is not None:
            _check_column(col, spec.columns, role)
    for f in spec.facets:
        for col in f.columns:
            _check_column(col, spec.columns, "facet")
        for col in f.columns:
            if col in (lab.column, spec.predicted_label, spec.probability, spec.decision_probability):
                raise ConfigError(f"column {col!r} is both a facet and the label or prediction")
    if spec.sample_weight is not None and not schema[spec.sample_weight].is_numeric():
        raise DataError(f"sample weight column {spec.sample_weight!r} must be numeric, but its type is {schema[spec.sample_weight]}")
    if spec.frequency_weight is not None and not schema[spec.frequency_weight].is_numeric():
        raise DataError(f"frequency_weight column {spec.frequency_weight!r} must hold row counts, but its type is {schema[spec.frequency_weight]}")
    if spec.decision_probability is not None and not schema[spec.decision_probability].is_numeric():
        raise DataError(f"decision_probability column {spec.decision_probability!r} must hold probabilities in [0, 1], but its type is "
                        f"{schema[spec.decision_probability]}")  # fmt: skip
    if spec.probability is not None and not schema[spec.probability].is_numeric():
        raise DataError(f"probability column {spec.probability!r} must hold numeric scores, but its type is {schema[spec.probability]}")


@dataclass
class _Plan:
    """What one GROUP BY counts (its keys), the types found, and the metrics to compute, stage by stage."""

    lab: Label  # resolved: categorical, or continuous with its threshold
    stats: dict[str, dict[str, Any]]
    facet_types: dict[str, str]
    probability_threshold: float | None
    keys: dict[str, nw.Expr]
    stages: list[tuple[Stage, list[Metric]]]
    values: ValueInputs
    with_score: bool


def _plan(spec: _Spec, say: Progress) -> _Plan:
    """Resolve the label's and facets' types from the data, choose the metrics, and build the keys of the one GROUP BY."""
    schema = spec.schema
    say("inspecting column types")
    numeric = [c for c in (spec.probability, spec.lab.column, *(c for f in spec.facets for c in f.columns)) if c is not None and schema[c].is_numeric()]
    stats = _column_stats(spec.frame, list(dict.fromkeys(numeric)))
    lab = _resolve_label(spec.lab, schema, stats)
    continuous = lab.threshold is not None
    if continuous and spec.predicted_label is not None and schema[spec.predicted_label].is_numeric():
        stats |= _column_stats(spec.frame, [spec.predicted_label])
    facet_types = _resolve_facet_types(spec.facets, schema, stats)
    threshold = spec.probability_threshold
    if spec.probability is not None and spec.predicted_label is None:
        threshold = _score_threshold(spec.probability, stats[spec.probability], threshold)
    stages: list[tuple[Stage, list[Metric]]] = []
    if spec.pre_training_methods:
        stages.append(("pre_training", resolve(spec.pre_training_methods, "pre_training")))  # type: ignore[arg-type]
    if spec.post_training_methods and spec.has_pred:
        stages.append(("post_training", resolve(spec.post_training_methods, "post_training")))  # type: ignore[arg-type]
    if not stages:
        raise ConfigError("nothing to compute: no pre-training methods, and no predicted_label or probability for post-training")
    values = ValueInputs(
        score=spec.probability,
        label_value=lab.column if continuous else None,
        prediction=spec.predicted_label if continuous and spec.predicted_label in stats else None,
    )
    with_score = spec.probability is not None and spec.frequency_weight is None and any(m.context == "score" for _, ms in stages for m in ms)
    return _Plan(lab, stats, facet_types, threshold, _keys(spec, lab, facet_types, threshold), stages, values, with_score)


def _keys(spec: _Spec, lab: Label, facet_types: dict[str, str], threshold: float | None) -> dict[str, nw.Expr]:
    """The GROUP BY's keys: each facet column (binned when continuous), the label (``y``), the decision (``p``), the stratum (``s``)."""
    keys: dict[str, nw.Expr] = {}
    cuts: dict[str, tuple[float, ...]] = {}
    for f in spec.facets:
        for col in f.columns:
            key = f"f:{col}"
            if facet_types[col] == "continuous":
                cut = _cuts_for(f, col)
                previous = cuts.get(col)
                if previous is not None and previous != cut:
                    key = f"f:{col}@{','.join(map(str, cut))}"
                cuts.setdefault(col, cut)
                keys[key] = sum((nw.col(col) > t).cast(nw.Int64) for t in cut)  # type: ignore[assignment]
            else:
                keys.setdefault(key, nw.col(col))
    keys["y"] = nw.col(lab.column) > lab.threshold if lab.threshold is not None else nw.col(lab.column)
    if spec.decision_probability is not None:
        keys["p"] = nw.col(spec.decision_probability).round(4)
    elif spec.predicted_label is not None:
        keys["p"] = nw.col(spec.predicted_label) > lab.threshold if lab.threshold is not None else nw.col(spec.predicted_label)
    elif spec.probability is not None:
        keys["p"] = nw.col(spec.probability) > threshold
    if spec.group_variable is not None:
        keys["s"] = nw.col(spec.group_variable)
    return keys


@dataclass
class _Classes:
    """The label's and the decision's classes found in the count tensor, and which are positive."""

    label_levels: list[Any]
    pos_label: np.ndarray
    pred_levels: list[Any]
    pos_pred: np.ndarray
    collapse: np.ndarray | None  # soft decisions: (levels, 2), each level's share of a negative and a positive decision
    label_kind: str
    label_ordered: bool


def _classes(table: CountTable, spec: _Spec, plan: _Plan, warnings: list[str]) -> _Classes:
    lab = plan.lab
    label_levels = table.levels["y"]
    pos_label = _positive_mask(label_levels, lab, warnings)
    collapse = None
    pred_levels: list[Any]
    if spec.decision_probability is not None:
        levels = np.asarray(table.levels["p"], dtype=np.float64)
        if (levels < 0).any() or (levels > 1).any():
            bad = levels[(levels < 0) | (levels > 1)]
            raise DataError(f"decision_probability column {spec.decision_probability!r} must hold probabilities in [0, 1]; found {bad[:3].tolist()}")
        collapse = np.c_[1 - levels, levels]
        pred_levels, pos_pred = [False, True], np.array([False, True])
    elif spec.has_pred:
        pred_levels = table.levels["p"]
        if spec.predicted_label is None or lab.threshold is not None:  # a thresholded score or label: True is positive
            pos_pred = np.array([bool(v) for v in pred_levels])
        else:
            pos_pred = np.array([any(_match(v, p) for p in lab.values or ()) for v in pred_levels])
        if not pos_pred.any():
            warnings.append("no row is predicted positive; metrics that divide by predicted positives are null")
        if pos_pred.all():
            warnings.append("every row is predicted positive; metrics that divide by predicted negatives are null")
    else:
        pred_levels, pos_pred = [None], np.array([False])
    label_kind = "continuous" if lab.threshold is not None else ("multiclass" if len(label_levels) > 2 else "binary")
    if spec.decision_probability is not None and label_kind == "multiclass":
        raise ConfigError(f"decision_probability is the probability of one positive decision, but label {lab.column!r} has {len(label_levels)} classes")
    label_ordered = lab.threshold is not None or all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in label_levels)
    if label_kind == "multiclass" and spec.label_distribution == "classes":
        warnings.append(f"KL, JS, LP, TVD and KS compare all {len(label_levels)} classes of {lab.column!r}; SageMaker Clarify compares "
                        "positive against the rest (label_distribution: positive gives its values)")  # fmt: skip
    return _Classes(label_levels, pos_label, pred_levels, pos_pred, collapse, label_kind, label_ordered)


def _fliptest_context(spec: _Spec, plan: _Plan, table: CountTable, say: Progress) -> FlipTestContext | None:
    if not (spec.fliptest_possible and any(m.name == "FT" for _, ms in plan.stages for m in ms)):
        return None
    say("FlipTest: nearest neighbours on a sample of rows")
    return FlipTestContext.build(
        spec.frame, columns=spec.columns, facet_keys={k: e for k, e in plan.keys.items() if k.startswith("f:")}, label=plan.lab,
        predicted_label=spec.predicted_label, probability=spec.probability if spec.predicted_label is None else None,
        probability_threshold=0.5 if plan.probability_threshold is None else plan.probability_threshold, positive_values=plan.lab.values,
        exclude={c for c in (plan.lab.column, spec.predicted_label, spec.probability, spec.group_variable, spec.sample_weight) if c is not None},
        total=table.n_rows, options=spec.fliptest, seed=spec.seed, confidence_level=spec.confidence_level,
    )  # fmt: skip


Results = dict[Stage, dict[str, list[FacetValueResult]]]


def _evaluate_comparisons(spec: _Spec, plan: _Plan, classes: _Classes, table: CountTable, comparisons: list[_Comparison], draws: np.ndarray | None,
                          value_hists: dict[str, dict[str, Histogram]], ft_context: FlipTestContext | None, warnings: list[str]) -> Results:  # fmt: skip
    """Every metric of every stage for every comparison (a facet value against the rest), with its interval."""
    strata = spec.group_variable is not None
    S = len(table.levels["s"]) if strata else 1
    K = len(classes.label_levels)
    Jt = len(table.levels["p"]) if classes.collapse is not None else len(classes.pred_levels)  # a soft decision: by its level, then collapsed
    common = {"has_pred": spec.has_pred, "label_values": classes.label_levels, "label_ordered": classes.label_ordered, "has_strata": strata,
              "collapse_label": spec.label_distribution == "positive"}  # fmt: skip
    value_rng = np.random.default_rng([spec.seed, 1])  # KS bootstraps; separate from the count-tensor draws
    results: Results = {st: {} for st, _ in plan.stages}
    ft_contexts = ft_context.in_parallel(table, comparisons) if ft_context is not None else None
    for i, cmp in enumerate(comparisons):
        idx = _flat_index(table, cmp.d_mask, strata, spec.has_pred, K, Jt)
        shape, n = (S, 2, K, Jt), S * 2 * K * Jt
        tensors = [np.bincount(idx, weights=table.weight, minlength=n).reshape(shape), np.bincount(idx, weights=table.count, minlength=n).reshape(shape),
                   np.bincount(idx, weights=table.weight_sq, minlength=n).reshape(shape) if table.weighted else None,
                   _aggregate_draws(draws, idx, n).reshape((-1, *shape)) if draws is not None else None]  # fmt: skip
        if classes.collapse is not None:  # expected decisions: a row at level q is q positive and 1 - q negative (after resampling rows)
            tensors = [t @ classes.collapse if t is not None else None for t in tensors]
        point_t, raw_t, w2_t, rep_t = tensors

        def cells(t: np.ndarray, *, pos_l: np.ndarray = classes.pos_label, pos_p: np.ndarray = classes.pos_pred, reasons: list[str] | None = None,
                  extra: dict[str, Any] | None = None) -> Cells:  # fmt: skip
            return Cells(t, positive_label=pos_l, positive_pred=pos_p, reasons=reasons, extra=extra, **common)  # type: ignore[arg-type]

        group = _group_stats(cells(raw_t), cells(point_t), spec.has_pred, spec.min_group_size)  # type: ignore[arg-type]
        if group.small:
            warnings.append(f"{cmp.facet.name}={_show(cmp.value)}: group sizes {group.size} (d) and {group.rest_size} (rest); "
                            f"below the minimum group size {spec.min_group_size}, results are flagged as small")  # fmt: skip
        contexts: dict[str, Any] = {}
        if ft_contexts is not None:
            contexts["fliptest"] = ft_contexts[i]
        for kind, hists in value_hists.items():
            contexts[kind] = build_context(
                kind, table, cmp.d_mask, classes.pos_label, hists, cmp.keys, level=spec.confidence_level, replicates=spec.bootstrap_replicates,
                rng=value_rng, score_range=_range(plan.stats.get(spec.probability or "")) if kind == "score" else None,
            )  # fmt: skip
        for stage, metrics in plan.stages:
            out = _stage_metrics(spec, stage, metrics, classes, cells, contexts, point_t, rep_t, w2_t)  # type: ignore[arg-type]
            fv = FacetValueResult(value_or_threshold=cmp.value, facet_values=cmp.facet_values, group=group, metrics=out)
            for kind in ("score", "regression"):
                if kind in contexts:
                    fv.value_stats = contexts[kind].group_figures(stage) or fv.value_stats
            if stage == "post_training":
                fv.confusion_matrix = _confusion(cells(point_t), D)  # type: ignore[arg-type]
                fv.rest_confusion_matrix = _confusion(cells(point_t), A)  # type: ignore[arg-type]
            results[stage].setdefault(cmp.facet.name, []).append(fv)
    return results


def _stage_metrics(spec: _Spec, stage: Stage, metrics: list[Metric], classes: _Classes, cells: Callable[..., Cells], contexts: dict[str, Any],
                   point_t: np.ndarray, rep_t: np.ndarray | None, w2_t: np.ndarray | None) -> list[MetricResult]:  # fmt: skip
    """One stage's metrics for one comparison: from the count tensor, or from their context (FlipTest, histograms); a metric asked
    for by name that cannot be computed is null with the reason, one left to "all" is left out."""
    explicit = not is_all(spec.pre_training_methods if stage == "pre_training" else spec.post_training_methods)
    kind, level = classes.label_kind, spec.confidence_level
    out: list[MetricResult] = []
    for m in metrics:
        if kind not in m.label_kinds:
            if explicit:
                out.append(_undefined(m, f"{m.name} applies to {' and '.join(sorted(m.label_kinds))} labels; this label is {kind}"))
            continue
        if m.evaluate is not None:
            ctx = contexts.get(m.context or "")
            if ctx is None:
                if explicit:
                    out.append(_undefined(m, _missing_input(m) if spec.differential_privacy is None else
                                          f"{m.name} needs the rows, which a differentially private audit does not read"))  # fmt: skip
                continue
            out.append(_from_value(m, m.evaluate(ctx)))
            continue
        out.append(_evaluate(m, cells, point_t, rep_t, w2_t, level, tests=spec.differential_privacy is None))
    if kind == "multiclass":
        for k, cls in enumerate(classes.label_levels):
            pl = np.zeros(len(classes.label_levels), dtype=bool)
            pl[k] = True
            pp = np.array([_match(v, cls) for v in classes.pred_levels]) if spec.has_pred else classes.pos_pred
            for m in metrics:
                if m.per_class and m.compute is not None:
                    r = _evaluate(
                        m,
                        lambda t, pos_l=pl, pos_p=pp, **kw: cells(t, pos_l=pos_l, pos_p=pos_p, **kw),
                        point_t,
                        rep_t,
                        w2_t,
                        level,  # type: ignore[misc]
                        tests=spec.differential_privacy is None,
                    )
                    r.label_value = cls
                    out.append(r)
    return out


def _q_values(results: Results, alpha: float) -> None:
    """Benjamini-Hochberg q-values across every p-value of the report; significant when q <= alpha."""
    all_results = [r for st in results.values() for vals in st.values() for fv in vals for r in fv.metrics]
    qs = benjamini_hochberg([r.p_value if r.value is not None else None for r in all_results])
    for r, q in zip(all_results, qs, strict=True):
        r.q_value = q
        r.significant = None if q is None else bool(q <= alpha)


def _assemble(spec: _Spec, plan: _Plan, classes: _Classes, table: CountTable, results: Results, value_hists: dict[str, dict[str, Histogram]],
              warnings: list[str]) -> AuditResult:  # fmt: skip
    lab, probability, threshold = plan.lab, spec.probability, plan.probability_threshold
    label_desc = _label_description(lab)
    stage_results = {st: StageResult(lab.column, label_desc, facets) for st, facets in results.items()}
    return AuditResult(
        pre_training=stage_results.get("pre_training"),
        post_training=stage_results.get("post_training"),
        dataset={
            "rows": table.n_rows,
            "total_weight": float(table.weight.sum()),
            "weighted": spec.sample_weight is not None,
            "sample_weight": spec.sample_weight,
            "label_type": classes.label_kind,
            "label_classes": [_show(v) for v in classes.label_levels],
            "count_tensor_cells": table.n_cells,
        },
        settings={
            "confidence_level": spec.confidence_level,
            "alpha": 1 - spec.confidence_level,
            "bootstrap_replicates": spec.bootstrap_replicates,
            "seed": spec.seed,
            "ci_method": "percentile bootstrap; each replicate is a multinomial resample of all rows drawn over the count tensor",
            "multiple_testing": "Benjamini-Hochberg across every p-value in this report",
            "min_group_size": spec.min_group_size,
            "probability_threshold": threshold if probability is not None else None,
            "predicted_label": spec.predicted_label,
            "probability": probability,
            "decisions": spec.predicted_label or (f"{probability} > {threshold}" if probability is not None else spec.decision_probability),
            "label_distribution": spec.label_distribution,
            "decision_probability": spec.decision_probability,
            "frequency_weight": spec.frequency_weight,
            "group_variable": spec.group_variable,
            "value_histograms": {
                name: ("exact (distinct values)" if h.exact else f"{_values.MAX_BINS:,} equal-width bins from {h.lo:g}")
                for hists in value_hists.values()
                for name, h in hists.items()
            },
        },
        warnings=warnings,
    )


# == evaluation ===================================================================
def _evaluate(
    m: Metric,
    cells: Callable[..., Cells],
    point_t: np.ndarray,
    rep_t: np.ndarray | None,
    w2_t: np.ndarray | None,
    level: float,
    *,
    tests: bool = True,
) -> MetricResult:
    """One count-tensor metric: its value, its test (unless ``tests`` is off: a private release has none) and its interval."""
    assert m.compute is not None
    reasons: list[str] = []
    extra = {"w2": cells(w2_t)} if w2_t is not None else {}
    point_cells = cells(point_t, reasons=reasons, extra=extra)
    raw = np.asarray(m.compute(point_cells), dtype=np.float64)
    value = float(raw) if np.isfinite(raw) else None
    notes = [r[len("note: ") :] for r in reasons if r.startswith("note: ")]
    whys = [r for r in reasons if not r.startswith("note: ")]
    result = MetricResult(name=m.name, description=m.description, value=value, ci=[None, None])
    if value is None:
        result.reason = "; ".join(whys) or "undefined for this data"
        return result
    if notes:
        result.note = "; ".join(notes)
    if m.test is not None and tests:
        result.p_value, result.test = m.test(point_cells)
    if rep_t is not None:
        lo, hi, undefined = _interval(m, point_cells, cells(rep_t), result, level)
        result.ci = [lo, hi]
        if lo is None:
            result.note = _join(result.note, f"interval not computed: the metric was undefined in {undefined:.0%} of bootstrap resamples")
        elif undefined > 0:
            result.note = _join(result.note, f"undefined in {undefined:.1%} of bootstrap resamples (left out of the interval)")
    return result


_FROM_DISTANCE: dict[str, Callable[[float], float]] = {"identity": lambda x: x, "square": lambda x: x * x, "exp_neg": lambda x: math.exp(-x)}


def _interval(m: Metric, point: Cells, reps: Cells, result: MetricResult, level: float) -> tuple[float | None, float | None, float]:
    """The metric's bootstrap interval; for a metric with signed parts, one that can reach parity (``result.ci_method`` says which)."""
    assert m.compute is not None
    parts = m.parts(point) if m.parts is not None else None
    if parts is not None and np.isfinite(parts).all():
        lo, hi, undefined = max_abs_interval(parts, np.asarray(m.parts(reps)), level)  # type: ignore[misc]
        if lo is not None and hi is not None:
            to_value = _FROM_DISTANCE[m.from_distance]
            lo, hi = sorted((to_value(lo), to_value(hi)))
        result.ci_method = "step-down simultaneous bootstrap band of the signed parts, mapped onto the metric (reaches parity)"
        return lo, hi, undefined
    lo, hi, undefined = percentile_interval(np.asarray(m.compute(reps), dtype=np.float64), level)
    if m.parts is not None and lo is not None and hi is not None and result.p_value is not None and result.p_value > 1 - level:
        parity = parity_value(m.name)  # no signed form: the interval starts at parity where the test does not reject it
        lo, hi = min(lo, parity), max(hi, parity)
        result.ci_method = "percentile bootstrap, extended to parity where the test does not reject it"
    return lo, hi, undefined


def _score_threshold(column: str, st: dict[str, Any], threshold: float | None) -> float:
    """The threshold that turns the score into decisions: 0.5 for probabilities; scores outside [0, 1] must name theirs."""
    if threshold is not None:
        return float(threshold)
    lo, hi = st.get("min"), st.get("max")
    if lo is not None and hi is not None and (lo < 0 or hi > 1):
        raise DataError(
            f"probability column {column!r} ranges from {lo:g} to {hi:g}, outside [0, 1], so it is not a probability and the "
            "default threshold 0.5 would be arbitrary. Give probability_threshold (rows with score > threshold are predicted positive)."
        )
    return 0.5


def _undefined(m: Metric, reason: str) -> MetricResult:
    return MetricResult(name=m.name, description=m.description, value=None, ci=[None, None], reason=reason)


def _missing_input(m: Metric) -> str:
    return {
        "score": f"{m.name} needs a score: give probability (a column of scores)",
        "regression": f"{m.name} needs a continuous label" + (" and a numeric predicted_label" if m.stage == "post_training" else ""),
        "fliptest": f"{m.name} needs predicted labels and the feature columns",
    }.get(m.context or "", f"{m.name} cannot be computed for this audit")


def _range(st: dict[str, Any] | None) -> tuple[float, float] | None:
    return (float(st["min"]), float(st["max"])) if st and st.get("min") is not None else None


def _count(frame: nw.LazyFrame[Any], keys: dict[str, nw.Expr], values: ValueInputs, stats: dict[str, dict[str, Any]], weight: str | None,
           frequency: str | None, with_score: bool) -> tuple[CountTable, Histogram | None]:  # fmt: skip
    """The count tensor over ``keys``; ``with_score``: also the score's histogram by facets and label (AUC, calibration), from
    the same GROUP BY with the score's bin as one more key."""
    if not with_score or values.score is None:
        return tabulate(frame, keys, weight=weight, frequency=frequency, sums=values.sums()), None
    bins, exact, lo, width = Histogram.bins(values.score, stats[values.score], unit=True)
    joint = tabulate(frame, keys | {"b": bins}, weight=weight, frequency=frequency, sums=values.sums())
    hist = joint.marginal([k for k in keys if k.startswith("f:")] + ["y", "b"], {"v": "s1"})
    return joint.marginal(list(keys), {k: k for k in values.sums()}), Histogram(hist, exact, lo, width, values.score)


def _value_histograms(
    frame: nw.LazyFrame[Any],
    keys: dict[str, nw.Expr],
    stages: list[tuple[Stage, list[Metric]]],
    values: ValueInputs,
    stats: dict[str, dict[str, Any]],
    label_kind: str,
    weight: str | None,
    say: Progress,
    *,
    score: Histogram | None = None,
) -> dict[str, dict[str, Histogram]]:
    """The histograms the requested regression metrics need (one GROUP BY each), and ``score``, the score's (counted with the
    count tensor), when score metrics are requested."""
    wanted = [m for _, ms in stages for m in ms if label_kind in m.label_kinds]
    kinds = {m.context for m in wanted}
    needs = {n for m in wanted for n in m.needs}
    hkeys = {k: e for k, e in keys.items() if k.startswith("f:")} | {"y": keys["y"]}
    out: dict[str, dict[str, Histogram]] = {}
    if score is not None and "score" in kinds:
        out["score"] = {"score": score}
    if values.label_value is not None and "regression" in kinds:
        out["regression"] = {}
        for name, column in (("label", values.label_value), ("prediction", values.prediction)):
            if column is not None and f"{name}_histogram" in needs:
                say(f"{name} histogram by group (KS)")
                out["regression"][name] = Histogram.build(frame, hkeys, column, stats[column], weight=weight, unit=False)
    return out


def _from_value(m: Metric, mv: MetricValue) -> MetricResult:
    return MetricResult(
        name=m.name,
        description=m.description,
        value=mv.value,
        ci=list(mv.ci),
        p_value=mv.p_value if mv.value is not None else None,
        test=mv.test,
        reason=mv.reason if mv.value is None else None,
        note=mv.note,
    )


def _join(a: str | None, b: str) -> str:
    return b if not a else f"{a}; {b}"


def _aggregate_draws(draws: np.ndarray, idx: np.ndarray, m: int) -> np.ndarray:
    """Sum bootstrap cell draws (R, C) into comparison cells (R, m): one matrix product with a 0/1 map."""
    onehot = np.zeros((draws.shape[1], m))
    onehot[np.arange(draws.shape[1]), idx] = 1.0
    return draws @ onehot


def _flat_index(table: CountTable, d_mask: np.ndarray, strata: bool, pred: bool, K: int, J: int) -> np.ndarray:
    s = table.keys["s"] if strata else np.zeros(table.n_cells, dtype=np.int64)
    j = table.keys["p"] if pred else np.zeros(table.n_cells, dtype=np.int64)
    g = d_mask.astype(np.int64)
    return ((s * 2 + g) * K + table.keys["y"]) * J + j


def _group_stats(raw: Cells, weighted: Cells, has_pred: bool, min_size: int) -> GroupStats:
    nd, na = float(raw.n(D)), float(raw.n(A))
    wd, wa = float(weighted.n(D)), float(weighted.n(A))
    q = lambda x, n: float(x / n) if n > 0 else None  # noqa: E731
    return GroupStats(
        size=int(round(nd)),
        weight=wd,
        proportion=wd / (wd + wa) if wd + wa > 0 else 0.0,
        rest_size=int(round(na)),
        rest_weight=wa,
        small=min(nd, na) < min_size,
        label_positive_rate=q(float(weighted.label_pos(D)), wd),
        predicted_positive_rate=q(float(weighted.pred_pos(D)), wd) if has_pred else None,
        rest_label_positive_rate=q(float(weighted.label_pos(A)), wa),
        rest_predicted_positive_rate=q(float(weighted.pred_pos(A)), wa) if has_pred else None,
    )


def _confusion(c: Cells, g: int) -> dict[str, float]:
    out = {"TP": c.tp(g), "FP": c.fp(g), "TN": c.tn(g), "FN": c.fn(g)}
    return {k: (int(round(float(v))) if float(v).is_integer() else float(v)) for k, v in out.items()}


# == inputs ======================================================================


def _check_column(col: str, columns: list[str], role: str) -> None:
    if col not in columns:
        raise DataError(
            f"{role} {col!r} is not a column of the data.{did_you_mean(col, columns)} Columns: {list_some(columns, 20)}. "
            "Hint: column names are matched case-sensitively."
        )


def _column_stats(frame: nw.LazyFrame[Any], wanted: list[str]) -> dict[str, dict[str, Any]]:
    """Distinct counts, min and max of numeric columns (to infer types and place bins), in one query."""
    if not wanted:
        return {}
    exprs = []
    for i, c in enumerate(wanted):
        exprs += [nw.col(c).n_unique().alias(f"nu{i}"), nw.col(c).min().alias(f"min{i}"), nw.col(c).max().alias(f"max{i}")]
    row = frame.select(*exprs).collect().to_arrow().to_pylist()[0]
    return {c: {"n_unique": row[f"nu{i}"], "min": row[f"min{i}"], "max": row[f"max{i}"]} for i, c in enumerate(wanted)}


def _resolve_label(lab: Label, schema: Any, stats: dict[str, dict[str, Any]]) -> Label:
    values = lab.values or ()
    numeric = schema[lab.column].is_numeric()
    kind = lab.type
    if kind == "auto":
        if numeric and len(values) == 1 and stats[lab.column]["n_unique"] > CATEGORICAL_MAX_DISTINCT:
            kind = "continuous"
        else:
            kind = "categorical"
    if kind == "continuous":
        if not numeric:
            raise DataError(f"label {lab.column!r} is declared continuous but its type is {schema[lab.column]}")
        if len(values) != 1:
            raise ConfigError(f"a continuous label needs one threshold in label_values_or_threshold, got {list(values)!r}")
        try:
            t = float(values[0])
        except (TypeError, ValueError):
            raise ConfigError(f"label threshold must be a number, got {values[0]!r}") from None
        return Label(lab.column, values=None, threshold=t, type="continuous")
    return Label(lab.column, values=tuple(values), threshold=None, type="categorical")


def _resolve_facet_types(facets: list[Facet], schema: Any, stats: dict[str, dict[str, Any]]) -> dict[str, str]:
    types: dict[str, str] = {}
    for f in facets:
        for col in f.columns:
            numeric = schema[col].is_numeric()
            kind = f.type if len(f.columns) == 1 else ("continuous" if col in f.thresholds else "auto")
            if kind == "auto":
                if not numeric:
                    kind = "categorical"
                elif len(f.columns) == 1 and (f.bins or f.threshold is not None):
                    kind = "continuous"
                elif len(f.columns) == 1 and f.values is not None and len(f.values) > 1:
                    kind = "categorical"  # Clarify: a list of several values is categorical
                elif len(f.columns) == 1 and f.values is not None and schema[col].is_float():
                    kind = "continuous"  # Clarify: one value of a float column is a threshold, d = (t, max], however few its values
                elif stats[col]["n_unique"] > CATEGORICAL_MAX_DISTINCT:
                    kind = "continuous"
                else:
                    kind = "categorical"
            if kind == "continuous" and not numeric:
                raise DataError(f"facet {col!r} is treated as continuous but its type is {schema[col]}; declare type: categorical")
            if kind == "continuous":
                try:
                    _cuts_for(f, col)
                except ConfigError:
                    raise ConfigError(
                        f"facet {col!r} is continuous ({stats.get(col, {}).get('n_unique')} distinct values): give a threshold in "
                        "value_or_threshold (rows above it form the group), bins: [t1, t2, ...], or declare type: categorical"
                    ) from None
            prev = types.get(col)
            if prev is not None and prev != kind:
                raise ConfigError(f"column {col!r} is used as both a categorical and a continuous facet; declare its type")
            types[col] = kind
    return types


def _cuts_for(f: Facet, col: str) -> tuple[float, ...]:
    if len(f.columns) > 1:
        if col in f.thresholds:
            return tuple(sorted(f.thresholds[col]))
        raise ConfigError(f"continuous column {col!r} in an intersection needs thresholds: {{{col}: [...]}}")
    if f.bins:
        return tuple(sorted(f.bins))
    if f.threshold is not None:
        return (float(f.threshold),)
    if f.values is not None and len(f.values) == 1:
        try:
            return (float(f.values[0]),)
        except (TypeError, ValueError):
            raise ConfigError(f"threshold of continuous facet {col!r} must be a number, got {f.values[0]!r}") from None
    raise ConfigError("no threshold")


def _check_missing(table: CountTable, facets: list[Facet], lab: Label, pred: str | None, group_variable: str | None) -> None:
    for key, levels in table.levels.items():
        missing = [i for i, v in enumerate(levels) if v is None or (isinstance(v, float) and math.isnan(v))]
        if not missing:
            continue
        rows = int(table.count[np.isin(table.keys[key], missing)].sum())
        if key.startswith("f:"):
            what = f"facet {key[2:].split('@')[0]!r}"
            hint = "fill them with an explicit value (e.g. 'unknown') or drop those rows"
        elif key == "y":
            what = f"label {lab.column!r}"
            hint = "drop rows without a label before the audit"
        elif key == "p":
            what = f"prediction column {pred!r}"
            hint = "every audited row needs a prediction"
        else:
            what = f"group_variable {group_variable!r}"
            hint = "fill them with an explicit value or drop those rows"
        raise DataError(f"{what} has {rows} missing values (null or NaN) of {table.n_rows} rows; {hint}.")


def _match(level: Any, value: Any) -> bool:
    if level == value:
        return True
    if isinstance(level, bool) or isinstance(value, bool):
        return str(level).lower() == str(value).lower()
    try:
        return float(level) == float(value)
    except (TypeError, ValueError):
        return str(level).strip() == str(value).strip()


def _positive_mask(levels: list[Any], lab: Label, warnings: list[str]) -> np.ndarray:
    """Which label classes are positive. One class only (a window of monitoring, a sample) is a warning, as Clarify accepts it:
    what needs both classes is null with its reason, what is defined (rates of predictions, their differences) is computed."""
    if lab.threshold is not None:
        mask = np.array([bool(v) for v in levels])
        if mask.all() or not mask.any():
            side = "above" if mask.all() else "at or below"
            warnings.append(f"label threshold {lab.threshold} puts every row of {lab.column!r} {side} it, so there is only one class; "
                            "metrics that need both classes are null")  # fmt: skip
        return mask
    mask = np.zeros(len(levels), dtype=bool)
    for v in lab.values or ():
        hits = [i for i, lv in enumerate(levels) if _match(lv, v)]
        if not hits:  # Clarify accepts it; what is defined is computed, and the user is told
            warnings.append(
                f"positive label value {v!r} never occurs in {lab.column!r}.{did_you_mean(str(v), [str(x) for x in levels])} Values: {list_some(levels)}"
            )
        mask[hits] = True
    if len(levels) < 2:
        warnings.append(f"label {lab.column!r} has one class only ({_show(levels[0])!r}); metrics that need both outcomes are null")
    elif not mask.any():
        warnings.append(f"no row of {lab.column!r} has a positive label value; metrics that divide by positive labels are null")
    elif mask.all():
        warnings.append(f"every value of label {lab.column!r} is listed as positive, so nothing is negative; metrics that divide by negative labels are null")
    return mask


def _comparisons(table: CountTable, facets: list[Facet], types: dict[str, str], stats: dict[str, dict[str, Any]], warnings: list[str]) -> list[_Comparison]:
    out: list[_Comparison] = []
    for f in facets:
        keys = []
        for col in f.columns:
            key = f"f:{col}"
            if types[col] == "continuous":
                cut = _cuts_for(f, col)
                alt = f"f:{col}@{','.join(map(str, cut))}"
                key = alt if alt in table.keys else key
            keys.append(key)
        codes = [table.keys[k] for k in keys]
        present = table.count > 0

        def labels_for(col: str, key: str) -> list[Any]:
            levels = table.levels[key]
            if types[col] != "continuous":
                return levels
            cut = _cuts_for(f, col)
            return [_bin_label(int(b), cut, stats.get(col, {}), single=len(f.columns) == 1 and not f.bins) for b in levels]

        shown = [labels_for(col, k) for col, k in zip(f.columns, keys, strict=True)]
        first = len(out)
        if len(f.columns) == 1 and types[f.columns[0]] == "continuous":
            _continuous(f, table, codes[0], keys[0], present, stats, warnings, out)
        elif len(f.columns) == 1:
            _categorical(f, table, codes[0], keys[0], out)
        else:
            _intersections(f, table, codes, present, shown, out)
        for cmp in out[first:]:
            cmp.keys = tuple(keys)
    return out


def _continuous(
    f: Facet, table: CountTable, code: np.ndarray, key: str, present: np.ndarray, stats: dict[str, dict[str, Any]], warnings: list[str], out: list[_Comparison]
) -> None:
    col = f.columns[0]
    levels = table.levels[key]
    cut = _cuts_for(f, col)
    st = stats.get(col, {})
    wanted = [len(cut)] if not f.bins else list(range(len(cut) + 1))
    for b in wanted:
        d = code == (levels.index(b) if b in levels else -1)
        label = _bin_label(b, cut, st, single=not f.bins)
        if not (d & present).any() or (d | ~present).all():
            if f.bins:
                warnings.append(f"facet {col!r}: bin {label} is empty or holds every row; skipped")
                continue
            side = "above" if not (d & present).any() else "at or below"
            raise DataError(
                f"facet {col!r}: no row is {side} the threshold {_num(cut[0])}, so there is no group to compare with. "
                f"Values range from {st.get('min')} to {st.get('max')}. Hint: one value of a numeric facet is a threshold (d is the rows "
                "above it), as in Clarify; to compare rows equal to a value, declare type: categorical."
            )
        out.append(_Comparison(f, label, {col: label}, d))


def _categorical(f: Facet, table: CountTable, code: np.ndarray, key: str, out: list[_Comparison]) -> None:
    col = f.columns[0]
    levels = table.levels[key]
    if len(levels) < 2:
        raise DataError(f"facet {col!r} has one value only ({_show(levels[0])!r}); there is no other group to compare it with")
    if f.values is None:
        for i, v in enumerate(levels):
            out.append(_Comparison(f, _show(v), {col: _show(v)}, code == i))
        return
    hit: list[int] = []
    for v in f.values:
        idx = [i for i, lv in enumerate(levels) if _match(lv, v)]
        if not idx:
            raise DataError(f"facet value {v!r} never occurs in {col!r}.{did_you_mean(str(v), [str(x) for x in levels])} Values: {list_some(levels)}")
        hit += idx
    d = np.isin(code, hit)
    if d.all():
        raise DataError(f"facet {col!r}: the values {list(f.values)!r} cover every row, so there is no other group to compare with")
    value = _show(f.values[0]) if len(f.values) == 1 else ",".join(str(_show(v)) for v in f.values)
    out.append(_Comparison(f, value, {col: value}, d))


def _intersections(f: Facet, table: CountTable, codes: list[np.ndarray], present: np.ndarray, shown: list[list[Any]], out: list[_Comparison]) -> None:
    combos = sorted({tuple(int(c[i]) for c in codes) for i in range(table.n_cells) if present[i]})
    stacked = np.stack(codes, axis=1)
    if len(combos) < 2:
        raise DataError(f"intersection {f.name} has one combination only; there is nothing to compare")
    if f.values is None:
        for combo in combos:
            d = (stacked == np.array(combo)).all(axis=1)
            vals = [shown[j][combo[j]] for j in range(len(combo))]
            out.append(_Comparison(f, [_show(v) for v in vals], {col: _show(v) for col, v in zip(f.columns, vals, strict=True)}, d))
    else:
        d = np.zeros(table.n_cells, dtype=bool)
        for want in f.values:
            match_combo = [c for c in combos if all(_match(shown[j][c[j]], want[j]) for j in range(len(c)))]
            if not match_combo:
                raise DataError(f"combination {list(want)!r} of {f.name} never occurs in the data")
            for c in match_combo:
                d |= (stacked == np.array(c)).all(axis=1)
        value = [_show(v) for v in f.values[0]] if len(f.values) == 1 else [[_show(x) for x in v] for v in f.values]
        out.append(_Comparison(f, value, {col: value[i] if len(f.values) == 1 else None for i, col in enumerate(f.columns)}, d))


def _bin_label(b: int, cut: tuple[float, ...], st: dict[str, Any], *, single: bool) -> str:
    lo = "-inf" if b == 0 else _num(cut[b - 1])
    if single and b == len(cut) and st.get("max") is not None:
        return f"({_num(cut[-1])}, {_num(st['max'])}]"
    if b == len(cut):
        return f"({lo}, inf)"
    return f"({lo}, {_num(cut[b])}]"


def _num(x: Any) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() else repr(x)


def _show(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if hasattr(v, "item"):
        return v.item()
    return v


def _label_description(lab: Label) -> str:
    if lab.threshold is not None:
        return f"({_num(lab.threshold)}, max]"
    return ",".join(str(v) for v in lab.values or ())
