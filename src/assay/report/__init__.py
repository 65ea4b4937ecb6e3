"""Reports: a self-contained HTML page (and PDF) from analysis.json."""

from assay.report._report import SECTIONS, Section, fmt, notebook_html, render_report, write_report

__all__ = ["SECTIONS", "Section", "fmt", "notebook_html", "render_report", "write_report"]
