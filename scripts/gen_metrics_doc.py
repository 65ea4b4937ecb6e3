"""Write docs/metrics.md from the metric registry (a test checks it is current)."""

from __future__ import annotations

import sys
from pathlib import Path


def render() -> str:
    from assay.bias import METRICS

    lines = [
        "# Bias metrics",
        "",
        "Generated from the registry by `python scripts/gen_metrics_doc.py`; do not edit by hand.",
        "",
        "Facet *d* is the group named by a facet value, facet *a* the rest; `(1)` is the positive label, `'` marks",
        "predicted labels. A value that cannot be computed (a division by zero, an empty group) is `null` with a",
        "reason, never 0 or infinity. Every value has a percentile bootstrap interval; the test named is used for",
        "the p-value, and q-values are Benjamini-Hochberg across the whole report.",
        "",
    ]
    for stage in ("pre_training", "post_training"):
        lines += [f"## {stage.replace('_', '-').capitalize()} metrics", "", "| name | description | formula | range | ideal | test | reference |", "|---|---|---|---|---|---|---|"]
        for m in METRICS.values():
            if m.stage == stage:
                lines.append(f"| {m.name} | {m.description} | `{m.formula}` | [{m.range[0]}, {m.range[1]}] | {m.ideal} | {m.test_name or '-'} | {m.reference} |")
        lines.append("")
    lines += ["## Where smclarify (Clarify's open-source core) is wrong, and what assay does", ""]
    for m in METRICS.values():
        if m.smclarify:
            lines.append(f"- **{m.name}**: {m.smclarify}")
    lines += [
        "- **All metrics**: smclarify's division rule returns 0 for 0/0 and infinity for x/0, and forces a difference of two",
        "  infinities to 0; assay returns null with the reason.",
        "- **Type inference**: smclarify calls an integer column continuous when more than 5% of its values are distinct, so a",
        "  0/1 label in a data set of 40 rows or fewer became continuous and no positive was found. assay calls a numeric column",
        "  continuous only when it has more than 20 distinct values (and a label only when one threshold is given);",
        "  `label_type` and a facet's `type` override it.",
        "- **Peers' signs**: AIF360 reports unprivileged minus privileged (d - a) and its `class_imbalance` is (n_d - n_a)/n,",
        "  the opposite sign of Clarify's CI; Fairlearn's differences are unsigned max - min. The conformance tests",
        "  (`tests/conformance/`) check each against assay with the sign made explicit.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
    out.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {out}\n")
