from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_metrics_doc_is_generated_from_the_registry():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "gen_metrics_doc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert (ROOT / "docs" / "metrics.md").read_text() == mod.render(), "run: python scripts/gen_metrics_doc.py"
