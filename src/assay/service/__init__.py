"""The assay service: prediction capture, ground truth, and a hash-chained record (issue 7; review, monitoring and contests to come)."""

from assay.service._app import ROLES, create_app, create_token
from assay.service._db import connect, migrate

__all__ = ["ROLES", "connect", "create_app", "create_token", "migrate"]
