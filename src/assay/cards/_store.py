"""A card store: immutable versions, a hash-chained log of review actions, Ed25519-signed approvals.

Layout of a store directory::

    versions/0001.json   {"version": 1, "content_hash": "sha256:...", "content": {...}}   written once, never changed
    log.jsonl            one action per line: seq, time, action, version, content_hash,
                         from_status, to_status, by, reason, prev (the previous line's hash),
                         approvals also public_key, key_id and signature; hash (of the line without it)

Status moves only through recorded actions: create (-> Draft), submit (Draft ->
PendingReview), approve (PendingReview -> Approved, signed), reject
(PendingReview -> Draft), archive (any -> Archived, final). An approval is
signed with the reviewer's Ed25519 key over the card name, version, content
hash, action, reviewer, reason, time and the previous entry's hash, so anyone
with the public key can check who approved which exact content. Changing an
approved card's content creates a new Draft version. :meth:`CardStore.verify`
recomputes every hash and signature: an edited version file, an edited,
removed or reordered log line, or a forged approval is reported. Against
someone who can rewrite the whole store and sign with their own key, only a
list of trusted reviewer keys (``trusted_keys``) helps: verify then reports
approvals by any other key.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from assay._errors import AssayError, ConfigError, DataError
from assay.ledger import GENESIS, DamagedLogError, Verification, append_line, canonical, digest, read_log, walk

__all__ = [
    "CardStore",
    "Files",
    "Verification",
    "approval_is_signed",
    "content_hash",
    "generate_key",
    "key_id",
    "load_private_key",
    "load_public_key",
    "sign_approval",
]

TRANSITIONS = {  # action -> (allowed from, to)
    "submit": (("Draft",), "PendingReview"),
    "approve": (("PendingReview",), "Approved"),
    "reject": (("PendingReview",), "Draft"),
    "archive": (("Draft", "PendingReview", "Approved"), "Archived"),
}


def content_hash(content: dict[str, Any]) -> str:
    """``sha256:`` + the hex digest of the content's canonical JSON (:func:`assay.ledger.canonical`)."""
    return "sha256:" + hashlib.sha256(canonical(content)).hexdigest()


def _signed_payload(card: str, entry: dict[str, Any]) -> bytes:
    keys = ("seq", "time", "action", "version", "content_hash", "from_status", "to_status", "by", "reason", "prev", "key_id")
    return canonical({"card": card, **{k: entry[k] for k in keys}})


def approval_is_signed(card: str, entry: dict[str, Any]) -> bool:
    """Whether an approval entry of card ``card`` carries a valid Ed25519 signature by the key it names."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(entry.get("public_key", "")))
        pub.verify(base64.b64decode(entry.get("signature", "")), _signed_payload(card, entry))
        return bool(key_id(pub) == entry.get("key_id"))
    except (InvalidSignature, ValueError, TypeError, KeyError):
        return False


def sign_approval(request: dict[str, Any], key: Any, reason: str) -> dict[str, Any]:
    """An approval request (:meth:`CardStore.approval_request`) signed with the approver's Ed25519 private key, with the reason: what
    :meth:`CardStore.append_approval` records (the key never leaves the signer's machine)."""
    _need(reason, "--reason")
    missing = [k for k in ("card", "seq", "time", "action", "version", "content_hash", "from_status", "to_status", "by", "prev") if k not in request]
    if missing or request.get("action") != "approve":
        raise ConfigError(f"not an approval request (missing {', '.join(missing) or 'action: approve'}): copy it from the console's approval form")
    entry = {**{k: request[k] for k in request if k != "card"}, "reason": reason, "key_id": key_id(key.public_key())}
    entry["public_key"] = base64.b64encode(_raw_public(key.public_key())).decode()
    entry["signature"] = base64.b64encode(key.sign(_signed_payload(str(request["card"]), entry))).decode()
    return {"card": request["card"], **entry}


# == keys ===========================================================================
def generate_key(prefix: str | Path, *, passphrase: bytes | None = None) -> tuple[Path, Path]:
    """Write PREFIX.key (private, PEM, mode 0600) and PREFIX.pub (public, PEM); refuse to overwrite."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private, public = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    for p in (private, public):
        if p.exists():
            raise AssayError(f"{p} exists; choose another --out, or move it away (assay never overwrites a key)")
    key = Ed25519PrivateKey.generate()
    enc = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    private.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def load_private_key(path: str | Path, *, passphrase: bytes | None = None) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    p = Path(path)
    if not p.exists():
        raise ConfigError(f"key file {p} does not exist; `assay card keygen --out NAME` makes one")
    try:
        key = serialization.load_pem_private_key(p.read_bytes(), password=passphrase)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{p} is not a readable private key ({e}); if it is encrypted, set ASSAY_KEY_PASSPHRASE") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{p} is a {type(key).__name__}; approvals are signed with Ed25519 keys (`assay card keygen`)")
    return key


def load_public_key(path: str | Path) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    p = Path(path)
    if not p.exists():
        raise ConfigError(f"public key file {p} does not exist")
    try:
        key = serialization.load_pem_public_key(p.read_bytes())
    except ValueError as e:
        raise ConfigError(f"{p} is not a PEM public key ({e})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{p} is not an Ed25519 public key")
    return key


def _raw_public(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def key_id(public_key: Any) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key."""
    return hashlib.sha256(_raw_public(public_key)).hexdigest()[:16]


# == the store ======================================================================
class Files:
    """Where a card store keeps its versions and log: a directory (``versions/NNNN.json`` and ``log.jsonl``). The service keeps the
    same records in its database (:mod:`assay.service._cards`), with the same methods."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.path)

    def where(self, version: int) -> str:
        return str(self.path / "versions" / f"{version:04d}.json")

    def entries(self) -> list[dict[str, Any]]:
        return read_log(self.path / "log.jsonl")

    def append(self, entry: dict[str, Any]) -> None:
        append_line(self.path / "log.jsonl", entry)

    def read(self, version: int) -> dict[str, Any] | None:
        p = self.path / "versions" / f"{version:04d}.json"
        return dict(json.loads(p.read_text(encoding="utf-8"))) if p.exists() else None

    def write(self, version: int, record: dict[str, Any]) -> None:
        target = self.path / "versions" / f"{version:04d}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "x", encoding="utf-8") as fh:  # exclusive: a version is written once
            json.dump(record, fh, indent=2, sort_keys=True, ensure_ascii=False)

    def versions(self) -> list[int]:
        folder = self.path / "versions"
        return sorted(int(p.stem) for p in folder.glob("*.json")) if folder.exists() else []


class CardStore:
    """One model card's versions and review log, in a directory (or, given ``records``, wherever those are kept)."""

    def __init__(self, path: str | Path | None = None, *, records: Any = None) -> None:
        self.records = records if records is not None else Files(path if path is not None else ".")

    @property
    def path(self) -> Path:
        """The directory of a store kept in files."""
        return Path(self.records.path)

    @property
    def log_path(self) -> Path:
        return self.path / "log.jsonl"

    # -- reading -----------------------------------------------------------------------
    def entries(self) -> list[dict[str, Any]]:
        return self.records.entries()  # type: ignore[no-any-return]

    def _require(self) -> list[dict[str, Any]]:
        entries = self.entries()
        if not entries:
            raise ConfigError(
                f"{self.records} holds no model card; `assay card build ANALYSIS_DIR --info INFO.yaml --store {self.records} --by NAME` creates one"
            )
        return entries

    def latest(self, entries: list[dict[str, Any]] | None = None) -> int:
        return max(int(e["version"]) for e in entries or self._require())

    def status(self, version: int | None = None, entries: list[dict[str, Any]] | None = None) -> str:
        """A version's status (default: the latest's), replayed from the log (or from ``entries`` already read)."""
        entries = entries or self._require()
        version = version or max(int(e["version"]) for e in entries)
        states = [e["to_status"] for e in entries if e["version"] == version]
        if not states:
            raise ConfigError(f"{self.records} has no version {version}")
        return str(states[-1])

    def read(self, version: int | None = None) -> dict[str, Any]:
        version = version or self.latest()
        record = self.records.read(version)
        if record is None:
            raise ConfigError(f"{self.records} has no version {version}")
        return dict(record)

    def history(self, version: int, entries: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        return [e for e in entries or self._require() if e["version"] == version]

    @property
    def name(self) -> str:
        return str(self.read(1)["content"]["model_overview"]["model_name"])

    # -- writing -----------------------------------------------------------------------
    def _append(self, entry: dict[str, Any], key: Any = None) -> dict[str, Any]:
        entries = self.entries()
        entry = {"seq": len(entries) + 1, "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), **entry,
                 "prev": entries[-1]["hash"] if entries else GENESIS, "key_id": key_id(key.public_key()) if key is not None else None}  # fmt: skip
        if key is not None:
            card = self.name
            entry["public_key"] = base64.b64encode(_raw_public(key.public_key())).decode()
            entry["signature"] = base64.b64encode(key.sign(_signed_payload(card, entry))).decode()
        entry["hash"] = digest(entry)
        self.records.append(entry)
        return entry

    def add_version(self, content: dict[str, Any], *, by: str) -> tuple[int, bool]:
        """Store ``content`` as a new Draft version unless it equals the latest; (version, created)."""
        _need(by, "--by (who builds the card)")
        digest = content_hash(content)
        entries = self.entries()
        if entries:
            latest = self.latest(entries)
            if self.status(latest, entries) == "Archived":
                raise AssayError(f"the card in {self.records} is Archived: no more versions can be added (it can still be exported and verified)")
            if self.read(latest)["content_hash"] == digest:
                return latest, False
            if self.name != content["model_overview"]["model_name"]:
                raise ConfigError(f"{self.records} holds the card of {self.name!r}, not {content['model_overview']['model_name']!r}; use another --store")
            version = latest + 1
        else:
            version = 1
        self.records.write(version, {"version": version, "content_hash": digest, "content": content})
        self._append({"action": "create", "version": version, "content_hash": digest, "from_status": None, "to_status": "Draft", "by": by,
                      "reason": "new version" if version > 1 else "card created"})  # fmt: skip
        return version, True

    def act(self, action: str, *, by: str, reason: str, key: Any = None) -> dict[str, Any]:
        """Record a review action on the latest version; approvals need the reviewer's Ed25519 private key."""
        if action not in TRANSITIONS:
            raise ConfigError(f"unknown action {action!r}; one of {', '.join(TRANSITIONS)}")
        _need(by, "--by (the reviewer's name)")
        _need(reason, "--reason")
        entries = self._require()  # read the log once for the checks
        version = self.latest(entries)
        current = self.status(version, entries)
        allowed, to = TRANSITIONS[action]
        if current not in allowed:
            raise AssayError(f"cannot {action} version {version}: it is {current}; {action} applies to {' or '.join(allowed)}")
        if action == "approve":
            if key is None:
                raise ConfigError("an approval must be signed: give --key with the reviewer's Ed25519 private key (`assay card keygen`)")
            submitters = [e["by"] for e in self.history(version, entries) if e["action"] in ("create", "submit")]
            if by in submitters:
                raise AssayError(f"{by} created or submitted version {version}; a different person must approve it")
        record = self.read(version)
        return self._append({"action": action, "version": version, "content_hash": record["content_hash"], "from_status": current, "to_status": to,
                             "by": by, "reason": reason}, key if action == "approve" else None)  # fmt: skip

    def approval_request(self, by: str) -> dict[str, Any]:
        """What an approver signs away from the store (:func:`sign_approval`, ``assay card sign``) to approve the latest version:
        the approval entry as the log stands now, without the reason and the key, which the signer adds."""
        _need(by, "the approver's name")
        entries = self._require()
        version = self.latest(entries)
        current = self.status(version, entries)
        if current != "PendingReview":
            raise AssayError(f"cannot approve version {version}: it is {current}; approve applies to PendingReview")
        if by in [e["by"] for e in self.history(version, entries) if e["action"] in ("create", "submit")]:
            raise AssayError(f"{by} created or submitted version {version}; a different person must approve it")
        return {"card": self.name, "seq": len(entries) + 1, "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "action": "approve",
                "version": version, "content_hash": self.read(version)["content_hash"], "from_status": current, "to_status": "Approved", "by": by,
                "prev": entries[-1]["hash"]}  # fmt: skip

    def append_approval(self, signed: dict[str, Any], *, by: str, max_age_hours: float = 24) -> dict[str, Any]:
        """Record an approval signed elsewhere: it must be :meth:`approval_request` of the log as it stands (same entry, previous
        hash and content, by ``by``), signed within ``max_age_hours`` and not in the future, with a reason and a valid signature."""
        want = self.approval_request(by)
        for k in ("card", "seq", "action", "version", "content_hash", "from_status", "to_status", "by", "prev"):
            if signed.get(k) != want[k]:
                raise DataError(f"the signed approval's {k} is {signed.get(k)!r}, but the card now needs {want[k]!r} (the card changed since the "
                                 "request was made, or it is another card's): make a new request and sign it")  # fmt: skip
        try:
            at = _dt.datetime.fromisoformat(str(signed.get("time")))
        except ValueError:
            raise DataError(f"the signed approval's time {signed.get('time')!r} is not an ISO 8601 time") from None
        now = _dt.datetime.fromisoformat(want["time"])
        if at.tzinfo is None or at > now + _dt.timedelta(minutes=5) or at < now - _dt.timedelta(hours=max_age_hours):
            raise DataError(f"the signed approval's time {signed.get('time')} is not within the last {max_age_hours:g} hours: make a new request")
        _need(str(signed.get("reason") or ""), "the signed approval's reason")
        if not approval_is_signed(want["card"], signed):
            raise DataError("the approval's signature does not verify: it was altered after signing, or not signed by the key it names")
        entry = {k: signed[k] for k in ("seq", "time", "action", "version", "content_hash", "from_status", "to_status", "by", "reason", "prev", "key_id",
                                        "public_key", "signature")}  # fmt: skip
        entry["hash"] = digest(entry)
        self.records.append(entry)
        return entry

    # -- checking ----------------------------------------------------------------------
    def verify(self, *, trusted_keys: list[Any] | None = None, anchor: dict[str, Any] | None = None) -> Verification:
        """The chain (:func:`assay.ledger.walk`: every hash and link; with ``anchor``, an earlier head ``{"seq", "hash"}`` kept
        elsewhere, entries removed from the end too), then every transition, version file and signature; ``ok`` with no problems
        when intact."""
        try:
            entries = self.entries()
        except DamagedLogError as exc:
            return Verification(False, [str(exc)])
        if not entries:
            return Verification(False, [f"{self.records}: its review log is missing or empty"])
        result = walk(entries, anchor=anchor, describe=lambda e: f" ({e.get('action')} of version {e.get('version')})")
        created = self._check_review(entries, result, {key_id(k) for k in trusted_keys} if trusted_keys is not None else None)
        extra = [v for v in self.records.versions() if v not in created]
        if extra:
            result.add(f"version file(s) {extra} are not in the log (added outside assay)")
        return result

    def _check_review(self, entries: list[dict[str, Any]], result: Verification, trusted: set[str] | None) -> set[int]:
        """Replay the log: each transition allowed, each version file unchanged, each approval signed (by a trusted key, if given);
        the versions the log creates."""
        status: dict[int, str] = {}
        version_hash: dict[int, str] = {}
        card = None
        for i, e in enumerate(entries, 1):
            where = f"log entry {i} ({e.get('action')} of version {e.get('version')})"
            v = int(e.get("version", 0))
            if e.get("action") == "create":
                if v in status:
                    result.add(f"{where}: version {v} is created twice", e.get("seq"))
                version_hash[v] = e.get("content_hash", "")
                try:
                    record = self.read(v)
                except (ConfigError, json.JSONDecodeError):
                    result.add(f"{where}: the version file {self.records.where(v)} is missing or unreadable", e.get("seq"))
                    record = None
                if record is not None:
                    if content_hash(record["content"]) != record.get("content_hash") or record.get("content_hash") != e.get("content_hash"):
                        result.add(f"version {v}: the content of {self.records.where(v)} does not match the hash recorded when it was created "
                                   "(the card was edited)", e.get("seq"))  # fmt: skip
                    card = card or record["content"]["model_overview"]["model_name"]
                status[v] = "Draft"
                continue
            allowed, to = TRANSITIONS.get(e.get("action", ""), ((), None))
            if v not in status:
                result.add(f"{where}: acts on a version that was never created", e.get("seq"))
            elif status[v] not in allowed or e.get("to_status") != to or e.get("from_status") != status[v]:
                result.add(f"{where}: {status[v]} -> {e.get('to_status')} is not an allowed transition", e.get("seq"))
            if e.get("content_hash") != version_hash.get(v):
                result.add(f"{where}: names content {e.get('content_hash')} but version {v} is {version_hash.get(v)}", e.get("seq"))
            if e.get("action") == "approve":
                good = approval_is_signed(card or "", e)
                if not good:
                    result.add(f"{where}: the approval signature does not verify (the approval record or the card was altered, or it was "
                               "not signed by the key it names)", e.get("seq"))  # fmt: skip
                elif trusted is not None and e.get("key_id") not in trusted:
                    result.add(f"{where}: signed by key {e.get('key_id')}, which is not among the trusted reviewer keys", e.get("seq"))
                result.approvals.append({"version": v, "by": e.get("by"), "time": e.get("time"), "key_id": e.get("key_id"),
                                         "content_hash": e.get("content_hash"), "valid": good})  # fmt: skip
            status[v] = e.get("to_status", status.get(v, ""))
        result.versions = len(version_hash)
        return set(version_hash)


def _need(value: str, what: str) -> None:
    if not value or not str(value).strip():
        raise ConfigError(f"{what} is required")
