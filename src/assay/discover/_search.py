"""The level-wise search: every conjunction of conditions up to a depth, counted a column set at a time, pruned by support and by
whether a slice has enough bad outcomes for any of its refinements to be significant. The outcome is 0/1 (a bad outcome, for a
rate) or a number (a loss or a residual, for a mean: its sum and sum of squares are counted, and only support prunes).

A slice is a tuple of (column index, code) pairs in increasing column order. Level 1 counts each column's codes (one bincount);
level d + 1 joins two surviving slices of level d that share their first d - 1 conditions (and keeps a join only when every
one of its d-condition parts survived, as Apriori does), then counts each column set's joined codes in one pass. A slice's
refinements have at most its rows and at most its bad outcomes, so a slice with fewer than ``min_support`` rows, or fewer bad
outcomes than a significant slice of ``min_support`` rows needs, is not refined.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from assay._errors import ConfigError
from assay.discover._codes import Encoded

__all__ = ["Counted", "search"]

Slice = tuple[tuple[int, int], ...]
MAX_CANDIDATES = 2_000_000  # slices counted in one level; beyond, raise min_support or lower max_depth


@dataclass
class Counted:
    """Every slice counted on the rows searched: its rows ``n``, the sum ``k`` of its outcomes (bad outcomes, for 0/1) and
    of their squares ``k2``; the totals; slices per level."""

    slices: list[Slice] = field(default_factory=list)
    n: list[float] = field(default_factory=list)
    k: list[float] = field(default_factory=list)
    k2: list[float] = field(default_factory=list)
    total_n: float = 0.0
    total_k: float = 0.0
    total_k2: float = 0.0
    per_level: list[int] = field(default_factory=list)


def search(enc: Encoded, rows: np.ndarray, outcome: np.ndarray, *, max_depth: int, min_support: int, alpha: float | None) -> Counted:
    """Count every slice of up to ``max_depth`` conditions on ``rows`` (indices), ``outcome`` the outcome of each of them: 0/1
    with ``alpha`` (the selection's level, for pruning by bad outcomes), or numbers with ``alpha`` None."""
    codes = [c[rows].astype(np.int64) for c in enc.codes]
    y = outcome.astype(np.float64)
    out = Counted(total_n=float(len(rows)), total_k=float(y.sum()), total_k2=float((y * y).sum()))
    need = -math.inf if alpha is None else _bad_needed(out.total_k / max(out.total_n, 1.0), min_support, alpha)
    sizes = [len(c) for c in enc.conditions]
    frontier: list[Slice] = [((j, v),) for j in range(len(codes)) for v in range(sizes[j])]  # level 1: every value
    level = 1
    parents: dict[Slice, float] = {}
    while frontier and level <= max_depth:
        if len(frontier) > MAX_CANDIDATES:
            raise ConfigError(f"{len(frontier):,} subgroups of {level} conditions to count: raise min_support or lower max_depth")
        counted = _count(frontier, codes, y, sizes, binary=alpha is not None)
        out.per_level.append(len(counted))
        grow = []
        for s, (n, k, k2) in counted.items():
            if len(s) > 1 and any(parents.get(s[:m] + s[m + 1 :]) == n for m in range(len(s))):
                continue  # the same rows as a slice of one condition fewer: that condition says nothing here
            if n >= min_support:
                out.slices.append(s)
                out.n.append(n)
                out.k.append(k)
                out.k2.append(k2)
                if k >= need:
                    grow.append(s)
        parents = {s: counted[s][0] for s in grow}
        level += 1
        frontier = _join(grow) if level <= max_depth else []
    return out


def _count(slices: list[Slice], codes: list[np.ndarray], y: np.ndarray, sizes: list[int], *,
           binary: bool) -> dict[Slice, tuple[float, float, float]]:  # fmt: skip
    """Rows, sum and sum of squares of the outcome of each slice, one pass over the rows per column set. The column sets are taken
    in order, so that those that share all but their last column reuse the key of that prefix; a 0/1 outcome is the key's
    lowest bit, so one bincount gives both counts (and its squares are itself)."""
    by_columns: dict[tuple[int, ...], list[Slice]] = defaultdict(list)
    for s in slices:
        by_columns[tuple(j for j, _ in s)].append(s)
    bit = (y > 0).astype(np.int64)
    y2 = y * y
    out: dict[Slice, tuple[float, float, float]] = {}
    prefix_cols: tuple[int, ...] | None = None
    prefix_key = np.zeros(len(y), dtype=np.int64)
    for cols in sorted(by_columns):
        group = by_columns[cols]
        radix = [sizes[j] for j in cols]
        if cols[:-1] != prefix_cols:
            prefix_cols, prefix_key = cols[:-1], np.zeros(len(y), dtype=np.int64)
            for j, r in zip(cols[:-1], radix[:-1]):
                prefix_key = prefix_key * r + codes[j]
        key = prefix_key * radix[-1] + codes[cols[-1]]
        cells = math.prod(radix)
        want = np.array([_key(s, radix) for s in group], dtype=np.int64)
        if binary and cells <= 2 * len(y) + 1024:
            both = np.bincount(key * 2 + bit, minlength=2 * cells)
            got_k = both[1::2][want].astype(np.float64)
            got_n, got_k2 = both[0::2][want] + got_k, got_k
        elif cells <= 2 * len(y) + 1024:
            got_n = np.bincount(key, minlength=cells)[want].astype(np.float64)
            got_k = np.bincount(key, weights=y, minlength=cells)[want].astype(np.float64)
            got_k2 = np.bincount(key, weights=y2, minlength=cells)[want].astype(np.float64)
        else:  # many cells for few rows: count only the keys that occur
            uniq, inverse = np.unique(key, return_inverse=True)
            n, k, k2 = np.bincount(inverse), np.bincount(inverse, weights=y), np.bincount(inverse, weights=y2)
            pos = np.minimum(np.searchsorted(uniq, want), len(uniq) - 1)
            found = uniq[pos] == want
            got_n, got_k, got_k2 = np.where(found, n[pos], 0).astype(np.float64), np.where(found, k[pos], 0.0), np.where(found, k2[pos], 0.0)
        for s, a, b, c in zip(group, got_n, got_k, got_k2):
            out[s] = (float(a), float(b), float(c))
    return out


def _key(s: Slice, radix: list[int]) -> int:
    key = 0
    for (_, v), r in zip(s, radix):
        key = key * r + v
    return key


def _join(survivors: list[Slice]) -> list[Slice]:
    """Slices of one more condition: two survivors that differ only in their last condition (on different columns), kept when
    every part of them with one condition fewer survived too."""
    alive = set(survivors)
    by_prefix: dict[Slice, list[tuple[int, int]]] = defaultdict(list)
    for s in survivors:
        by_prefix[s[:-1]].append(s[-1])
    out = []
    for prefix, lasts in by_prefix.items():
        lasts.sort()
        for i, a in enumerate(lasts):
            for b in lasts[i + 1 :]:
                if b[0] == a[0]:
                    continue
                joined = (*prefix, a, b)
                if all(joined[:m] + joined[m + 1 :] in alive for m in range(len(joined) - 2)):
                    out.append(joined)
    return out


def _bad_needed(rate: float, support: int, alpha: float) -> float:
    """The fewest bad outcomes a slice of ``support`` rows needs for a one-sided binomial test against ``rate`` at ``alpha``: a
    slice with fewer has no refinement that could be significant (a refinement has fewer rows and fewer bad outcomes, and a
    larger slice needs more bad outcomes still)."""
    from scipy.stats import binom

    if rate <= 0:
        return 1.0
    if rate >= 1:
        return math.inf
    ks = np.arange(support + 1)
    ok = np.flatnonzero(binom.sf(ks - 1, support, rate) <= alpha)
    return float(ok[0]) if len(ok) else math.inf
