"""Model cards that fill themselves from analysis.json, with immutable versions and signed approvals."""

from assay.cards._check import check_card
from assay.cards._content import INFO_TEMPLATE, RISK_RATINGS, build_content, to_html, to_markdown, to_sagemaker
from assay.cards._export import export_card
from assay.cards._store import CardStore, Files, Verification, content_hash, generate_key, key_id, load_private_key, load_public_key, sign_approval

__all__ = [
    "INFO_TEMPLATE",
    "RISK_RATINGS",
    "CardStore",
    "Files",
    "Verification",
    "build_content",
    "check_card",
    "content_hash",
    "export_card",
    "generate_key",
    "key_id",
    "load_private_key",
    "load_public_key",
    "sign_approval",
    "to_html",
    "to_markdown",
    "to_sagemaker",
]
