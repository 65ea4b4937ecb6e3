"""What an audit is asked, as one model: :func:`assay.audit`'s keyword arguments checked once, and the types the config layer
shares for the same keys (a Clarify config's ``confidence_level`` is checked by the very field that checks the argument)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from annotated_types import Ge, Gt, Lt
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from assay._errors import ConfigError, did_you_mean
from assay._strict import STRICT, Column, Whole, integral, kind
from assay.bias._spec import Facet, Label

__all__ = [
    "AuditSpec",
    "DifferentialPrivacy",
    "FacetConfig",
    "FlipTestOptions",
    "Level",
    "Count",
    "LabelDistribution",
    "LabelType",
    "Methods",
    "Values",
    "facet_from_config",
]

#: FlipTest's defaults: rows in its sample and neighbours per row.
DEFAULT_MAX_ROWS = 20_000
DEFAULT_K = 5

Level = Annotated[float, Gt(0), Lt(1)]
Count = Annotated[int, Ge(0), BeforeValidator(integral)]
LabelType = Literal["auto", "categorical", "continuous"]
LabelDistribution = Annotated[str, *kind(lambda v: v in ("classes", "positive"),
                                         "'classes' (every label class) or 'positive' (positive against the rest, as Clarify)",
                                         {"enum": ["classes", "positive"]})]  # fmt: skip
Methods = Annotated[Any, *kind(lambda v: v is None or isinstance(v, str) or (isinstance(v, (list, tuple)) and all(isinstance(m, str) for m in v)),
                               "'all' or a list of metric names", {"anyOf": [{"const": "all"}, {"type": "array", "items": {"type": "string"}}, {"type": "null"}]})]  # fmt: skip
_Names = Annotated[Any, *kind(lambda v: isinstance(v, (list, tuple)) and all(isinstance(c, str) for c in v), "a list of column names",
                              {"type": "array", "items": {"type": "string"}})]  # fmt: skip
_Scalar = str | int | float | bool
Values = Annotated[Any, *kind(lambda v: v is None or isinstance(v, _Scalar) or (isinstance(v, (list, tuple)) and all(isinstance(x, _Scalar | list | tuple) for x in v)),
                               "a value, a list of values or one number (a threshold)",
                               {"anyOf": [{"type": ["string", "number", "boolean"]}, {"type": "array"}]})]  # fmt: skip
_Cuts = Annotated[Any, *kind(lambda v: (isinstance(v, (int, float)) and not isinstance(v, bool))
                             or (isinstance(v, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)),
                             "a number or a list of numbers", {"anyOf": [{"type": "number"}, {"type": "array", "items": {"type": "number"}}]})]  # fmt: skip


class FlipTestOptions(BaseModel):
    """FlipTest's sample and neighbours (``fliptest:`` in a config)."""

    model_config = STRICT
    max_rows: Whole = Field(default=DEFAULT_MAX_ROWS, ge=1, description="rows in FlipTest's seeded sample")
    k: Whole = Field(default=DEFAULT_K, ge=1, description="nearest neighbours in the other group per row")
    exclude: list[str] = Field(default_factory=list, description="columns left out of the features")
    features: list[str] | None = Field(default=None, description="the feature columns (default: every column but the roles and exclude)")


_Domain = Annotated[Any, *kind(lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(x, _Scalar) for x in v), "a non-empty list of values",
                               {"type": "array", "minItems": 1, "items": {"type": ["string", "number", "boolean"]}})]  # fmt: skip


class DifferentialPrivacy(BaseModel):
    """An epsilon-differentially private audit (``differential_privacy:`` in a config): the count tensor is released with noise."""

    model_config = STRICT
    epsilon: Annotated[float, Gt(0)] = Field(description="the privacy loss of the release (smaller: more private, noisier)")
    domain: dict[str, _Domain] = Field(default_factory=dict, description="the public values of each categorical facet, label, predicted "
                                       "label and group variable column: every combination is released, empty or not")  # fmt: skip
    neighbouring: Literal["add_remove", "change"] = Field(default="add_remove", description="neighbouring data sets differ by adding or "
                                                          "removing one row (sensitivity 1) or by changing one (sensitivity 2)")  # fmt: skip


class FacetConfig(BaseModel):
    """A facet as Clarify writes it, ``{name_or_index, value_or_threshold}``, with assay's ``bins``, ``thresholds`` and ``type``."""

    model_config = STRICT
    name_or_index: Column | list[Column] = Field(description="a column (name or index), or a list of columns: an intersection")
    value_or_threshold: Values = Field(default=None, description="the values that form group d, or one number: d is column > it")
    bins: list[float] | None = Field(default=None, description="cut points of a continuous facet: every right-closed bin against the rest")
    thresholds: dict[str, _Cuts] = Field(default_factory=dict, description="cut points of the continuous members of an intersection")
    type: LabelType = "auto"


def facet_from_config(f: dict[str, Any] | FacetConfig) -> Facet:
    """A facet from Clarify's ``{name_or_index, value_or_threshold}`` and assay's extensions."""
    if isinstance(f, dict):
        from assay._strict import checked

        f = checked(FacetConfig, f, prefix="facet")
    columns = tuple(f.name_or_index) if isinstance(f.name_or_index, list) else (f.name_or_index,)
    values = f.value_or_threshold
    if values is not None and not isinstance(values, (list, tuple)):
        values = [values]
    thresholds = {k: tuple(float(x) for x in (v if isinstance(v, list) else [v])) for k, v in f.thresholds.items()}
    if len(columns) > 1 and values is not None:
        values = [tuple(v) if isinstance(v, (list, tuple)) else (v,) for v in values]
        for v in values:
            if len(v) != len(columns):
                raise ConfigError(f"intersection {' x '.join(map(str, columns))}: each value must list {len(columns)} values (one per column), got {list(v)!r}")
    return Facet(columns=tuple(str(c) for c in columns), values=tuple(values) if values is not None else None,
                 bins=tuple(f.bins) if f.bins else None, thresholds=thresholds, type=f.type)  # fmt: skip


def _facets(facets: Any) -> tuple[Facet, ...]:
    if isinstance(facets, (str, Facet, dict, FacetConfig)):
        facets = [facets]
    if not isinstance(facets, (list, tuple)):
        raise ConfigError(f"facets must be a column name or a list of facets, got {facets!r}")
    out: list[Facet] = []
    for f in facets:
        if isinstance(f, Facet):
            out.append(f)
        elif isinstance(f, str):
            out.append(Facet(columns=(f,)))
        elif isinstance(f, (dict, FacetConfig)):
            out.append(facet_from_config(f))
        elif isinstance(f, (list, tuple)) and all(isinstance(c, str) for c in f):
            out.append(Facet(columns=tuple(f)))
        else:
            raise ConfigError(
                f"cannot read facet {f!r}: give a column name, a list of names (an intersection), or {{name_or_index: ..., value_or_threshold: [...]}}"
            )
    if not out:
        raise ConfigError("no facet given: name at least one sensitive column (facet)")
    return tuple(out)


def _fliptest(v: Any) -> Any:
    if isinstance(v, dict):
        unknown = sorted(set(v) - set(FlipTestOptions.model_fields))
        if unknown:
            raise ConfigError(f"unknown fliptest option {unknown[0]!r}.{did_you_mean(unknown[0], FlipTestOptions.model_fields)} "
                              f"Known: {', '.join(FlipTestOptions.model_fields)}")  # fmt: skip
    return FlipTestOptions() if v is None else v


class AuditSpec(BaseModel):
    """Every setting of one audit, checked: what :func:`assay.audit` takes besides the data (see its parameters)."""

    model_config = STRICT | ConfigDict(arbitrary_types_allowed=True, frozen=True)
    label: str | Label
    facets: Annotated[tuple[Facet, ...], BeforeValidator(_facets)]
    label_values_or_threshold: Values = None
    predicted_label: str | None = None
    probability: str | None = None
    probability_threshold: float | None = None
    decision_probability: str | None = None
    frequency_weight: str | None = None
    group_variable: str | None = None
    sample_weight: str | None = None
    pre_training_methods: Methods = "all"
    post_training_methods: Methods = "all"
    label_type: LabelType = "auto"
    label_distribution: LabelDistribution = "classes"
    confidence_level: Level = 0.95
    bootstrap_replicates: Count = 1000
    seed: Count = 0
    min_group_size: Count = 30
    headers: _Names | None = None
    fliptest: Annotated[FlipTestOptions, BeforeValidator(_fliptest)] = Field(default_factory=FlipTestOptions)
    differential_privacy: DifferentialPrivacy | None = None

    @property
    def lab(self) -> Label:
        """The label and its positive values (or threshold)."""
        if isinstance(self.label, Label):
            return self.label
        values = self.label_values_or_threshold
        if values is None:
            raise ConfigError(f"label_values_or_threshold is required: the positive value(s) of label {self.label!r}, or one number as a threshold")
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        if not values:
            raise ConfigError("label_values_or_threshold is empty: give the positive label value(s), or one threshold")
        return Label(column=self.label, values=tuple(values), type=self.label_type)

    def replace(self, **changes: Any) -> AuditSpec:
        """This spec with some settings changed, checked again."""
        from assay._strict import checked

        return checked(AuditSpec, {**dict(self), **changes}, top="audit setting")


def spec_of(settings: dict[str, Any]) -> AuditSpec:
    """:func:`assay.audit`'s keyword arguments as a checked spec (an error names the argument)."""
    from assay._strict import checked

    return checked(AuditSpec, settings, top="audit setting")
