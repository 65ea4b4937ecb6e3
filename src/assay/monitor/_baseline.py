"""Baselines in SageMaker Model Monitor's shape: ``statistics.json`` and a suggested ``constraints.json``.

``statistics.json`` has Model Monitor's fields (``version``, ``dataset.item_count``,
``features[]`` with ``inferred_type``, ``numerical_statistics`` or
``string_statistics``: ``common.num_present/num_missing``, ``mean``, ``sum``,
``std_dev`` (the population SD, as Model Monitor's), ``min``, ``max``,
``distribution.kll.buckets`` (10 equal-width buckets from min to max, as
Model Monitor's) and ``distribution.kll.sketch`` (Model Monitor's form: the
items of ``data[i]`` have weight 2**i), ``distinct_count``,
``distribution.categorical.buckets``) plus ``assay_profile``: the full
mergeable profile, which the checks use. A Model Monitor ``statistics.json``
without it is accepted: its KLL sketch gives the distribution (within the
sketch's rank error, which the drift test allows for), or, without one, its
10 buckets.

``constraints.json`` has Model Monitor's fields (``features[]`` with
``name``, ``inferred_type``, ``completeness``, ``num_constraints.is_non_negative``,
``string_constraints.domains``; ``monitoring_config`` with
``datatype_check_threshold``, ``domain_content_threshold`` and
``distribution_constraints`` {``perform_comparison``, ``comparison_threshold``,
``comparison_method``, ``categorical_comparison_threshold``,
``categorical_drift_method``}) plus assay's ``alpha`` and ``correction``, so that
a user's existing constraints file works and can be edited.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from assay._errors import ConfigError, DataError
from assay.monitor._profile import ColumnProfile, Profile

__all__ = ["baseline_from_documents", "inferred_type", "load_baseline", "load_model_baseline", "statistics", "suggest_constraints", "write_baseline"]

DOMAIN_LIMIT = 64  # a string column with at most this many values gets a domain constraint


def inferred_type(c: ColumnProfile) -> str:
    """Model Monitor's inferred type: Integral, Fractional, String or Unknown (no values)."""
    if c.present == 0:
        return "Unknown"
    if c.string > 0:
        return "String"
    return "Fractional" if c.fractional > 0 else "Integral"


def statistics(p: Profile) -> dict[str, Any]:
    feats = []
    for c in p.columns.values():
        t = inferred_type(c)
        common = {"num_present": c.present, "num_missing": c.missing}
        entry: dict[str, Any] = {"name": c.name, "inferred_type": t}
        if t in ("Integral", "Fractional"):
            entry["numerical_statistics"] = {"common": common, "mean": c.mean, "sum": c.total,
                                             "std_dev": math.sqrt(c.m2 / c.n) if c.n else 0.0,  # Model Monitor's: the population SD
                                             "min": c.minimum if c.n else None, "max": c.maximum if c.n else None,
                                             "distribution": {"kll": {"buckets": _equal_width_buckets(c), "sketch": _kll_document(c)}}}  # fmt: skip
        else:
            counts, rest = c.category_counts()
            top = sorted(counts.items(), key=lambda kv: -kv[1])[:1000]
            entry["string_statistics"] = {"common": common, "distinct_count": c.distinct,
                                          "distribution": {"categorical": {"buckets": [{"value": k, "count": v} for k, v in top]}}}  # fmt: skip
        feats.append(entry)
    return {"version": 0, "dataset": {"item_count": p.rows}, "features": feats, "assay_profile": p.to_dict()}


def _equal_width_buckets(c: ColumnProfile, n: int = 10) -> list[dict[str, Any]]:
    """Model Monitor's histogram: ``n`` equal-width buckets from the minimum to the maximum (the last one closed)."""
    if not c.n:
        return []
    edges = np.linspace(c.minimum, c.maximum, n + 1)
    cdf = c.cdf(edges)
    cdf[-1] = 1.0
    below_min = 0.0 if c.values is None else float(c.cdf(np.array([np.nextafter(c.minimum, -np.inf)]))[0])
    counts = np.diff(np.r_[below_min, cdf[1:]])
    return [{"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]), "count": float(max(0.0, counts[i]) * c.n)} for i in range(n)]


def _kll_document(c: ColumnProfile) -> dict[str, Any]:
    """The distribution as Model Monitor writes its KLL sketch: ``data[i]`` holds the items of weight 2**i."""
    from assay.monitor._profile import KLL_K

    levels: list[list[float]] = []
    for value, weight in c.weighted_items():
        level = weight.bit_length() - 1
        levels += [[] for _ in range(level + 1 - len(levels))]
        levels[level].append(value)
    return {"parameters": {"c": 0.64, "k": float(KLL_K)}, "data": [sorted(items) for items in levels]}


def suggest_constraints(p: Profile) -> dict[str, Any]:
    feats = []
    for c in p.columns.values():
        t = inferred_type(c)
        f: dict[str, Any] = {"name": c.name, "inferred_type": t, "completeness": c.completeness}
        if t in ("Integral", "Fractional"):
            f["num_constraints"] = {"is_non_negative": bool(c.n and c.minimum >= 0)}
        elif t == "String" and c.values is not None and len(c.values) <= DOMAIN_LIMIT:
            f["string_constraints"] = {"domains": sorted(str(v) for v in c.values)}
        feats.append(f)
    return {
        "version": 0,
        "features": feats,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 0.1,
            "domain_content_threshold": 0.1,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": 0.02,
                "comparison_method": "Simple",
                "categorical_comparison_threshold": 0.02,
                "categorical_drift_method": "ChiSquared",
            },
            "alpha": 0.05,
            "correction": "benjamini-hochberg",
        },
    }


def write_baseline(p: Profile, out: Path, model: dict[str, Any] | None = None) -> list[Path]:
    """OUT/statistics.json, OUT/constraints.json and, with ``model`` (model quality and bias figures), OUT/model.json."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    docs = [("statistics.json", statistics(p)), ("constraints.json", suggest_constraints(p))] + ([("model.json", model)] if model is not None else [])
    for name, doc in docs:
        target = out / name
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
        tmp.replace(target)
        written.append(target)
    return written


def load_model_baseline(directory: str | Path) -> dict[str, Any] | None:
    """The baseline's model quality and bias figures (OUT/model.json), when the baseline was written with a monitoring config."""
    path = Path(directory) / "model.json"
    return _read(path) if path.exists() else None


def baseline_documents(directory: str | Path) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]:
    """The JSON objects of a baseline directory as `assay monitor baseline` wrote them: statistics.json, and constraints.json and
    model.json where present (None where not). Errors name the file: missing statistics, invalid JSON, not an object."""
    d = Path(directory)
    stats_path, cons_path = d / "statistics.json", d / "constraints.json"
    if not stats_path.exists():
        raise ConfigError(f"{stats_path} does not exist; write a baseline with: assay monitor baseline DATA --out {d}")
    return _read(stats_path), _read(cons_path) if cons_path.exists() else None, load_model_baseline(d)


def load_baseline(directory: str | Path) -> tuple[Profile, dict[str, Any]]:
    """The baseline profile and constraints from a directory (or the two files' paths' directory)."""
    d = Path(directory)
    stats, constraints, _ = baseline_documents(d)
    return baseline_from_documents(stats, constraints, stats_path=d / "statistics.json", constraints_path=d / "constraints.json")


def baseline_from_documents(stats: dict[str, Any], constraints: dict[str, Any] | None, *, stats_path: Any = "statistics.json",
                            constraints_path: Any = "constraints.json") -> tuple[Profile, dict[str, Any]]:  # fmt: skip
    """The profile and constraints of a baseline's documents (constraints suggested from the profile when absent); errors name the paths."""
    if not isinstance(stats, dict):
        raise ConfigError(f"{stats_path} must hold a JSON object")
    if "assay_profile" not in stats:
        profile = _from_model_monitor(stats, Path(str(stats_path)))  # its errors name what is missing
    else:
        try:
            profile = Profile.from_dict(stats["assay_profile"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise DataError(f"{stats_path}: assay_profile is not a profile assay wrote ({type(exc).__name__}: {exc})") from None
    if constraints is None:
        constraints = suggest_constraints(profile)
    if not isinstance(constraints, dict):
        raise ConfigError(f"{constraints_path} must hold a JSON object")
    _validate_constraints(constraints, constraints_path)
    return profile, constraints


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return doc


def _validate_constraints(c: dict[str, Any], path: Any) -> None:
    feats = c.get("features")
    if not isinstance(feats, list) or not all(isinstance(f, dict) and "name" in f for f in feats):
        raise ConfigError(f"{path}: 'features' must be a list of objects with a 'name' (Model Monitor's constraints.json)")
    mc = c.get("monitoring_config") or {}
    for key in ("datatype_check_threshold", "domain_content_threshold", "alpha"):
        v = mc.get(key)
        if v is not None and (not isinstance(v, (int, float)) or not 0 <= v <= 1):
            raise ConfigError(f"{path}: monitoring_config.{key} must be a number between 0 and 1, got {v!r}")
    dc = mc.get("distribution_constraints") or {}
    method = dc.get("categorical_drift_method", "LInfinity")
    if method not in ("LInfinity", "ChiSquared"):
        raise ConfigError(f"{path}: categorical_drift_method must be LInfinity or ChiSquared (Model Monitor's values), got {method!r}")
    if dc.get("comparison_method", "Simple") not in ("Simple", "Robust"):
        raise ConfigError(f"{path}: comparison_method must be Simple or Robust, got {dc.get('comparison_method')!r}")
    for f in feats:
        comp = f.get("completeness")
        if comp is not None and (not isinstance(comp, (int, float)) or not 0 <= comp <= 1):
            raise ConfigError(f"{path}: feature {f['name']!r}: completeness must be between 0 and 1, got {comp!r}")


def _from_model_monitor(stats: dict[str, Any], path: Path) -> Profile:
    """An approximate profile from a Model Monitor statistics.json (its buckets stand in for the distributions)."""
    try:
        rows = int(stats["dataset"]["item_count"])
        cols: dict[str, ColumnProfile] = {}
        for f in stats["features"]:
            name = f["name"]
            num = f.get("numerical_statistics")
            st = f.get("string_statistics")
            common = (num or st or {}).get("common", {})
            present, missing = int(common.get("num_present", 0)), int(common.get("num_missing", 0))
            c = ColumnProfile(name, "numeric" if num is not None else "string", rows=present + missing, missing=missing)
            if num is not None:
                c.n = present
                c.mean, c.total = float(num.get("mean", 0.0)), float(num.get("sum", 0.0))
                sd = float(num.get("std_dev", 0.0))
                c.m2 = sd * sd * present  # Model Monitor's std_dev is the population SD
                c.minimum, c.maximum = float(num.get("min", math.inf)), float(num.get("max", -math.inf))
                if f.get("inferred_type") == "Fractional":
                    c.fractional = present
                else:
                    c.integral = present
                kll = (num.get("distribution") or {}).get("kll") or {}
                if (kll.get("sketch") or {}).get("data"):
                    c.values, c.sketch_error = _values_from_sketch(kll["sketch"], name)
                else:
                    c.values = None
                    c.kll = _kll_from_buckets(kll.get("buckets") or [])
            else:
                c.string = present
                buckets = ((st.get("distribution") or {}).get("categorical") or {}).get("buckets") or []
                c.values = {str(b["value"]): int(b["count"]) for b in buckets}
            cols[name] = c
        return Profile(rows, cols)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path} is not a Model Monitor statistics.json that assay can read ({type(exc).__name__}: {exc})") from None


def _values_from_sketch(sketch: dict[str, Any], name: str) -> tuple[dict[float, int], float]:
    """Model Monitor's (Deequ's) KLL sketch as weighted values: the items of ``data[i]`` stand for 2**i rows each.

    Its rank error: 0 while nothing was compacted (one level: the items are the data), else DataSketches' bound for
    the sketch's ``k`` (Deequ's sketch is a KLL with the same guarantees), which the drift check subtracts.
    """
    import datasketches as ds

    data = sketch["data"]
    if not isinstance(data, list) or not all(isinstance(level, list) for level in data):
        raise ValueError(f"feature {name!r}: kll.sketch.data must be a list of lists of numbers")
    values: dict[float, int] = {}
    for level, items in enumerate(data):
        for v in items:
            values[float(v)] = values.get(float(v), 0) + (1 << level)
    k = int(float((sketch.get("parameters") or {}).get("k", 2048)))
    compacted = sum(1 for items in data if items) > 1 or len(data) > 1
    return values, float(ds.kll_doubles_sketch.get_normalized_rank_error(k, False)) if compacted else 0.0


def _kll_from_buckets(buckets: list[dict[str, Any]]) -> Any:
    """A KLL sketch fed with each bucket's count spread evenly over the bucket (the buckets are all Model Monitor keeps)."""
    import datasketches as ds

    from assay.monitor._profile import KLL_K

    sk = ds.kll_doubles_sketch(KLL_K)
    for b in buckets:
        n = int(round(float(b.get("count", 0))))
        if n > 0:
            sk.update(np.linspace(float(b["lower_bound"]), float(b["upper_bound"]), n))
    return sk
