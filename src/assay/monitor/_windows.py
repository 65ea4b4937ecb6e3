"""Checks over time windows of a timestamped data set, and alerts.

The data is read in batches; each batch's rows are split by window (the
timestamp floored to ``window``, e.g. ``1h``, ``1D``, ``7D``) and profiled, and
each window's profile is the merge of its parts, so a window that spans files
or batches is one window. Every window is checked against the baseline like
``assay monitor check``; the result is a time series of every metric with its
interval, and the violations of each window. A window with violations calls
the configured alerts: ``{webhook: URL}`` (an HTTP POST of the JSON body) or
``{command: [program, args...]}`` (the JSON body on standard input). An alert
that fails is recorded, never fatal.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from typing import Any

from assay._errors import ConfigError, DataError
from assay.monitor._profile import Profile, _batches, _column
from assay.monitor._profile import _plain as _plain_value

__all__ = ["run_windows", "send_alerts"]


def _freq(window: str) -> Any:
    import pandas as pd

    if not any(ch.isalpha() for ch in str(window)):
        raise ConfigError(f"window {window!r} has no unit; use e.g. 15min, 1h, 1D or 7D")
    try:
        step = pd.to_timedelta(window)
    except (ValueError, TypeError):
        raise ConfigError(f"window {window!r} is not a duration; use e.g. 15min, 1h, 1D or 7D") from None
    if step <= pd.Timedelta(0):
        raise ConfigError(f"window must be positive, got {window!r}")
    return step


def run_windows(data: Any, baseline: Profile, constraints: dict[str, Any], spec: Any, *, model_baseline: dict[str, Any] | None,
                batch_rows: int = 500_000) -> dict[str, Any]:  # fmt: skip
    """Per window: the check's result; and the series of every drift distance, quality metric and bias metric with intervals."""

    from assay.monitor._check import check
    from assay.monitor._model import figures

    if not spec.timestamp:
        raise ConfigError("windows need a timestamp column: name it in the monitoring config ('timestamp: COLUMN')")
    step = _freq(spec.window or "1D")
    from assay.spark import is_spark

    if is_spark(data):
        from assay.monitor._spark import spark_windows

        profiles, models = spark_windows(data, spec, step)
    else:
        profiles, models = _windows(data, spec, step, batch_rows)
    windows = []
    for key in sorted(profiles):
        model = figures(models[key], spec, baseline=model_baseline) if key in models else None
        result = check(profiles[key], baseline, constraints, model=model, model_baseline=model_baseline, spec=spec)
        windows.append({"start": key.isoformat(), "end": (key + step).isoformat(), "rows": profiles[key].rows, "result": result})
    return {"window": str(spec.window or "1D"), "timestamp": spec.timestamp, "windows": windows, "series": _series(windows)}


def _windows(data: Any, spec: Any, step: Any, batch_rows: int) -> tuple[dict[Any, Profile], dict[Any, Any]]:
    """Per window, the profile and the model summary of a table or files read in batches (a window's parts merged)."""
    import pandas as pd

    from assay.monitor._model import ModelRows, ModelSummary
    from assay.monitor._profile import column_names

    profiles: dict[Any, Profile] = {}
    models: dict[Any, ModelSummary] = {}
    reader = ModelRows(spec, column_names(data), ground_truth=True) if spec.has_model else None
    for batch in _batches(data, None, batch_rows):
        if spec.timestamp not in batch.columns:
            raise DataError(f"the data has no timestamp column {spec.timestamp!r}")
        ts = pd.to_datetime(batch[spec.timestamp], errors="coerce", utc=True)
        if ts.isna().any():
            raise DataError(f"timestamp column {spec.timestamp!r} has {int(ts.isna().sum())} values that are not times")
        prepared = reader.prepare(batch) if reader is not None else None
        for key, idx in batch.groupby(ts.dt.floor(step).to_numpy()).indices.items():
            part = batch.iloc[idx]
            prof = Profile(len(part), {str(c): _column(str(c), part[c]) for c in part.columns})
            k = pd.Timestamp(key)
            profiles[k] = prof if k not in profiles else profiles[k].merge(prof)
            if reader is not None and prepared is not None:
                got = reader.summarize(prepared.iloc[idx])
                models[k] = got if k not in models else models[k].merge(got, spec.attribution_rows)
    return profiles, models


def _series(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """Time series: per column the drift distance and q-value; per quality metric and bias metric the value and interval."""
    drift: dict[str, list[Any]] = {}
    quality: dict[str, list[Any]] = {}
    bias: dict[str, list[Any]] = {}
    for i, w in enumerate(windows):
        r = w["result"]
        for name, f in r["features"].items():
            d = f.get("drift") or {}
            if d.get("tested", True) and "distance" in d:
                drift.setdefault(name, [None] * len(windows))[i] = {"distance": d["distance"], "q_value": d.get("q_value"), "drifted": d.get("drifted")}
        q = ((r.get("model") or {}).get("quality") or {}).get("metrics") or {}
        for k, v in q.items():
            quality.setdefault(k, [None] * len(windows))[i] = {"value": v.get("value"), "ci": v.get("ci")}
        for b in r.get("bias_drift", []):
            key = f"{b['metric']} {b['facet']}={b['value']}"
            bias.setdefault(key, [None] * len(windows))[i] = {"value": b["current"], "ci": b["current_ci"], "baseline": b["baseline"], "drifted": b["drifted"]}
    return {"starts": [w["start"] for w in windows], "rows": [w["rows"] for w in windows],
            "violations": [len(w["result"]["violations"]) for w in windows], "drift": drift, "quality": quality, "bias": bias}  # fmt: skip


def send_alerts(alerts: list[dict[str, Any]], payload: dict[str, Any], *, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Deliver ``payload`` (JSON) to every alert; what happened to each (status, or the error)."""
    import urllib.error
    import urllib.request

    body = json.dumps(payload, default=_plain).encode()
    outcomes = []
    for a in alerts:
        if "webhook" in a:
            req = urllib.request.Request(str(a["webhook"]), data=body, method="POST", headers={"Content-Type": "application/json", **(a.get("headers") or {})})
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (the user's own URL)
                    outcomes.append({"webhook": a["webhook"], "status": resp.status})
            except (urllib.error.URLError, OSError) as exc:
                outcomes.append({"webhook": a["webhook"], "error": str(exc)})
        else:
            cmd = a["command"]
            argv = shlex.split(cmd) if isinstance(cmd, str) else [str(x) for x in cmd]
            try:
                done = subprocess.run(argv, input=body, capture_output=True, timeout=float(a.get("timeout", 60)), check=False)  # noqa: S603
                outcomes.append(
                    {"command": argv, "returncode": done.returncode, **({"stderr": done.stderr.decode(errors="replace")[-500:]} if done.returncode else {})}
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                outcomes.append({"command": argv, "error": str(exc)})
    return outcomes


def _plain(v: Any) -> Any:
    """json's default: numpy scalars as numbers, anything else as text."""
    out = _plain_value(v)
    return out if out is not v else str(v)
