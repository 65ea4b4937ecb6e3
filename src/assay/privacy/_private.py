"""What differential privacy costs an audit: for each epsilon, how far the private audit's metrics fall from the exact ones.

The data are counted once; the exact audit and ``runs`` private releases per epsilon are computed from those counts (each
release is OpenDP's discrete Laplace on every cell of the public domain, as ``assay.audit(..., differential_privacy=)``
releases it). For every metric: the median and 90th percentile of |private - exact| over its values and runs, the median width
of the private interval beside the exact one's, and how often the private interval holds the exact value. The table reads the
exact counts, so it is for choosing epsilon on data one may see, not itself a private release.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from assay._errors import ConfigError

__all__ = ["epsilon_accuracy"]

DEFAULT_EPSILONS = (0.1, 0.3, 1.0, 3.0, 10.0)


def epsilon_accuracy(data: Any, *, domain: Mapping[str, Sequence[Any]], epsilons: Sequence[float] = DEFAULT_EPSILONS, runs: int = 10,
                     neighbouring: str = "add_remove", **audit_settings: Any) -> dict[str, Any]:  # fmt: skip
    """The accuracy-against-epsilon table of the audit that ``audit_settings`` (:func:`assay.audit`'s keywords) ask for."""
    from assay.bias._audit import counted
    from assay.bias._settings import DifferentialPrivacy, spec_of

    if not epsilons or any(isinstance(e, bool) or not isinstance(e, (int, float)) or not e > 0 for e in epsilons):
        raise ConfigError(f"epsilons must be a non-empty list of positive numbers, got {list(epsilons)!r}")
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ConfigError(f"runs must be a whole number of at least 1, got {runs!r}")
    spec = spec_of({**audit_settings, "differential_privacy": None})
    audit_from_counts = counted(data, spec)
    exact = _flat(audit_from_counts(None).to_dict())
    rows: list[dict[str, Any]] = []
    settings: dict[str, Any] = {}
    for eps in epsilons:
        found: dict[str, list[tuple[float | None, float | None, float | None, float | None]]] = defaultdict(list)
        for _ in range(runs):
            release = audit_from_counts(DifferentialPrivacy(epsilon=float(eps), domain={k: list(v) for k, v in domain.items()},
                                                            neighbouring=neighbouring))  # type: ignore[arg-type]  # fmt: skip
            doc = release.to_dict()
            settings = doc["settings"]["differential_privacy"]
            private = _flat(doc)
            for key, (value, _, _) in exact.items():
                got = private.get(key, (None, None, None))
                found[key[0]].append((value, *got))
        for metric, pairs in found.items():
            if all(v is None for v, *_ in pairs):  # never defined for this data (CDDL without a group variable): no row
                continue
            rows.append(_row(float(eps), metric, pairs, [exact[k] for k in exact if k[0] == metric]))
    return {"epsilons": [float(e) for e in epsilons], "runs": runs, "neighbouring": neighbouring, "mechanism": settings.get("mechanism"),
            "rows": rows, "note": "computed from the exact counts: for choosing epsilon on data you may see; not itself a private release"}  # fmt: skip


def _row(eps: float, metric: str, pairs: list[tuple[Any, Any, Any, Any]], exact: list[tuple[Any, Any, Any]]) -> dict[str, Any]:
    """One metric at one epsilon: errors where both are defined, interval widths, how often the private interval holds the exact value."""
    both = [(v, p, lo, hi) for v, p, lo, hi in pairs if v is not None and p is not None]
    err = np.array([abs(p - v) for v, p, _, _ in both])
    widths = np.array([hi - lo for _, _, lo, hi in both if lo is not None and hi is not None])
    held = [lo <= v <= hi for v, _, lo, hi in both if lo is not None and hi is not None]
    exact_w = np.array([hi - lo for _, lo, hi in exact if lo is not None and hi is not None])
    defined = sum(v is not None for v, *_ in pairs)

    def q(x: np.ndarray, p: float) -> float | None:
        return float(np.quantile(x, p)) if len(x) else None

    return {"epsilon": eps, "metric": metric, "values": len(exact), "median_abs_error": q(err, 0.5), "p90_abs_error": q(err, 0.9),
            "median_ci_width": q(widths, 0.5), "exact_median_ci_width": q(exact_w, 0.5),
            "exact_in_interval": float(np.mean(held)) if held else None,
            "undefined_share": (1 - len(both) / defined) if defined else None}  # fmt: skip


def _flat(doc: Mapping[str, Any]) -> dict[tuple[Any, ...], tuple[float | None, float | None, float | None]]:
    """Every metric value of an analysis.json: (metric, stage, facet, facet value, class) -> (value, ci low, ci high)."""
    out = {}
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        for facet, values in (doc.get(stage) or {}).get("facets", {}).items():
            for fv in values:
                for m in fv["metrics"]:
                    ci = m.get("ci") or [None, None]
                    key = (m["name"], stage, facet, str(fv["value_or_threshold"]), str(m.get("label_value")))
                    out[key] = (m.get("value"), ci[0], ci[1])
    return out
