"""The ``assay`` command line: thin, it parses, calls the library and prints."""

from assay.cli._main import app, main

__all__ = ["app", "main"]
