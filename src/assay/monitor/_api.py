"""Monitoring in three calls, what ``assay monitor baseline | check | run`` do: profile a baseline, check new data against it, check
every time window of a dataset. Files are read in batches with bounded memory; what is written is Model Monitor's shapes."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay._analysis import write_atomic
from assay.monitor._baseline import load_baseline, load_model_baseline, statistics, write_baseline
from assay.monitor._model import ModelSummary, MonitorSpec, figures, spec_from_config, stream_summary
from assay.monitor._profile import Profile, profile

__all__ = ["Checked", "baseline", "check", "monitor_spec", "run"]


def monitor_spec(config: str | Path | dict[str, Any] | None) -> MonitorSpec | None:
    """The monitoring settings of a config (a path or its dict: label, predicted_label or probability, facet, id, ground_truth,
    model_quality_constraints, monitor); None without one (data quality and drift only)."""
    if config is None:
        return None
    from assay._config import load_config

    return spec_from_config(load_config(config))


def _model(data: Any, spec: MonitorSpec | None, *, ground_truth: bool, batch_rows: int,
           baseline: dict[str, Any] | None = None) -> dict[str, Any] | None:  # fmt: skip
    if spec is None or not spec.has_model:
        return None
    from assay.spark import is_spark

    if is_spark(data):  # summarised by Spark
        from assay.monitor._spark import spark_summaries

        summary = spark_summaries(data, spec, ground_truth=ground_truth).get(None, ModelSummary())
    else:
        summary = stream_summary(data, spec, ground_truth=ground_truth, batch_rows=batch_rows)
    return figures(summary, spec, baseline=baseline)


def baseline(data: Any, out: str | Path, *, columns: list[str] | None = None, batch_rows: int = 500_000,
             config: str | Path | dict[str, Any] | None = None) -> tuple[Profile, list[Path]]:  # fmt: skip
    """Profile ``data`` and write OUT/statistics.json and a suggested OUT/constraints.json; with a monitoring ``config``, also
    OUT/model.json (model quality with intervals and every bias metric). The profile and the paths written."""
    p = profile(data, columns=columns, batch_rows=batch_rows)
    return p, write_baseline(p, Path(out), model=_model(data, monitor_spec(config), ground_truth=False, batch_rows=batch_rows))


@dataclass
class Checked:
    """A check's outcome: ``result`` (constraint_violations.json: the violations, and every column's and the model's figures), the
    data's profile, the monitoring settings (their alerts), and the paths written."""

    result: dict[str, Any]
    profile: Profile
    spec: MonitorSpec | None
    written: list[Path]

    @property
    def violations(self) -> list[dict[str, Any]]:
        return list(self.result["violations"])


def check(data: Any, base: str | Path, out: str | Path | None = None, *, columns: list[str] | None = None, batch_rows: int = 500_000,
          config: str | Path | dict[str, Any] | None = None) -> Checked:  # fmt: skip
    """Check ``data`` against the baseline in ``base``: data types, completeness, domains, missing and extra columns, drift per column
    with p- and q-values; with a monitoring ``config``, model quality (ground truth joined on the id) and bias drift against the
    baseline's. With ``out``, OUT/constraint_violations.json and the data's OUT/statistics.json are written (atomically)."""
    from assay.monitor._check import check as run_check

    base_profile, constraints = load_baseline(base)
    p = profile(data, columns=columns, batch_rows=batch_rows)
    spec = monitor_spec(config)
    model_base = load_model_baseline(base)
    model = _model(data, spec, ground_truth=True, batch_rows=batch_rows, baseline=model_base)
    result = run_check(p, base_profile, constraints, model=model, model_baseline=model_base, spec=spec)
    written = []
    if out is not None:
        for name, doc in (("constraint_violations.json", result), ("statistics.json", statistics(p))):
            written.append(write_atomic(Path(out) / name, json.dumps(doc, indent=2)))
    return Checked(result, p, spec, written)


def run(data: Any, base: str | Path, config: str | Path | dict[str, Any], *, window: str | None = None,
        batch_rows: int = 500_000) -> tuple[dict[str, Any], MonitorSpec]:  # fmt: skip
    """Check every time window of ``data`` (the config names its ``timestamp`` column; ``window`` overrides monitor.window) against
    the baseline: per window the check's result, and the series of every drift distance, quality and bias metric with intervals.
    The result (analysis.json's ``monitoring``) and the settings (their alerts)."""
    from assay.monitor._windows import run_windows

    spec = monitor_spec(config)
    assert spec is not None
    if window is not None:
        spec = dataclasses.replace(spec, window=window)
    base_profile, constraints = load_baseline(base)
    return run_windows(data, base_profile, constraints, spec, model_baseline=load_model_baseline(base), batch_rows=batch_rows), spec
