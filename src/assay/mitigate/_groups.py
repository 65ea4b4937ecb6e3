"""Groups from one or several sensitive columns, named as the audit names them ("Female & Black").

Every mitigator turns its ``sensitive_features`` into integer group codes
here: one column (array, list, Series) or several (a DataFrame or 2-D array,
whose combinations are the intersectional groups). Missing values form a
group of their own, named ``<missing>``. Codes come from hashing
(``pandas.factorize``), not from converting every row to a string, so this
stays fast on millions of rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay._errors import DataError

__all__ = ["MISSING", "group_codes", "known_group_codes"]

MISSING = "<missing>"


def _columns(sensitive_features: Any, n_rows: int | None) -> list[Any]:
    import pandas as pd

    if sensitive_features is None:
        raise DataError("sensitive_features is required: the group of every row (one column, or several for intersectional groups)")
    if isinstance(sensitive_features, pd.DataFrame):
        cols = [sensitive_features.iloc[:, j] for j in range(sensitive_features.shape[1])]
    elif isinstance(sensitive_features, pd.Series):
        cols = [sensitive_features]
    else:
        arr = np.asarray(sensitive_features)
        if arr.ndim not in (1, 2):
            raise DataError(f"sensitive_features must be one column or a table of columns, got an array of {arr.ndim} dimensions")
        cols = [arr] if arr.ndim == 1 else [arr[:, j] for j in range(arr.shape[1])]
    if not cols:
        raise DataError("sensitive_features has no columns")
    if n_rows is not None and len(cols[0]) != n_rows:
        raise DataError(f"sensitive_features has {len(cols[0])} rows and the data has {n_rows}; they must describe the same rows")
    return cols


def _name(value: Any) -> str:
    return MISSING if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def group_codes(sensitive_features: Any, n_rows: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Integer code per row and the group names (sorted by the values of each column)."""
    import pandas as pd

    per_col = []
    for col in _columns(sensitive_features, n_rows):
        codes, uniques = pd.factorize(col, sort=True, use_na_sentinel=False)
        per_col.append((np.asarray(codes, dtype=np.int64), [_name(u) for u in uniques]))
    if len(per_col) == 1:
        return per_col[0]
    flat = np.ravel_multi_index(tuple(c for c, _ in per_col), tuple(len(u) for _, u in per_col))
    present, codes = np.unique(flat, return_inverse=True)
    parts = np.unravel_index(present, tuple(len(u) for _, u in per_col))
    names = [" & ".join(per_col[j][1][parts[j][i]] for j in range(len(per_col))) for i in range(len(present))]
    return codes.astype(np.int64), names


def known_group_codes(sensitive_features: Any, known: list[str], n_rows: int | None = None) -> np.ndarray:
    """Codes of rows in the groups seen at fit time; a group not seen is an error that names it."""
    codes, names = group_codes(sensitive_features, n_rows)
    index = {n: i for i, n in enumerate(known)}
    unknown = [n for n in names if n not in index]
    if unknown:
        raise DataError(f"group value(s) {', '.join(map(repr, unknown[:5]))} were not seen when the mitigator was fitted; "
                        f"fitted groups: {', '.join(known)}")  # fmt: skip
    return np.array([index[n] for n in names], dtype=np.int64)[codes]
