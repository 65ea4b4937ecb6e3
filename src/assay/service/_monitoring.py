"""Monitoring inside the service: captured windows checked against the model's baseline, on a schedule or on demand.

A model gets a baseline (``PUT /models/{name}/{version}/baseline``: the
``statistics.json``, ``constraints.json`` and optional ``model.json`` that
``assay monitor baseline`` writes) and monitoring settings (``PUT
/models/{name}/{version}/monitoring``)::

    {"every": "1h",            # a scheduled check each hour (any duration: 15min, 1h, 1D, 7D; null: on demand only)
     "window": "1h",           # the captured predictions each check covers (default: every)
     "delay": "5min",          # wait for late captures before checking a window
     "recheck_after": "2D",    # check each window again two days after it closed, with the ground truth that arrived since
     "columns": {"ground_truth": "income", "predicted_label": "prediction", "score": "probability"},  # the baseline's names
     "alpha": 0.05, "bootstrap_replicates": 500, "min_quality_change": 0.01,
     "model_quality_constraints": {"accuracy": {"threshold": 0.8, "comparison_operator": "LessThanThreshold"}},
     "alerts": [{"webhook": "https://hooks.example.com/assay"}]}

A prediction belongs to the window of its ``inference_time`` (when the
caller gives one, e.g. Model Monitor's ``inferenceTime``), else of its capture
time. Each check builds the window's table from the captured predictions (inputs,
facets, the model's label and score under the baseline's column names),
profiles it and runs the monitoring engine (``assay.monitor``): missing and
extra columns, types, completeness, domains, non-negativity, drift; model
quality on the rows whose ground truth has arrived (uploads and consolidated
reviews); bias drift by facet; attribution drift from the explanations
captured with the predictions (mean |attribution| per feature, against the
baseline's global importance). Each run is stored with its violations, in the
ledger (``monitoring.run``), listed and plotted on the dashboard; a run with
violations POSTs its summary to every webhook (``monitoring.alert`` records
what each answered). Only webhooks: the API never configures commands to run on
the server.
"""

import datetime as _dt
import hashlib
import json
import logging
import math
import threading
from typing import Annotated, Any

import numpy as np
import sqlalchemy as sa
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assay._config._models import MonitorThresholds, WebhookAlert
from assay._errors import Conflict, DataError, NotFound
from assay.monitor._quality import constraints_schema, quality_constraints
from assay.service import _ledger
from assay.service._db import aware, baselines, find_model, models, monitoring_runs, predictions, serialise, utcnow
from assay.service._deps import Engine, roles
from assay.service._guard import STRICT, Whole
from assay.service._settings import configure

__all__ = ["MonitoringIn", "Scheduler", "run_window", "store_baseline"]

log = logging.getLogger("assay.service")
MAX_CATCH_UP = 48  # scheduled windows missed while the server was down: at most this many of the newest are checked
MAX_SPAN = _dt.timedelta(days=366)
WHEN = sa.func.coalesce(
    predictions.c.inference_time, predictions.c.captured_at
)  # a prediction's time: when the model decided, if said  # the longest schedule, window, delay or recheck


def _upto(n: int) -> str:
    """A regular expression for the whole numbers 1 to ``n`` (no leading zeros)."""
    digits = str(n)
    alts = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for i, d in enumerate(map(int, digits)):
        lo = 1 if i == 0 else 0
        if i == len(digits) - 1:
            alts.append(f"{digits[:i]}[{lo}-{d}]")
        elif d > lo:
            alts.append(f"{digits[:i]}[{lo}-{d - 1}][0-9]{{{len(digits) - i - 1}}}")
    return "(?:" + "|".join(alts) + ")"


_UNITS = {"D": 1, "h": 24, "min": 24 * 60, "s": 24 * 3600}
#: A duration as the service takes it: a whole number and a unit (s, min, h, D), more than 0 and at most MAX_SPAN.
DURATION = "^(?:" + "|".join(f"{_upto(MAX_SPAN.days * per_day)}{unit}" for unit, per_day in _UNITS.items()) + ")$"
DELAY = "^(?:0(?:" + "|".join(_UNITS) + ")|" + DURATION[1:-1] + ")$"  # a delay may be none


def _duration(text: str, key: str, pattern: str | None = DURATION) -> _dt.timedelta:
    """``text`` as a time span; ValueError naming ``key`` unless it matches ``pattern`` (None: a stored setting, read as written)."""
    import re

    import pandas as pd

    if pattern is not None and not re.fullmatch(pattern, text):
        raise ValueError(f"{key} {text!r} is not a duration of at most {MAX_SPAN.days} days: give a whole number and a unit (s, min, h or D), "
                         f"e.g. {'0min, ' if pattern == DELAY else ''}15min, 1h, 1D or 7D")  # fmt: skip
    step: _dt.timedelta = pd.to_timedelta(text).to_pytimedelta()
    return step


class ColumnsIn(BaseModel):
    model_config = STRICT
    ground_truth: str = Field(default="ground_truth", min_length=1, max_length=200)
    predicted_label: str = Field(default="predicted_label", min_length=1, max_length=200)
    score: str = Field(default="score", min_length=1, max_length=200)


def _replace(schema: dict[str, Any], by: dict[str, Any]) -> None:
    schema.clear()
    schema.update(by)


class MonitoringIn(MonitorThresholds):
    """A model's monitoring settings: the thresholds of ``assay monitor`` (one model checks both), and the schedule."""

    #: on-demand monitoring (every: null) needs a window: the schema says what ``_window`` checks
    model_config = STRICT | ConfigDict(json_schema_extra={"anyOf": [{"not": {"required": ["every"]}}, {"properties": {"every": {"type": "string"}}},
                                                                    {"properties": {"window": {"type": "string"}}, "required": ["window"]}]})  # fmt: skip
    every: str | None = Field(default="1D", max_length=40, json_schema_extra={"pattern": DURATION})
    window: str | None = Field(default=None, max_length=40, json_schema_extra={"pattern": DURATION})
    delay: str = Field(default="0min", max_length=40, json_schema_extra={"pattern": DELAY})
    recheck_after: str | None = Field(default=None, max_length=40, json_schema_extra={"pattern": DURATION},
                                      description="check each scheduled window again this long after it closed")  # fmt: skip
    columns: ColumnsIn = Field(default_factory=ColumnsIn)
    bootstrap_replicates: Whole = Field(default=500, ge=50, le=10_000)
    model_quality_constraints: dict[str, Any] = Field(default_factory=dict, max_length=30,
                                                                 json_schema_extra=lambda s: _replace(s, constraints_schema("binary")))  # fmt: skip
    alerts: list[WebhookAlert] = Field(default_factory=list, max_length=20)

    @field_validator("model_quality_constraints")
    @classmethod
    def _known_metrics(cls, v: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return quality_constraints(v, "binary")  # the service's models are binary classifiers

    @field_validator("every", "window", "recheck_after", "delay")
    @classmethod
    def _span(cls, v: str | None, info: Any) -> str | None:
        if v is not None and not (info.context or {}).get("stored"):  # settings stored before the grammar was stated are read as written
            _duration(v, info.field_name, DELAY if info.field_name == "delay" else DURATION)
        return v

    @classmethod
    def stored(cls, settings: dict[str, Any]) -> "MonitoringIn":
        """A model's stored monitoring settings (checked when they were set)."""
        return cls.model_validate(settings, context={"stored": True})

    @model_validator(mode="after")
    def _window(self) -> "MonitoringIn":
        if self.every is None and self.window is None:
            raise ValueError("on-demand monitoring (every: null) needs a window, e.g. 1D")
        return self

    def span(self) -> _dt.timedelta:
        return _duration(str(self.window or self.every), "window", None)


class BaselineIn(BaseModel):
    model_config = STRICT
    statistics: dict[str, Any] = Field(description="statistics.json: Model Monitor's (dataset, features) or assay's (with assay_profile)",
                                       json_schema_extra={"anyOf": [{"required": ["dataset", "features"], "properties": {
                                           "dataset": {"type": "object", "required": ["item_count"]}, "features": {"type": "array", "items": {
                                               "type": "object", "required": ["name", "inferred_type"]}}}}, {"required": ["assay_profile"]}]})  # fmt: skip
    constraints: dict[str, Any] | None = None
    model: dict[str, Any] | None = None


class RunIn(BaseModel):
    model_config = STRICT
    start: _dt.datetime | None = Field(default=None, strict=False)  # ISO 8601 text
    end: _dt.datetime | None = Field(default=None, strict=False)


def jsonable(doc: Any) -> Any:
    """Plain JSON (numpy numbers as numbers, NaN and infinities as null) for the database and the API."""
    from assay.monitor._windows import _plain

    return json.loads(json.dumps(doc, default=_plain), parse_constant=lambda _name: None)


def latest_baseline(conn: sa.Connection, model_id: int) -> Any:
    return conn.execute(sa.select(baselines).where(baselines.c.model_id == model_id).order_by(baselines.c.id.desc()).limit(1)).first()


_LIMITS: dict[tuple[str, frozenset[str]], dict[str, dict[str, Any]]] = {}  # a baseline's input limits by its hash: built once per process


def limits_of(conn: sa.Connection, model: Any) -> dict[str, dict[str, Any]] | None:
    """The input limits of the model's latest baseline for routing (``baseline_constraints``), without its model's outputs; None without
    a baseline. Capture is the hot path: the baseline's documents are read and turned into limits once per baseline, not per batch."""
    from assay.review import baseline_limits

    row = conn.execute(sa.select(baselines.c.id, baselines.c.sha256).where(baselines.c.model_id == model.id).order_by(baselines.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    monitoring = model.spec.get("monitoring")
    cols = MonitoringIn.stored(monitoring).columns if monitoring else ColumnsIn()
    key = (row.sha256, frozenset(cols.model_dump().values()))
    if key not in _LIMITS:
        docs = conn.execute(sa.select(baselines.c.statistics, baselines.c.constraints).where(baselines.c.id == row.id)).one()
        if len(_LIMITS) >= 64:
            _LIMITS.clear()
        _LIMITS[key] = baseline_limits(docs.statistics, docs.constraints, outputs=set(key[1]))
    return _LIMITS[key]


def captured_importance(explanations: list[dict[str, Any]], level: float) -> dict[str, Any] | None:
    """Global importance of a window from the explanations captured with its predictions: mean |attribution| per feature,
    with a normal interval of the mean (rows are independent draws of the window)."""
    from scipy.stats import norm

    rows = [e for e in explanations if isinstance(e, dict) and e]
    if len(rows) < 2:
        return None
    z = float(norm.ppf(0.5 + level / 2))
    out = {}
    for f in sorted({k for e in rows for k in e}):
        a = np.abs(np.array([float(e[f]) for e in rows if isinstance(e.get(f), (int, float))], dtype=np.float64))
        if len(a) < 2:
            continue
        se = float(a.std(ddof=1) / math.sqrt(len(a)))
        out[f] = {"value": float(a.mean()), "ci": [float(a.mean() - z * se), float(a.mean() + z * se)]}
    return {"method": "captured", "rows_explained": len(rows), "global_importance": out}


def window_frame(conn: sa.Connection, model: Any, start: _dt.datetime, end: _dt.datetime, cols: ColumnsIn) -> tuple[Any, list[str], list[Any]]:
    """The window's captured predictions as a table (inputs, facets, the model's label and score, ground truth, under the baseline's
    names), the columns to profile (everything the model saw) and the captured explanations."""
    import pandas as pd

    rows = conn.execute(sa.select(predictions.c.inputs, predictions.c.facets, predictions.c.label, predictions.c.score, predictions.c.ground_truth,
                                  predictions.c.explanation)
                        .where(predictions.c.model_id == model.id, WHEN >= start, WHEN < end)
                        .order_by(predictions.c.seq)).all()  # fmt: skip
    frame = pd.DataFrame.from_records([dict(r.inputs or {}) for r in rows], index=range(len(rows)))
    inputs = [str(c) for c in frame.columns]
    facets = [f for f in model.spec.get("facets", []) if f not in frame.columns]
    for f in facets:
        frame[f] = [(r.facets or {}).get(f) for r in rows]
    frame[cols.predicted_label] = [r.label for r in rows]
    frame[cols.score] = pd.to_numeric(pd.Series([r.score for r in rows], dtype="float64"))
    frame[cols.ground_truth] = [r.ground_truth for r in rows]
    for c in frame.columns:  # JSON numbers arrive as objects when some rows lack the key: numeric when every present value is a number
        if frame[c].dtype == object and len(frame) and frame[c].map(lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))).all():
            frame[c] = pd.to_numeric(frame[c])
    return frame, inputs + facets, [r.explanation for r in rows if r.explanation]


def check_window(conn: sa.Connection, model: Any, base: Any, cfg: MonitoringIn, start: _dt.datetime, end: _dt.datetime) -> dict[str, Any]:
    """The monitoring engine's result for captured predictions in [start, end) against the baseline."""
    from assay.monitor._baseline import baseline_from_documents
    from assay.monitor._check import check
    from assay.monitor._model import MonitorSpec, model_figures
    from assay.monitor._profile import profile

    frame, profiled, explanations = window_frame(conn, model, start, end, cfg.columns)
    window = {"start": start.isoformat(), "end": end.isoformat()}
    if len(frame) == 0:
        return {"window": window, "rows": 0, "violations": [], "note": "no predictions were captured in this window"}
    base_profile, constraints = baseline_from_documents(base.statistics, base.constraints)
    known = set(base_profile.columns)
    profiled += [c for c in (cfg.columns.predicted_label, cfg.columns.score) if c in known and frame[c].notna().any()]
    positive = (model.spec.get("label_values") or [None])[0]
    has_labels = bool(frame[cfg.columns.predicted_label].notna().all())
    has_scores = bool(frame[cfg.columns.score].notna().all())
    spec = MonitorSpec(label=cfg.columns.ground_truth, label_values=positive, predicted_label=cfg.columns.predicted_label if has_labels else None,
                       probability=cfg.columns.score if has_scores and not has_labels else None,
                       probability_threshold=float(model.spec.get("threshold", 0.5)), facets=list(model.spec.get("facets", [])),
                       ground_truth={"dataset_uri": "captured ground truth"}, quality_thresholds=dict(cfg.model_quality_constraints),
                       alpha=cfg.alpha, replicates=cfg.bootstrap_replicates, confidence_level=cfg.confidence_level,
                       min_quality_change=cfg.min_quality_change)  # fmt: skip
    model_doc = None
    if positive is not None and (has_labels or has_scores):
        model_doc = model_figures(frame, spec, baseline=base.model)
        model_doc["attribution"] = captured_importance(explanations, cfg.confidence_level)
    result = check(profile(frame[profiled]), base_profile, constraints, model=model_doc, model_baseline=base.model, spec=spec)
    return jsonable({"window": window, "rows": int(len(frame)), **result})


def run_window(engine: sa.Engine, model: Any, start: _dt.datetime, end: _dt.datetime, *, trigger: str) -> dict[str, Any] | None:
    """Check one window, store the run (with its ledger entry) and alert; None when a scheduled run of this window already exists."""
    cfg = MonitoringIn.stored(model.spec["monitoring"])
    with engine.connect() as conn:
        base = latest_baseline(conn, model.id)
        if base is None:
            raise Conflict(f"model {model.name}/{model.version} has no baseline: PUT /models/{model.name}/{model.version}/baseline first")
        try:
            result = check_window(conn, model, base, cfg, start, end)
        except Exception as exc:  # noqa: BLE001  (recorded as this window's run: a scheduler that raised would retry it every tick forever)
            log.exception("the monitoring check of %s/%s for %s to %s failed", model.name, model.version, start, end)
            result = {"window": {"start": start.isoformat(), "end": end.isoformat()}, "rows": 0, "violations": [],
                      "note": f"the check of this window failed: {type(exc).__name__}: {str(exc)[:500]}", "failed": True}  # fmt: skip
    violations = result.get("violations", [])
    now = utcnow()
    with engine.begin() as conn:
        serialise(conn, "monitoring")
        if trigger in SCHEDULED and conn.execute(sa.select(monitoring_runs.c.id).where(monitoring_runs.c.model_id == model.id,
                                                 monitoring_runs.c.window_end == end, monitoring_runs.c.trigger == trigger)).first():  # fmt: skip
            return None  # another process checked this window first
        run_id = conn.execute(monitoring_runs.insert().values(model_id=model.id, window_start=start, window_end=end, ran_at=now, trigger=trigger,
                                                              rows=result["rows"], violations=len(violations), result=result)).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        _ledger.append(conn, actor=trigger, action="monitoring.run", subject=f"{model.name}/{model.version}",
                       payload={"run": run_id, "window_start": start.isoformat(), "window_end": end.isoformat(), "rows": result["rows"],
                                "baseline": base.sha256, "violations": [[v["feature_name"], v["constraint_check_type"]] for v in violations],
                                "sha256": hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()})  # fmt: skip
    outcomes = None
    if violations and cfg.alerts:
        from assay.monitor._windows import send_alerts

        payload = {"model": f"{model.name}/{model.version}", "run": run_id, "window_start": start.isoformat(), "window_end": end.isoformat(),
                   "rows": result["rows"], "violations": violations}  # fmt: skip
        outcomes = send_alerts([a.model_dump() for a in cfg.alerts], payload)
        with engine.begin() as conn:
            conn.execute(monitoring_runs.update().where(monitoring_runs.c.id == run_id).values(alerts=outcomes))
            _ledger.append(conn, actor="assay", action="monitoring.alert", subject=f"{model.name}/{model.version}",
                           payload={"run": run_id, "outcomes": [{k: v for k, v in o.items() if k != "headers"} for o in outcomes]})  # fmt: skip
    return run_summary({"id": run_id, "window_start": start, "window_end": end, "ran_at": now, "trigger": trigger, "rows": result["rows"],
                        "violations": len(violations), "result": result, "alerts": outcomes}, full=True)  # fmt: skip


def run_summary(r: Any, *, full: bool = False) -> dict[str, Any]:
    """A stored run for the API: its window, size, violations (and with ``full`` the engine's whole result)."""
    res = r["result"] or {}
    out = {"id": r["id"], "window_start": aware(r["window_start"]).isoformat(), "window_end": aware(r["window_end"]).isoformat(),
           "ran_at": aware(r["ran_at"]).isoformat(), "trigger": r["trigger"], "rows": r["rows"], "violation_count": r["violations"],
           "violations": res.get("violations", []), "alerts": r["alerts"], "note": res.get("note")}  # fmt: skip
    if full:
        out["result"] = res
    return out


def series(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs' time series (oldest first), as ``assay monitor run`` builds them: violations, each column's drift, quality and bias metrics
    with their intervals (a window without predictions has none)."""
    from assay.monitor._windows import _series

    return _series([{"start": r["window_start"], "rows": r["rows"], "result": {"features": {}, "violations": [], **(r["result"] or {})}} for r in runs])


SCHEDULED = ("schedule", "schedule-recheck")  # a window's check when it closes, and again after recheck_after (late ground truth)


def due_windows(
    spec: dict[str, Any], last_end: _dt.datetime | None, now: _dt.datetime, *, trigger: str = "schedule"
) -> list[tuple[_dt.datetime, _dt.datetime]]:
    """Scheduled windows that have closed (after ``delay``; rechecks after ``recheck_after`` too) and not been checked by ``trigger``:
    ends on multiples of ``every`` since the settings were made, the newest ``MAX_CATCH_UP`` at most."""
    import pandas as pd

    cfg = MonitoringIn.stored(spec["monitoring"])
    if cfg.every is None or (trigger == "schedule-recheck" and cfg.recheck_after is None):
        return []
    every, span = _duration(cfg.every, "every", None), cfg.span()
    wait = pd.to_timedelta(cfg.delay).to_pytimedelta()
    if trigger == "schedule-recheck" and cfg.recheck_after is not None:
        wait += _duration(cfg.recheck_after, "recheck_after", None)
    newest = pd.Timestamp(now - wait).floor(pd.Timedelta(every)).to_pydatetime()
    since = aware(_dt.datetime.fromisoformat(spec["monitoring_since"]))
    ends: list[_dt.datetime] = []
    e = newest
    while e > since and (last_end is None or e > last_end) and len(ends) < MAX_CATCH_UP:
        ends.append(e)
        e -= every
    return [(x - span, x) for x in reversed(ends)]


class Scheduler:
    """Runs every model's due windows every ``tick`` seconds, in a daemon thread (errors are logged and retried next tick)."""

    def __init__(self, engine: sa.Engine, tick: float = 30.0) -> None:
        self.engine, self.tick = engine, tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_due(self, now: _dt.datetime | None = None) -> list[dict[str, Any]]:
        now = now or utcnow()
        done = []
        with self.engine.connect() as conn:
            ms = [m for m in conn.execute(sa.select(models).order_by(models.c.id)) if (m.spec.get("monitoring") or {}).get("every")]
            last = {(mid, trig): end for mid, trig, end in conn.execute(
                sa.select(monitoring_runs.c.model_id, monitoring_runs.c.trigger, sa.func.max(monitoring_runs.c.window_end))
                .where(monitoring_runs.c.trigger.in_(SCHEDULED)).group_by(monitoring_runs.c.model_id, monitoring_runs.c.trigger))}  # fmt: skip
            with_base = {r[0] for r in conn.execute(sa.select(baselines.c.model_id).distinct())}
        for m in ms:
            if m.id not in with_base:
                continue
            for trigger in SCHEDULED:
                prev = last.get((m.id, trigger))
                try:
                    for start, end in due_windows(m.spec, aware(prev) if prev is not None else None, now, trigger=trigger):
                        r = run_window(self.engine, m, start, end, trigger=trigger)
                        if r is not None:
                            done.append(r)
                except Exception:  # one model's failure must not stop the others; logged without inputs
                    log.exception("scheduled monitoring (%s) of %s/%s failed", trigger, m.name, m.version)
        return done

    def _loop(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.run_due()
            except Exception:
                log.exception("the monitoring scheduler's tick failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="assay-monitoring", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def store_baseline(engine: sa.Engine, name: str, version: str, statistics: dict[str, Any], constraints: dict[str, Any] | None,
                   model_figures: dict[str, Any] | None, *, actor: str) -> dict[str, Any]:  # fmt: skip
    """Check and store a model's baseline (statistics.json, constraints.json, model.json) with its ``model.baseline`` ledger entry."""
    from assay._errors import ConfigError
    from assay.monitor._baseline import baseline_from_documents

    prof, constraints = baseline_from_documents(statistics, constraints)
    doc = {"statistics": statistics, "constraints": constraints, "model": model_figures}
    digest = hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()
    summary = {"sha256": digest, "rows": prof.rows, "columns": sorted(prof.columns), "model_figures": model_figures is not None}
    with engine.begin() as conn:
        m = conn.execute(sa.select(models.c.id).where(models.c.name == name, models.c.version == version)).first()
        if m is None:
            raise ConfigError(f"model {name}/{version} is not registered")
        conn.execute(baselines.insert().values(model_id=m.id, created_at=utcnow(), created_by=actor, statistics=statistics, constraints=constraints,
                                               model=model_figures, sha256=digest))  # fmt: skip
        _ledger.append(conn, actor=actor, action="model.baseline", subject=f"{name}/{version}", payload=summary)
    return summary


router = APIRouter()  # the monitoring routes (create_app includes it)


@router.put("/models/{name}/{version}/baseline", summary="Set the model's monitoring baseline (assay monitor baseline's files)")
def put_baseline(engine: Engine, name: str, version: str, body: BaselineIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
    from assay._errors import AssayError

    with engine.connect() as conn:
        find_model(conn, name, version)  # 404 first
    try:
        return store_baseline(engine, name, version, body.statistics, body.constraints, body.model, actor=who["name"])
    except AssayError as exc:
        raise DataError(str(exc)) from None


@router.put("/models/{name}/{version}/monitoring", summary="Set the model's monitoring schedule, window, columns and alerts")
def put_monitoring(engine: Engine, name: str, version: str, body: MonitoringIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:

    settings = body.model_dump()
    configure(engine, name, version, who["name"], "monitoring", settings, extra={"monitoring_since": utcnow().isoformat()})
    return settings


@router.post("/models/{name}/{version}/monitoring/runs", status_code=201, summary="Check a window now (default: the last window up to now)")
def post_run(engine: Engine, name: str, version: str, body: RunIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
    with engine.connect() as conn:
        m = find_model(conn, name, version)
    if not m.spec.get("monitoring"):
        raise Conflict(f"model {name}/{version} has no monitoring settings: PUT /models/{name}/{version}/monitoring first")
    cfg = MonitoringIn.stored(m.spec["monitoring"])
    end = aware(body.end) if body.end else utcnow()
    try:
        start = aware(body.start) if body.start else end - cfg.span()
    except OverflowError:
        raise DataError(f"end {end.isoformat()} less the window {cfg.window or cfg.every} is before the year 1; give start") from None
    if not start < end:
        raise DataError(f"start ({start.isoformat()}) must be before end ({end.isoformat()})")
    if end - start > _dt.timedelta(days=366):
        raise DataError("a window is at most 366 days; check longer periods window by window")
    return run_window(engine, m, start, end, trigger=who["name"])  # type: ignore[return-value]


@router.get("/models/{name}/{version}/monitoring/runs", summary="Monitoring runs (newest first) with their violations, and the series")
def get_runs(engine: Engine, name: str, version: str, _who: Annotated[dict[str, Any], roles("admin", "owner", "auditor")],
             limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:  # fmt: skip
    with engine.connect() as conn:
        m = find_model(conn, name, version)
        rows = conn.execute(sa.select(monitoring_runs).where(monitoring_runs.c.model_id == m.id)
                            .order_by(monitoring_runs.c.window_end.desc(), monitoring_runs.c.id.desc()).limit(limit)).mappings().all()  # fmt: skip
    runs = [run_summary(r) for r in rows]
    return {"runs": runs, "series": series([run_summary(r, full=True) for r in reversed(rows)])}


@router.get("/models/{name}/{version}/monitoring/runs/{run_id}", summary="One monitoring run with the engine's whole result")
def get_run(engine: Engine, name: str, version: str, run_id: Annotated[int, Path(ge=1, le=2**62)],
            _who: Annotated[dict[str, Any], roles("admin", "owner", "auditor")]) -> dict[str, Any]:  # fmt: skip
    with engine.connect() as conn:
        m = find_model(conn, name, version)
        r = conn.execute(sa.select(monitoring_runs).where(monitoring_runs.c.id == run_id, monitoring_runs.c.model_id == m.id)).mappings().first()
    if r is None:
        raise NotFound(f"model {name}/{version} has no monitoring run {run_id}")
    return run_summary(r, full=True)
