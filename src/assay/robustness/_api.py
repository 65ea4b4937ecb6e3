"""``check_robustness``: the flip test, perturbation stability and the FlipTest of one model on one table."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from assay._errors import ConfigError, DataError

__all__ = ["check_robustness", "decision_function"]


def decision_function(model: Any, threshold: float = 0.5) -> tuple[Callable[[Any], np.ndarray], Callable[[Any], np.ndarray]]:
    """(decide, score): the model's score of the positive (last) class, and its decision, score > ``threshold``."""
    from assay.explain._model import as_model_function, guarded

    fn = guarded(as_model_function(model, output="probability" if hasattr(model, "predict_proba") else "auto"))

    def decide(frame: Any) -> np.ndarray:
        return np.asarray(fn.predict(frame), dtype=np.float64) > threshold

    return decide, fn.predict


def check_robustness(data: Any, model: Any, *, sensitive: str, features: Sequence[str], proxies: Sequence[str | Mapping[str, Any]] = (),
                     facets: Sequence[str] | None = None, threshold: float = 0.5, max_rows: int = 5000, draws: int = 50,
                     noise: float = 0.1, swap_rate: float = 0.05, replicates: int = 20, fliptest: bool = True,
                     fliptest_rows: int = 2000, confidence_level: float = 0.95, seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """All three checks on a seeded sample of at most ``max_rows`` rows of ``data`` (a table with the model's ``features``, the
    sensitive attribute and the ``facets``); the section ``robustness`` of analysis.json."""
    import pandas as pd

    from assay.robustness._changes import parse_changes
    from assay.robustness._flips import counterfactual_flips
    from assay.robustness._fliptest import fliptest_ot
    from assay.robustness._stability import perturbation_stability

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    facets = list(facets) if facets else [sensitive]
    for c in [*features, sensitive, *facets]:
        if c not in frame.columns:
            raise DataError(f"the data has no column {c!r}")
    if not 0 < threshold < 1 and hasattr(model, "predict_proba"):
        raise ConfigError(f"probability_threshold must be between 0 and 1, got {threshold!r}")
    rng = np.random.default_rng([seed, 23])
    take = np.sort(rng.choice(len(frame), max_rows, replace=False)) if len(frame) > max_rows else np.arange(len(frame))
    sample = frame.iloc[take].reset_index(drop=True)
    inputs = sample[list(features)]
    decide, score = decision_function(model, threshold)
    changes = parse_changes(sample, sensitive, proxies)
    outside = [c.column for c in changes if c.column not in features]
    out: dict[str, Any] = {"model": type(model).__name__, "threshold": threshold, "rows": len(sample), "of_rows": len(frame),
                           "seed": seed, "warnings": []}  # fmt: skip
    if outside:
        out["warnings"].append(f"the model does not read {', '.join(map(repr, outside))}: changing it cannot flip a decision")
    in_model = [c for c in changes if c.column in features]
    groups = sample[sensitive].astype(str).to_numpy()
    if in_model:
        out["flips"] = counterfactual_flips(inputs, model, decide, score(inputs), in_model, sensitive=sensitive, groups=groups, draws=draws,
                                            confidence_level=confidence_level, seed=seed)  # fmt: skip
    else:
        out["flips"] = {"sensitive": sensitive, "changes": [c.to_dict() for c in changes], "sets": [],
                        "reason": f"the model reads none of {', '.join(repr(c.column) for c in changes)}: no change to them can flip a decision"}  # fmt: skip
    with_groups = pd.concat([inputs, sample[[f for f in facets if f not in inputs.columns]]], axis=1)
    out["stability"] = perturbation_stability(
        with_groups, lambda t: decide(t[list(features)]), features=list(features), facets=facets, noise=noise, swap_rate=swap_rate,
        replicates=replicates, confidence_level=confidence_level, seed=seed,
    )  # fmt: skip
    if fliptest:
        predicted = decide(inputs)
        table = pd.concat([inputs, sample[[sensitive]]], axis=1) if sensitive not in inputs.columns else inputs
        out["fliptest"] = {"facet": sensitive, "features": [c for c in features if c != sensitive],
                           "by_group": fliptest_ot(table, predicted, facet=sensitive, features=features, max_rows=fliptest_rows,
                                                   confidence_level=confidence_level, seed=seed)}  # fmt: skip
    return out
