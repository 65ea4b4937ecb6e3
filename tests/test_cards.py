"""Model cards: numbers equal analysis.json's, Hugging Face metadata parses, and sign-off tampering is detected."""

from __future__ import annotations

import base64
import json
import shutil
from html.parser import HTMLParser

import pytest

from assay._errors import AssayError, ConfigError
from assay.cards import CardStore, build_content, export_card, generate_key, load_private_key, load_public_key
from assay.cards._store import _signed_payload
from assay.ledger import digest as _entry_hash

INFO = {
    "name": "income-classifier", "version": 3, "description": "Predicts income over $50K.", "owner": "Risk team", "risk_rating": "High",
    "intended_uses": "Research on fairness tooling.", "out_of_scope_uses": "Decisions about real people.", "ethical_considerations": "Census labels encode inequity.",
    "caveats": "One test split.", "training_data": "UCI Adult train.", "evaluation_data": "UCI Adult test", "license": "apache-2.0",
    "library_name": "sklearn", "metrics": ["DPL", "DPPL", "DI", "EqOddsD", "AUCD"],
}  # fmt: skip


@pytest.fixture(scope="module")
def doc(analysed):
    return json.loads((analysed / "analysis.json").read_text())


def _defined_rows(doc):
    """(stage, facet, group, metric) -> metric, for the card's metrics."""
    out = {}
    for key, stage in (("pre_training_bias_metrics", "pre_training"), ("post_training_bias_metrics", "post_training")):
        for facet, values in doc[key]["facets"].items():
            for v in values:
                name = v["value_or_threshold"]
                name = " & ".join(" & ".join(map(str, x)) if isinstance(x, list) else str(x) for x in name) if isinstance(name, list) else str(name)
                for m in v["metrics"]:
                    if m["name"] in INFO["metrics"]:
                        out[(stage, facet, name, m["name"])] = (m, v["group"])
    return out


def test_card_numbers_equal_analysis_json_in_every_export(doc, tmp_path):
    content = build_content(doc, INFO)
    expected = _defined_rows(doc)
    rows = content["additional_information"]["custom_details"]["quantitative_analyses"]
    assert {(r["stage"], r["facet"], r["group"], r["metric"]) for r in rows} == set(expected)
    for r in rows:
        m, g = expected[(r["stage"], r["facet"], r["group"], r["metric"])]
        assert (r["value"], r["ci"], r["q_value"], r["significant"]) == (m["value"], m["ci"], m.get("q_value"), m.get("significant"))
        assert (r["group_size"], r["rest_size"], r["intersectional"]) == (g["size"], g["rest_size"], " x " in r["facet"])
    assert any(r["intersectional"] for r in rows) and any(not r["intersectional"] for r in rows)
    store = CardStore(tmp_path / "store")
    store.add_version(content, by="Ana")
    # SageMaker JSON: the typed metrics carry the same values
    sm = json.loads(export_card(store, "sagemaker"))
    assert set(sm["Content"]) == {"model_overview", "intended_uses", "business_details", "training_details", "evaluation_details", "additional_information"}
    assert sm["ModelCardStatus"] == "Draft" and sm["Content"]["intended_uses"]["risk_rating"] in ("High", "Medium", "Low", "Unknown")
    metric_data = [md for ev in sm["Content"]["evaluation_details"] for grp in ev["metric_groups"] for md in grp["metric_data"]]
    assert len(metric_data) == sum(1 for m, _ in expected.values() if m["value"] is not None)
    assert all(md["type"] == "number" and len(md["name"]) <= 63 for md in metric_data)
    assert sorted(md["value"] for md in metric_data) == sorted(m["value"] for m, _ in expected.values() if m["value"] is not None)

    # HTML: every value cell carries the analysis.json number
    class Cells(HTMLParser):
        found: list[dict[str, str]] = []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if "data-metric" in a:
                self.found.append(a)

    cells = Cells()
    cells.feed(export_card(store, "html"))
    assert len(cells.found) == len(expected)
    for a in cells.found:
        m, _ = expected[(a["data-stage"], a["data-facet"], a["data-group"], a["data-metric"])]
        assert json.loads(a["data-v"]) == m["value"]


def test_markdown_card_has_hugging_face_metadata_with_model_index(doc, tmp_path):
    from huggingface_hub import ModelCard

    store = CardStore(tmp_path / "store")
    store.add_version(build_content(doc, INFO), by="Ana")
    text = export_card(store, "markdown")
    card = ModelCard(text)  # huggingface_hub parses the YAML front matter and the model-index
    assert card.data.license == "apache-2.0" and card.data.library_name == "sklearn"
    results = card.data.eval_results
    expected = _defined_rows(doc)
    defined = {(f"{k[3]} {k[1]}={k[2]}"): m["value"] for k, (m, _) in expected.items() if m["value"] is not None}
    assert len(results) == len(defined)
    assert all(r.task_type == "tabular-classification" and r.dataset_name == "UCI Adult test" for r in results)
    assert {r.metric_name: r.metric_value for r in results} == defined
    for section in ("## Model Details", "## Uses", "### Out-of-Scope Use", "## Bias, Risks, and Limitations", "## Training Details", "## Evaluation",
                    "#### Unitary groups", "#### Intersectional groups", "#### Performance by group", "## Model Examination", "## Model Card Contact"):  # fmt: skip
        assert section in text
    assert "Status: **Draft**; version 1" in text


def _signed_store(doc, tmp_path):
    store = CardStore(tmp_path / "store")
    private, public = generate_key(tmp_path / "rui")
    store.add_version(build_content(doc, INFO), by="Ana")
    store.act("submit", by="Ana", reason="ready")
    store.act("approve", by="Rui", reason="risks documented", key=load_private_key(private))
    return store, load_public_key(public)


def test_sign_off_moves_only_through_recorded_actions(doc, tmp_path):
    store = CardStore(tmp_path / "store")
    private, _ = generate_key(tmp_path / "rui")
    key = load_private_key(private)
    assert oct((tmp_path / "rui.key").stat().st_mode & 0o777) == "0o600"
    content = build_content(doc, INFO)
    assert store.add_version(content, by="Ana") == (1, True)
    assert store.add_version(content, by="Ana") == (1, False)  # same content: no new version
    with pytest.raises(AssayError, match="cannot approve version 1: it is Draft"):
        store.act("approve", by="Rui", reason="ok", key=key)
    store.act("submit", by="Ana", reason="ready")
    with pytest.raises(ConfigError, match="an approval must be signed"):
        store.act("approve", by="Rui", reason="ok")
    with pytest.raises(AssayError, match="Ana created or submitted version 1; a different person must approve it"):
        store.act("approve", by="Ana", reason="ok", key=key)
    with pytest.raises(ConfigError, match="--reason is required"):
        store.act("approve", by="Rui", reason=" ", key=key)
    store.act("approve", by="Rui", reason="risks documented", key=key)
    assert store.status() == "Approved"
    edited = build_content(doc, INFO | {"caveats": "One test split; retrain yearly."})
    assert store.add_version(edited, by="Ana") == (2, True)  # editing an approved card makes a new draft
    assert (store.status(1), store.status(2)) == ("Approved", "Draft")
    assert store.read(1)["content"]["additional_information"]["caveats_and_recommendations"] == "One test split."
    store.act("archive", by="Rui", reason="model retired")
    with pytest.raises(AssayError, match="Archived: no more versions"):
        store.add_version(build_content(doc, INFO | {"caveats": "x"}), by="Ana")
    result = store.verify()
    assert result.ok, result.problems
    assert [a["by"] for a in result.approvals] == ["Rui"] and result.versions == 2 and result.entries == 5  # create, submit, approve, create, archive
    with pytest.raises(ConfigError, match="risk_rating must be one of High, Medium, Low, Unknown"):
        build_content(doc, INFO | {"risk_rating": "Severe"})
    with pytest.raises(ConfigError, match="unknown card info key 'owners'. Did you mean 'owner'"):
        build_content(doc, INFO | {"owners": "x"})


def test_tampering_with_an_approved_card_or_its_record_is_detected(doc, tmp_path):
    store, public = _signed_store(doc, tmp_path)
    assert store.verify(trusted_keys=[public]).ok

    def copy(name):
        target = tmp_path / name
        shutil.copytree(store.path, target)
        return CardStore(target)

    def lines(s):
        return [json.loads(x) for x in s.log_path.read_text().splitlines()]

    def write(s, entries):
        s.log_path.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))

    # 1. a number in the approved content is changed
    s = copy("content")
    path = s.path / "versions" / "0001.json"
    record = json.loads(path.read_text())
    record["content"]["additional_information"]["custom_details"]["quantitative_analyses"][0]["value"] = 0.0
    path.write_text(json.dumps(record))
    assert any("does not match the hash recorded" in p for p in s.verify().problems)
    # ... and the attacker also updates the stored hash: the log and the signature still hold the original
    record["content_hash"] = (
        "sha256:" + __import__("hashlib").sha256(json.dumps(record["content"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    )
    path.write_text(json.dumps(record))
    assert not s.verify().ok
    # 2. the approval's reason is edited
    s = copy("reason")
    entries = lines(s)
    entries[2]["reason"] = "approved without conditions"
    write(s, entries)
    problems = s.verify().problems
    assert any("does not match its hash" in p for p in problems)
    # ... and its hash recomputed: the signature no longer verifies
    entries[2]["hash"] = _entry_hash(entries[2])
    write(s, entries)
    assert any("approval signature does not verify" in p for p in s.verify().problems)
    # 3. an entry is removed, 4. entries are reordered
    s = copy("removed")
    entries = lines(s)
    write(s, [entries[0], entries[2]])
    assert any("does not link" in p or "sequence number" in p for p in s.verify().problems)
    s = copy("reordered")
    write(s, [entries[1], entries[0], entries[2]])
    assert not s.verify().ok
    # 5. a forged approval, correctly hashed and signed, but with a key nobody trusts
    s = copy("forged")
    mallory, _ = generate_key(tmp_path / "mallory")
    key = load_private_key(mallory)
    entries = lines(s)
    from assay.cards import key_id
    from assay.cards._store import _raw_public

    forged = entries[2] | {"by": "Rui", "key_id": key_id(key.public_key()), "public_key": base64.b64encode(_raw_public(key.public_key())).decode()}
    forged["signature"] = base64.b64encode(key.sign(_signed_payload(s.name, forged))).decode()
    forged["hash"] = _entry_hash(forged)
    write(s, [entries[0], entries[1], forged])
    assert s.verify().ok  # self-consistent: without a list of trusted keys a full rewrite cannot be told apart
    assert any("not among the trusted reviewer keys" in p for p in s.verify(trusted_keys=[public]).problems)
    # 6. a version file added outside assay
    s = copy("extra")
    shutil.copy(s.path / "versions" / "0001.json", s.path / "versions" / "0002.json")
    assert any("not in the log" in p for p in s.verify().problems)


def test_cli_card_flow_and_verify_exit_codes(analysed, tmp_path):
    from typer.testing import CliRunner

    from assay.cli._main import app

    run = lambda *a: CliRunner().invoke(app, ["card", *map(str, a)])  # noqa: E731
    assert run("init", "--out", tmp_path / "card.yaml").exit_code == 0
    store = tmp_path / "store"
    r = run("build", analysed, "--info", tmp_path / "card.yaml", "--store", store, "--by", "Ana")
    assert r.exit_code == 0 and "version 1" in r.output, r.output
    assert run("keygen", "--out", tmp_path / "rui").exit_code == 0
    assert run("keygen", "--out", tmp_path / "rui").exit_code == 2  # never overwrites a key
    assert run("submit", store, "--by", "Ana", "--reason", "ready").exit_code == 0
    bad = run("approve", store, "--by", "Ana", "--reason", "ok", "--key", tmp_path / "rui.key")
    assert bad.exit_code == 2 and "different person" in bad.output
    assert run("approve", store, "--by", "Rui", "--reason", "ok", "--key", tmp_path / "rui.key").exit_code == 0
    ok = run("verify", store, "--trusted-key", tmp_path / "rui.pub")
    assert ok.exit_code == 0 and "intact" in ok.output
    assert run("export", store, "--format", "html", "--out", tmp_path / "card.html").exit_code == 0
    assert "Approved" in (tmp_path / "card.html").read_text()
    version = store / "versions" / "0001.json"
    version.write_text(version.read_text().replace('"risk_rating": "High"', '"risk_rating": "Low"'))
    tampered = run("verify", store)
    assert tampered.exit_code == 1 and "was edited" in tampered.output


def test_card_html_renders_in_chromium_without_errors_or_network(doc, tmp_path):
    from playwright.sync_api import sync_playwright

    from assay.report._report import chromium

    store, _ = _signed_store(doc, tmp_path)
    page_path = tmp_path / "card.html"
    page_path.write_text(export_card(store, "html"))
    browser_path = chromium()
    assert browser_path, "Chromium is needed for this test; `make test` installs it (apt-get install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        messages, requests = [], []
        page.on("console", lambda m: messages.append(m.text))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_path.resolve().as_uri())
        assert messages == [] and [u for u in requests if not u.startswith("file://")] == []
        assert page.locator("text=Approved").first.is_visible() and page.locator("caption").count() == page.locator("table").count()
        browser.close()
