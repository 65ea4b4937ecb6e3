"""The service's store: SQLite by default (a file, zero set-up), PostgreSQL when given a URL; SQLAlchemy Core tables, Alembic migrations.

Tables: ``tokens`` (API tokens, SHA-256 hashed at rest, with a role), ``models``
(name, version, facets, label values, routing policy, monitoring settings),
``predictions`` (one row per captured prediction: model, id, inputs, score,
label, facets, explanation, time, ground truth when it arrives), ``ledger``
(the hash-chained record of every action), ``review_tasks`` and
``review_assignments`` (human review), ``sessions`` (the pages' sign-ins),
``baselines`` (a model's monitoring baseline), ``monitoring_runs`` (every
checked window and its violations), ``contests`` (decisions people asked to
have reviewed, and the responses) and ``service_secrets`` (the key that signs
decision receipts), ``bounties`` and ``bounty_submissions`` (bias bounties: the
holdout and the current model, each submission's group and model, and what was
decided), ``audits`` (a model version's analysis.json documents), ``card_versions``
and ``card_log`` (its card store: versions and the signed review log) and
``signing_keys`` (approvers' keys, encrypted), ``ledger_checks`` (the console's "verify now" runs and what they found), ``truth_counts`` (labelled predictions
counted by facet value, label and ground truth: quality by group without the rows).
The schema is created and upgraded by Alembic (``migrate``), never by
``create_all``, so that a database made by an older version is upgraded in
place.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any, overload

import sqlalchemy as sa

from assay._errors import ConfigError, NotFound
from assay.ledger._sql import ledger_table

__all__ = [
    "LOCKS",
    "METADATA",
    "audits",
    "aware",
    "baselines",
    "bounties",
    "bounty_submissions",
    "card_log",
    "card_versions",
    "connect",
    "contests",
    "ledger",
    "ledger_checks",
    "migrate",
    "models",
    "monitoring_runs",
    "predictions",
    "review_assignments",
    "review_tasks",
    "serialise",
    "service_secrets",
    "sessions",
    "signing_keys",
    "tokens",
    "truth_counts",
]

METADATA = sa.MetaData()

tokens = sa.Table(
    "tokens", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)  # fmt: skip

models = sa.Table(
    "models", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.String(100), nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),  # facets, label values, threshold, feature names, baseline reference
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_models_name_version"),
)  # fmt: skip

predictions = sa.Table(
    "predictions", METADATA,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("prediction_id", sa.String(200), nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("label", sa.String(200), nullable=True),
    sa.Column("facets", sa.JSON, nullable=False),
    sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ground_truth", sa.String(200), nullable=True),
    sa.Column("ground_truth_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("ground_truth_source", sa.String(50), nullable=True),
    sa.Column("explanation", sa.JSON, nullable=True),  # feature -> attribution, when the caller sends one with the prediction
    sa.Column("inference_time", sa.DateTime(timezone=True), nullable=True),  # when the model decided, if the caller says (windows use it)
    sa.Column("ledger_seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=True, index=True),  # the capture.batch entry
    sa.UniqueConstraint("model_id", "prediction_id", name="uq_predictions_model_id"),
    sa.Index("ix_predictions_model_seq", "model_id", "seq"),
    sa.Index("ix_predictions_model_when", "model_id", sa.text("coalesce(inference_time, captured_at)")),  # a window's rows: when the model decided
)  # fmt: skip

ledger = ledger_table(METADATA)  # the hash-chained record (assay.ledger owns its shape)


review_tasks = sa.Table(
    "review_tasks", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("prediction_id", sa.String(200), nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("required", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # open, complete, no_consensus, expired
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("answer", sa.String(200), nullable=True),
    sa.Column("agreement", sa.Float, nullable=True),
    sa.Column("contest_id", sa.Integer, nullable=True),  # set when the task reviews a contested decision
    sa.Index("ix_review_tasks_prediction", "model_id", "prediction_id"),
)  # fmt: skip

review_assignments = sa.Table(
    "review_assignments", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_id", sa.Integer, sa.ForeignKey("review_tasks.id"), nullable=False),
    sa.Column("reviewer", sa.String(200), nullable=False),
    sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("answer", sa.String(200), nullable=True),
    sa.UniqueConstraint("task_id", "reviewer", name="uq_review_assignments_task_reviewer"),
)  # fmt: skip


sessions = sa.Table(
    "sessions", METADATA,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)  # fmt: skip


baselines = sa.Table(
    "baselines", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("statistics", sa.JSON, nullable=False),  # assay monitor baseline's statistics.json
    sa.Column("constraints", sa.JSON, nullable=False),  # ... constraints.json
    sa.Column("model", sa.JSON, nullable=True),  # ... model.json (model quality, bias, importance of the baseline)
    sa.Column("sha256", sa.String(64), nullable=False),
)  # fmt: skip

monitoring_runs = sa.Table(
    "monitoring_runs", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("trigger", sa.String(200), nullable=False),  # "schedule" or who asked
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("violations", sa.Integer, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("alerts", sa.JSON, nullable=True),
    sa.Index("ix_monitoring_runs_model_window", "model_id", "window_start"),
)  # fmt: skip

contests = sa.Table(
    "contests", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("prediction_id", sa.String(200), nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("opened_by", sa.String(200), nullable=False),
    sa.Column("on_behalf_of", sa.String(200), nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # open, upheld, overturned, no_consensus, expired, answered
    sa.Column("outcome", sa.String(200), nullable=True),  # the reviewed answer
    sa.Column("response", sa.Text, nullable=True),
    sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("responded_by", sa.String(200), nullable=True),
)  # fmt: skip


service_secrets = sa.Table(
    "service_secrets", METADATA,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),  # e.g. the key of decision receipts (HMAC)
)  # fmt: skip


bounties = sa.Table(
    "bounties", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),  # label, positive, margin, alpha, budget, trusted types, columns, digests of the two files
    sa.Column("holdout", sa.LargeBinary, nullable=False),  # the holdout's file (CSV or Parquet), never shown to submitters
    sa.Column("model", sa.LargeBinary, nullable=False),  # the original model (skops)
)  # fmt: skip

bounty_submissions = sa.Table(
    "bounty_submissions", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("bounty_id", sa.Integer, sa.ForeignKey("bounties.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),  # 1, 2, ... within the bounty: the order they are verified in
    sa.Column("submitted_by", sa.String(200), nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("conditions", sa.JSON, nullable=False),  # the group
    sa.Column("model", sa.LargeBinary, nullable=False),  # skops
    sa.Column("model_sha256", sa.String(64), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),  # pending, accepted, rejected
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("decision", sa.JSON, nullable=True),  # gain, lower bound, level, group rows: the owner's figures
    sa.UniqueConstraint("bounty_id", "number", name="uq_bounty_submissions_number"),
)  # fmt: skip


audits = sa.Table(
    "audits", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("analysis", sa.JSON, nullable=False),  # the audit's analysis.json
    sa.Column("sha256", sa.String(64), nullable=False),
)  # fmt: skip

card_versions = sa.Table(
    "card_versions", METADATA,
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("record", sa.JSON, nullable=False),  # {version, content_hash, content}: a card store's versions/NNNN.json, written once
)  # fmt: skip

card_log = sa.Table(
    "card_log", METADATA,
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("entry", sa.JSON, nullable=False),  # a line of a card store's log.jsonl (hash-chained; approvals signed)
)  # fmt: skip

signing_keys = sa.Table(
    "signing_keys", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, index=True),
    sa.Column("key_id", sa.String(16), nullable=False, unique=True),
    sa.Column("public_key", sa.Text, nullable=False),  # PEM
    sa.Column("private_key", sa.Text, nullable=False),  # PEM, encrypted with the approver's passphrase (never stored)
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
)  # fmt: skip


truth_counts = sa.Table(
    "truth_counts", METADATA,
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), primary_key=True),
    sa.Column("facet", sa.String(200), primary_key=True),  # "" for every row
    sa.Column("value", sa.String(200), primary_key=True),
    sa.Column("label", sa.String(200), primary_key=True),  # the model's
    sa.Column("truth", sa.String(200), primary_key=True),
    sa.Column("source", sa.String(50), primary_key=True),  # api or review
    sa.Column("n", sa.BigInteger, nullable=False),
)  # fmt: skip


ledger_checks = sa.Table(
    "ledger_checks", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_by", sa.String(200), nullable=False),
    sa.Column("anchor", sa.JSON, nullable=True),  # the head it was checked against, when given
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("result", sa.JSON, nullable=True),  # ok, entries, head or the problems; the head when it finished
)  # fmt: skip


def utcnow() -> _dt.datetime:
    """Every time the service stores is UTC."""
    return _dt.datetime.now(_dt.timezone.utc)


@overload
def aware(t: _dt.datetime) -> _dt.datetime: ...
@overload
def aware(t: None) -> None: ...
def aware(t: _dt.datetime | None) -> _dt.datetime | None:
    """A time in UTC with its zone: SQLite hands back naive datetimes (stored as UTC); a time in another zone is converted."""
    if t is None:
        return None
    return t.replace(tzinfo=_dt.timezone.utc) if t.tzinfo is None else t.astimezone(_dt.timezone.utc)


LOCKS = {"ledger": 735_001, "review_queue": 735_002, "monitoring": 735_003, "bounties": 735_004}  # PostgreSQL advisory lock keys


def serialise(conn: sa.Connection, what: str) -> None:
    """Serialise writers of ``what`` until the transaction ends: PostgreSQL takes a transaction-level advisory lock; SQLite's writers are
    already one at a time (BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCKS[what]})


def url_for(db: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL: a path becomes a SQLite file; postgresql:// URLs use psycopg 3."""
    text = os.fspath(db)
    if "://" not in text:
        return f"sqlite:///{Path(text).resolve()}"
    if text.startswith("postgresql://") or text.startswith("postgres://"):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if text.startswith(("sqlite:", "postgresql+psycopg:")):
        return text
    raise ConfigError(f"database {text!r}: give a file path (SQLite) or a postgresql:// URL")


def connect(db: str | os.PathLike[str]) -> sa.Engine:
    """An engine for ``db``; SQLite in WAL mode with foreign keys and a busy timeout (many readers, one writer at a time)."""
    url = url_for(db)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            conn.isolation_level = None  # let SQLAlchemy's begin event open the transaction (pysqlite's own would defer locks)
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # an acknowledged write survives a crash
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _immediate(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # writers queue here instead of failing on upgrade to a write lock

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision (Alembic ``upgrade head``)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.dbapi_connection
        if sqlite:  # SQLite rebuilds a table to change its constraints: foreign keys off for that, outside the transaction
            raw.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration left rows whose references are broken: {broken[:5]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def find_model(conn: sa.Connection, name: str, version: str) -> Any:
    """The registered model ``name``/``version`` (404 when there is none)."""
    row = conn.execute(sa.select(models).where(models.c.name == name, models.c.version == version)).first()
    if row is None:
        raise NotFound(f"model {name}/{version} is not registered")
    return row
