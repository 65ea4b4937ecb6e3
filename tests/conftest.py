from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assay
from assay.datasets import adult_model, load_adult


@pytest.fixture(scope="session")
def adult_scored() -> pd.DataFrame:
    """Adult test split with a deterministic logistic-regression score and prediction."""
    from sklearn.linear_model import LogisticRegression

    train, test = load_adult("train"), load_adult("test")
    cols = ["age", "education-num", "hours-per-week", "capital-gain", "capital-loss"]
    model = LogisticRegression(max_iter=2000).fit(np.log1p(train[cols]), train["income"] == ">50K")
    out = test.copy()
    out["score"] = model.predict_proba(np.log1p(test[cols]))[:, 1]
    out["pred"] = np.where(out["score"] > 0.5, ">50K", "<=50K")
    out["y"] = (out["income"] == ">50K").astype(int)
    out["yhat"] = (out["pred"] == ">50K").astype(int)
    return out


@pytest.fixture(scope="session")
def analysed(tmp_path_factory) -> Path:
    """Audit (score, intersectional facet, continuous facet) and explanation of a real model, in one analysis.json."""
    from assay.explain import explain

    train, test = load_adult("train"), load_adult("test").sample(6000, random_state=0).reset_index(drop=True)
    features = [c for c in train.columns if c not in ("income", "fnlwgt", "sex")]
    model = adult_model(features, max_iter=50).fit(train[features], train["income"] == ">50K")
    test["score"] = model.predict_proba(test[features])[:, 1]
    result = assay.audit(test, label="income", label_values_or_threshold=[">50K"], probability="score", group_variable="education",
                         facets=["sex", "race", ["sex", "race"], assay.Facet(("age",), threshold=40)], bootstrap_replicates=200)  # fmt: skip
    doc = json.loads(result.to_json())
    ex = explain(test, model, use_logit=True, facets=["sex", "race"], max_rows=300, bootstrap_replicates=200, pdp_top_k=3)
    doc["explanations"] = json.loads(json.dumps(ex.to_dict()))
    out = tmp_path_factory.mktemp("report")
    (out / "analysis.json").write_text(json.dumps(doc))
    return out


@pytest.fixture(scope="session")
def spark():
    """One local Spark (2 cores) for the whole run, through assay's own session(); stopped at the end."""
    from assay.spark import session

    s = session("local[2]", app_name="assay-tests", conf={"spark.ui.enabled": False, "spark.sql.shuffle.partitions": 4,
                                                          "spark.sql.session.timeZone": "UTC"})  # fmt: skip
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


# == the service: a PostgreSQL cluster of our own, and a client on SQLite and on PostgreSQL ====================
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/nonexistent"))  # the newest installed major version


def _as_postgres(*argv: str) -> subprocess.CompletedProcess:
    """Run as the postgres user when we are root (PostgreSQL refuses root), else as ourselves."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *argv], capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def pg_url():
    """A PostgreSQL cluster of our own, in a temporary directory, on a local socket (initdb and the server refuse root)."""
    bindir = PG_BIN if PG_BIN.exists() else Path(shutil.which("initdb") or "/nonexistent").parent
    assert (bindir / "initdb").exists(), "PostgreSQL is not installed: run `sh scripts/system-deps.sh` (make test does)"
    root = Path(tempfile.mkdtemp(prefix="assay-pg-", dir="/tmp"))
    data, sock = root / "data", root / "sock"
    for d in (root, data, sock):
        d.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(d, "postgres")
    r = _as_postgres(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    assert r.returncode == 0, r.stderr
    r = _as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o", f"-k {sock} -c listen_addresses='' -p 5433", "start")
    assert r.returncode == 0, r.stderr + (root / "log").read_text()
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(f"postgresql+psycopg://postgres@/postgres?host={sock}&port=5433", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE assay_test"))
        engine.dispose()
        yield f"postgresql://postgres@/assay_test?host={sock}&port=5433"
    finally:
        _as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "assay.db")
    import sqlalchemy as sa

    url = request.getfixturevalue("pg_url")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:  # a clean schema for each test
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def client(db):
    from fastapi.testclient import TestClient

    from assay.service import create_app, create_token

    app = create_app(db)
    toks = {role: create_token(app.state.engine, name=f"{role}-user", role=role) for role in ("admin", "owner", "reviewer", "auditor")}
    c = TestClient(app)
    c.tokens = toks  # type: ignore[attr-defined]
    yield c
    app.state.engine.dispose()


@pytest.fixture(scope="session")
def scored():
    """Adult test rows scored by a model fitted on the train split: 6,000 for the baseline, 3,000 for the windows."""
    import numpy as np

    from assay.datasets import adult_model, load_adult

    train, test = load_adult("train"), load_adult("test")
    feats = [c for c in train.columns if c not in ("income", "fnlwgt")]
    model = adult_model(feats).fit(train[feats], train["income"] == ">50K")
    test = test.copy()
    test["score"] = model.predict_proba(test[feats])[:, 1]
    test["predicted_label"] = np.where(test["score"] > 0.5, ">50K", "<=50K")
    rng = np.random.default_rng(7)  # attributions as an explainer would send them: a few features, row by row
    test["__expl"] = [{"age": (a - 38.5) * 0.01 + rng.normal(0, 0.01), "education-num": (e - 10) * 0.05 + rng.normal(0, 0.01),
                       "hours-per-week": (h - 40) * 0.004 + rng.normal(0, 0.01)}
                      for a, e, h in zip(test["age"], test["education-num"], test["hours-per-week"])]  # fmt: skip
    return feats, test.iloc[:6000].reset_index(drop=True), test.iloc[6000:9000].reset_index(drop=True)
