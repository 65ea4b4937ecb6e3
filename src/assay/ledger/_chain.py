"""One canonical JSON, one digest, one walk of a hash chain.

An entry is a JSON object with a sequence number ``seq`` (1, 2, ...), the
hash of the entry before it (``prev``; the service's table calls it
``prev_hash``; the first entry links to :data:`GENESIS`) and its own
``hash``: the SHA-256 of the canonical JSON of every other field. Editing an
entry breaks its hash; removing, inserting or reordering one breaks the link
of the entry after it; only an *anchor* (an earlier head, kept apart) shows
entries removed from the end or a chain rebuilt from some entry on.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GENESIS", "Verification", "canonical", "canonical_finite", "digest", "finite", "walk"]

GENESIS = "0" * 64
MAX_PROBLEMS = 100  # a walk lists at most this many problems (a damaged log of a million lines is not a million lines of output)


def _plain(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    return str(value)


def canonical(obj: Any) -> bytes:
    """The canonical JSON of ``obj``: keys sorted, no spaces, UTF-8, no NaN or infinity (``finite`` makes them null first); dates as
    ISO 8601, other non-JSON values as their text. What every digest assay records is taken over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_plain).encode("utf-8")


def finite(obj: Any) -> Any:
    """``obj`` with every NaN or infinite number made null (undefined, as everywhere in assay), so that it has a canonical JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def canonical_finite(obj: Any) -> bytes:
    """``canonical(finite(obj))``, walking ``obj`` only when it holds a NaN or an infinity (a batch of captured rows seldom does)."""
    try:
        return canonical(obj)
    except ValueError:
        return canonical(finite(obj))


def digest(entry: Mapping[str, Any]) -> str:
    """The hash of a chain entry: the SHA-256 (hex) of the canonical JSON of all its fields but ``hash``."""
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


@dataclass
class Verification:
    """What a walk of a record found: ``ok``, the entries read, the head (the last entry's hash), and every problem, first first;
    ``seq`` is the entry of the first problem (None when it is not one entry's). Stores add what they check besides the chain:
    ``versions`` and ``approvals`` (a card store)."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    entries: int = 0
    head: str | None = None
    seq: int | None = None
    versions: int = 0
    approvals: list[dict[str, Any]] = field(default_factory=list)

    def add(self, problem: str, seq: int | None = None) -> None:
        if not self.problems:
            self.seq = seq
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append(f"... more problems after these {MAX_PROBLEMS}")
        self.ok = False

    @property
    def problem(self) -> str | None:
        return self.problems[0] if self.problems else None

    def to_dict(self) -> dict[str, Any]:
        """The service's shape: ``{ok, entries, head}``, or ``{ok, entries, seq, problem}`` with the first problem."""
        if self.ok:
            return {"ok": True, "entries": self.entries, "head": self.head}
        return {"ok": False, "entries": self.entries, "seq": self.seq, "problem": self.problem}


def walk(
    entries: Iterable[Mapping[str, Any]],
    *,
    prev: str = "prev",
    anchor: Mapping[str, Any] | None = None,
    describe: Callable[[Mapping[str, Any]], str] = lambda e: "",
    schemes: Sequence[Callable[[Mapping[str, Any]], str]] = (digest,),
    visit: Callable[[Mapping[str, Any]], None] | None = None,
) -> Verification:
    """Check a chain entry by entry: sequence numbers, links (the field ``prev``), hashes; and, with ``anchor`` (``{"seq", "hash"}``),
    that the anchored entry is still there, unchanged.

    ``schemes``: the digests an entry may have, the current one (:func:`digest`) first; an older one is accepted only for the
    entries before the first that has the current digest (a record begun by an earlier version of assay). ``visit`` sees every
    entry whose hash checks (what a store counts of them); ``describe`` adds to an entry's name in a problem.
    """
    result = Verification(True)
    link, expected = GENESIS, 1
    anchored: str | None = None
    older = len(schemes) > 1
    for e in entries:
        result.entries += 1
        seq = int(e.get("seq", 0) or 0)
        name = f"entry {seq}{describe(e)}"
        if seq != expected:
            result.add(f"entry {expected} is missing or out of place (the next entry has sequence number {seq}): removed, inserted or reordered", seq)
        elif e.get(prev) != link:
            before = (
                f"entry {expected - 1} (it does not link to that entry's hash)" if expected > 1 else "the start of the chain (its link is not the genesis hash)"
            )
            result.add(f"{name} does not follow {before}: removed, inserted or reordered", seq)
        h = e.get("hash")
        current = h == schemes[0](e)
        older = older and not current
        if not (current or older and any(h == s(e) for s in schemes[1:])):
            result.add(f"{name} was edited (its content does not match its hash)", seq)
        elif visit is not None:
            visit(e)
        if anchor is not None and seq == int(anchor["seq"]):
            anchored = str(h)
        link, expected = str(h), seq + 1
    result.head = link if result.entries else None
    if anchor is not None:
        if result.entries < int(anchor["seq"]):
            result.add(f"the anchor records {anchor['seq']} entries but the record has {result.entries}: entries {result.entries + 1} to "
                       f"{anchor['seq']} were removed", result.entries + 1)  # fmt: skip
        elif anchored != anchor["hash"]:
            result.add(f"entry {anchor['seq']} is not the one the anchor records (its hash differs): the chain was rewritten from there "
                       "or before", int(anchor["seq"]))  # fmt: skip
    return result
