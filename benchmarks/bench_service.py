"""The service under load: capture throughput on SQLite and PostgreSQL, routing, review and monitoring latency, against a real server process.

Usage: python benchmarks/bench_service.py [--records 50000] [--batch 1000] [--clients 4] [--postgres-url URL]

A real `assay serve` process per database; --clients threads post --records
UCI Adult test predictions (inputs, score, label, sex) in batches of --batch,
with a routing policy (score band, facet band, 1% random sample) evaluated on
every record. Printed: records per second acknowledged; the latency of a
single-record capture with routing (median and 95th percentile of 300 calls),
also with the baseline's constraints among the conditions; one monitoring check
of everything captured against a baseline profiled from the train split; and a
reviewer's next task plus answer (200 of them) with every routed task open.
Without --postgres-url, PostgreSQL runs only when this is root or the postgres
user and a server can be started in a temporary directory (as the tests do).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

POLICY = {"reviewers_per_item": 3, "answers": [">50K", "<=50K"],
          "conditions": [{"type": "score_between", "low": 0.45, "high": 0.55},
                         {"type": "facet_score_between", "facet": "sex", "value": "Female", "low": 0.4, "high": 0.6},
                         {"type": "random_sample", "percent": 1.0}]}  # fmt: skip


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres(root: Path) -> tuple[str, callable]:  # type: ignore[valid-type]
    bindir = max(Path("/usr/lib/postgresql").glob("*/bin"))
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data, sock = root / "data", root / "sock"
    for d in (root, data, sock):
        d.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(d, "postgres")
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"], check=True, capture_output=True)
    subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o", f"-k {sock} -c listen_addresses='' -p 5434 " + os.environ.get("BENCH_PG_OPTIONS", ""),
                    "start"], check=True, capture_output=True)  # fmt: skip
    import sqlalchemy as sa

    e = sa.create_engine(f"postgresql+psycopg://postgres@/postgres?host={sock}&port=5434", isolation_level="AUTOCOMMIT")
    with e.connect() as c:
        c.execute(sa.text("CREATE DATABASE bench"))
    e.dispose()
    return f"postgresql://postgres@/bench?host={sock}&port=5434", lambda: subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True, check=False
    )


def _latency(call, n: int) -> str:  # type: ignore[no-untyped-def]
    lat = []
    for i in range(n):
        t1 = time.perf_counter()
        call(i)
        lat.append((time.perf_counter() - t1) * 1000)
    lat.sort()
    return f"median {statistics.median(lat):.1f} ms, p95 {lat[int(0.95 * len(lat))]:.1f} ms"


def run(db: str, label: str, records: list[dict], batch: int, clients: int, tmp: Path, baseline: dict) -> None:
    import httpx

    from assay.service import connect, create_token, migrate

    engine = connect(db)
    migrate(engine)
    tok = create_token(engine, name="bench", role="owner")
    rev = create_token(engine, name="reviewer", role="reviewer")
    engine.dispose()
    port = _port()
    log = (tmp / f"{label}.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "assay.cli", "serve", "--db", db, "--port", str(port)], stdout=log, stderr=log)
    base, h = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {tok}"}
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        httpx.post(f"{base}/models", json={"name": "adult", "version": "1", "facets": ["sex"], "policy": POLICY}, headers=h).raise_for_status()
        chunks = [records[i : i + batch] for i in range(0, len(records), batch)]
        routed = [0]
        lock = threading.Lock()

        def worker(k: int) -> None:
            with httpx.Client(base_url=base, headers=h, timeout=120) as c:
                for ch in chunks[k::clients]:
                    r = c.post("/models/adult/1/predictions", json={"records": ch})
                    r.raise_for_status()
                    with lock:
                        routed[0] += len(r.json()["routed_to_review"])

        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        with httpx.Client(base_url=base, headers=h, timeout=300) as c:
            single = _latency(lambda i: c.post("/models/adult/1/predictions", json={"records": [dict(records[i], id=f"single-{i}")]}).raise_for_status(), 300)
            print(f"{label}: {len(records):,} records in batches of {batch} from {clients} clients: {len(records) / elapsed:,.0f} records/s "
                  f"({routed[0]:,} routed to review); single-record capture with routing: {single}")  # fmt: skip
            c.put("/models/adult/1/baseline", json=baseline).raise_for_status()
            c.post("/models", json={"name": "adult", "version": "2", "facets": ["sex"],
                                    "policy": dict(POLICY, conditions=[*POLICY["conditions"], {"type": "baseline_constraints"}])}).raise_for_status()  # fmt: skip
            c.put("/models/adult/2/baseline", json=baseline).raise_for_status()
            bc = _latency(lambda i: c.post("/models/adult/2/predictions", json={"records": [dict(records[i], id=f"b-{i}")]}).raise_for_status(), 300)
            print(f"{label}: single-record capture with routing including the baseline's constraints ({len(baseline['constraints']['features'])} "
                  f"features): {bc}")  # fmt: skip
            c.put("/models/adult/1/monitoring", json={"every": None, "window": "1D", "bootstrap_replicates": 500}).raise_for_status()
            t1 = time.perf_counter()
            r = c.post("/models/adult/1/monitoring/runs", json={}).json()
            print(f"{label}: monitoring check of a window of {r['rows']:,} captured predictions against the baseline: {time.perf_counter() - t1:.2f} s "
                  f"({r['violation_count']} violations)")  # fmt: skip
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {rev}"}, timeout=30) as c:

            def review(_i: int) -> None:
                t = c.get("/review/next").json()
                c.post(f"/review/tasks/{t['task_id']}/answer", json={"answer": ">50K"}).raise_for_status()

            print(f"{label}: a reviewer's next task and answer with {routed[0]:,} open tasks: {_latency(review, 200)}")
    finally:
        proc.terminate()
        proc.wait()
        log.close()
    # the auditor's check, as a user runs it: the whole CLI process walks the chain and re-digests every captured batch
    t1 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "assay.cli", "ledger", "verify", "--db", db], capture_output=True, text=True)
    took = time.perf_counter() - t1
    first = (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else ""
    print(f"{label}: assay ledger verify (CLI, {len(records):,} captured records): {took:.2f} s, exit {out.returncode}: {first[:100]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--postgres-url", default=None)
    args = ap.parse_args()
    import numpy as np

    from assay.datasets import adult_model, load_adult

    train, test = load_adult("train"), load_adult("test")
    feats = [c for c in train.columns if c not in ("income", "fnlwgt")]
    scores = adult_model(feats).fit(train[feats], train["income"] == ">50K").predict_proba(test[feats])[:, 1]
    idx = np.random.default_rng(0).integers(0, len(test), args.records)
    rows = test[feats].to_dict(orient="records")
    records = [{"id": f"r{i}", "inputs": rows[j], "score": float(scores[j]), "label": ">50K" if scores[j] > 0.5 else "<=50K",
                "facets": {"sex": rows[j]["sex"]}} for i, j in enumerate(idx)]  # fmt: skip
    from assay.monitor._baseline import statistics as stats_doc
    from assay.monitor._baseline import suggest_constraints
    from assay.monitor._profile import profile
    from assay.service._monitoring import jsonable

    base_frame = train[feats].assign(score=adult_model(feats).fit(train[feats], train["income"] == ">50K").predict_proba(train[feats])[:, 1])
    base_frame["predicted_label"] = np.where(base_frame["score"] > 0.5, ">50K", "<=50K")
    p = profile(base_frame)
    baseline = jsonable({"statistics": stats_doc(p), "constraints": suggest_constraints(p)})
    with tempfile.TemporaryDirectory() as tmp:
        run(str(Path(tmp) / "bench.db"), "SQLite", records, args.batch, args.clients, Path(tmp), baseline)
        stop = None
        url = args.postgres_url
        if url is None:
            pg_root = Path(tempfile.mkdtemp(prefix="assay-bench-pg-", dir="/tmp"))
            try:
                url, stop = _postgres(pg_root)
            except (subprocess.CalledProcessError, ValueError, OSError) as exc:
                print(f"PostgreSQL not run: {exc}")
        try:
            if url:
                run(url, "PostgreSQL", records, args.batch, args.clients, Path(tmp), baseline)
        finally:
            if stop:
                stop()
                shutil.rmtree(pg_root, ignore_errors=True) if not os.environ.get("BENCH_PG_KEEP") else print(f"PostgreSQL log: {pg_root}/log")


if __name__ == "__main__":
    main()
