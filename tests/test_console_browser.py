"""Each role's journey through the console in a real browser (Chromium through Playwright, against a running server): an owner
registers a model and submits its card; an approver registers a key and approves it, and the signature verifies from the CLI; a
risk officer follows a violation to its rows; an operator answers a contest; an auditor finds an entry and verifies the chain; an
admin revokes a token. axe-core (from the npm registry, installed by the Makefile) checks every page visited: no serious or
critical violation. Screenshots of every page are written to ASSAY_SCREENSHOTS (default: the test's temporary directory)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli._main import app as cli

ROOT = Path(__file__).resolve().parents[1]
AXE = Path(os.environ.get("ASSAY_AXE", ROOT / ".axe" / "node_modules" / "axe-core" / "axe.min.js"))
PASS = "correct horse battery staple"
INFO_YAML = "name: income-classifier\nrisk_rating: High\nintended_uses: Research on fairness tooling.\nmetrics: [DPL, DPPL, DI]\n"


class Browser:
    """One person's browser: a page that signs in, and checks every page it opens with axe-core (no serious or critical violation)."""

    def __init__(self, playwright, base: str, shots: Path, who: str) -> None:
        from assay.report._report import chromium

        self.browser = playwright.chromium.launch(
            executable_path=chromium(), args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        self.context = self.browser.new_context(
            viewport={"width": 1200, "height": 900}, bypass_csp=True
        )  # axe is injected; the pages' own CSP is tested elsewhere
        self.context.set_default_timeout(0)  # no wall-clock limit: a loaded machine answers late, not wrongly
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(m.text) if m.type in ("error", "warning") else None)
        self.base, self.shots, self.who, self.checked = base, shots, who, []

    def sign_in(self, token: str) -> None:
        self.page.goto(f"{self.base}/ui/login")
        self.check("login")
        self.page.fill("#token", token)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()

    def go(self, path: str, name: str) -> None:
        self.page.goto(self.base + path)
        self.check(name)

    def check(self, name: str) -> None:
        """Screenshot the page and run axe-core on it: every serious or critical violation fails, named with its nodes."""
        self.page.screenshot(path=str(self.shots / f"{self.who}-{name}.png"), full_page=True)
        self.page.add_script_tag(path=str(AXE))
        result = self.page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                                    ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.html)}))")  # fmt: skip
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        assert not bad, f"{self.who} on {name} ({self.page.url}): {json.dumps(bad, indent=1)}"
        self.checked.append(name)

    def close(self) -> None:
        self.browser.close()
        assert self.console == [], self.console


@pytest.fixture
def server(tmp_path, analysed, scored):
    """A running server with tokens for every role, a monitored model with a window that violates its baseline, and a contest."""
    import httpx

    from assay.service import connect, create_token, migrate
    from tests.test_service import _free_port, _start
    from tests.test_service_monitoring import _baseline_doc, _records

    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE}: `make test` installs it (npm install --prefix .axe axe-core)")
    db = str(tmp_path / "assay.db")
    engine = connect(db)
    migrate(engine)
    tokens = {role: create_token(engine, name=name, role=role) for role, name in
              (("admin", "ada"), ("owner", "olu"), ("approver", "bea"), ("auditor", "ari"), ("reviewer", "rita"))}  # fmt: skip
    tokens["second_reviewer"] = create_token(engine, name="raj", role="reviewer")
    engine.dispose()
    port = _free_port()
    proc = _start(db, port, tmp_path / "server.log", "--schedule-tick", "0")
    base = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens['owner']}"}, timeout=None)
    feats, base_rows, cur = scored
    http.post("/models", json={"name": "credit", "version": "3", "facets": ["sex"], "label_values": [">50K", "<=50K"],
                               "policy": {"reviewers_per_item": 2, "answers": [">50K", "<=50K"], "conditions": [{"type": "score_between", "low": 0.45, "high": 0.55}]}}).raise_for_status()  # fmt: skip
    http.put("/models/credit/3/monitoring", json={"columns": {"ground_truth": "income"}, "bootstrap_replicates": 200}).raise_for_status()
    http.put("/models/credit/3/baseline", json=_baseline_doc(feats, base_rows)).raise_for_status()
    records = _records(feats, cur.iloc[:600], "c")
    for i, rec in enumerate(records):
        if i % 10 == 0:
            rec["inputs"]["hours-per-week"] = None
    http.post("/models/credit/3/predictions", json={"records": records}).raise_for_status()
    now = dt.datetime.now(dt.timezone.utc)
    http.post(
        "/models/credit/3/monitoring/runs", json={"start": (now - dt.timedelta(hours=1)).isoformat(), "end": (now + dt.timedelta(minutes=1)).isoformat()}
    ).raise_for_status()
    http.post("/models/credit/3/predictions/c1/contests", json={"reason": "I was refused but my income is above 50K"}).raise_for_status()
    for who in ("reviewer", "second_reviewer"):
        h = {"Authorization": f"Bearer {tokens[who]}"}
        task = http.get("/review/next", headers=h).json()
        http.post(f"/review/tasks/{task['task_id']}/answer", json={"answer": ">50K"}, headers=h).raise_for_status()
    shots = Path(os.environ.get("ASSAY_SCREENSHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    try:
        yield {"base": base, "db": db, "tokens": tokens, "shots": shots, "analysis": analysed / "analysis.json", "tmp": tmp_path}
    finally:
        http.close()
        proc.terminate()
        proc.wait()


def test_every_role_does_its_job_in_the_browser_and_every_page_passes_axe(server):
    from playwright.sync_api import sync_playwright

    from assay.cards import generate_key

    base, tokens, shots, tmp = server["base"], server["tokens"], server["shots"], server["tmp"]
    (tmp / "card.yaml").write_text(INFO_YAML)
    private, public = generate_key(tmp / "bea", passphrase=PASS.encode())
    with sync_playwright() as p:
        # the owner registers a model, stores its audit and card info, and submits the card
        owner = Browser(p, base, shots, "owner")
        owner.sign_in(tokens["owner"])
        owner.check("home")
        owner.go("/ui/models", "models")
        owner.page.fill("#m-name", "adult")
        owner.page.fill("#m-version", "1")
        owner.page.fill("#m-facets", "sex, race")
        owner.page.fill("#m-labels", ">50K")
        owner.page.click("#register-form button[type=submit]")
        owner.page.wait_for_selector("#build-form")
        owner.page.set_input_files("#analysis", str(server["analysis"]))
        owner.page.set_input_files("#info", str(tmp / "card.yaml"))
        owner.page.click("#build-form button[type=submit]")
        owner.page.wait_for_selector("#submit-form")
        assert owner.page.inner_text("#card-status") == "Draft"
        owner.page.fill("#submit-reason", "ready for the review board")
        owner.page.click("#submit-form button[type=submit]")
        owner.page.wait_for_selector("text=PendingReview")
        owner.check("model-submitted")
        owner.go("/ui/models/adult/1/report", "audit-report")
        owner.close()

        # the approver registers a key, finds the card on the home page and approves it, signed
        board = Browser(p, base, shots, "approver")
        board.sign_in(tokens["approver"])
        board.check("home")
        assert "adult/1" in board.page.inner_text("#todo")
        board.go("/ui/keys", "keys")
        board.page.fill("#private_key", private.read_text())
        board.page.fill("#passphrase", PASS)
        board.page.click("form[action='/ui/keys'] button[type=submit]")
        board.page.wait_for_selector("tr.key")
        board.check("key-registered")
        board.page.click("nav a[href='/ui/']")
        board.page.click("#todo a")
        board.page.wait_for_selector("#approve-form")
        board.check("model-to-approve")
        board.page.fill("#approve-reason", "figures checked against the audit")
        board.page.fill("#approve-form #passphrase", PASS)
        board.page.click("#approve-form button[type=submit]")
        board.page.wait_for_selector("text=signed with key")
        assert board.page.inner_text("#card-status") == "Approved"
        board.check("model-approved")
        board.go("/ui/models/adult/1/card", "card")
        board.close()

        # the risk officer follows the violation of the latest check to the rows behind it
        officer = Browser(p, base, shots, "risk-officer")
        officer.sign_in(tokens["auditor"])
        officer.go("/ui/models", "models")
        officer.page.click("tr[data-model='credit/3'] a.status")
        officer.page.wait_for_selector("#runs")
        officer.check("model-monitoring")
        officer.page.click("tr.run a")
        officer.page.wait_for_selector("#violations")
        officer.check("check")
        officer.page.click("tr.violation[data-check='completeness_check'][data-feature='hours-per-week'] a")
        officer.page.wait_for_selector("#rows")
        officer.check("rows-behind")
        rows = officer.page.query_selector_all("tr.row-behind")
        assert len(rows) == 50 and all(r.get_attribute("data-id").startswith("c") and int(r.get_attribute("data-id")[1:]) % 10 == 0 for r in rows)
        officer.page.click("text=Next rows")
        officer.page.wait_for_selector("#rows")
        assert len(officer.page.query_selector_all("tr.row-behind")) == 10  # 60 rows lost hours-per-week: the rest of them
        officer.go("/ui/models/credit/3/review", "review-operations")
        officer.go("/ui/dashboard", "dashboard")
        officer.go("/ui/bounties", "bounties")
        officer.close()

        # a reviewer answers the next task
        reviewer = Browser(p, base, shots, "reviewer")
        reviewer.sign_in(tokens["reviewer"])
        reviewer.page.wait_for_selector("#task")
        reviewer.check("task")
        first = reviewer.page.get_attribute("#task", "data-task-id")
        reviewer.page.click("button[value='<=50K']")
        reviewer.page.wait_for_selector("#done")
        assert reviewer.page.get_attribute("#task", "data-task-id") != first
        reviewer.check("next-task")
        reviewer.close()

        # the operator answers the contest, now decided
        operator = Browser(p, base, shots, "operator")
        operator.sign_in(tokens["owner"])
        operator.go("/ui/contests?status=decided", "contests")
        operator.page.click("tr.contest-row a")
        operator.page.wait_for_selector("#respond-form")
        operator.check("contest")
        operator.page.fill("#message", "Two reviewers agreed with you: the decision is changed.")
        operator.page.click("#respond-form button[type=submit]")
        operator.page.wait_for_selector("#response-text")
        operator.check("contest-answered")
        operator.close()

        # the auditor finds the approval in the ledger and verifies the chain
        auditor = Browser(p, base, shots, "auditor")
        auditor.sign_in(tokens["auditor"])
        auditor.go("/ui/ledger", "ledger")
        auditor.page.select_option("#action", "card.approve")
        auditor.page.click("#search button[type=submit]")
        auditor.page.wait_for_selector("tr.entry")
        entries = auditor.page.query_selector_all("tr.entry")
        assert len(entries) == 1 and "adult/1" in entries[0].inner_text() and "bea" in entries[0].inner_text()
        auditor.check("ledger-search")
        auditor.page.click("#verify button[type=submit]")
        auditor.page.wait_for_selector("#verify-result")
        while auditor.page.get_attribute("#verify-result", "data-running") == "true":  # the check runs in the background: reload for it
            auditor.page.click("#verify-result a")
            auditor.page.wait_for_selector("#verify-result")
        assert "Intact" in auditor.page.inner_text("#verify-result")
        auditor.check("ledger-verified")
        auditor.close()

        # the admin makes a token and revokes it
        admin = Browser(p, base, shots, "admin")
        admin.sign_in(tokens["admin"])
        admin.go("/ui/tokens", "tokens")
        admin.page.fill("#name", "temp-contractor")
        admin.page.select_option("#role", "reviewer")
        admin.page.click("form[action='/ui/tokens'] button[type=submit]")
        admin.page.wait_for_selector("#new-token")
        admin.check("token-made")
        admin.page.click("tr.token[data-name='temp-contractor'] button")
        admin.page.wait_for_selector("text=revoked")
        assert "active" not in admin.page.inner_text("tr.token[data-name='temp-contractor']")
        admin.check("token-revoked")
        admin.close()

    runner = CliRunner()
    r = runner.invoke(cli, ["service", "card", "--db", server["db"], "--model", "adult/1", "--out", str(tmp / "card")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["card", "verify", str(tmp / "card"), "--trusted-key", str(public)])
    assert r.exit_code == 0, r.output  # the approval made in the browser, verified from the command line
    assert runner.invoke(cli, ["ledger", "verify", "--db", server["db"]]).exit_code == 0
    assert len(list(shots.glob("*.png"))) >= 25
