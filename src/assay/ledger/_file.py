"""A record as a file: JSON Lines, one entry per line, appended with fsync; what a card store keeps and what `assay ledger export`
writes."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from assay._errors import AssayError, ConfigError
from assay.ledger._chain import Verification, digest, walk

__all__ = ["DamagedLogError", "append_line", "read_log", "verify_file"]


class DamagedLogError(AssayError):
    """A line of a JSON Lines record is not a JSON object."""


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """Every entry of a JSON Lines record (none when the file does not exist); blank lines are skipped, any other line that is not a
    JSON object is a :class:`DamagedLogError` naming it."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for i, raw in enumerate(path.read_bytes().splitlines(), 1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise DamagedLogError(f"{path} line {i} is not JSON text: the log was damaged or replaced") from None
        if not isinstance(entry, dict):
            raise DamagedLogError(f"{path} line {i} is not a log entry (a JSON object): the log was damaged or replaced")
        out.append(entry)
    return out


def append_line(path: str | Path, entry: Mapping[str, Any]) -> None:
    """Append one entry as a line and flush it to the disk before returning."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def verify_file(path: str | Path, *, anchor: Mapping[str, Any] | None = None) -> Verification:
    """Walk an exported service ledger (`assay ledger export`: entries with ``prev_hash``) or any JSON Lines chain (``prev``), with
    no database: every hash and link, and the anchor when given. (What the chain counts, the rows of a database, is checked by
    verifying the database itself.)"""
    from assay.ledger._sql import SCHEMES

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path} is not a file; give a JSON Lines ledger (`assay ledger export --out FILE`)")
    try:
        entries = read_log(path)
    except DamagedLogError as exc:
        return Verification(False, [str(exc)])
    if not entries:
        return Verification(False, [f"{path} holds no entries"])
    service = "prev_hash" in entries[0]
    return walk(entries, prev="prev_hash" if service else "prev", anchor=anchor, schemes=SCHEMES if service else (digest,))
