"""The import contracts (docs/design.md), checked on the tree as it is, and shown to fail on a forbidden import or a cycle."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _rules():
    spec = importlib.util.spec_from_file_location("layout", ROOT / "scripts" / "layout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_tree_keeps_the_import_contracts_has_no_cycle_and_no_long_function():
    assert _rules().problems(ROOT) == []


@pytest.mark.parametrize("where, code, expected", [
    ("bias/_leak.py", "from assay.report import render_report\n", "assay.bias._leak imports assay.report.render_report: the library (bias)"),
    ("ledger/_leak.py", "def f():\n    import assay.service._db\n", "assay.ledger._leak imports assay.service._db: the library (ledger)"),
    ("review/_leak.py", "import fastapi\n", "assay.review._leak imports fastapi: only the service uses FastAPI"),
    ("cards/_leak.py", "from assay.cli._common import out\n", "assay.cards._leak imports assay.cli._common.out: a renderer (cards)"),
    ("stats/_loop.py", "from assay.bias._cells import Cells\n", "import cycle: assay.bias._cells -> assay.stats._loop"),
    ("cli/_leak.py", "def f():\n    from assay.monitor._profile import profile\n", "assay.cli._leak imports assay.monitor._profile: the CLI calls"),
    ("monitor/_long.py", "def f():\n" + "    x = 1\n" * 100, "assay.monitor._long.f is 101 lines long"),
])  # fmt: skip
def test_a_forbidden_import_a_cycle_or_a_long_function_is_reported(tmp_path, where, code, expected):
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (tmp_path / "src" / "assay" / where).write_text(code)
    if where.startswith("stats/"):  # the cycle: bias._cells would import the new module, which imports bias._cells
        cells = tmp_path / "src" / "assay" / "bias" / "_cells.py"
        cells.write_text(cells.read_text() + "\nfrom assay.stats import _loop  # noqa: E402,F401\n")
    found = _rules().problems(tmp_path)
    assert any(p.startswith(expected) for p in found), found
