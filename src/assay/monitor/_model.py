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

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay._config._models import AnalysisConfig
from assay._errors import ConfigError, DataError
from assay._undefined import undefined

__all__ = [
    "ModelRows",
    "ModelSummary",
    "MonitorSpec",
    "bias_from_tensor",
    "compare_bias",
    "count_tensor",
    "figures",
    "merge_tensors",
    "model_figures",
    "stream_summary",
]

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


@dataclass
class ModelSummary:
    """What the model checks need of a set of predictions, mergeable across batches and windows: the rows, those with ground truth,
    model quality's count table (:func:`assay.monitor._quality.quality_table`) and the bias count tensor of the labelled rows, and,
    with a model, a bounded uniform sample of the rows to explain (the ``attribution_rows`` rows with the smallest random keys)."""

    rows: int = 0
    labelled: int = 0
    quality: Any = None
    bias: Any = None
    sample: Any = None

    def merge(self, other: ModelSummary, keep: int) -> ModelSummary:
        def add(a: Any, b: Any) -> Any:
            return b if a is None else a if b is None else a.merge(b)

        sample = self.sample if other.sample is None else other.sample if self.sample is None else _bottom(_concat(self.sample, other.sample), keep)
        return ModelSummary(self.rows + other.rows, self.labelled + other.labelled, add(self.quality, other.quality), add(self.bias, other.bias), sample)


class ModelRows:
    """Reads the model columns of batches: checks them, joins the ground truth (read once) on the id, and summarises each batch.

    ``ground_truth=False`` for a baseline, whose labels are in the data. Each row gets a random key from a hash of its position in
    the data and the seed, so the sample for attributions does not depend on how the data is cut into batches or windows.
    """

    def __init__(self, spec: MonitorSpec, names: list[str], *, ground_truth: bool = True) -> None:
        if spec.label is None:
            raise ConfigError("the monitoring config names no label column: model quality and bias need one")
        self.spec = spec if ground_truth else dataclasses.replace(spec, ground_truth=None)
        cols = self.spec.columns()
        have = set(names)
        gt = self.spec.ground_truth
        optional = {spec.timestamp} | ({spec.id} if gt is None else set()) | ({spec.label} if gt is not None else set())
        missing = [c for c in cols if c not in have and c not in optional]
        if missing:
            raise DataError(f"the data has no column(s) {', '.join(map(repr, missing))} named in the monitoring config; its columns: "
                            f"{', '.join(sorted(have))}")  # fmt: skip
        self.wanted = [c for c in cols if c in have] if spec.model is None else list(names)  # attributions need the model's features too
        self.truth = _ground_truth(self.spec) if gt is not None else None
        self.seen = 0

    def prepare(self, batch: Any) -> Any:
        """The batch's model columns with the ground truth joined and each row's random key (``__order``)."""
        import pandas as pd

        spec = self.spec
        frame = batch[[c for c in self.wanted if c in batch.columns]]
        if spec.probability is not None and spec.probability in frame.columns and not pd.api.types.is_numeric_dtype(frame[spec.probability]):
            raise DataError(f"probability column {spec.probability!r} must hold numeric scores, but holds {frame[spec.probability].dtype} "
                            f"values such as {frame[spec.probability].dropna().iloc[:1].tolist()}; name predicted labels in predicted_label")  # fmt: skip
        if self.truth is not None:
            frame = frame.drop(columns=[spec.label], errors="ignore").merge(self.truth, on=spec.id, how="left")
        frame = frame.reset_index(drop=True)
        frame["__order"] = _row_keys(np.arange(self.seen, self.seen + len(frame)), spec.seed)
        self.seen += len(frame)
        return frame

    def summarize(self, frame: Any) -> ModelSummary:
        """The summary of prepared rows (:meth:`prepare`)."""
        from assay.monitor._quality import quality_table

        spec = self.spec
        labelled = frame[frame[spec.label].notna()] if spec.label in frame.columns else frame.iloc[:0]
        out = ModelSummary(rows=int(len(frame)), labelled=int(len(labelled)))
        if spec.model is not None and len(frame):
            out.sample = _bottom(frame, spec.attribution_rows)
        if len(labelled) == 0:
            return out
        if spec.task == "binary":
            values = _positive(spec)
            y = labelled[spec.label].isin(values).to_numpy()
            pred = labelled[spec.predicted_label].isin(values).to_numpy() if spec.predicted_label else None
            score = labelled[spec.probability].to_numpy(dtype=np.float64) if spec.probability else None
            out.quality = quality_table(y, pred, score=score, threshold=spec.probability_threshold)
            if spec.facets:
                out.bias = bias_table(labelled, spec)
        else:
            out.quality = quality_table(labelled[spec.label].to_numpy(dtype=np.float64), labelled[spec.predicted_label].to_numpy(dtype=np.float64),
                                        task="regression")  # fmt: skip
        return out


def stream_summary(data: Any, spec: MonitorSpec, *, ground_truth: bool = True, batch_rows: int = 500_000) -> ModelSummary:
    """The model summary of a table or files, read in batches of ``batch_rows`` (memory bounded by the batch and the ground truth)."""
    from assay.monitor._profile import _batches, column_names

    reader = ModelRows(spec, column_names(data), ground_truth=ground_truth)
    total = ModelSummary()
    for batch in _batches(data, reader.wanted, batch_rows):
        total = total.merge(reader.summarize(reader.prepare(batch)), spec.attribution_rows)
    return total


def model_figures(frame: Any, spec: MonitorSpec, *, baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    """Model quality (rows with ground truth), the audit's bias metrics and, with a ``model``, global importance of a window of
    predictions in memory, its labels in ``frame`` (explained against the background rows of ``baseline``, the baseline's model
    figures, when given)."""
    reader = ModelRows(spec, [str(c) for c in frame.columns], ground_truth=False)
    return figures(reader.summarize(reader.prepare(frame)), spec, baseline=baseline)


def figures(summary: ModelSummary, spec: MonitorSpec, *, baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    """Model quality with intervals, every bias metric and, with a model, global importance, from a :class:`ModelSummary`."""
    from assay.monitor._quality import quality_from_table

    out: dict[str, Any] = {"rows": summary.rows, "labelled_rows": summary.labelled}
    if spec.model is not None:
        import pandas as pd

        bg = ((baseline or {}).get("attribution") or {}).get("background")
        sample = None if summary.sample is None else summary.sample.drop(columns="__order")
        out["attribution"] = attribution_figures(sample, spec, pd.DataFrame(bg) if bg else None) if sample is not None else None
    if summary.quality is None:
        out["quality"] = None
        out["bias"] = []
        out["note"] = "no row has ground truth yet: model quality and bias are not computed"
        return out
    out["quality"] = quality_from_table(summary.quality, task=spec.task, confidence_level=spec.confidence_level, replicates=spec.replicates,
                                        seed=spec.seed)  # fmt: skip
    out["bias"] = []
    if summary.bias is not None:
        out["count_tensor"] = summary.bias.to_cells()
        t = bias_from_tensor(out["count_tensor"], spec).to_frame()
        out["bias"] = [{"facet": str(row.facet), "value": str(row.value_or_threshold), "metric": str(row.metric),
                        "estimate": None if undefined(row.value) else float(row.value), "ci": [None if undefined(row.ci_low) else float(row.ci_low),
                                                                                         None if undefined(row.ci_high) else float(row.ci_high)],
                        "size": int(row.size), "rest_size": int(row.rest_size)} for row in t.itertuples() if not undefined(row.value)]  # fmt: skip
    return out


def _positive(spec: MonitorSpec) -> list[Any]:
    return spec.label_values if isinstance(spec.label_values, list) else [spec.label_values]


def _ground_truth(spec: MonitorSpec) -> Any:
    """The ground truth's id and label columns, named as the data's id and label; each id once."""
    import os

    from assay._tabulate import as_frame, read_dataset

    gt_cfg = spec.ground_truth or {}
    path = str(gt_cfg["dataset_uri"])
    if spec.base and not os.path.isabs(path) and not os.path.exists(path):
        path = os.path.join(spec.base, path)
    gt_id, gt_label = str(gt_cfg.get("id", spec.id)), str(gt_cfg.get("label", spec.label))
    lazy = as_frame(read_dataset(path))
    names = lazy.collect_schema().names()
    for c in (gt_id, gt_label):
        if c not in names:
            raise DataError(f"the ground truth {path} has no column {c!r}; its columns: {', '.join(names)}")
    gt = lazy.select(gt_id, gt_label).collect().to_pandas()
    if gt[gt_id].duplicated().any():
        raise DataError(f"the ground truth {path} has {int(gt[gt_id].duplicated().sum())} repeated ids in {gt_id!r}; each prediction gets one label")
    return gt.rename(columns={gt_id: spec.id, gt_label: spec.label})


def _row_keys(position: np.ndarray, seed: int) -> np.ndarray:
    """A uniform random key in [0, 1) for each row position (splitmix64 of the position and the seed)."""
    with np.errstate(over="ignore"):
        z = position.astype(np.uint64) + np.uint64(seed % 2**32) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


def _bottom(frame: Any, k: int) -> Any:
    """The ``k`` rows with the smallest random keys, in the order of the data."""
    if len(frame) <= k:
        return frame
    return frame.iloc[np.sort(np.argpartition(frame["__order"].to_numpy(), k - 1)[:k])]


def _concat(a: Any, b: Any) -> Any:
    import pandas as pd

    return pd.concat([a, b], ignore_index=True)


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


def bias_table(frame: Any, spec: MonitorSpec) -> Any:
    """The audit's count tensor of labelled rows (:func:`assay._tabulate.tabulate`, the audit's own GROUP BY): rows per (facet
    values, label ``__y``, decision ``__p``), a :class:`~assay._tabulate.CountTable`."""
    import narwhals as nw

    from assay._tabulate import as_frame, tabulate

    values = _positive(spec)
    positive = nw.col(spec.predicted_label).is_in(values) if spec.predicted_label else nw.col(str(spec.probability)) > spec.probability_threshold
    keys = {c: nw.col(c) for c in spec.facet_columns()} | {"__y": nw.col(str(spec.label)).is_in(values).cast(nw.Int64), "__p": positive.cast(nw.Int64)}
    return tabulate(as_frame(frame), keys)


def count_tensor(frame: Any, spec: MonitorSpec) -> dict[str, Any]:
    """:func:`bias_table` as JSON-ready cells (:meth:`CountTable.to_cells`), what a window stores. Mergeable: see merge_tensors."""
    return bias_table(frame, spec).to_cells()


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
