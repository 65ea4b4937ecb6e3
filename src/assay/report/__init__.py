"""Reports: a self-contained HTML page (and PDF) from analysis.json."""

from assay.report._report import SECTIONS, Section, fmt, from_clarify, load_analysis, notebook_html, render_report, value_name, write_report

__all__ = ["SECTIONS", "Section", "fmt", "from_clarify", "load_analysis", "notebook_html", "render_report", "value_name", "write_report"]
