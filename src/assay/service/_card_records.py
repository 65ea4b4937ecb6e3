"""A card store's records (versions and review log) kept in the service's database: the ``card_versions`` and ``card_log`` tables."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from assay.service._db import card_log, card_versions

__all__ = ["DbCards"]


class DbCards:
    """A card store's records (versions and review log) of one model version, in the service's database, read and written inside the
    caller's transaction (the methods of :class:`assay.cards.Files`)."""

    def __init__(self, conn: sa.Connection, model: Any) -> None:
        self.conn, self.model = conn, model

    def __str__(self) -> str:
        return f"the card of {self.model.name}/{self.model.version}"

    def where(self, version: int) -> str:
        return f"version {version} of {self}"

    def entries(self) -> list[dict[str, Any]]:
        q = sa.select(card_log.c.entry).where(card_log.c.model_id == self.model.id).order_by(card_log.c.seq)
        return [dict(r.entry) for r in self.conn.execute(q)]

    def append(self, entry: dict[str, Any]) -> None:
        self.conn.execute(card_log.insert().values(model_id=self.model.id, seq=int(entry["seq"]), entry=entry))

    def read(self, version: int) -> dict[str, Any] | None:
        q = sa.select(card_versions.c.record).where(card_versions.c.model_id == self.model.id, card_versions.c.version == version)
        row = self.conn.execute(q).first()
        return None if row is None else dict(row.record)

    def write(self, version: int, record: dict[str, Any]) -> None:
        self.conn.execute(card_versions.insert().values(model_id=self.model.id, version=version, record=record))

    def versions(self) -> list[int]:
        q = sa.select(card_versions.c.version).where(card_versions.c.model_id == self.model.id).order_by(card_versions.c.version)
        return [int(v) for v in self.conn.scalars(q)]
