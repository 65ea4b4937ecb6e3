"""The assay service: prediction capture (with routing to human review), ground truth, review, monitoring over time, contests and
a hash-chained record, over SQLite or PostgreSQL. ``create_app`` is the server; ``import_capture`` captures Model Monitor's files
without one."""

from assay.service._app import ROLES, create_app, create_token
from assay.service._capture import ImportStopped, capture_files, import_capture
from assay.service._db import connect, migrate

__all__ = ["ROLES", "ImportStopped", "capture_files", "connect", "create_app", "create_token", "import_capture", "migrate"]
