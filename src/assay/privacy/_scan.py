"""A scan for personal data, fully offline: by column name and by content, with pattern recognisers checked by their own
checksums where the kind has one (Luhn for card numbers, ISO 7064 mod 97 for IBANs, the SSA's rules for US social security
numbers, octet ranges for IPv4). No model, no download: it runs with the network blocked.

For each column, the sampled non-missing values (at most ``sample`` of them) are matched: a value *is* an email, phone, card,
IBAN, SSN, IPv4 address or date when the whole value matches, and a text *holds* an email, phone or card when one appears in
it. A column is flagged for a kind when at least ``min_share`` of its sampled values are one (or, for free text, at least
``text_share`` hold one), or when its name says so (name, email, phone, address, birth date, national id, ...). Person names
and addresses in free text are found only by column name: recognising them in prose needs a language model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = ["KINDS", "scan"]

_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
_PHONE = r"(?:\+?\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?)?\d{2,4}[\s.-]?\d{3,4}(?:[\s.-]?\d{3,4})?"
_CARD = r"(?:\d[ -]?){12,18}\d"
WHOLE = {
    "email": re.compile(rf"^{_EMAIL}$"),
    "phone": re.compile(rf"^{_PHONE}$"),
    "card_number": re.compile(rf"^{_CARD}$"),
    "iban": re.compile(r"^[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?$"),
    "us_ssn": re.compile(r"^(\d{3})-(\d{2})-(\d{4})$"),
    "ipv4": re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$"),
    "date": re.compile(r"^(?:\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{4})$"),
}
INSIDE = {"email": re.compile(_EMAIL), "phone": re.compile(rf"(?<![\w]){_PHONE}(?![\w])"), "card_number": re.compile(rf"(?<!\d){_CARD}(?!\d)")}
NAMES = {
    "person_name": r"(^|_)(first|last|given|family|full|middle|sur)?_?name$|^surname$|^forename$",
    "email": r"e_?mail",
    "phone": r"phone|mobile|^tel(ephone)?$|^cell$",
    "address": r"address|street|^addr|city|postcode|post_code|zip(_?code)?$",
    "birth_date": r"birth|^dob$|date_of_birth|birthday",
    "national_id": r"ssn|social_security|national_id|passport|nino|tax_id|^nin$|driver_?licen[cs]e",
    "card_number": r"card_?number|credit_?card|^pan$",
    "iban": r"iban|account_?number",
    "ipv4": r"(^|_)ip(_address)?$",
}
KINDS = sorted(set(WHOLE) | set(NAMES))


def _luhn(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2)
    return total % 10 == 0


def _iban(text: str) -> bool:
    s = text.replace(" ", "")
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _ssn(m: re.Match[str]) -> bool:
    area, group, serial = m.group(1), m.group(2), m.group(3)
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def _is(kind: str, value: str) -> bool:
    m = WHOLE[kind].match(value)
    if m is None:
        return False
    if kind == "card_number":
        return _luhn(value)
    if kind == "iban":
        return _iban(value)
    if kind == "us_ssn":
        return _ssn(m)
    if kind == "ipv4":
        return all(0 <= int(g) <= 255 for g in m.groups())
    if kind == "phone":  # a bare number is not taken for a phone, nor a value of a more specific kind
        specific = any(_is(k, value) for k in ("us_ssn", "card_number", "iban", "ipv4", "date"))
        return 9 <= sum(c.isdigit() for c in value) <= 15 and not value.isdigit() and not specific
    return True


def _holds(kind: str, value: str) -> bool:
    for m in INSIDE[kind].finditer(value):
        text = m.group(0)
        if kind == "card_number" and not _luhn(text):
            continue
        if kind == "phone" and not 9 <= sum(c.isdigit() for c in text) <= 15:
            continue
        return True
    return False


def scan(data: Any, *, features: Sequence[str] | None = None, sample: int = 2000, min_share: float = 0.5, text_share: float = 0.05,
         seed: int = 0) -> list[dict[str, Any]]:  # fmt: skip
    """Every column with the kinds of personal data found in it (by ``name`` or ``content``, with the share of sampled values),
    and whether the model uses it (``features``: the model's input columns, when given)."""
    import pandas as pd

    from assay.privacy._anonymity import _frame

    frame = _frame(data)
    used = None if features is None else {str(f) for f in features}
    out = []
    for col in frame.columns:
        name = str(col).strip().lower().replace(" ", "_").replace("-", "_")
        by_name = [k for k, pattern in NAMES.items() if re.search(pattern, name)]
        values = frame[col].dropna()
        found: dict[str, dict[str, Any]] = {k: {"kind": k, "by": "name"} for k in by_name}
        if len(values) and (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            texts = values.astype(str).sample(min(sample, len(values)), random_state=seed).str.strip().tolist()
            for kind in WHOLE:
                share = sum(_is(kind, t) for t in texts) / len(texts)
                if share >= min_share:
                    found[kind] = {"kind": kind, "by": "content", "share": share}
            whole = any(v["by"] == "content" for v in found.values())
            for kind in INSIDE:
                if kind in found or whole:  # values that are one kind (IBANs) hold digit runs that look like others
                    continue
                share = sum(_holds(kind, t) for t in texts if " " in t) / len(texts)
                if share >= text_share:
                    found[kind] = {"kind": kind, "by": "content (in free text)", "share": share}
        out.append({"column": str(col), "personal": bool(found), "kinds": list(found.values()), "sampled": int(min(sample, len(values))),
                    **({} if used is None else {"used_by_model": str(col) in used})})  # fmt: skip
    return out
