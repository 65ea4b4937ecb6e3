"""Model quality and bias of a window of predictions, and their drift from a baseline.

A monitoring config names the columns (Clarify's keys where they exist):
``label``, ``label_values_or_threshold``, ``predicted_label`` or ``probability``
(+ ``probability_threshold``), ``facet``, and assay's ``id``, ``timestamp``,
``ground_truth`` ({``dataset_uri``, ``id``, ``label``}: labels that arrive later,
joined on the id), ``model_quality_constraints`` (Model Monitor's
``{metric: {threshold, comparison_operator}}``) and ``monitor``
({``alpha``, ``bootstrap_replicates``, ``min_quality_change``, ``window``, ``alerts``}).

Bias drift: every bias metric of the window against the baseline's value, a
z-test of the change from the two bootstrap intervals, Benjamini-Hochberg
across the metrics; flagged when the change is significant and the value is
further from parity than the baseline's (Model Monitor's rule for the
direction, with significance added).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay._config._models import AnalysisConfig
from assay._errors import ConfigError, DataError
from assay._undefined import undefined

__all__ = ["MonitorSpec", "bias_from_tensor", "compare_bias", "count_tensor", "merge_tensors", "model_figures"]

BIAS_METRICS = ["DPPL", "DI", "DCAcc", "DCR", "RD", "DAR", "DRR", "AD", "TE", "EqOddsD", "EqOppD", "FPRD", "FNRD"]


@dataclass
class MonitorSpec:
    label: str | None = None
    label_values: Any = None
    predicted_label: str | None = None
    probability: str | None = None
    probability_threshold: float = 0.5
    facets: list[Any] = field(default_factory=list)
    id: str | None = None
    timestamp: str | None = None
    ground_truth: dict[str, Any] | None = None
    quality_thresholds: dict[str, Any] = field(default_factory=dict)
    alpha: float = 0.05
    replicates: int = 1000
    confidence_level: float = 0.95
    seed: int = 0
    min_quality_change: float = 0.01
    window: str | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    base: str | None = None
    model: str | None = None
    model_trusted_types: list[str] = field(default_factory=list)
    use_logit: bool = False
    attribution_rows: int = 500
    ndcg_threshold: float = 0.9
    attribution_min_change: float = 0.25
    _loaded: Any = None

    def load_model(self) -> Any:
        if self._loaded is None and self.model is not None:
            from pathlib import Path

            from assay.explain import load_model

            self._loaded = load_model(str(self.model), base_dir=Path(self.base) if self.base else None, trusted=self.model_trusted_types)
        return self._loaded

    @property
    def has_model(self) -> bool:
        return self.label is not None and (self.predicted_label is not None or self.probability is not None)

    @property
    def task(self) -> str:
        return "regression" if self.label_values is None or (isinstance(self.label_values, (int, float)) and not isinstance(self.label_values, bool)
                                                              and self.predicted_label is not None and self.probability is None) else "binary"  # fmt: skip

    def facet_columns(self) -> list[str]:
        cols: list[str] = []
        for f in self.facets:
            name = f.get("name_or_index") if isinstance(f, dict) else f
            cols += [str(n) for n in name] if isinstance(name, list) else [str(name)]
        return list(dict.fromkeys(cols))

    def columns(self) -> list[str]:
        cols = [self.label, self.predicted_label, self.probability, self.id, self.timestamp, *self.facet_columns()]
        return [c for c in dict.fromkeys(cols) if c is not None]


def spec_from_config(cfg: AnalysisConfig) -> MonitorSpec:
    """The monitoring a checked config asks for (its ``monitor:`` section, the columns and the quality constraints)."""
    opts = cfg.monitor
    shap = cfg.methods.shap if cfg.methods is not None else None
    spec = MonitorSpec(
        label=cfg.label, label_values=cfg.label_values_or_threshold, predicted_label=cfg.predicted_label, probability=cfg.probability,
        probability_threshold=0.5 if cfg.probability_threshold is None else cfg.probability_threshold,
        facets=[f.model_dump(exclude_unset=True) for f in cfg.facet or []],  # as the audit takes them
        id=cfg.id, timestamp=cfg.timestamp, ground_truth=cfg.ground_truth.model_dump() if cfg.ground_truth else None,
        alpha=opts.alpha, replicates=opts.bootstrap_replicates, confidence_level=opts.confidence_level, seed=opts.seed,
        min_quality_change=opts.min_quality_change, window=opts.window, alerts=[a.model_dump(exclude_none=True) for a in opts.alerts], base=cfg.base,
        model=cfg.model, model_trusted_types=list(cfg.model_trusted_types), use_logit=bool(shap and shap.use_logit),
        attribution_rows=opts.attribution_rows, ndcg_threshold=opts.attribution_ndcg_threshold, attribution_min_change=opts.attribution_min_change,
    )  # fmt: skip
    from assay.monitor._quality import quality_constraints

    spec.quality_thresholds = quality_constraints(cfg.model_quality_constraints, spec.task)
    return spec


def read_columns(data: Any, spec: MonitorSpec, *, ground_truth: bool = True) -> Any:
    """The columns the model checks need, as pandas (files: only those columns are read), joined with the ground truth
    (``ground_truth=False`` for a baseline, whose labels are in the data)."""
    import dataclasses

    import pandas as pd

    from assay._tabulate import as_frame, read_dataset

    if not ground_truth:
        spec = dataclasses.replace(spec, ground_truth=None)
    cols = spec.columns()
    lazy = as_frame(data)
    have = set(lazy.collect_schema().names())
    wanted = [c for c in cols if c in have] if spec.model is None else sorted(have)  # attributions need the model's features too
    frame = lazy.select(*wanted).collect().to_pandas()
    optional = {spec.timestamp} | ({spec.id} if spec.ground_truth is None else set()) | ({spec.label} if spec.ground_truth is not None else set())
    if spec.probability is not None and spec.probability in frame.columns and not pd.api.types.is_numeric_dtype(frame[spec.probability]):
        raise DataError(f"probability column {spec.probability!r} must hold numeric scores, but holds {frame[spec.probability].dtype} "
                        f"values such as {frame[spec.probability].dropna().iloc[:1].tolist()}; name predicted labels in predicted_label")  # fmt: skip
    missing = [c for c in cols if c not in have and c not in optional]
    if missing:
        raise DataError(f"the data has no column(s) {', '.join(map(repr, missing))} named in the monitoring config; its columns: "
                        f"{', '.join(sorted(have))}")  # fmt: skip
    if spec.ground_truth is not None:
        gt_cfg = spec.ground_truth
        path = str(gt_cfg["dataset_uri"])
        import os

        if spec.base and not os.path.isabs(path) and not os.path.exists(path):
            path = os.path.join(spec.base, path)
        gt_id, gt_label = gt_cfg.get("id", spec.id), gt_cfg.get("label", spec.label)
        gt = as_frame(read_dataset(path)).collect().to_pandas()
        for c in (gt_id, gt_label):
            if c not in gt.columns:
                raise DataError(f"the ground truth {path} has no column {c!r}")
        if gt[gt_id].duplicated().any():
            raise DataError(f"the ground truth {path} has {int(gt[gt_id].duplicated().sum())} repeated ids in {gt_id!r}; each prediction gets one label")
        frame = frame.drop(columns=[spec.label], errors="ignore").merge(gt[[gt_id, gt_label]].rename(columns={gt_id: spec.id, gt_label: spec.label}),
                                                                        on=spec.id, how="left")  # fmt: skip
    return frame


def model_figures(frame: Any, spec: MonitorSpec, *, baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    """Model quality (rows with ground truth), the audit's bias metrics and, with a ``model``, global importance of a window of
    predictions (explained against the background rows of ``baseline``, the baseline's model figures, when given)."""
    import pandas as pd

    from assay.monitor._quality import model_quality

    if spec.label is None:
        raise ConfigError("the monitoring config names no label column: model quality and bias need one")
    labelled = frame[frame[spec.label].notna()] if spec.label in frame.columns else frame.iloc[:0]
    out: dict[str, Any] = {"rows": int(len(frame)), "labelled_rows": int(len(labelled))}
    if spec.model is not None:
        bg = ((baseline or {}).get("attribution") or {}).get("background")
        out["attribution"] = attribution_figures(frame, spec, pd.DataFrame(bg) if bg else None)
    if len(labelled) == 0:
        out["quality"] = None
        out["bias"] = []
        out["note"] = "no row has ground truth yet: model quality and bias are not computed"
        return out
    if spec.task == "binary":
        values = spec.label_values if isinstance(spec.label_values, list) else [spec.label_values]
        y = labelled[spec.label].isin(values).to_numpy()
        pred = labelled[spec.predicted_label].isin(values).to_numpy() if spec.predicted_label else None
        score = labelled[spec.probability].to_numpy(dtype=np.float64) if spec.probability else None
        out["quality"] = model_quality(y, pred, score=score, threshold=spec.probability_threshold, confidence_level=spec.confidence_level,
                                       replicates=spec.replicates, seed=spec.seed)  # fmt: skip
    else:
        out["quality"] = model_quality(labelled[spec.label].to_numpy(dtype=np.float64), labelled[spec.predicted_label].to_numpy(dtype=np.float64),
                                       task="regression", confidence_level=spec.confidence_level)  # fmt: skip
    if spec.facets and spec.task == "binary":
        out["count_tensor"] = count_tensor(labelled, spec)
        t = bias_from_tensor(out["count_tensor"], spec).to_frame()
        out["bias"] = [{"facet": str(row.facet), "value": str(row.value_or_threshold), "metric": str(row.metric),
                        "estimate": None if undefined(row.value) else float(row.value), "ci": [None if undefined(row.ci_low) else float(row.ci_low),
                                                                                         None if undefined(row.ci_high) else float(row.ci_high)],
                        "size": int(row.size), "rest_size": int(row.rest_size)} for row in t.itertuples() if not undefined(row.value)]  # fmt: skip
    else:
        out["bias"] = []
    return out


def attribution_figures(frame: Any, spec: MonitorSpec, background: Any = None) -> dict[str, Any] | None:
    """Global importance (mean |Shapley value| with intervals) of the model on a seeded sample of the window."""
    model = spec.load_model()
    if model is None or len(frame) == 0:
        return None
    from assay.explain import explain

    exclude = [c for c in (spec.label, spec.predicted_label, spec.probability, spec.id, spec.timestamp, "__window") if c]
    r = explain(frame, model, exclude=exclude, baseline=background, max_rows=spec.attribution_rows, use_logit=spec.use_logit,
                bootstrap_replicates=min(spec.replicates, 500), seed=spec.seed)  # fmt: skip
    imp = r.global_importance["mean_abs"]
    return {"method": r.method.get("name"), "rows_explained": r.method.get("rows_explained"),
            "global_importance": {f: {"value": v["value"], "ci": v["ci"]} for f, v in imp.items()},
            "background": r.background.to_dict(orient="records") if background is None and hasattr(r.background, "to_dict") else None}  # fmt: skip


def compare_attribution(current: dict[str, Any], baseline: dict[str, Any], threshold: float, *, alpha: float = 0.05, min_change: float = 0.25,
                        level: float = 0.95) -> dict[str, Any]:  # fmt: skip
    """The window's global importance against the baseline's.

    Model Monitor's NDCG of the importance ranking (alert below ``threshold``;
    it weighs the top features so heavily that large shifts lower it little),
    Spearman's rho of the ranks, and per feature a z-test of the change in mean
    |Shapley value| from the two intervals, Benjamini-Hochberg across features:
    drift when the NDCG is below the threshold, or a feature's importance moved
    by more than ``min_change`` of its baseline value with q below ``alpha``.
    """
    from scipy.special import ndtr, ndtri

    from assay.stats import benjamini_hochberg

    base = {f: v["value"] for f, v in baseline["global_importance"].items()}
    cur = {f: v["value"] for f, v in current["global_importance"].items() if f in base}
    feats = list(cur)
    ideal = sorted(feats, key=lambda f: -base[f])
    now = sorted(feats, key=lambda f: -cur[f])
    disc = 1 / np.log2(np.arange(2, len(feats) + 2))
    idcg = float(sum(base[f] * d for f, d in zip(ideal, disc)))
    dcg = float(sum(base[f] * d for f, d in zip(now, disc)))
    ndcg = dcg / idcg if idcg > 0 else None
    rb = {f: i for i, f in enumerate(ideal)}
    rc = {f: i for i, f in enumerate(now)}
    n = len(feats)
    rho = 1 - 6 * sum((rb[f] - rc[f]) ** 2 for f in feats) / (n * (n * n - 1)) if n > 1 else None
    p = float(2 * ndtr(-abs(rho) * math.sqrt(n - 1))) if rho is not None and n > 2 else None
    moved = sorted(feats, key=lambda f: -abs(rb[f] - rc[f]))[:3]
    z = float(ndtri(0.5 + level / 2))
    changes = []
    for f in feats:
        bci, cci = baseline["global_importance"][f].get("ci") or [None, None], current["global_importance"][f].get("ci") or [None, None]
        if None in bci or None in cci:
            continue
        se = math.hypot((bci[1] - bci[0]) / (2 * z), (cci[1] - cci[0]) / (2 * z))
        change = cur[f] - base[f]
        changes.append({"feature": f, "baseline": base[f], "current": cur[f], "change": change,
                        "relative_change": change / base[f] if base[f] > 0 else None,
                        "p_value": float(2 * ndtr(-abs(change) / se)) if se > 0 else (1.0 if change == 0 else 0.0)})  # fmt: skip
    for ch, q in zip(changes, benjamini_hochberg([c["p_value"] for c in changes]), strict=True):
        ch["q_value"] = q
        ch["changed"] = bool(q is not None and q < alpha and ch["relative_change"] is not None and abs(ch["relative_change"]) > min_change)
    changed = [c for c in changes if c["changed"]]
    return {"ndcg": ndcg, "threshold": threshold, "drifted": bool((ndcg is not None and ndcg < threshold) or changed), "ndcg_below": bool(ndcg is not None and ndcg < threshold),
            "changed_features": [c["feature"] for c in changed], "feature_changes": changes, "spearman": rho,
            "spearman_p_value": p, "features": n, "most_moved": [{"feature": f, "baseline_rank": rb[f] + 1, "rank": rc[f] + 1} for f in moved],
            "current_top": now[:5], "baseline_top": ideal[:5]}  # fmt: skip


def count_tensor(frame: Any, spec: MonitorSpec) -> dict[str, Any]:
    """The audit's count tensor of a window (:func:`assay._tabulate.tabulate`, the audit's own GROUP BY): rows per (facet values,
    label, decision), as JSON-ready cells (:meth:`CountTable.to_cells`). Mergeable: see merge_tensors."""
    import narwhals as nw

    from assay._tabulate import as_frame, tabulate

    values = spec.label_values if isinstance(spec.label_values, list) else [spec.label_values]
    positive = nw.col(spec.predicted_label).is_in(values) if spec.predicted_label else nw.col(str(spec.probability)) > spec.probability_threshold
    keys = {c: nw.col(c) for c in spec.facet_columns()} | {"__y": nw.col(str(spec.label)).is_in(values).cast(nw.Int64), "__p": positive.cast(nw.Int64)}
    return tabulate(as_frame(frame), keys).to_cells()


def merge_tensors(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The count tensor of two windows together (cells added: :meth:`CountTable.merge`)."""
    from assay._tabulate import CountTable

    if a["columns"] != b["columns"]:
        raise DataError("cannot merge count tensors over different columns")
    return CountTable.from_cells(a).merge(CountTable.from_cells(b)).to_cells()


def bias_from_tensor(tensor: dict[str, Any], spec: MonitorSpec) -> Any:
    """Every post-training bias metric of the monitored set, audited from its count tensor (equal to auditing its rows)."""
    import pandas as pd

    import assay

    cells = pd.DataFrame(tensor["cells"], columns=tensor["columns"]).astype({"__y": int, "__p": int, "__n": float})
    return assay.audit(cells, label="__y", label_values_or_threshold=[1], predicted_label="__p", facets=spec.facets, frequency_weight="__n",
                       pre_training_methods=None, post_training_methods=list(BIAS_METRICS), bootstrap_replicates=spec.replicates,
                       confidence_level=spec.confidence_level, seed=spec.seed)  # fmt: skip


def compare_bias(current: list[dict[str, Any]], baseline: list[dict[str, Any]], *, alpha: float, level: float) -> list[dict[str, Any]]:
    """Each bias metric of the window against the baseline's: change, z-test p-value, q-value, further from parity or not."""
    from scipy.special import ndtr, ndtri

    from assay.bias import parity_value
    from assay.stats import benjamini_hochberg

    z = float(ndtri(0.5 + level / 2))
    base = {(b["facet"], b["value"], b["metric"]): b for b in baseline}
    rows = []
    for c in current:
        b = base.get((c["facet"], c["value"], c["metric"]))
        if b is None or b["estimate"] is None or c["estimate"] is None or None in c["ci"] or None in b["ci"]:
            continue
        se = math.hypot((c["ci"][1] - c["ci"][0]) / (2 * z), (b["ci"][1] - b["ci"][0]) / (2 * z))
        change = c["estimate"] - b["estimate"]
        p = float(2 * ndtr(-abs(change) / se)) if se > 0 else (1.0 if change == 0 else 0.0)
        ideal = parity_value(c["metric"])
        further = abs(c["estimate"] - ideal) > abs(b["estimate"] - ideal)
        rows.append({"facet": c["facet"], "value": c["value"], "metric": c["metric"], "baseline": b["estimate"], "current": c["estimate"],
                     "baseline_ci": b["ci"], "current_ci": c["ci"], "change": change, "p_value": p, "further_from_parity": bool(further),
                     "size": c["size"], "baseline_size": b["size"]})  # fmt: skip
    for r, q in zip(rows, benjamini_hochberg([r["p_value"] for r in rows]), strict=True):
        r["q_value"] = q
        r["drifted"] = bool(q is not None and q < alpha and r["further_from_parity"])
    return rows
