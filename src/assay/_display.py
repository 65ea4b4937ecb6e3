"""Rich display of results in notebooks, without the library importing its renderers.

A result object (an audit, an explanation) knows only the document it
stands for; the renderer that turns such a document into a notebook cell is
named here, and imported by name the first time a notebook shows one. The
library stays free of ``assay.report`` (the import rules in docs/design.md);
a notebook still shows the same page as ``assay report``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["RENDERERS", "notebook_html"]

RENDERERS = {"notebook": ("assay.report", "notebook_html")}  # kind -> (module, function): the renderer of an analysis document


def notebook_html(doc: dict[str, Any], kind: str = "notebook") -> str:
    """The HTML a notebook shows for ``doc`` (an analysis.json document), by the renderer registered for ``kind``."""
    module, name = RENDERERS[kind]
    return str(getattr(importlib.import_module(module), name)(doc))
