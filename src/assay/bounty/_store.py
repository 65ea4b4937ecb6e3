"""A bounty kept in a directory: its settings, the submitted models, and a hash-chained log of every submission and decision.

    DIR/bounty.json        the holdout (path and SHA-256), label, positive values, the original model, margin, alpha, budget
    DIR/submissions/N.*    submission N's model file, as submitted
    DIR/log.jsonl          entries {seq, time, action: create | submit | verify, ..., prev, hash}: ``assay ledger verify DIR/log.jsonl``

A submitter learns from :meth:`BountyStore.status` only whether each submission was accepted; the gains and bounds are in the
log, for the owner (who holds the holdout).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from assay._errors import ConfigError, DataError
from assay.bounty._bounty import Bounty, DecisionList
from assay.ledger import GENESIS, append_line, digest, read_log

__all__ = ["BountyStore", "as_conditions"]


def as_conditions(group: Any) -> list[dict[str, Any]]:
    """A group as conditions: ``{column: value, ...}`` or a list of condition objects (see :func:`assay.bounty.group_mask`)."""
    if isinstance(group, Mapping) and "column" not in group:
        return [{"column": str(k), "value": v} for k, v in group.items()]
    if isinstance(group, Mapping):
        return [dict(group)]
    if isinstance(group, list) and all(isinstance(c, Mapping) for c in group):
        return [dict(c) for c in group]
    raise ConfigError(f"a group is {{column: value, ...}} or a list of conditions such as {{column, value}}, got {group!r}")


class BountyStore:
    """A bounty's directory (see the module's description)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.log_path = self.directory / "log.jsonl"

    @classmethod
    def create(cls, directory: str | Path, *, holdout: str | Path, label: str, positive: Sequence[Any], model: str | Path,
               margin: float = 0.001, alpha: float = 0.05, budget: int = 10, by: str = "owner") -> BountyStore:  # fmt: skip
        store = cls(directory)
        if (store.directory / "bounty.json").exists():
            raise ConfigError(f"{store.directory} already holds a bounty; give a new directory")
        for what, path in (("holdout", holdout), ("model", model)):
            if not Path(path).is_file():
                raise DataError(f"the {what} {path} is not a file")
        settings = {"holdout": str(Path(holdout).resolve()), "holdout_sha256": _sha256(holdout), "label": label, "positive": list(positive),
                    "model": str(Path(model).resolve()), "margin": margin, "alpha": alpha, "budget": budget}  # fmt: skip
        store._bounty(settings)  # the settings are checked before anything is written
        store.directory.mkdir(parents=True, exist_ok=True)
        (store.directory / "bounty.json").write_text(json.dumps(settings, indent=2))
        store._append({"action": "create", "by": by, "settings": settings})
        return store

    @property
    def settings(self) -> dict[str, Any]:
        path = self.directory / "bounty.json"
        if not path.exists():
            raise ConfigError(f"{self.directory} holds no bounty (no bounty.json): create one with `assay bounty create`")
        return dict(json.loads(path.read_text()))

    def submit(self, group: Any, model: str | Path, *, by: str) -> int:
        """Record a submission (the model file is copied in); its number."""
        conditions = as_conditions(group)
        if not Path(model).is_file():
            raise DataError(f"the submitted model {model} is not a file")
        if not by:
            raise ConfigError("a submission needs --by: who submits it")
        number = 1 + sum(e["action"] == "submit" for e in read_log(self.log_path))
        target = self.directory / "submissions" / f"{number}{Path(model).suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(model, target)
        self._append({"action": "submit", "submission": number, "by": by, "group": conditions, "model": target.name,
                      "model_sha256": _sha256(target)})  # fmt: skip
        return number

    def verify(self, *, trusted: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Verify every pending submission in order, within the budget; what was decided (with the owner's figures)."""
        settings, entries = self.settings, read_log(self.log_path)
        if _sha256(settings["holdout"]) != settings["holdout_sha256"]:
            raise DataError(f"the holdout {settings['holdout']} changed since the bounty was created; verifications need the same rows")
        bounty = self._bounty(settings, trusted)
        done = {e["submission"] for e in entries if e["action"] == "verify"}
        bounty.replay([e for e in entries if e["action"] == "verify"], lambda e: self._model(e["model"], trusted))
        pending = [e for e in entries if e["action"] == "submit" and e["submission"] not in done]

        def load(e: Mapping[str, Any]) -> Any:
            if _sha256(self.directory / "submissions" / e["model"]) != e["model_sha256"]:
                raise DataError(f"submission {e['submission']}'s model file changed after it was submitted")
            return self._model(e["model"], trusted)

        out = []
        for decided, e in zip(bounty.verify_pending(pending, load), pending):
            entry = {"action": "verify", **decided, "model": e["model"]}
            self._append(entry)
            out.append(entry)
        return out

    def status(self) -> dict[str, Any]:
        """What a submitter may know: each submission's state (pending, accepted, rejected) and the budget left; no figures."""
        settings, entries = self.settings, read_log(self.log_path)
        decided = {e["submission"]: e["accepted"] for e in entries if e["action"] == "verify"}
        subs = [{"submission": e["submission"], "by": e["by"], "group": e["group"],
                 "state": "pending" if e["submission"] not in decided else "accepted" if decided[e["submission"]] else "rejected"}
                for e in entries if e["action"] == "submit"]  # fmt: skip
        return {"budget": settings["budget"], "budget_left": settings["budget"] - len(decided), "margin": settings["margin"],
                "alpha": settings["alpha"], "submissions": subs}  # fmt: skip

    def model(self, *, trusted: Sequence[str] = ()) -> DecisionList:
        """The updated model: the accepted submissions, newest first, in front of the original model."""
        bounty = self._bounty(self.settings, trusted)
        bounty.replay([e for e in read_log(self.log_path) if e["action"] == "verify"], lambda e: self._model(e["model"], trusted))
        return bounty.model()

    # -- helpers ------------------------------------------------------------------------
    def _bounty(self, settings: dict[str, Any], trusted: Sequence[str] = ()) -> Bounty:
        from assay._tabulate import as_frame, read_dataset

        holdout = as_frame(read_dataset(settings["holdout"])).collect().to_pandas()
        original = _load(settings["model"], trusted)
        return Bounty(holdout, settings["label"], settings["positive"], original, margin=settings["margin"], alpha=settings["alpha"],
                      budget=settings["budget"])  # fmt: skip

    def _model(self, name: str, trusted: Sequence[str]) -> Any:
        return _load(str(self.directory / "submissions" / name), trusted)

    def _append(self, entry: dict[str, Any]) -> None:
        entries = read_log(self.log_path)
        full = {"seq": len(entries) + 1, "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), **entry,
                "prev": entries[-1]["hash"] if entries else GENESIS}  # fmt: skip
        full["hash"] = digest(full)
        append_line(self.log_path, full)


def _load(path: str, trusted: Sequence[str]) -> Any:
    from assay.explain import load_model

    return load_model(path, trusted=list(trusted))


def _sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
