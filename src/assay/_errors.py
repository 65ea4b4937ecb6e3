"""One error hierarchy for the whole package.

Every error assay raises on bad input subclasses :class:`AssayError` and the
builtin it is (``ValueError``, ``KeyError``, ``FileNotFoundError``), and its
message says what was expected, what was received and, where we can tell,
what to do.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "AssayError",
    "ConfigError",
    "Conflict",
    "DataError",
    "NotFound",
    "did_you_mean",
]


class AssayError(Exception):
    """Base class of every error assay raises on purpose."""


class ConfigError(AssayError, ValueError):
    """A configuration key or value is missing, misspelt or invalid."""


class DataError(AssayError, ValueError):
    """The data cannot be audited as asked (missing column, NaN facet, ...)."""


class NotFound(AssayError, LookupError):
    """A thing asked for by name or id (a model, a prediction, a task, a contest) does not exist."""


class Conflict(AssayError):
    """The request cannot be carried out in the current state (already done, not yet possible, or contradicts what is stored)."""


STATUS = {NotFound: 404, Conflict: 409}  # what the service answers for each; any other AssayError is a 422 (bad input)


def status_of(exc: AssayError) -> int:
    """The HTTP status the service gives an error of the library: 404 for NotFound, 409 for Conflict, 422 for the rest."""
    return next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 422)


def did_you_mean(word: str, choices: Iterable[str], *, n: int = 1) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice, or ``""``."""
    pool = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), pool, n=n, cutoff=0.6)
    swapped = [c for c in pool if sorted(c.lower()) == sorted(str(word).lower()) and c not in close]
    close = (swapped + close)[: max(n, len(swapped))]  # a transposition (DLP for DPL) is the likeliest slip
    if not close:
        lowered = {c.lower(): c for c in pool}
        if str(word).lower() in lowered:
            close = [lowered[str(word).lower()]]
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


def list_some(values: Iterable[object], limit: int = 12) -> str:
    """Comma-separated preview of values, with a count of the rest."""
    vals = [str(v) for v in values]
    head = ", ".join(vals[:limit])
    if len(vals) > limit:
        head += f", ... ({len(vals) - limit} more)"
    return head
