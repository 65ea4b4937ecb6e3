"""Data in: tables and files become a count tensor, computed by their own engine."""

from assay._tabulate._engine import DATASET_TYPES, as_frame, read_dataset, row_sample, threads
from assay._tabulate._tensor import CountTable, tabulate

__all__ = ["CountTable", "DATASET_TYPES", "as_frame", "read_dataset", "row_sample", "tabulate", "threads"]
