"""A model's settings (its review policy, its monitoring), changed only with a ledger entry holding the old and the new value."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from assay.service import _ledger
from assay.service._db import find_model, models

__all__ = ["configure"]


def configure(engine: sa.Engine, name: str, version: str, actor: str, key: str, value: Any, *, extra: dict[str, Any] | None = None) -> None:
    """Change one of a model's settings (policy, monitoring) with a ``model.configure`` ledger entry holding the old and new value."""
    with engine.begin() as conn:
        m = find_model(conn, name, version)
        spec = {**m.spec, key: value, **(extra or {})}
        conn.execute(models.update().where(models.c.id == m.id).values(spec=spec))
        _ledger.append(conn, actor=actor, action="model.configure", subject=f"{name}/{version}", payload={"setting": key, "value": value,
                                                                                                          "previous": m.spec.get(key)})  # fmt: skip
