"""Agreement between reviewers and consolidation of their answers: the statistics of human review, apart from where answers are kept."""

from __future__ import annotations

import math

__all__ = ["consolidate", "fleiss_kappa", "krippendorff_alpha", "vote_weight"]


def fleiss_kappa(tables: list[dict[str, int]], categories: list[str]) -> float | None:
    """Fleiss' kappa for items each rated by the same number of raters (None when undefined)."""
    if not tables:
        return None
    n = sum(tables[0].values())
    if n < 2 or any(sum(t.values()) != n for t in tables):
        return None
    counts = [[t.get(c, 0) for c in categories] for t in tables]
    n_items = len(counts)
    p_j = [sum(row[j] for row in counts) / (n_items * n) for j in range(len(categories))]
    p_i = [(sum(x * x for x in row) - n) / (n * (n - 1)) for row in counts]
    p_bar = sum(p_i) / n_items
    p_e = sum(p * p for p in p_j)
    return None if p_e >= 1 else (p_bar - p_e) / (1 - p_e)


def krippendorff_alpha(units: list[list[str]]) -> float | None:
    """Krippendorff's alpha for nominal answers; units may have different numbers of answers (those with fewer than two are left out).
    None when undefined (fewer than two pairable answers, or every answer the same)."""
    units = [u for u in units if len(u) >= 2]
    coincidence: dict[tuple[str, str], float] = {}
    for u in units:
        m = len(u)
        counts = {c: u.count(c) for c in set(u)}
        for c, nc in counts.items():
            for k, nk in counts.items():
                pairs = nc * (nc - 1) if c == k else nc * nk
                coincidence[(c, k)] = coincidence.get((c, k), 0.0) + pairs / (m - 1)
    totals: dict[str, float] = {}
    for (c, _k), v in coincidence.items():
        totals[c] = totals.get(c, 0.0) + v
    n = sum(totals.values())
    if n < 2:
        return None
    observed = sum(v for (c, k), v in coincidence.items() if c != k)
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k)
    return None if expected == 0 else 1.0 - (n - 1) * observed / expected


def vote_weight(answered: int, agreed: int, k: int) -> float:
    """A reviewer's vote weight from their record: with p = (agreed + 1) / (answered + 2) (agreements with consolidated answers,
    answers on consolidated tasks), the weight log(p (k - 1) / (1 - p)) of the optimal weighted vote for k answers, at least 0 (a
    reviewer no better than chance has no say); 1 with no record yet (an equal say)."""
    if not answered:
        return 1.0
    p = (agreed + 1) / (answered + 2)
    return max(0.0, math.log(p * (k - 1) / (1 - p)))


def consolidate(votes: list[tuple[str, str]], weights: dict[str, float]) -> tuple[str, str | None, float, dict[str, float]]:
    """(status, answer, agreement, tally): the answer with the largest total weight (a tie: no_consensus, no answer); agreement is
    its share of the weight (of the votes when every weight is 0)."""
    if not any(weights.get(r, 0) > 0 for r, _ in votes):
        weights = {r: 1.0 for r, _ in votes}
    tally: dict[str, float] = {}
    for r, a in votes:
        tally[a] = tally.get(a, 0.0) + weights.get(r, 0.0)
    top = max(tally.values())
    winners = [k for k, v in tally.items() if math.isclose(v, top, rel_tol=1e-12)]
    total = sum(tally.values())
    status = "complete" if len(winners) == 1 else "no_consensus"
    return status, winners[0] if status == "complete" else None, top / total if total else 0.0, tally
