"""The assay service: prediction capture (with routing to human review), ground truth, review, monitoring over time, contests and
a hash-chained record, over SQLite or PostgreSQL. ``create_app`` is the server; ``import_capture`` captures Model Monitor's files
without one; the rest is what the CLI's service and ledger commands call (tokens, a baseline, the ledger's entries, head and check)."""

from assay.service._app import ROLES, create_app, create_token
from assay.service._auth import revoke_tokens
from assay.service._capture import ImportStopped, capture_files, import_capture
from assay.service._cards import card_of
from assay.service._db import connect, find_model, migrate
from assay.service._ledger import anchor as ledger_anchor
from assay.service._ledger import entries as ledger_entries
from assay.service._ledger import verify as verify_ledger
from assay.service._monitoring import store_baseline

__all__ = ["ImportStopped", "ROLES", "capture_files", "card_of", "connect", "create_app", "create_token", "find_model", "import_capture", "ledger_anchor", "ledger_entries",
           "migrate", "revoke_tokens", "store_baseline", "verify_ledger"]  # fmt: skip
