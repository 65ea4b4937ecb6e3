"""assay report: every number equals analysis.json's; the page renders in headless Chromium with no errors and no network."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

import assay
from assay._errors import AssayError, ConfigError
from assay.datasets import load_adult
from assay.report import fmt, render_report, write_report


class _Cells(HTMLParser):
    """Collects the attributes of every element that carries a number (data-v) or a group size (data-size)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str]] = []
        self._open: dict[str, str] | None = None
        self.svgs: list[dict[str, str]] = []
        self.tags: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "svg":
            self.svgs.append(a)
        if "data-v" in a or "data-size" in a:
            self._open = a | {"text": ""}
            self.cells.append(self._open)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data


def test_every_number_in_the_report_is_the_one_in_analysis_json(analysed):
    doc = json.loads((analysed / "analysis.json").read_text())
    parser = _Cells()
    parser.feed(render_report(doc))
    metrics = {}
    sizes = {}
    for key, stage in (("pre_training_bias_metrics", "pre_training"), ("post_training_bias_metrics", "post_training")):
        for facet, values in doc[key]["facets"].items():
            for v in values:
                name = v["value_or_threshold"]
                name = " & ".join(" & ".join(map(str, x)) if isinstance(x, list) else str(x) for x in name) if isinstance(name, list) else str(name)
                sizes[(facet, name)] = v["group"]["size"]
                for m in v["metrics"]:
                    metrics[(stage, facet, name, m["name"])] = m
    seen = set()
    checked = 0
    for cell in parser.cells:
        if "data-size" in cell:
            assert int(cell["data-size"]) == sizes[(cell["data-facet"], cell["data-value"])]
            assert cell["text"].split(" / ")[0] == fmt(sizes[(cell["data-facet"], cell["data-value"])])
            continue
        if "data-metric" in cell:
            key = (cell["data-stage"], cell["data-facet"], cell["data-value"], cell["data-metric"])
            m = metrics[key]
            value = json.loads(cell["data-v"])
            if m["value"] is None:
                assert value is None and m["reason"] in cell["text"]
            else:
                assert value == m["value"]  # full precision, not rounded
                assert cell["text"].startswith(fmt(m["value"]))  # what the reader sees is the same number, rounded
                assert json.loads(cell["data-lo"]) == m["ci"][0] and json.loads(cell["data-hi"]) == m["ci"][1]
                if m["ci"][0] is not None:
                    assert f"[{fmt(m['ci'][0])}, {fmt(m['ci'][1])}]" in cell["text"]
                else:
                    assert "[" not in cell["text"]
                assert ("*" in cell["text"]) == bool(m["significant"])
            seen.add(key)
            checked += 1
        elif "data-agg" in cell:
            imp = doc["explanations"]["global_importance"][cell["data-agg"]][cell["data-feature"]]
            assert json.loads(cell["data-v"]) == imp["value"] and cell["text"].startswith(fmt(imp["value"]))
            assert json.loads(cell["data-lo"]) == imp["ci"][0]
            checked += 1
        elif cell.get("data-share") == "difference":
            group = next(v for v in doc["explanations"]["by_group"][cell["data-facet"]]["values"] if v["value"] == cell["data-value"])
            assert json.loads(cell["data-v"]) == group["carried_by_facet_and_proxies"]["difference"]
            checked += 1
    assert seen == set(metrics)  # every metric of every facet value is in the tables
    assert checked > len(metrics)  # and the summary's and the explanations' numbers were checked too


def test_report_sections_plots_and_accessibility(analysed):
    doc = json.loads((analysed / "analysis.json").read_text())
    html = render_report(doc, title="Adult income model")
    parser = _Cells()
    parser.feed(html)
    for anchor in ("overview", "summary", "facets", "intersections", "explanations", "definitions", "limits"):
        assert f'id="{anchor}"' in html
    assert parser.tags["caption"] == parser.tags["table"]  # every table has a caption
    assert all(s.get("role") == "img" and s.get("aria-labelledby") for s in parser.svgs)
    assert html.count("<title id=") == len(parser.svgs) and html.count("<desc id=") == len(parser.svgs)
    assert "sex x race" in html and "heat-" in html  # the intersectional heatmap
    assert len(parser.svgs) >= 4 + 1 + 3  # disparity charts, importance, PDP
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html  # nothing to fetch
    assert "<script" not in html
    small = [
        v
        for key in ("pre_training_bias_metrics", "post_training_bias_metrics")
        for values in doc[key]["facets"].values()
        for v in values
        if v["group"]["small"]
    ]
    assert small and html.count(" rows against ") == len(small)  # every small group is listed as a limit
    assert "Adult income model" in html


def test_report_in_headless_chromium_has_no_errors_and_no_network(analysed, tmp_path):
    from playwright.sync_api import sync_playwright

    from assay.report._report import chromium

    browser_path = chromium()
    assert browser_path, "Chromium is needed for this test; `make test` installs it (apt-get install chromium)"
    written = write_report(analysed, pdf=True)
    assert [p.name for p in written] == ["report.html", "report.pdf"]
    assert (analysed / "report.pdf").read_bytes()[:5] == b"%PDF-"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        messages, requests = [], []
        page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((analysed / "report.html").resolve().as_uri())
        page.wait_for_load_state("load")
        assert messages == []
        assert [u for u in requests if not u.startswith("file://")] == []
        assert page.locator("table").count() >= 10 and page.locator("svg").count() >= 8
        box = page.locator("svg").first.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 40  # charts are laid out, not collapsed
        height = page.evaluate("document.body.scrollHeight")
        shots = []
        for i, y in enumerate(range(0, height, 900)):
            page.evaluate(f"window.scrollTo(0, {y})")
            shots.append(tmp_path / f"page-{i}.png")
            page.screenshot(path=shots[-1])
        browser.close()
    assert len(shots) > 3 and all(s.stat().st_size > 10_000 for s in shots)


def test_report_errors_and_notebook_display(tmp_path, analysed):
    with pytest.raises(ConfigError, match="analysis.json does not exist; run assay audit or assay explain"):
        write_report(tmp_path)
    (tmp_path / "analysis.json").write_text("{not json")
    with pytest.raises(AssayError, match="is not valid JSON"):
        write_report(tmp_path)
    (tmp_path / "analysis.json").write_text('{"version": "1.0"}')
    with pytest.raises(AssayError, match="holds no audit, explanation, mitigation, monitoring, discovery, task, privacy or robustness results"):
        write_report(tmp_path)
    r = assay.audit(load_adult("test").head(3000), label="income", label_values_or_threshold=[">50K"], facets=["sex"], bootstrap_replicates=50)
    shown = r._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and "&lt;table" in shown and "DPL" in shown


def test_cli_report_and_audit_keeps_explanations(tmp_path, analysed):
    from typer.testing import CliRunner

    from assay.cli._main import app

    out = tmp_path / "out"
    out.mkdir()
    (out / "analysis.json").write_text((analysed / "analysis.json").read_text())
    r = CliRunner().invoke(app, ["report", str(out), "--title", "Board review"])
    assert r.exit_code == 0, r.output
    assert "Board review" in (out / "report.html").read_text()
    load_adult("test").head(2000).to_parquet(tmp_path / "d.parquet")
    (tmp_path / "a.yaml").write_text(
        "dataset_uri: d.parquet\nlabel: income\nlabel_values_or_threshold: ['>50K']\nfacet: [{name_or_index: sex}]\nbootstrap_replicates: 50\n"
    )
    r = CliRunner().invoke(app, ["audit", str(tmp_path / "a.yaml"), "--out", str(out), "--report", "-q"])
    assert r.exit_code == 0, r.output
    doc = json.loads((out / "analysis.json").read_text())
    assert doc["explanations"] == json.loads((analysed / "analysis.json").read_text())["explanations"]  # not lost by the new audit
    assert doc["dataset"]["rows"] == 2000 and "report.html" in r.output
    bad = CliRunner().invoke(app, ["report", str(tmp_path / "nowhere")])
    assert bad.exit_code != 0 and "does not exist" in bad.output
