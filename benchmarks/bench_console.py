"""The console's pages on a large store: every page's render time against a real server, with 1M captured predictions and 10,000
ledger entries.

Usage: python benchmarks/bench_console.py [--predictions 1000000] [--ledger 10000] [--days 30] [--repeat 5] [--keep DIR]

One model version (`big/1`) holds --predictions UCI Adult test rows (resampled; 13 input columns, a score and label, the `sex`
facet) captured through the service's own capture path (routed by a policy, digested into the ledger), spread over --days days,
half of them with ground truth;
its audit and an approved card; a baseline from the train split and one monitoring check per day; review tasks with answers and
contests. The ledger is topped up to --ledger entries (sign-ins). Then `assay serve` runs on the file and each page is fetched
--repeat times after one warm-up (median and slowest, milliseconds, the whole HTTP request), signed in as the role that sees
most of it. The two actions that read many rows, "verify now" (the whole chain and the digest of every captured prediction, in the
background) and the policy preview (the last 7 days' predictions, 200,000 at most), are timed apart: they are not page renders.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
POLICY = {"reviewers_per_item": 2, "answers": [">50K", "<=50K"], "conditions": [{"type": "score_between", "low": 0.49, "high": 0.51}]}
INFO = {"name": "big-model", "risk_rating": "High", "intended_uses": "A benchmark.", "metrics": ["DPL", "DPPL", "DI"]}
PASS = "benchmark passphrase"


def build(db: str, n: int, ledger_size: int, days: int) -> None:
    """The store: captured predictions, audit and card, baseline and daily checks, reviews and contests, ledger entries."""
    from assay import audit
    from assay.cards import generate_key
    from assay.datasets import load_adult
    from assay.monitor._baseline import statistics as stats_of
    from assay.monitor._baseline import suggest_constraints
    from assay.monitor._profile import profile
    from assay.service import connect, create_token, migrate
    from assay.service._capture import ModelIn, PredictionIn, capture
    from assay.service._cards import card_act, register_key, store_audit, store_card
    from assay.service._db import predictions
    from assay.service._monitoring import store_baseline
    from assay.service._routes import register_model

    engine = connect(db)
    migrate(engine)
    tokens = {r: create_token(engine, name=f"{r}-b", role=r) for r in ("admin", "owner", "approver", "auditor", "reviewer")}
    test = load_adult("test")
    feats = [c for c in test.columns if c not in ("income", "fnlwgt")]
    rng = np.random.default_rng(0)
    z = (test["education-num"] - 10) * 0.4 + (test["age"] - 38) * 0.03 + (test["sex"] == "Male") * 0.6 - 1.2
    test["score"] = 1 / (1 + np.exp(-z))
    test["pred"] = np.where(test["score"] > 0.5, ">50K", "<=50K")
    register_model(engine, ModelIn(name="big", version="1", facets=["sex"], label_values=[">50K"], policy=POLICY), "owner-b")
    analysis = json.loads(audit(test, label="income", label_values_or_threshold=[">50K"], predicted_label="pred", facets=["sex", "race", ["sex", "race"]],
                                bootstrap_replicates=200).to_json())  # fmt: skip
    store_audit(engine, "big", "1", analysis, "owner-b")
    store_card(engine, "big", "1", INFO, "owner-b")
    card_act(engine, "big", "1", "submit", "owner-b", "ready")
    with tempfile.TemporaryDirectory() as d:
        private, _ = generate_key(Path(d) / "k", passphrase=PASS.encode())
        register_key(engine, "approver-b", private.read_text(), PASS)
    card_act(engine, "big", "1", "approve", "approver-b", "checked", PASS)
    base = load_adult("train").sample(20_000, random_state=1)
    base["score"] = 1 / (1 + np.exp(-((base["education-num"] - 10) * 0.4 + (base["age"] - 38) * 0.03 + (base["sex"] == "Male") * 0.6 - 1.2)))
    base["pred"] = np.where(base["score"] > 0.5, ">50K", "<=50K")
    p = profile(base[feats + ["score", "pred"]].rename(columns={"pred": "predicted_label"}))
    store_baseline(engine, "big", "1", stats_of(p), suggest_constraints(p), None, actor="owner-b")
    from assay.service._settings import configure

    configure(engine, "big", "1", "owner-b", "monitoring", {"every": "1D",
                                                            "bootstrap_replicates": 200})  # fmt: skip
    rows = test.iloc[rng.integers(0, len(test), n)].reset_index(drop=True)
    inputs = rows[feats].to_dict("records")
    for j in range(0, n, 20):  # 5% lose hours-per-week: every window's completeness check fails, with rows behind it
        inputs[j]["hours-per-week"] = None
    start = time.perf_counter()
    batch = 10_000
    for i in range(0, n, batch):
        recs = [PredictionIn(id=f"p{j}", inputs=inputs[j], score=float(rows["score"].iat[j]), label=str(rows["pred"].iat[j]), facets={"sex": str(rows["sex"].iat[j])})
                for j in range(i, min(n, i + batch))]  # fmt: skip
        capture(engine, "big", "1", recs, "owner-b")
    print(f"captured {n:,} predictions in {time.perf_counter() - start:.0f} s", flush=True)
    from assay.service._capture import TruthIn, store_truth

    start = time.perf_counter()
    truth = rows["income"].astype(str).to_numpy()
    for i in range(0, n, 2 * batch):  # ground truth for every other batch: half the rows
        store_truth(engine, "big", "1", [TruthIn(id=f"p{j}", label=truth[j]) for j in range(i, min(n, i + batch))], "owner-b")
    print(f"ground truth for {sum(min(batch, n - i) for i in range(0, n, 2 * batch)):,} of them in {time.perf_counter() - start:.0f} s", flush=True)
    now = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    with engine.begin() as conn:  # spread over the days (as if captured then): one statement, by sequence number
        first = conn.execute(predictions.select().with_only_columns(predictions.c.seq).order_by(predictions.c.seq).limit(1)).scalar_one()
        span = days * 86400
        conn.exec_driver_sql(f"UPDATE predictions SET captured_at = datetime('{(now - dt.timedelta(days=days)).strftime('%Y-%m-%d %H:%M:%S')}', "
                             f"'+' || CAST((seq - {first}) * {span} / {n} AS INTEGER) || ' seconds')")  # fmt: skip
    from assay.service._monitoring import run_window

    start = time.perf_counter()
    from assay.service._db import find_model

    with engine.connect() as conn:
        model = find_model(conn, "big", "1")
    for k in range(days, 0, -1):
        run_window(engine, model, now - dt.timedelta(days=k), now - dt.timedelta(days=k - 1), trigger="owner-b")
    print(f"{days} daily checks in {time.perf_counter() - start:.0f} s", flush=True)
    from assay.service._contests import ContestIn, open_contest_for
    from assay.service._review import current_or_next, submit_answer

    for j in range(0, 100):
        open_contest_for(engine, "big", "1", f"p{j * (n // 100)}", ContestIn(reason="I think this is wrong"), "owner-b")
    for _ in range(60):
        t = current_or_next(engine, "reviewer-b")
        if t is None:
            break
        submit_answer(engine, "reviewer-b", t["task_id"], ">50K")
    from assay.service import _ledger

    with engine.begin() as conn:
        have = conn.exec_driver_sql("SELECT count(*) FROM ledger").scalar_one()
        for _ in range(max(0, ledger_size - have)):
            _ledger.append(conn, actor="auditor-b", action="session.login", subject="ui", payload={})
    engine.dispose()
    Path(db + ".tokens.json").write_text(json.dumps(tokens))


def pages(db: str, repeat: int) -> list[tuple[str, str, float, float]]:
    import httpx

    from tests.test_service import _free_port, _start

    tokens = json.loads(Path(db + ".tokens.json").read_text())
    port = _free_port()
    log = Path(db + ".server.log")
    proc = _start(db, port, log, "--schedule-tick", "0")
    base = f"http://127.0.0.1:{port}"
    out = []
    try:
        sessions = {}
        for role in ("admin", "owner", "approver", "auditor"):
            c = httpx.Client(base_url=base, timeout=None)
            c.post("/ui/login", data={"token": tokens[role]})
            sessions[role] = c
        a = sessions["admin"]
        run = re.search(r'/ui/models/big/1/runs/(\d+)"', a.get("/ui/models/big/1").text).group(1)
        contest = re.search(r'href="/ui/contests/(\d+)"', a.get("/ui/contests").text).group(1)
        urls = [("admin", "/ui/"), ("admin", "/ui/models"), ("owner", "/ui/models/big/1"), ("approver", "/ui/models/big/1"),
                ("owner", "/ui/models/big/1?runs=2"), ("owner", "/ui/models/big/1/card"), ("owner", "/ui/models/big/1/report"),
                ("owner", "/ui/models/big/1/review"), ("auditor", f"/ui/models/big/1/runs/{run}"), ("auditor", f"/ui/models/big/1/runs/{run}/rows?violation=0"),
                ("owner", "/ui/contests"), ("owner", "/ui/contests?status=all&page=2"), ("owner", f"/ui/contests/{contest}"),
                ("auditor", "/ui/ledger"), ("auditor", "/ui/ledger?action=card.approve"), ("auditor", "/ui/ledger?actor=owner-b"),
                ("auditor", "/ui/ledger?before=5000"), ("auditor", "/ui/ledger?since=2020-01-01&until=2020-01-02"), ("admin", "/ui/tokens"),
                ("approver", "/ui/keys"), ("approver", "/ui/"), ("admin", "/ui/bounties"), ("admin", "/ui/dashboard")]  # fmt: skip
        for role, url in urls:
            c = sessions[role]
            r = c.get(url)
            assert r.status_code == 200, (url, r.status_code, r.text[-500:])
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                c.get(url).raise_for_status()
                times.append((time.perf_counter() - t) * 1000)
            out.append((role, url, statistics.median(times), max(times)))
            print(f"{role:>9} {url:<52} median {out[-1][2]:8.1f} ms   slowest {out[-1][3]:8.1f} ms", flush=True)
        csrf = re.search(r'name="csrf" value="([^"]+)"', sessions["auditor"].get("/ui/ledger").text).group(1)
        t = time.perf_counter()
        r = sessions["auditor"].post("/ui/ledger/verify", data={"csrf": csrf}, follow_redirects=False)
        answered = time.perf_counter() - t
        while 'data-running="true"' in (page := sessions["auditor"].get(r.headers["location"]).text):
            time.sleep(0.2)
        print(f"action: verify now answers in {answered * 1000:.0f} ms; the check (whole chain, every prediction's digest) ends after "
              f"{time.perf_counter() - t:.2f} s, intact: {'Intact' in page}")  # fmt: skip
        csrf = re.search(r'name="csrf" value="([^"]+)"', sessions["owner"].get("/ui/models/big/1/review").text).group(1)
        t = time.perf_counter()
        r = sessions["owner"].post("/ui/models/big/1/policy", data={"csrf": csrf, "policy": json.dumps(POLICY), "intent": "preview"})
        print(f"action: policy preview on the last 7 days: {time.perf_counter() - t:.2f} s, " + re.search(r"would have routed [^<]+", r.text).group(0))
    finally:
        proc.terminate()
        proc.wait()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--predictions", type=int, default=1_000_000)
    ap.add_argument("--ledger", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="build (or reuse) the store in this directory")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    folder = args.keep or Path(tempfile.mkdtemp(prefix="assay-console-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = str(folder / f"console-{args.predictions}.db")
    if not Path(db + ".tokens.json").exists():
        start = time.perf_counter()
        build(db, args.predictions, args.ledger, args.days)
        print(f"store built in {time.perf_counter() - start:.0f} s ({Path(db).stat().st_size / 2**20:,.0f} MiB)", flush=True)
    results = pages(db, args.repeat)
    worst = max(results, key=lambda r: r[2])
    print(
        f"{len(results)} pages; slowest median: {worst[1]} ({worst[0]}) {worst[2]:.1f} ms; over 300 ms: "
        f"{', '.join(u for _, u, m, _ in results if m > 300) or 'none'}"
    )


if __name__ == "__main__":
    main()
