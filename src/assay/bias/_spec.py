"""What to audit: facets, label, predictions, as Clarify defines them and more."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Facet", "FacetInput", "Label"]

ColumnType = Literal["auto", "categorical", "continuous"]

#: A numeric column with more distinct values than this is continuous,
#: unless its type is declared. (Clarify's 5%-uniqueness rule misclassified
#: binary labels in small data sets; a count is predictable.)
CATEGORICAL_MAX_DISTINCT = 20


@dataclass(frozen=True)
class Facet:
    """A sensitive attribute, or an intersection of several.

    Parameters
    ----------
    columns : one column name, or several for an intersectional facet.
    values : the facet values that form group *d*, compared with the rest
        (Clarify's ``value_or_threshold`` as a list). For an intersection, a
        list of tuples, one value per column. ``None``: every observed value
        (combination) is compared with the rest in turn.
    threshold : for a continuous column, *d* is ``column > threshold``
        (Clarify's right-closed interval ``(threshold, max]``).
    bins : for a continuous column, cut points t1 < ... < tk; every
        right-closed bin ``(t_i, t_i+1]`` is compared with the rest.
    thresholds : per-column cut points for continuous members of an
        intersection, e.g. ``{"age": [40]}``.
    type : ``"categorical"``, ``"continuous"`` or ``"auto"`` (numeric
        columns with more than 20 distinct values are continuous).
    """

    columns: tuple[str, ...]
    values: tuple[Any, ...] | None = None
    threshold: float | None = None
    bins: tuple[float, ...] | None = None
    thresholds: dict[str, tuple[float, ...]] = field(default_factory=dict)
    type: ColumnType = "auto"

    @property
    def name(self) -> str:
        return " x ".join(self.columns)


@dataclass(frozen=True)
class Label:
    """The label (observed outcome) and what counts as positive.

    ``values`` are the positive classes (categorical labels); ``threshold``
    makes a continuous label binary as ``label > threshold``.
    """

    column: str
    values: tuple[Any, ...] | None = None
    threshold: float | None = None
    type: ColumnType = "auto"


FacetInput = str | Facet | Sequence[Any] | dict[str, Any]
