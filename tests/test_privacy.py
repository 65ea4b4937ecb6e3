"""Quasi-identifier risk: k, l and t by hand on a small table, rows at risk by group, bad input named. Agreement with pycanon
on UCI Adult, pycanon running in a venv of its own (.venv-pycanon, made by `make test`: it cannot share assay's)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from assay._errors import ConfigError, DataError
from assay.datasets import load_adult
from assay.privacy import anonymity

# three classes over (zip, sex): (1, F) x3, (1, M) x2, (2, F) x1
TABLE = pd.DataFrame({"zip": [1, 1, 1, 1, 1, 2], "sex": ["F", "F", "F", "M", "M", "F"], "disease": ["flu", "flu", "cold", "flu", "flu", "cold"],
                      "salary": [3, 4, 5, 3, 3, 5], "race": ["a", "b", "a", "a", "b", "b"]})  # fmt: skip


def test_k_l_and_t_by_hand():
    a = anonymity(TABLE, ["zip", "sex"], ["disease", "salary"], facets=["race"], k_min=2)
    assert (a.k, a.classes, a.rows) == (1, 3, 6)
    # disease: overall flu 4/6, cold 2/6; class (1, M) is all flu: one value; TV = 0.5 (|1 - 4/6| + |0 - 2/6|) = 1/3; (2, F): all cold:
    # 0.5 (4/6 + 4/6) = 2/3 -> t = 2/3
    assert a.by_sensitive["disease"]["l"] == 1 and a.by_sensitive["disease"]["t"] == pytest.approx(2 / 3, rel=1e-12)
    # salary: values 3, 4, 5 with p = (3/6, 1/6, 2/6); class (2, F) = {5}: r = (-1/2, -1/6, 2/3), cumulative |-1/2| + |-2/3| + 0
    # over m - 1 = 2: 7/12; class (1, M) = {3, 3}: r = (1/2, -1/6, -1/3): (1/2 + 1/3) / 2 = 5/12 -> t = 7/12
    assert a.by_sensitive["salary"]["t"] == pytest.approx(7 / 12, rel=1e-12) and a.by_sensitive["salary"]["distance"].startswith("earth mover")
    assert a.l == 1 and a.t == pytest.approx(2 / 3, rel=1e-12)
    # at risk with k_min 2: only the (2, F) row, whose race is b
    assert a.at_risk == 1 and {g["group"]: g["at_risk"] for g in a.by_group["race"]} == {"a": 0, "b": 1}
    assert next(g for g in a.by_group["race"] if g["group"] == "b")["share_at_risk"] == pytest.approx(1 / 3)


def test_missing_quasi_identifier_values_are_a_value_and_bad_input_is_named():
    with_missing = TABLE.assign(zip=[1, 1, 1, None, None, 2])
    assert anonymity(with_missing, ["zip"]).classes == 3
    with pytest.raises(DataError, match="no quasi-identifier column 'zp'"):
        anonymity(TABLE, ["zp"])
    with pytest.raises(ConfigError, match="k_min must be a whole number of at least 2"):
        anonymity(TABLE, ["zip"], k_min=1)
    with pytest.raises(ConfigError, match="at least one quasi-identifier"):
        anonymity(TABLE, [])


def test_membership_inference_finds_an_overfitted_model_and_not_a_regularised_one_per_group():
    import numpy as np
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from assay.datasets import load_adult
    from assay.privacy import membership_inference

    num = ["age", "education-num", "hours-per-week", "capital-gain", "capital-loss", "fnlwgt"]
    cat = ["workclass", "marital-status", "occupation", "relationship", "race", "sex"]
    members = load_adult("train").sample(3000, random_state=0)[num + cat + ["income"]]
    others = load_adult("test").sample(3000, random_state=0)[num + cat + ["income"]]
    X, y = members.drop(columns="income"), members["income"] == ">50K"
    ct = lambda: make_column_transformer((OneHotEncoder(handle_unknown="ignore"), cat), (StandardScaler(), num))  # noqa: E731
    forest = make_pipeline(ct(), RandomForestClassifier(n_estimators=40, random_state=0)).fit(X, y)  # grown to purity: memorises
    logistic = make_pipeline(ct(), LogisticRegression(max_iter=2000, C=0.1)).fit(X, y)
    leaky = membership_inference(forest, members, others, label="income", positive=[">50K"], facets=["sex"], replicates=200)
    tight = membership_inference(logistic, members, others, label="income", positive=[">50K"], facets=["sex"], replicates=200)
    assert leaky["overall"]["auc_ci"][0] > 0.58 and all(g["auc_ci"][0] > 0.53 for g in leaky["by_group"]["sex"])
    lo, hi = tight["overall"]["auc_ci"]
    assert lo < 0.5 + 0.02 and hi > 0.5 - 0.02 and abs(tight["overall"]["auc"] - 0.5) < 0.03
    from sklearn.metrics import roc_auc_score

    p = np.clip(logistic.predict_proba(others.drop(columns="income"))[:, 1], 1e-15, 1 - 1e-15)
    q = np.clip(logistic.predict_proba(X)[:, 1], 1e-15, 1 - 1e-15)
    score = np.concatenate([np.where(y, np.log(q), np.log(1 - q)), np.where(others["income"] == ">50K", np.log(p), np.log(1 - p))])
    assert tight["overall"]["auc"] == pytest.approx(roc_auc_score(np.r_[np.ones(3000), np.zeros(3000)], score), rel=1e-12)
    assert tight["overall"]["tpr"] is not None and tight["overall"]["members"] == 3000
    women = next(g for g in tight["by_group"]["sex"] if g["group"] == "Female")
    assert women["tpr"] is None and "needs at least 1,000 non-members" in women["reason"]  # fewer than 1 / 0.001 women among the others


def _customers(n=300):
    import numpy as np

    rng = np.random.default_rng(4)

    def card():  # a 16-digit number with a valid Luhn check digit
        digits = [4] + list(rng.integers(0, 10, 14))
        total = sum(d if i % 2 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits)))
        return "".join(map(str, digits + [(10 - total % 10) % 10]))

    ibans = ["GB82 WEST 1234 5698 7654 32", "DE89 3704 0044 0532 0130 00", "FR14 2004 1010 0505 0001 3M02 606"]
    return pd.DataFrame({
        "First Name": rng.choice(["Ana", "Rui", "Joao", "Mia"], n), "contact": [f"user{i}@example.org" for i in range(n)],
        "mobile": [f"+44 7{rng.integers(100, 999)} {rng.integers(100000, 999999)}" for _ in range(n)], "payment": [card() for _ in range(n)],
        "account": rng.choice(ibans, n), "ident": [f"{rng.integers(100, 665)}-{rng.integers(10, 99)}-{rng.integers(1000, 9999)}" for _ in range(n)],
        "last_ip": [f"10.{rng.integers(0, 255)}.{rng.integers(0, 255)}.{rng.integers(1, 254)}" for _ in range(n)],
        "DOB": [f"19{rng.integers(50, 99)}-0{rng.integers(1, 9)}-1{rng.integers(0, 9)}" for _ in range(n)],
        "notes": [f"call back on +1 (212) 555-{rng.integers(1000, 9999)} please" if i % 10 == 0 else "no issue" for i in range(n)],
        "order_id": [str(10**11 + i) for i in range(n)], "amount": rng.random(n) * 100, "tier": rng.choice(["gold", "silver"], n),
    })  # fmt: skip


def test_the_scan_finds_personal_columns_by_content_and_name_with_the_network_blocked(monkeypatch):
    import socket

    from assay.privacy import scan

    def refuse(*_args, **_kwargs):
        raise OSError("the network is blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    found = {c["column"]: {k["kind"] for k in c["kinds"]} for c in scan(_customers(), features=["amount", "tier", "contact"])}
    assert found["contact"] == {"email"} and found["mobile"] == {"phone"} and found["payment"] == {"card_number"} and found["account"] == {"iban"}
    assert found["ident"] == {"us_ssn"} and found["last_ip"] == {"ipv4"} and found["DOB"] == {"birth_date", "date"}
    assert found["First Name"] == {"person_name"} and found["notes"] == {"phone"}  # a phone number inside free text, 10% of the rows
    assert found["order_id"] == set() and found["amount"] == set() and found["tier"] == set()  # long digit strings are not phones
    used = {c["column"]: c.get("used_by_model") for c in scan(_customers(50), features=["contact"])}
    assert used["contact"] is True and used["mobile"] is False


def test_the_scan_flags_nothing_in_adult_and_checksums_reject_lookalikes():
    from assay.datasets import load_adult
    from assay.privacy import scan
    from assay.privacy._scan import _iban, _is, _luhn

    assert not [c["column"] for c in scan(load_adult("test")) if c["personal"]]
    assert _luhn("4111 1111 1111 1111") and not _luhn("4111 1111 1111 1112")
    assert _iban("GB82 WEST 1234 5698 7654 32") and not _iban("GB82 WEST 1234 5698 7654 33")
    assert not _is("us_ssn", "666-12-3456") and not _is("us_ssn", "123-00-4567") and _is("us_ssn", "123-45-6789")
    assert not _is("ipv4", "300.1.1.1") and _is("ipv4", "192.168.0.1")


def test_assay_privacy_writes_the_section_the_schema_and_the_report_take(tmp_path):
    import json
    from importlib import resources

    import jsonschema
    from typer.testing import CliRunner

    from assay.cli._main import app

    _customers().to_parquet(tmp_path / "customers.parquet")
    (tmp_path / "p.yaml").write_text("dataset_uri: customers.parquet\nfacet: [{name_or_index: tier}]\nfeatures: [amount, tier]\n"
                                     "privacy: {quasi_identifiers: [First Name, tier], sensitive: [amount], k_min: 40}\n")  # fmt: skip
    r = CliRunner().invoke(app, ["privacy", str(tmp_path / "p.yaml"), "--out", str(tmp_path / "out"), "--report"])
    assert r.exit_code == 0, r.output
    assert "personal data: 9 of 12 columns" in r.output and "the model does not use it" in r.output
    doc = json.loads((tmp_path / "out" / "analysis.json").read_text())
    jsonschema.validate(doc, json.loads(resources.files("assay").joinpath("schemas/analysis.schema.json").read_text()))
    a = doc["privacy"]["anonymity"]
    direct = anonymity(_customers(), ["First Name", "tier"], ["amount"], facets=["tier"], k_min=40).to_dict()
    assert a == json.loads(json.dumps(direct)) and a["at_risk"] > 0
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Personal data and re-identification risk" in page and 'data-personal="contact"' in page
    assert f'data-at-risk="gold">{a["by_group"]["tier"][0]["at_risk"]}<' in page
    bad = CliRunner().invoke(app, ["privacy", str(tmp_path / "p.yaml"), "--out", str(tmp_path / "x"), "--format", "xml"])
    assert bad.exit_code == 2 and "--format must be table or json" in bad.output


PYCANON = Path(__file__).resolve().parents[1] / ".venv-pycanon" / "bin" / "python"


def test_k_l_and_t_equal_pycanon_on_adult(tmp_path):
    # pycanon runs in its own venv (made by `make test`), fed the very CSV assay measures; ages in decades for the coarser sets
    assert PYCANON.exists(), f"{PYCANON} is missing: `make test` makes it (python -m venv .venv-pycanon && .venv-pycanon/bin/pip install pycanon)"
    d = load_adult("test")
    d["age_decade"] = (d["age"] // 10 * 10).astype(int)
    cases = [(["age", "sex", "race", "marital-status"], ["income"]), (["age", "sex", "race", "marital-status"], ["occupation", "hours-per-week"]),
             (["sex", "race"], ["income"]), (["age_decade", "sex"], ["occupation"]), (["age_decade", "sex", "race"], ["hours-per-week", "income"]),
             (["education", "sex"], ["age"])]  # fmt: skip
    d.to_csv(tmp_path / "adult.csv", index=False)
    (tmp_path / "cases.json").write_text(json.dumps([{"qi": qi, "sensitive": sa} for qi, sa in cases]))
    script = Path(__file__).parent / "reference" / "pycanon_measures.py"
    run = subprocess.run([str(PYCANON), str(script), str(tmp_path / "adult.csv"), str(tmp_path / "cases.json")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    theirs = json.loads(run.stdout)
    table = pd.read_csv(tmp_path / "adult.csv")
    for (qi, sa), ref in zip(cases, theirs, strict=True):
        ours = anonymity(table, qi, sa)
        assert (ours.k, ours.l) == (ref["k"], ref["l"]), (qi, sa)
        assert ours.t == pytest.approx(ref["t"], abs=1e-12), (qi, sa)
    # the cases are not degenerate: classes of one row, several distinct l, t well inside (0, 1)
    assert {r["k"] for r in theirs} >= {1} and len({r["l"] for r in theirs}) >= 2 and all(0 < r["t"] < 1 for r in theirs)
