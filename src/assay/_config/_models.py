"""The config file as models: SageMaker Clarify's ``analysis_config.json`` keys, as Clarify defines them, and assay's extensions.

One model per section; every section refuses unknown keys (naming the nearest known one) and takes values as written, never
coerced. The audit's own settings are the very types of :class:`assay.bias.AuditSpec`. ``schemas/config.schema.json`` is
generated from :class:`AnalysisConfig` (``python -m assay._config``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from annotated_types import Ge
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator

from assay._strict import STRICT, Column, Whole, integral, kind
from assay.bias._settings import Count, DifferentialPrivacy, FacetConfig, FlipTestOptions, LabelDistribution, LabelType, Level, Methods, Values

__all__ = ["Alert", "AnalysisConfig", "ExplainOptions", "GroundTruth", "MitigateOptions", "MonitorOptions", "MonitorThresholds", "WebhookAlert"]

_Positive = Annotated[int, Ge(1), BeforeValidator(integral)]  # the bound stays in the schema inside an Optional
_AtLeastTwo = Annotated[int, Ge(2), BeforeValidator(integral)]
_Rows = Annotated[Any, *kind(lambda v: isinstance(v, str) or (isinstance(v, list) and all(isinstance(r, (list, dict)) for r in v)),
                             "a file, or a list of rows (lists of feature values, or records)",
                             {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": ["array", "object"]}}]})]  # fmt: skip
_Features = Annotated[Any, *kind(lambda v: isinstance(v, str) or (isinstance(v, list) and all(isinstance(c, str) for c in v)),
                                 "a JMESPath (JSON Lines datasets) or a list of column names",
                                 {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})]  # fmt: skip
_Mitigation = Annotated[Any, *kind(lambda v: isinstance(v, str) or (isinstance(v, dict) and isinstance(v.get("name"), str)),
                                   "a method name, or {name: METHOD, ...its settings}",
                                   {"anyOf": [{"type": "string"}, {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}]})]  # fmt: skip
_Version = Annotated[Any, *kind(lambda v: isinstance(v, (str, int, float)) and not isinstance(v, bool), "a version such as '1.0'",
                                {"type": ["string", "number"]})]  # fmt: skip
_Command = Annotated[Any, *kind(lambda v: isinstance(v, str) or (isinstance(v, list) and v and all(isinstance(a, str) for a in v)),
                                "a command line, or a list [program, args...]",
                                {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]})]  # fmt: skip


class _Section(BaseModel):
    model_config = STRICT


class BiasMethods(_Section):
    methods: Methods = Field("all", description="'all' or a list of metric names (assay metrics lists them)")


class ShapMethod(_Section):
    """``methods.shap``: read by ``assay explain``."""

    baseline: _Rows | None = Field(default=None, description="background rows: a file, or rows (Clarify's lists of feature values, or records)")
    num_samples: Whole | None = Field(default=None, description="Kernel SHAP's budget: accepted and noted as unused (see explain.repeats)")
    agg_method: Literal["mean_abs", "median", "mean_sq"] = "mean_abs"
    use_logit: bool = False
    save_local_shap_values: bool = True
    seed: Count | None = None
    num_clusters: _Positive | None = Field(default=None, description="a k-prototypes baseline of this many rows")
    features_to_explain: list[str] | None = None


class PdpMethod(_Section):
    """``methods.pdp``: partial dependence, read by ``assay explain``."""

    grid_resolution: _AtLeastTwo | None = Field(default=None)
    features: list[Column] | None = None
    top_k_features: _Positive | None = Field(default=None)


class MethodsConfig(_Section):
    pre_training_bias: BiasMethods | None = None
    post_training_bias: BiasMethods | None = None
    shap: ShapMethod | None = None
    pdp: PdpMethod | None = None
    report: dict[str, Any] | None = Field(default=None, description="Clarify's PDF report: accepted and ignored (assay report renders one)")
    asymmetric_shapley_value: dict[str, Any] | None = Field(default=None, description="accepted and ignored")


class ExplainOptions(_Section):
    """``explain:``; a key left out takes :func:`assay.explain.explain`'s default."""

    max_rows: _Positive | None = Field(default=None, description="explain a seeded sample of this many rows (default 1000); null: every row")
    background_size: _Positive | None = Field(default=None)
    repeats: _Positive | None = Field(default=None)
    algorithm: Literal["auto", "tree", "linear", "exact", "sampling"] | None = None
    proxies: Count | None = Field(default=None)
    bootstrap_replicates: Count | None = None
    confidence_level: Level | None = None
    n_jobs: int | None = None


class MitigateOptions(_Section):
    """``mitigate:``: the mitigations compared on held-out data."""

    methods: list[_Mitigation] | None = Field(default=None, description="mitigations by name, or {name, ...settings} (default: every one)")
    folds: Whole = Field(default=5, ge=2)
    test_fraction: float = Field(default=0.3, gt=0, lt=1, description="held out when there is no test_dataset_uri")
    metric: str = "EqOddsD"
    seed: Count | None = None
    bootstrap_replicates: Count = 1000
    confidence_level: Level = 0.95


class DiscoverOptions(_Section):
    """``discover:``: the subgroup search of ``assay discover`` (docs/discovery.md); a key left out takes its default."""

    measure: Literal["error_rate", "false_positive_rate", "false_negative_rate", "false_discovery_rate", "false_omission_rate", "selection_rate",
                     "label_rate", "log_loss", "brier_score", "calibration_error", "DPL", "DPPL", "AD", "RD", "SD", "DAR", "DRR"] = Field(
        default="error_rate", description="what a subgroup is worse in; DPL, DPPL, AD, RD, SD, DAR, DRR: the rate each is a difference of")  # fmt: skip
    columns: list[str] | None = Field(default=None, description="the columns subgroups are defined by (default: all but the label and predictions)")
    max_depth: Whole = Field(default=3, ge=1, le=6, description="conditions per subgroup, at most")
    min_support: _Positive | None = Field(default=None, description="rows a subgroup needs among the discovery rows (default 1%, at least 30)")
    bins: Whole = Field(default=4, ge=2, description="quantile bins of a numeric column")
    confirm_fraction: float = Field(default=0.5, gt=0, lt=1, description="the rows kept apart to confirm what the search found")
    alpha: Level = Field(default=0.05, description="false discovery rate of the confirmed subgroups")
    select_alpha: Level = Field(default=0.05, description="one-sided p-value on the discovery rows below which a subgroup is tested")
    max_tests: Whole = Field(default=100, ge=1, description="subgroups tested on the confirmation rows, at most")
    correction: Literal["by", "bh"] = Field(default="by", description="by: Benjamini-Yekutieli (any dependence); bh: Benjamini-Hochberg")
    confidence_level: Level = 0.95
    seed: Count = 0
    max_discovery_rows: Whole = Field(default=1_000_000, ge=100, description="on Spark: discovery rows searched on the driver, at most (a seeded sample)")


class TaskMetric(_Section):
    """One entry of ``tasks:``: a task's metric by group for ``assay tasks`` (docs/tasks.md)."""

    metric: Literal["wer", "cer", "mae", "mse", "rmse", "mean_error", "ndcg", "exposure"]
    group: str = Field(description="the column whose values are the groups")
    unit: str | None = Field(default=None, description="the column of units resampled together (speaker, query, session); default: rows (queries for rankings)")
    reference: str | None = None
    hypothesis: str | None = None
    label: str | None = Field(default=None, description="regression: the true values' column")
    prediction: str | None = None
    query: str | None = None
    relevance: str | None = None
    score: str | None = None
    k: Whole = Field(default=10, ge=1)


class MembershipOptions(_Section):
    """``privacy.membership:``: the membership-inference attack on the config's ``model`` (docs/privacy.md)."""

    members: str = Field(description="the rows the model was trained on (a dataset path; relative paths are tried from the config's directory)")
    non_members: str | None = Field(default=None, description="rows the model never saw (default: test_dataset_uri)")
    fpr: float = Field(default=0.001, gt=0, lt=1, description="the false positive rate at which the attack's true positive rate is read")
    replicates: Whole = Field(default=500, ge=0, description="bootstrap replicates of the intervals")


class EpsilonAccuracyOptions(_Section):
    """``privacy.epsilon_accuracy:``: the accuracy-against-epsilon table of the config's audit (docs/privacy.md)."""

    epsilons: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(default_factory=lambda: [0.1, 0.3, 1.0, 3.0, 10.0], min_length=1)
    runs: Whole = Field(default=10, ge=1, description="private releases per epsilon")
    bootstrap_replicates: Whole = Field(default=200, ge=0, description="bootstrap replicates of each release's intervals")


class PrivacyOptions(_Section):
    """``privacy:``: what ``assay privacy`` checks (docs/privacy.md)."""

    quasi_identifiers: list[str] | None = Field(default=None, description="columns someone could know about a person (age, zip, sex, ...)")
    sensitive: list[str] = Field(default_factory=list, description="columns whose values must not be learnt from the quasi-identifiers")
    k_min: Whole = Field(default=5, ge=2, description="a row is at risk when fewer rows share its quasi-identifier values")
    scan: bool = Field(default=True, description="scan every column for personal data (by name and content, offline)")
    sample: Whole = Field(default=2000, ge=10, description="values per column the scan reads, at most")
    membership: MembershipOptions | None = Field(default=None, description="attack the config's model: its training rows against unseen rows")
    epsilon_accuracy: EpsilonAccuracyOptions | None = Field(default=None, description="what differential privacy costs the config's audit, "
                                                            "epsilon by epsilon (needs differential_privacy.domain)")  # fmt: skip


class ProxyChange(_Section):
    """One entry of ``robustness.proxies``: a column a counterfactual may change along with the sensitive attribute."""

    column: str
    within: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(default=None, description="a number: how far it may move")
    values: list[str | int | float | bool] | None = Field(default=None, description="a category: the values it may take (default: all)")


class RobustnessOptions(_Section):
    """``robustness:``: what ``assay robustness`` checks (docs/robustness.md)."""

    sensitive: str | None = Field(default=None, description="the attribute a counterfactual changes (default: the first facet)")
    proxies: list[str | ProxyChange] = Field(
        default_factory=list, description="columns that may change with it: a name (any of its values) or {column, within | values}"
    )
    max_rows: Whole = Field(default=5000, ge=10, description="rows tested (a seeded sample)")
    draws: Whole = Field(default=50, ge=1, description="random values per row for a model whose structure assay cannot read")
    noise: Annotated[float, Field(ge=0, allow_inf_nan=False)] = Field(default=0.1, description="a number's noise, in its standard deviations")
    swap_rate: Annotated[float, Field(ge=0, le=1)] = Field(default=0.05, description="the chance that a category is replaced by another")
    replicates: Whole = Field(default=20, ge=1, description="perturbations of each row")
    fliptest: bool = Field(default=True, description="the FlipTest by optimal transport, beside the nearest-neighbour one")
    fliptest_rows: Whole = Field(default=2000, ge=10, description="rows of each group the transport plan is computed on, at most")


class GroundTruth(_Section):
    """Labels that arrive later, joined to the predictions on the id."""

    dataset_uri: str
    id: str | None = Field(default=None, description="its id column (default: the config's id)")
    label: str | None = Field(default=None, description="its label column (default: the config's label)")


class WebhookAlert(_Section):
    """An HTTP POST of the alert's JSON body."""

    webhook: str = Field(pattern=r"^https?://", max_length=2000)
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)


class Alert(_Section):
    """Where an alert goes: ``{webhook: URL, headers}`` (a POST of its JSON) or ``{command: [program, args...], timeout}`` (its JSON
    on standard input)."""

    model_config = STRICT | ConfigDict(json_schema_extra={"oneOf": [{"required": ["webhook"]}, {"required": ["command"]}]})
    webhook: str | None = Field(default=None, pattern=r"^https?://", max_length=2000)
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    command: _Command | None = None
    timeout: float = Field(default=60, gt=0, description="seconds the command may run")

    @model_validator(mode="after")
    def _one_target(self) -> Alert:
        if (self.webhook is None) == (self.command is None):
            raise ValueError("an alert is {webhook: URL} or {command: [program, args...]}: give one of them")
        return self


class MonitorThresholds(_Section):
    """What decides a monitoring violation: the same for ``assay monitor`` and the service's monitoring settings."""

    alpha: Level = Field(default=0.05, description="false discovery rate of the drift tests (Benjamini-Hochberg)")
    confidence_level: Level = 0.95
    min_quality_change: float = Field(default=0.01, ge=0, description="a quality metric this much worse than the baseline's is a violation")


class MonitorOptions(MonitorThresholds):
    """``monitor:``."""

    bootstrap_replicates: Count = 1000
    seed: Count = 0
    window: str | None = Field(default=None, description="time window of assay monitor run, e.g. 1D")
    alerts: list[Alert] = Field(default_factory=list)
    attribution_rows: Whole = Field(default=500, ge=1)
    attribution_ndcg_threshold: float = Field(default=0.9, ge=0, le=1)
    attribution_min_change: float = Field(default=0.25, ge=0)


class SparkOptions(_Section):
    """``spark:``: read the data set with Spark and compute there (docs/spark.md)."""

    master: str | None = Field(default=None, description="local[N], a cluster URL (spark://host:7077, yarn) or Spark Connect's sc://host:port")
    app_name: str = "assay"
    conf: dict[str, str | int | float | bool] = Field(default_factory=dict, description="Spark properties, e.g. spark.executor.memory: 4g")
    table: str | None = Field(default=None, description="a table of Spark's catalog (db.table) to audit instead of dataset_uri")


def _facets(v: Any) -> Any:
    v = [v] if isinstance(v, dict) else v
    return [{"name_or_index": f} if isinstance(f, (str, int)) and not isinstance(f, bool) else f for f in v] if isinstance(v, list) else v


class AnalysisConfig(_Section):
    """A config file of ``assay audit``, ``explain``, ``mitigate`` and ``monitor`` (docs/configuration.md)."""

    # SageMaker Clarify's keys
    version: _Version | None = None
    dataset_type: str | None = Field(default=None, description="text/csv, application/x-parquet, application/jsonlines (or csv, parquet, jsonl)")
    dataset_uri: str | None = Field(default=None, description="a local path or glob; relative paths are tried from the config's directory too")
    headers: list[str] | None = Field(default=None, description="column names of a CSV without a header row")
    label: Column | None = None
    label_values_or_threshold: Values = None
    predicted_label: Column | None = None
    probability: Column | None = None
    probability_threshold: float | None = None
    facet: Annotated[list[FacetConfig], BeforeValidator(_facets)] | None = None
    group_variable: Column | None = None
    methods: MethodsConfig | None = None
    predictor: dict[str, Any] | None = Field(default=None, description="accepted and ignored: predictions are read from the data")
    excluded_columns: list[Column] | None = None
    joinsource_name_or_index: Column | None = None
    features: _Features | None = None
    label_headers: list[str] | None = None
    predicted_label_dataset_uri: str | None = None
    predicted_label_headers: list[str] | None = None
    segment_config: Any = None
    # assay's extensions
    label_type: LabelType = "auto"
    label_distribution: LabelDistribution = "classes"
    sample_weight: Column | None = None
    confidence_level: Level = 0.95
    bootstrap_replicates: Count = 1000
    seed: Count = 0
    min_group_size: Count = 30
    fliptest: FlipTestOptions | None = None
    decision_probability: Column | None = None
    model: str | None = Field(default=None, description="a saved model (.skops, .joblib, .pkl) or module:function")
    model_trusted_types: list[str] = Field(default_factory=list)
    explain: ExplainOptions = Field(default_factory=ExplainOptions)
    mitigate: MitigateOptions = Field(default_factory=MitigateOptions)
    discover: DiscoverOptions = Field(default_factory=DiscoverOptions)
    privacy: PrivacyOptions = Field(default_factory=PrivacyOptions)
    robustness: RobustnessOptions = Field(default_factory=RobustnessOptions)
    tasks: list[TaskMetric] | None = Field(default=None, description="task metrics by group for assay tasks (WER by dialect, NDCG by user group, ...)")
    test_dataset_uri: str | None = None
    id: str | None = None
    timestamp: str | None = None
    ground_truth: GroundTruth | None = None
    model_quality_constraints: dict[str, Any] | None = Field(default=None, description="Model Monitor's {metric: {threshold, comparison_operator}}")
    monitor: MonitorOptions = Field(default_factory=MonitorOptions)
    spark: SparkOptions | None = Field(default=None, description="read the data with Spark and compute the audit there")
    differential_privacy: DifferentialPrivacy | None = Field(default=None, description="release the audit with epsilon-differential privacy")

    _base: str | None = PrivateAttr(None)

    @property
    def base(self) -> str | None:
        """The directory of the config file (relative paths in it are tried from there), or None for a config given as a dict."""
        return self._base

    def given(self, key: str) -> bool:
        """The config sets ``key`` (rather than leaving it at its default)."""
        return key in self.model_fields_set

    @model_validator(mode="after")
    def _ground_truth_needs_id(self) -> AnalysisConfig:
        if self.ground_truth is not None and not self.id:
            raise ValueError("ground_truth is joined on an id: name the id column of the predictions in 'id'")
        return self
