"""The rules of every model that reads input from outside (a request body, a stored setting, a routing policy)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict

__all__ = ["STRICT", "Whole"]

#: No unknown keys, no NaN, and no coercion ("0.9" is not a number, 1 is not true, 2.5 is not a count).
STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


def _integral(v: Any) -> Any:
    return int(v) if isinstance(v, float) and v.is_integer() else v  # JSON (and its schema) has one number type: 5.0 is the integer 5


#: A count: an integer, or a number JSON writes as 5.0; 2.5 and "5" are refused.
Whole = Annotated[int, BeforeValidator(_integral)]
