"""The tamper-evident record under every store assay keeps: one canonical JSON, one digest, one verifier.

A card store's review log (a JSON Lines file) and the service's ledger (a
database table) are the same hash chain: each entry carries its sequence
number, the hash of the entry before it and its own hash (:func:`digest`).
:func:`walk` checks any chain; the stores add what they count (a card's
versions and signatures; the service's captured predictions and answers),
and every check answers with one :class:`Verification`. ``assay ledger
verify`` takes a card store, a database or an exported ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assay.ledger._chain import GENESIS, Verification, canonical, canonical_finite, digest, finite, walk
from assay.ledger._file import DamagedLogError, append_line, read_log, verify_file

if TYPE_CHECKING:
    from assay.ledger._sql import SqlLog, ledger_table

__all__ = ["GENESIS", "DamagedLogError", "SqlLog", "Verification", "append_line", "canonical", "canonical_finite", "digest", "finite", "ledger_table", "read_log",
           "verify_file", "walk"]  # fmt: skip


def __getattr__(name: str) -> Any:  # the SQL store needs SQLAlchemy, which a card store does not
    if name in ("SqlLog", "ledger_table"):
        from assay.ledger import _sql

        return getattr(_sql, name)
    raise AttributeError(f"module 'assay.ledger' has no attribute {name!r}")
