"""`assay.discover`: subgroups where a model does worse than on the rest, found on one part of the rows and confirmed on the other.

The rows are split at random (seeded) into discovery and confirmation rows. The search (:mod:`assay.discover._search`) counts
every conjunction of conditions up to ``max_depth`` on the discovery rows; the ``max_tests`` slices with the smallest
one-sided p-values there (at most those below ``select_alpha``) are the hypotheses. Each is then tested on the confirmation
rows alone, which played no part in choosing it: its measure against the rest's (one-sided Fisher exact test), Wilson's
interval for its measure and Newcombe's for the difference, and Benjamini-Yekutieli (or Benjamini-Hochberg) over the
hypotheses, so the expected share of reported subgroups that are not worse than the rest is at most ``alpha``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay._errors import ConfigError, DataError, did_you_mean, list_some
from assay.discover._codes import Encoded, encode
from assay.discover._search import Counted, Slice, search

__all__ = ["MEASURES", "REGISTRY", "DiscoverResult", "discover"]

# measure -> (which rows it is measured on, the outcome of a row, how a subgroup is worse: "bad" a higher rate of bad outcomes,
# "good" a lower rate of good ones, "higher" a higher mean, "either" a mean that differs from the rest's in either direction)
MEASURES: dict[str, tuple[str, str, str]] = {
    "error_rate": ("all labelled rows", "the decision differs from the label", "bad"),
    "false_positive_rate": ("rows whose label is negative", "the decision is positive", "bad"),
    "false_negative_rate": ("rows whose label is positive", "the decision is negative", "bad"),
    "false_discovery_rate": ("rows whose decision is positive", "the label is negative", "bad"),
    "false_omission_rate": ("rows whose decision is negative", "the label is positive", "bad"),
    "selection_rate": ("all rows", "the decision is negative (a lower selection rate is worse)", "good"),
    "label_rate": ("all labelled rows", "the label is negative (a lower share of positive labels is worse; no model needed)", "good"),
    "log_loss": ("all labelled rows", "the log loss -[y ln p + (1 - y) ln(1 - p)] of the probability p (clipped to [1e-15, 1 - 1e-15])", "higher"),
    "brier_score": ("all labelled rows", "the squared difference (p - y)^2 between the probability and the 0/1 label", "higher"),
    "calibration_error": (
        "all labelled rows",
        "y - p: the measure is the share of positive labels minus the mean probability (calibration in "
        "the large; above 0 the model under-predicts), worse when it differs from the rest's in either direction",
        "either",
    ),
}
# the registry's metrics of a facet against the rest that are differences of one of these rates (the subgroup as facet d)
REGISTRY = {"DPL": "label_rate", "DPPL": "selection_rate", "AD": "error_rate", "RD": "false_negative_rate", "SD": "false_positive_rate",
            "DAR": "false_discovery_rate", "DRR": "false_omission_rate"}  # fmt: skip
MEANS = {m for m, (_, _, kind) in MEASURES.items() if kind in ("higher", "either")}  # measured by a mean of the outcome, not a rate


@dataclass
class DiscoverResult:
    """The subgroups tested on the confirmation rows (``subgroups``, best first), and how they were found."""

    measure: str
    subgroups: list[dict[str, Any]]
    settings: dict[str, Any]
    hypotheses: dict[str, Any]
    overall: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def found(self) -> list[dict[str, Any]]:
        """The subgroups confirmed at the false discovery rate ``alpha``."""
        return [s for s in self.subgroups if s["confirmed"]]

    def to_dict(self) -> dict[str, Any]:
        return {"measure": self.measure, "definition": MEASURES[self.measure][:2], "overall": self.overall, "hypotheses": self.hypotheses,
                "settings": self.settings, "subgroups": self.subgroups, "warnings": self.warnings}  # fmt: skip

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([{"subgroup": s["text"], "rows": s["confirmation"]["rows"], "measure": s["confirmation"]["value"],
                              "rest": s["confirmation"]["rest_value"], "difference": s["confirmation"]["difference"],
                              "ci_low": s["confirmation"]["difference_ci"][0], "ci_high": s["confirmation"]["difference_ci"][1],
                              "q_value": s["q_value"], "confirmed": s["confirmed"]} for s in self.subgroups])  # fmt: skip


def discover(
    data: Any,
    *,
    label: str,
    label_values_or_threshold: Any,
    predicted_label: str | None = None,
    probability: str | None = None,
    probability_threshold: float = 0.5,
    measure: str = "error_rate",
    columns: Sequence[str] | None = None,
    max_depth: int = 3,
    min_support: int | None = None,
    bins: int = 4,
    confirm_fraction: float = 0.5,
    alpha: float = 0.05,
    select_alpha: float = 0.05,
    max_tests: int = 100,
    confidence_level: float = 0.95,
    correction: str = "by",
    seed: int = 0,
    max_discovery_rows: int = 1_000_000,
) -> DiscoverResult:
    """Find subgroups (conjunctions of up to ``max_depth`` conditions on ``columns``) where ``measure`` is worse than in the rest.

    ``columns`` default to every column but the label and the predictions. Numbers are cut into ``bins`` quantile bins.
    ``min_support`` (default: 1% of the discovery rows, at least 30) is the fewest rows a subgroup needs among the discovery
    rows. ``confirm_fraction`` of the rows are kept apart to test what the search found; ``alpha`` is the false discovery rate
    of the confirmed subgroups, controlled by Benjamini-Yekutieli (``correction="by"``, valid under any dependence between the
    overlapping subgroups' tests) or Benjamini-Hochberg (``"bh"``: more power, valid under positive dependence only; on
    errors at random it reported a subgroup in 6.3% of 300 seeds at alpha 0.05).

    ``data`` is any table assay reads, or a PySpark DataFrame: then the rows are split in Spark (by a seeded hash of each row),
    at most ``max_discovery_rows`` of the discovery rows (a seeded sample of them) are searched on the driver, and the chosen
    subgroups are tested on every confirmation row by one pass in Spark.
    """
    if correction not in ("by", "bh"):
        raise ConfigError(f"correction must be by (Benjamini-Yekutieli) or bh (Benjamini-Hochberg), got {correction!r}")
    measure = _measure(measure)
    _check(measure, max_depth, confirm_fraction, alpha, select_alpha, max_tests, confidence_level)
    opts = {"max_depth": max_depth, "min_support": min_support, "bins": bins, "confirm_fraction": confirm_fraction, "alpha": alpha,
            "select_alpha": select_alpha, "max_tests": max_tests, "confidence_level": confidence_level, "correction": correction, "seed": seed}  # fmt: skip
    outcome = functools.partial(_outcomes, measure=measure, label=label, values=label_values_or_threshold, predicted=predicted_label,
                                probability=probability, threshold=probability_threshold)  # fmt: skip
    from assay.spark import is_spark

    if is_spark(data):
        from assay.discover._spark import discover_spark

        roles = [c for c in (label, predicted_label, probability) if c is not None]
        got = discover_spark(data, roles, columns, outcome, opts, max_discovery_rows, lambda enc, rows, y: chosen_slices(enc, rows, y, measure, opts))
        o = got["overall"]
        enough(o["discovery_rows"], o["confirmation_rows"], o["rows"], measure)
        found = result(got["enc"], got["counted"], got["chosen"], got["p_d"], got["parts"], got["total"], measure, opts, o)
        found.settings |= got["settings"]
        found.warnings[:0] = got["warnings"]
        return found
    frame, cols = _frame(data, label, predicted_label, probability, columns)
    eligible, y = outcome(frame)
    enc = encode(frame, cols, bins)
    confirm = np.random.default_rng([seed, 7]).random(len(frame)) < confirm_fraction  # [seed, 7]: not the stream a plain seed gives
    d_rows, c_rows = np.flatnonzero(eligible & ~confirm), np.flatnonzero(eligible & confirm)
    del frame  # the codes hold what the search needs: the table need not stay in memory through it
    enough(len(d_rows), len(c_rows), int(eligible.sum()), measure)
    counted, chosen, p_d = chosen_slices(enc, d_rows, y[d_rows], measure, opts)
    yc = y[c_rows].astype(np.float64)
    parts = []
    for sl in chosen:
        inside = np.ones(len(c_rows), dtype=bool)
        for j, v in sl:
            inside &= enc.codes[j][c_rows] == v
        parts.append((float(yc[inside].sum()), float((yc[inside] ** 2).sum()), float(inside.sum())))
    overall = {"rows": int(eligible.sum()), "sum": float(y[eligible].sum()), "discovery_rows": len(d_rows), "confirmation_rows": len(c_rows)}
    return result(enc, counted, chosen, p_d, parts, (float(yc.sum()), float((yc * yc).sum()), float(len(c_rows))), measure, opts, overall)


def enough(discovery: int, confirmation: int, eligible: int, measure: str) -> None:
    if discovery < 2 or confirmation < 2:
        raise DataError(f"too few rows to measure {measure} on ({eligible}: {MEASURES[measure][0]}) to split into discovery and confirmation")


def chosen_slices(enc: Encoded, rows: np.ndarray, y: np.ndarray, measure: str, opts: dict[str, Any]) -> tuple[Counted, list[Slice], dict[Slice, float]]:
    """The search on the discovery rows (``rows``, their outcomes ``y``) and the slices it chooses to test, with their p-values there."""
    if opts["min_support"] is None:  # the default: 1% of the discovery rows, at least 30
        opts["min_support"] = max(30, int(0.01 * len(rows)))
    counted = search(enc, rows, y, max_depth=opts["max_depth"], min_support=opts["min_support"],
                     alpha=opts["select_alpha"] if measure not in MEANS else None)  # fmt: skip
    chosen, p_d = _select(counted, opts["select_alpha"], opts["max_tests"], MEASURES[measure][2])
    return counted, chosen, p_d


def result(enc: Encoded, counted: Counted, chosen: list[Slice], p_d: dict[Slice, float], parts: list[tuple[float, float, float]],
           total: tuple[float, float, float], measure: str, opts: dict[str, Any], overall: dict[str, Any]) -> DiscoverResult:  # fmt: skip
    """The result from the chosen slices' (sum, sum of squares, rows) of the outcome on the confirmation rows (``parts``, ``total``
    for all of them); ``overall`` holds the rows and the outcome's ``sum`` over every row measured."""
    kind = MEASURES[measure][2]
    subgroups = _confirm(enc, chosen, counted, p_d, parts, total, measure, opts["alpha"], opts["confidence_level"], opts["correction"])
    n, k = overall.pop("rows"), overall.pop("sum")
    overall = {"rows": n, "value": None if n == 0 else (1 - k / n if kind == "good" else k / n), **overall}
    settings = {"columns": enc.columns, **opts}
    hypotheses = {"searched": len(counted.slices), "searched_per_depth": counted.per_level, "tested": len(chosen),
                  "correction": ("Benjamini-Yekutieli" if opts["correction"] == "by" else "Benjamini-Hochberg") + " over the tested subgroups, "
                                + {"bad": "one-sided Fisher exact tests", "good": "one-sided Fisher exact tests", "higher": "one-sided Welch t-tests",
                                   "either": "two-sided Welch t-tests"}[kind] + " on confirmation rows that did not choose them",
                  "intervals": "Wilson's interval for the measure, Newcombe's for the difference" if kind in ("bad", "good")
                               else "Student's t interval for the measure, Welch's for the difference"}  # fmt: skip
    worse = "a different" if kind == "either" else "a worse"
    warnings = (
        [] if chosen else [f"no subgroup of at least {opts['min_support']} discovery rows had {worse} {measure} than the rest at p < {opts['select_alpha']}"]
    )
    return DiscoverResult(measure, subgroups, settings, hypotheses, overall, warnings)


def _measure(name: Any) -> str:
    """A measure by its name, or by the registry metric it is the difference of (DPPL is selection_rate's); other metrics refused."""
    if name in MEASURES:
        return str(name)
    if name in REGISTRY:
        return REGISTRY[name]
    from assay.bias import METRICS

    if isinstance(name, str) and name in METRICS:
        raise ConfigError(f"metric {name} is not a difference of rates between a subgroup and the rest, so it cannot be searched; the registry's "
                          f"metrics that can: {', '.join(f'{k} ({v})' for k, v in REGISTRY.items())}")  # fmt: skip
    return str(name)  # refused by _check, with the names it takes


def _check(measure: str, depth: Any, fraction: Any, alpha: Any, select_alpha: Any, max_tests: Any, level: Any) -> None:
    if measure not in MEASURES:
        raise ConfigError(f"measure must be one of {', '.join(MEASURES)} (or {', '.join(REGISTRY)}), got {measure!r}.{did_you_mean(measure, list(MEASURES))}")
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 6:
        raise ConfigError(f"max_depth must be a whole number from 1 to 6, got {depth!r}")
    for name, v in (("confirm_fraction", fraction), ("alpha", alpha), ("select_alpha", select_alpha), ("confidence_level", level)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1:
            raise ConfigError(f"{name} must be a number between 0 and 1, got {v!r}")
    if isinstance(max_tests, bool) or not isinstance(max_tests, int) or max_tests < 1:
        raise ConfigError(f"max_tests must be a whole number of at least 1, got {max_tests!r}")


def _frame(data: Any, label: str, predicted: str | None, probability: str | None, columns: Sequence[str] | None) -> tuple[Any, list[str]]:
    import pandas as pd

    if predicted is not None and probability is not None:
        raise ConfigError("give the model's decisions as predicted_label, or its scores as probability (one of them, not both)")
    frame = data if isinstance(data, pd.DataFrame) else _to_pandas(data)
    names = [str(c) for c in frame.columns]
    roles = [c for c in (label, predicted, probability) if c is not None]
    cols = list(columns) if columns is not None else [c for c in names if c not in roles]
    for c in [*roles, *cols]:
        if c not in names:
            raise DataError(f"the data has no column {c!r}.{did_you_mean(c, names)} Columns: {list_some(names, 20)}")
    if not cols:
        raise ConfigError("no columns to define subgroups by")
    return frame, cols


def _to_pandas(data: Any) -> Any:
    from assay._tabulate import as_frame

    return as_frame(data).collect().to_pandas()


def _outcomes(frame: Any, *, measure: str, label: str, values: Any, predicted: str | None, probability: str | None,
              threshold: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Which rows the measure is measured on, and the outcome of every row: 0 or 1 (bad) for a rate, the loss or the residual for a mean."""
    import pandas as pd

    def positive(col: Any) -> np.ndarray:
        if isinstance(values, (int, float)) and not isinstance(values, bool):
            return np.asarray(pd.to_numeric(col, errors="coerce") > values)
        wanted = values if isinstance(values, list) else [values]
        return np.asarray(col.isin(wanted))

    labelled = np.asarray(frame[label].notna())
    y = positive(frame[label])
    if measure in MEANS and probability is None:
        raise ConfigError(f"measure {measure} needs the model's probabilities: give probability (a column of scores in [0, 1])")
    if measure == "label_rate":
        return labelled, ~y & labelled
    if predicted is None and probability is None:
        raise ConfigError(f"measure {measure} needs the model's decisions: give predicted_label, or its scores as probability")
    if probability is not None:
        score = pd.to_numeric(frame[probability], errors="coerce")
        if score.isna().any():
            raise DataError(f"probability column {probability!r} has {int(score.isna().sum())} values that are not numbers")
        decision = np.asarray(score > threshold)
    else:
        decision = positive(frame[str(predicted)])
    if measure in MEANS:
        return labelled, _mean_outcome(measure, np.asarray(score, dtype=np.float64), y.astype(np.float64), probability)
    if measure == "error_rate":
        return labelled, (decision != y) & labelled
    if measure == "false_positive_rate":
        return labelled & ~y, decision
    if measure == "false_negative_rate":
        return labelled & y, ~decision
    if measure == "false_discovery_rate":
        return labelled & decision, ~y
    if measure == "false_omission_rate":
        return labelled & ~decision, y
    return np.ones(len(frame), dtype=bool), ~decision


def _mean_outcome(measure: str, p: np.ndarray, y: np.ndarray, column: str | None) -> np.ndarray:
    if ((p < 0) | (p > 1)).any():
        bad = p[(p < 0) | (p > 1)]
        raise DataError(f"probability column {column!r} has values outside [0, 1] (such as {bad[0]:g}); {measure} needs probabilities")
    if measure == "log_loss":
        q = np.clip(p, 1e-15, 1 - 1e-15)
        return -(y * np.log(q) + (1 - y) * np.log(1 - q))
    return (p - y) ** 2 if measure == "brier_score" else y - p


def _select(counted: Counted, select_alpha: float, max_tests: int, kind: str) -> tuple[list[Slice], dict[Slice, float]]:
    """The slices worse than the rest on the discovery rows (for a rate a one-sided pooled z-test, for a mean Welch's z, two-sided
    when the mean may differ either way), p below ``select_alpha``, smallest p first."""
    from scipy.stats import norm

    n, k, k2 = np.asarray(counted.n), np.asarray(counted.k), np.asarray(counted.k2)
    rest_n, rest_k = counted.total_n - n, counted.total_k - k
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind in ("bad", "good"):
            pooled = counted.total_k / counted.total_n
            z = (k / n - rest_k / rest_n) / np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / rest_n))
        else:
            rest_k2 = counted.total_k2 - k2
            var = lambda s, q, m: np.maximum(q - s * s / m, 0.0) / (m - 1) / m  # noqa: E731  (the variance of a mean)
            z = (k / n - rest_k / rest_n) / np.sqrt(var(k, k2, n) + var(rest_k, rest_k2, rest_n))
            z = np.abs(z) if kind == "either" else z
    p = np.where(np.isfinite(z), norm.sf(z) * (2 if kind == "either" else 1), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        size = k / np.maximum(n, 1) if kind in ("bad", "good") else np.abs(k / np.maximum(n, 1) - rest_k / np.maximum(rest_n, 1))
    order = np.lexsort((-size, p))
    chosen = [counted.slices[i] for i in order[:max_tests] if p[i] < select_alpha]
    return chosen, {counted.slices[i]: float(p[i]) for i in order[: len(chosen)]}


def _confirm(enc: Encoded, chosen: list[Slice], counted: Counted, p_d: dict[Slice, float], parts: list[tuple[float, float, float]],
             total: tuple[float, float, float], measure: str, alpha: float, level: float, correction: str) -> list[dict[str, Any]]:  # fmt: skip
    """Each chosen slice tested on the confirmation rows; q-values over them; best (smallest q, then largest difference) first."""
    from assay.stats import benjamini_hochberg, benjamini_yekutieli

    kind = MEASURES[measure][2]
    index = {s: i for i, s in enumerate(counted.slices)}
    out: list[dict[str, Any]] = []
    for s, part in zip(chosen, parts):
        p, value, rest, (lo, hi), (dlo, dhi) = _tested(part, total, kind, level)
        n = part[2]
        i = index[s]
        d_n, d_k = counted.n[i], counted.k[i]
        good = kind == "good"
        out.append({
            "conditions": [enc.conditions[j][v].to_dict() for j, v in s],
            "text": " and ".join(enc.conditions[j][v].text() for j, v in s),
            "depth": len(s),
            "discovery": {"rows": int(d_n), "value": (1 - d_k / d_n) if good else d_k / d_n, "p_value": p_d[s]},
            "confirmation": {"rows": int(n), "rest_rows": int(total[2] - n), "value": value, "ci": [lo, hi], "rest_value": rest,
                             "difference": None if value is None or rest is None else value - rest, "difference_ci": [dlo, dhi],
                             "p_value": p, **({} if p is not None else {"reason": "no confirmation row is in this subgroup" if not n else
                                                                        "too few confirmation rows in the subgroup or the rest to test"})},
        })  # fmt: skip
    adjust = benjamini_yekutieli if correction == "by" else benjamini_hochberg
    qs = adjust([g["confirmation"]["p_value"] for g in out])
    for g, q in zip(out, qs):
        g["q_value"] = q
        g["confirmed"] = q is not None and q <= alpha
    out.sort(key=lambda g: (g["q_value"] if g["q_value"] is not None else 2.0, -abs(g["confirmation"]["difference"] or 0.0)))
    return out


Interval = tuple[float | None, float | None]


def _tested(
    part: tuple[float, float, float], total: tuple[float, float, float], kind: str, level: float
) -> tuple[float | None, float | None, float | None, Interval, Interval]:
    """A subgroup against the rest on the confirmation rows, from (sum, sum of squares, rows) of the outcome: the p-value, the
    measure in the subgroup and in the rest, its interval and the interval of the difference. A rate: Fisher's exact test,
    Wilson's and Newcombe's intervals (a rate of good outcomes turned around); a mean: Welch's t-test and t intervals."""
    from assay.stats import greater_proportion, mean_interval, newcombe_difference, welch, wilson_interval

    (k, _, n), (total_k, _, total_n) = part, total
    rest = (total[0] - part[0], total[1] - part[1], total_n - n)
    value, rest_value = (k / n if n else None), (rest[0] / rest[2] if rest[2] else None)
    if kind in ("higher", "either"):
        p, diff = welch(part, rest, level, alternative="greater" if kind == "higher" else "two-sided")
        return p, value, rest_value, mean_interval(*part, level), diff
    p = greater_proportion(k, n, total_k - k, total_n - n)
    lo, hi = wilson_interval(k, n, level)
    dlo, dhi = newcombe_difference(k, n, total_k - k, total_n - n, level)
    if kind == "good":  # report the rate of good outcomes: the interval and the difference turn around
        value, rest_value = (None if value is None else 1 - value), (None if rest_value is None else 1 - rest_value)
        lo, hi = (None if hi is None else 1 - hi), (None if lo is None else 1 - lo)
        dlo, dhi = (None if dhi is None else -dhi), (None if dlo is None else -dlo)
    return p, value, rest_value, (lo, hi), (dlo, dhi)
