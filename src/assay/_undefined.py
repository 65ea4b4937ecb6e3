"""Undefined is not zero: one test for a value that could not be computed (None, or a float NaN)."""

import math
from typing import Any

__all__ = ["undefined"]


def undefined(v: Any) -> bool:
    """Whether ``v`` stands for a value that could not be computed: None or a float NaN."""
    return v is None or (isinstance(v, float) and math.isnan(v))
