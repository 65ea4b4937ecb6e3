"""The columns a subgroup may be defined by, as small integer codes: a category is itself, a number falls in one of a few
quantile bins, a missing value is a value of its own. Codes take one or two bytes a row, not a float64 one-hot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assay._errors import ConfigError, DataError

__all__ = ["Condition", "Encoded", "check_group", "encode", "group_mask"]

MAX_LEVELS = 64  # a categorical column with more values keeps its most frequent, the rest as "other"


@dataclass(frozen=True)
class Condition:
    """One condition on one column: ``column == value``, or ``low <= column < high`` for a numeric bin (either end open)."""

    column: str
    value: Any = None
    low: float | None = None
    high: float | None = None
    missing: bool = False
    other: tuple[Any, ...] | None = None  # for "any of the rarer values"
    above: bool = False  # low < column (the bin above a value of its own), not low <= column

    def text(self) -> str:
        if self.missing:
            return f"{self.column} is missing"
        if self.other is not None:
            return f"{self.column} is another value ({len(self.other)} rarer values)"
        if self.low is None and self.high is None:
            return f"{self.column} = {self.value}"
        if self.low is None:
            return f"{self.column} < {self.high:g}"
        first = "<" if self.above else "<="
        if self.high is None:
            return f"{self.column} {'>' if self.above else '>='} {self.low:g}"
        return f"{self.low:g} {first} {self.column} < {self.high:g}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column, "text": self.text()}
        if self.missing:
            out["missing"] = True
        elif self.other is not None:
            out["other_values"] = [_plain(v) for v in self.other]
        elif self.low is None and self.high is None:
            out["value"] = _plain(self.value)
        else:
            out["low"], out["high"] = self.low, self.high
            out["low_inclusive"] = not self.above
        return out


@dataclass
class Encoded:
    """Per column, the codes of every row and the condition each code stands for."""

    columns: list[str]
    codes: list[np.ndarray]
    conditions: list[list[Condition]]


def encode(frame: Any, columns: list[str], bins: int) -> Encoded:
    """The codes of ``columns`` of a pandas frame: numbers with more than ``bins`` values in ``bins`` quantile bins (edges from
    the whole data: they use no outcome, so the split into discovery and confirmation rows stays honest), others by value."""
    import pandas as pd

    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise ConfigError(f"bins must be a whole number of at least 2, got {bins!r}")
    out = Encoded([], [], [])
    for name in columns:
        col = frame[name]
        missing = np.asarray(pd.isna(col))
        if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype) and col.nunique() > bins:
            codes, conds = _numeric(name, col.to_numpy(dtype=np.float64, na_value=np.nan), missing, bins)
        else:
            codes, conds = _categorical(name, col, missing)
        if len(conds) < 2:
            continue  # one value for every row: it cannot tell a subgroup from the rest
        out.columns.append(name)
        out.codes.append(codes)
        out.conditions.append(conds)
    if not out.columns:
        raise DataError(f"none of the columns {', '.join(map(repr, columns))} has two values or more to define subgroups by")
    return out


def _numeric(name: str, x: np.ndarray, missing: np.ndarray, bins: int) -> tuple[np.ndarray, list[Condition]]:
    """Quantile bins; a value that holds at least 1 / bins of the rows at the bottom (capital gain's 0) is a bin of its own, and
    the values above it are cut into the other bins."""
    present = x[~missing]
    codes = np.zeros(len(x), dtype=np.int16)
    conds: list[Condition] = []
    low = float(present.min()) if len(present) else 0.0
    above = present
    if len(present) and np.mean(present == low) >= 1 / bins:
        conds.append(Condition(name, value=low if not low.is_integer() else int(low)))
        above, bins = present[present > low], bins - 1
        codes[x > low] = 1
    if len(above):
        edges = np.unique(np.quantile(above, np.linspace(0, 1, bins + 1)[1:-1])) if bins > 1 else np.array([])
        start = float(low) if conds else None  # above the value of its own: low < x
        bounds = [start, *edges.tolist(), None]
        offset = len(conds)
        where = ~missing & (x > low) if conds else ~missing
        codes[where] = offset + np.searchsorted(edges, x[where], side="right")
        conds += [Condition(name, low=bounds[i], high=bounds[i + 1], above=bool(conds) and i == 0) for i in range(len(edges) + 1)]
    used = np.unique(codes[~missing])
    if len(used) < len(conds):  # bins no row falls in
        remap = np.full(len(conds), -1, dtype=np.int16)
        remap[used] = np.arange(len(used), dtype=np.int16)
        codes = np.where(missing, 0, remap[codes]).astype(np.int16)
        conds = [conds[i] for i in used]
    if missing.any():
        codes[missing] = len(conds)
        conds.append(Condition(name, missing=True))
    return codes, conds


def _categorical(name: str, col: Any, missing: np.ndarray) -> tuple[np.ndarray, list[Condition]]:
    import pandas as pd

    values, uniques = pd.factorize(col.astype(object).where(~pd.Series(missing, index=col.index), None), sort=True)
    counts = np.bincount(values[values >= 0], minlength=len(uniques))
    conds = [Condition(name, value=v) for v in uniques]
    codes = values.astype(np.int32)
    if len(uniques) > MAX_LEVELS:  # the most frequent keep their own code; the rest share one
        keep = np.sort(np.argsort(-counts, kind="stable")[: MAX_LEVELS - 1])
        remap = np.full(len(uniques), MAX_LEVELS - 1, dtype=np.int32)
        remap[keep] = np.arange(len(keep), dtype=np.int32)
        rare = tuple(uniques[i] for i in range(len(uniques)) if remap[i] == MAX_LEVELS - 1)
        conds = [conds[i] for i in keep] + [Condition(name, other=rare)]
        codes = np.where(values >= 0, remap[np.maximum(values, 0)], -1).astype(np.int32)
    if missing.any():
        codes[values < 0] = len(conds)
        conds.append(Condition(name, missing=True))
    return codes.astype(np.int16), conds


def check_group(conditions: Sequence[Any], columns: Sequence[str]) -> None:
    """Check a group's conditions against the columns a table has, without its rows (see :func:`group_mask` for their forms)."""
    if not conditions:
        raise ConfigError("a group needs at least one condition")
    for c in conditions:
        if not isinstance(c, dict) or "column" not in c:
            raise ConfigError(f"a condition is an object with a column, got {c!r}")
        if c["column"] not in columns:
            raise DataError(f"the group's condition names the column {c['column']!r}, which the data lacks; it has {', '.join(map(str, columns))}")
        if not (c.get("missing") or "values" in c or "other_values" in c or "value" in c or "low" in c or "high" in c):
            raise ConfigError(f"condition on {c['column']!r} needs value, values, low/high or missing: {c!r}")


def group_mask(frame: Any, conditions: Sequence[dict[str, Any]]) -> np.ndarray:
    """The rows of ``frame`` in the group: every condition holds (``{column, value}``, ``{column, low, high[, low_inclusive]}``
    for a numeric range, ``{column, missing: true}``, ``{column, values: [...]}``)."""
    import pandas as pd

    check_group(conditions, list(frame.columns))
    inside = np.ones(len(frame), dtype=bool)
    for c in conditions:
        col = frame[c["column"]]
        if c.get("missing"):
            inside &= np.asarray(pd.isna(col))
        elif "values" in c or "other_values" in c:
            inside &= np.asarray(col.isin(list(c["values"] if "values" in c else c["other_values"])))
        elif "value" in c:
            inside &= np.asarray(col == c["value"])
        elif "low" in c or "high" in c:
            x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                if c.get("low") is not None:
                    inside &= (x >= c["low"]) if c.get("low_inclusive", True) else (x > c["low"])
                if c.get("high") is not None:
                    inside &= x < c["high"]
    return inside


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v
