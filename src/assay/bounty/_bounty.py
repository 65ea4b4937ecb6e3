"""Bias bounties: outsiders submit a group and a model that does better on it; assay verifies the claim on a holdout they never see.

A submission is a group g (conditions on columns, in :mod:`assay.discover`'s form) and a model h. On the holdout's n rows,
with e(f, i) the 0/1 error of model f on row i, the claimed gain is

    G = share(g) x (error of the current model on g - error of h on g) = mean_i 1[i in g] (e(current, i) - e(h, i)),

a mean of terms in {-1, 0, 1}. A submission is accepted when a one-sided lower confidence bound of G (the empirical
Bernstein bound of Maurer and Pontil 2009, valid for any n, not a normal approximation) is at least ``margin``. The submitter
learns accept or reject and nothing else. With a budget of B verifications, the transcript a submitter sees is at most B
bits, so each verification is made at level ``alpha / 2**B``: however the submissions adapt to earlier answers, the chance
that any of them is accepted without a real gain of ``margin`` is at most ``alpha`` (the description-length argument behind
Blum and Hardt's Ladder). When the budget is spent, the holdout is retired. An accepted submission updates the model to
the decision list "if g then h else the current model"; :class:`DecisionList` is that model as a scikit-learn estimator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay._errors import ConfigError, DataError
from assay.discover._codes import group_mask

__all__ = ["Bounty", "DecisionList", "Verdict", "lower_bound"]


@dataclass
class Verdict:
    """What a submitter learns: accepted or not, and how many verifications the holdout has left."""

    accepted: bool
    budget_left: int


@dataclass
class _Decision:
    conditions: list[dict[str, Any]]
    accepted: bool
    gain: float
    lower_bound: float
    level: float
    group_rows: int


@dataclass
class Bounty:
    """A bounty over a holdout: the current model, the rule for accepting, and every decision (the owner's record).

    ``predict`` functions map a table to 0/1 decisions; ``label`` names the holdout's label column and ``positive`` its
    positive values. ``margin`` is the least gain (share of the group x error reduction on it) worth accepting.
    """

    holdout: Any
    label: str
    positive: Sequence[Any]
    current: Callable[[Any], Any]
    margin: float = 0.001
    alpha: float = 0.05
    budget: int = 10
    decisions: list[_Decision] = field(default_factory=list)
    accepted: list[tuple[list[dict[str, Any]], Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.label not in self.holdout.columns:
            raise DataError(f"the holdout has no label column {self.label!r}")
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or not 1 <= self.budget <= 40:
            raise ConfigError(f"budget must be a whole number from 1 to 40 verifications, got {self.budget!r}")
        if not 0 < self.alpha < 1 or not 0 <= self.margin < 1:
            raise ConfigError(f"alpha must be in (0, 1) and margin in [0, 1), got {self.alpha!r} and {self.margin!r}")
        self._y = np.asarray(self.holdout[self.label].isin(list(self.positive)))

    @property
    def level(self) -> float:
        """Each verification's level: alpha / 2^budget (a submitter's transcript is at most ``budget`` bits)."""
        return self.alpha / 2.0**self.budget

    @property
    def budget_left(self) -> int:
        return self.budget - len(self.decisions)

    def model(self) -> DecisionList:
        """The current model: the accepted submissions, newest first, in front of the original model."""
        return DecisionList(self.current, list(reversed(self.accepted)), positive=list(self.positive))

    def replay(self, decided: Iterable[Mapping[str, Any]], load: Callable[[Mapping[str, Any]], Any]) -> None:
        """Restore earlier decisions (each with group, accepted, gain, lower_bound, level, group_rows), in order: the budget they
        spent and the accepted models (``load(decision)`` gives one) in the current model."""
        for d in decided:
            self.decisions.append(_Decision(list(d["group"]), bool(d["accepted"]), d["gain"], d["lower_bound"], d["level"], d["group_rows"]))
            if d["accepted"]:
                self.accepted.append((list(d["group"]), load(d)))

    def verify_pending(self, pending: Iterable[Mapping[str, Any]], load: Callable[[Mapping[str, Any]], Any]) -> list[dict[str, Any]]:
        """Verify submissions (each with its number as ``submission`` and its group) in order while the budget lasts; the decisions,
        with the owner's figures."""
        out = []
        for p in pending:
            if self.budget_left <= 0:
                break
            verdict = self.verify(p["group"], load(p))
            d = self.decisions[-1]
            out.append({"submission": p["submission"], "group": d.conditions, "accepted": verdict.accepted, "gain": d.gain, "lower_bound": d.lower_bound,
                        "level": d.level, "group_rows": d.group_rows, "budget_left": verdict.budget_left})  # fmt: skip
        return out

    def verify(self, conditions: Sequence[dict[str, Any]], model: Any) -> Verdict:
        """Verify a submission: the group's ``conditions`` and the ``model`` (anything with ``predict``, or a function)."""
        if self.budget_left <= 0:
            raise ConfigError(f"this holdout's budget of {self.budget} verifications is spent: start a new bounty on fresh holdout data")
        inside = group_mask(self.holdout, list(conditions))
        current = _decisions(self.model().predict, self.holdout, "the current model", self.positive)
        theirs = _decisions(model.predict if hasattr(model, "predict") else model, self.holdout, "the submitted model", self.positive)
        terms = inside * ((current != self._y).astype(np.float64) - (theirs != self._y).astype(np.float64))
        gain = float(terms.mean()) if len(terms) else 0.0
        bound = lower_bound(terms, self.level)
        ok = bool(inside.any() and bound >= self.margin)
        self.decisions.append(_Decision(list(conditions), ok, gain, bound, self.level, int(inside.sum())))
        if ok:
            self.accepted.append((list(conditions), model))
        return Verdict(ok, self.budget_left)


def lower_bound(terms: np.ndarray, delta: float, value_range: float = 2.0) -> float:
    """A one-sided lower confidence bound, at level ``delta``, of the mean of independent terms in an interval of width
    ``value_range``: the empirical Bernstein bound (Maurer and Pontil 2009, Theorem 4, one-sided: ln(1/delta) for ln(2/delta))."""
    n = len(terms)
    if n < 2:
        return -math.inf
    log = math.log(1.0 / delta)
    variance = float(np.var(terms, ddof=1))
    return float(terms.mean()) - math.sqrt(2.0 * variance * log / n) - 7.0 * value_range * log / (3.0 * (n - 1))


def _decisions(predict: Callable[[Any], Any], frame: Any, what: str, positive: Sequence[Any]) -> np.ndarray:
    """0/1 decisions of a model: 0/1 (or booleans) as they are; labels (texts) 1 where they are one of the positive values."""
    try:
        out = np.asarray(predict(frame))
    except Exception as e:  # noqa: BLE001  (any model error, one line)
        raise DataError(f"{what} could not score the holdout: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    if out.shape != (len(frame),):
        raise DataError(f"{what} returned shape {out.shape} for {len(frame)} rows; a bounty needs one 0/1 decision per row")
    if out.dtype.kind in "OUS" and len(out) and np.isin(out, list(positive)).any():
        return np.isin(out, list(positive))
    if out.dtype.kind not in "biuf" or not np.isin(out, (0, 1)).all():
        raise DataError(
            f"{what} returned decisions such as {out[:3].tolist()}; a bounty needs 0/1 decisions or the label's values (positive: {list(positive)})"
        )
    return out.astype(bool)


class DecisionList:
    """``if g_1 then h_1 elif g_2 then h_2 ... else base``: a scikit-learn-style estimator of 0/1 decisions (``predict``)."""

    def __init__(self, base: Any, rules: list[tuple[list[dict[str, Any]], Any]], positive: Sequence[Any] = (1, True)) -> None:
        self.base = base
        self.rules = rules
        self.positive = list(positive)

    def predict(self, frame: Any) -> np.ndarray:
        base = self.base.predict if hasattr(self.base, "predict") else self.base
        out = _decisions(base, frame, "the original model", self.positive)
        decided = np.zeros(len(frame), dtype=bool)
        for conditions, model in self.rules:
            inside = group_mask(frame, conditions) & ~decided
            if inside.any():
                h = model.predict if hasattr(model, "predict") else model
                out[inside] = _decisions(h, frame[inside], "an accepted model", self.positive)
            decided |= inside
        return out.astype(np.int64)

    def fit(self, X: Any = None, y: Any = None) -> DecisionList:  # noqa: N803  (scikit-learn's names)
        return self  # fitted by the bounty: each part was fitted by whoever submitted it

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"base": self.base, "rules": self.rules, "positive": self.positive}
