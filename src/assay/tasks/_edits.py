"""Edit counts for word and character error rates: the fewest substitutions, deletions and insertions that turn a reference
into a hypothesis (Levenshtein, unit costs), with the reference's length. Counts add up, so a group's WER is the sum of its
edits over the sum of its reference words (what jiwer computes over a list of transcripts)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["edit_counts", "tokens"]


def tokens(text: str, unit: str) -> list[str]:
    """Words (split on whitespace), or the characters of the text with its ends stripped, spaces inside counted as characters
    (jiwer's default transforms for WER and CER: a doubled space in a hypothesis is a character error)."""
    if unit == "word":
        return text.split()
    return list(text.strip())


def _distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    if not ref:
        return len(hyp)
    if not hyp:
        return len(ref)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1]


def edit_counts(references: Sequence[str], hypotheses: Sequence[str], *, unit: str = "word") -> tuple[np.ndarray, np.ndarray]:
    """Per pair, the edit distance and the reference's length in ``unit`` (word or char)."""
    errors = np.empty(len(references), dtype=np.float64)
    lengths = np.empty(len(references), dtype=np.float64)
    for i, (r, h) in enumerate(zip(references, hypotheses)):
        ref, hyp = tokens(str(r), unit), tokens(str(h), unit)
        errors[i], lengths[i] = _distance(ref, hyp), len(ref)
    return errors, lengths
