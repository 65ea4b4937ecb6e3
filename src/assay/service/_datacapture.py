"""SageMaker Model Monitor's data-capture records, in and out.

A captured record (one JSON line in Model Monitor's files)::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": "39,State-gov,...", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT", "data": "0.12", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "b9b...", "inferenceId": "42", "inferenceTime": "2026-01-01T00:00:00Z"}, "eventVersion": "0"}

becomes a prediction: the id is ``inferenceId`` (else ``eventId``); inputs from
JSON (an object, or a list in the order of the model's ``features``) or CSV
(the model's ``features`` name the values); the output is a score (a number),
a label (text) or a JSON object with ``score``/``label`` (or ``probability``,
``predicted_label``); without a label, one is derived from the score and the
model's ``threshold`` when the model has two ``label_values`` (first the
positive one); the facets are taken from the inputs; ``inferenceTime``
becomes the prediction's inference time (its monitoring window). ``BASE64``
data is decoded first. Exported records have JSON input and output and carry
``inferenceTime`` (the inference time, else the capture time). Ground-truth
records (``groundTruthData``) become ``{id, label}``.
"""

import base64
import binascii
import csv
import datetime as _dt
import json
from typing import Any

__all__ = ["CAPTURE_RECORD", "TRUTH_RECORD", "from_capture", "to_capture", "truth_from_capture"]

_PART = {"type": "object", "required": ["data"],
         "properties": {"data": {"type": "string"}, "encoding": {"enum": ["CSV", "JSON", "BASE64"]}, "observedContentType": {"type": "string"},
                        "mode": {"enum": ["INPUT", "OUTPUT"]}}}  # fmt: skip
_META = {"type": "object", "anyOf": [{"required": ["inferenceId"]}, {"required": ["eventId"]}],
         "properties": {"inferenceId": {"type": "string", "minLength": 1}, "eventId": {"type": "string", "minLength": 1},
                        "inferenceTime": {"type": "string", "format": "date-time"}}}  # fmt: skip
#: The JSON schema of a capture record (the shape; the data inside is read against the model's features).
CAPTURE_RECORD: dict[str, Any] = {"type": "object", "required": ["captureData", "eventMetadata"],
                  "properties": {"captureData": {"type": "object", "required": ["endpointInput"],
                                                 "properties": {"endpointInput": _PART, "endpointOutput": _PART}},
                                 "eventMetadata": _META, "eventVersion": {"type": "string"}}}  # fmt: skip
#: The JSON schema of a ground-truth record.
TRUTH_RECORD: dict[str, Any] = {
    "type": "object",
    "required": ["groundTruthData", "eventMetadata"],
    "properties": {"groundTruthData": _PART, "eventMetadata": _META, "eventVersion": {"type": "string"}},
}


def _data(part: dict[str, Any], where: str) -> tuple[str, str]:
    if not isinstance(part, dict) or "data" not in part:
        raise ValueError(f"{where}: needs an object with 'data'")
    data, enc = part["data"], str(part.get("encoding", "")).upper()
    kind = str(part.get("observedContentType", "")).lower()
    if not isinstance(data, str):
        raise ValueError(f"{where}.data: must be text, got {type(data).__name__}")
    if enc == "BASE64":
        try:
            data = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ValueError(f"{where}.data: encoding is BASE64 but the data is not base64 of UTF-8 text") from None
    fmt = "json" if enc == "JSON" or "json" in kind else "csv" if enc == "CSV" or "csv" in kind else ("json" if data.lstrip()[:1] in "[{" else "csv")
    return data, fmt


def _event_id(meta: Any, where: str) -> str:
    """The prediction's id in a record's eventMetadata: inferenceId, else eventId."""
    pid = meta.get("inferenceId") or meta.get("eventId") if isinstance(meta, dict) else None
    if not pid:
        raise ValueError(f"{where}.eventMetadata: needs inferenceId or eventId")
    return str(pid)


def _json(text: str, where: str, batch_key: str) -> Any:
    """Parsed JSON; a one-row batch (``{"instances": [row]}``, ``{"predictions": [out]}``, as SageMaker's serialisers write) unwrapped."""
    from assay.service._guard import loads_checked

    obj = loads_checked(text, where)
    if isinstance(obj, dict) and isinstance(obj.get(batch_key), list) and len(obj[batch_key]) == 1:
        obj = obj[batch_key][0]
    if isinstance(obj, dict) and set(obj) == {"features"} and isinstance(obj["features"], list):
        obj = obj["features"]  # SageMaker's JSON serialiser for dense rows: {"instances": [{"features": [...]}]}
    return obj


def _csv_row(text: str, where: str) -> list[str]:
    """The fields of one CSV line (none for an empty one); ValueError naming ``where`` for several lines or broken quoting."""
    import io

    try:
        rows = list(csv.reader(io.StringIO(text.strip(), newline="")))
    except csv.Error as exc:
        raise ValueError(f"{where}: not one CSV line ({exc})") from None
    if len(rows) > 1:
        raise ValueError(f"{where}: {len(rows)} CSV lines; a record holds one row (one prediction: send one record per row)")
    return rows[0] if rows else []


def _number(text: str) -> Any:
    try:
        x = float(text)
    except ValueError:
        return text
    return int(x) if x.is_integer() and "." not in text and "e" not in text.lower() else x


def from_capture(line: Any, spec: dict[str, Any], where: str = "record") -> dict[str, Any]:
    """A capture record as the fields of a captured prediction (id, inputs, score, label, facets); ValueError naming the field."""
    if not isinstance(line, dict) or not isinstance(line.get("captureData"), dict):
        raise ValueError(f"{where}: not a Model Monitor capture record (no captureData object)")
    meta = line.get("eventMetadata") or {}
    pid = _event_id(meta, where)
    features = list(spec.get("features") or [])
    data, fmt = _data(line["captureData"].get("endpointInput"), f"{where}.captureData.endpointInput")
    if fmt == "json":
        obj = _json(data, f"{where}.captureData.endpointInput.data", "instances")
        values = obj if isinstance(obj, list) else None
        inputs = obj if isinstance(obj, dict) else None
    else:
        values = [_number(v) for v in _csv_row(data, f"{where}.captureData.endpointInput.data")]
        inputs = None
    if inputs is None:
        if not features:
            raise ValueError(f"{where}: the inputs are a row of values; register the model with 'features' (their names, in order)")
        if len(values or []) != len(features):
            raise ValueError(f"{where}: {len(values or [])} input values but the model has {len(features)} features")
        inputs = dict(zip(features, values or []))
    score, label = None, None
    out = line["captureData"].get("endpointOutput")
    if out is not None:
        odata, ofmt = _data(out, f"{where}.captureData.endpointOutput")
        if ofmt == "json":
            o = _json(odata, f"{where}.captureData.endpointOutput.data", "predictions")
            if isinstance(o, dict):
                score = o.get("score", o.get("probability"))
                label = o.get("label", o.get("predicted_label"))
            elif isinstance(o, list) and len(o) == 1:
                o = o[0]
            if not isinstance(o, (dict, list)):
                score, label = (o, None) if isinstance(o, (int, float)) and not isinstance(o, bool) else (None, o)
        else:
            first = _number((_csv_row(odata, f"{where}.captureData.endpointOutput.data") or [""])[0])
            score, label = (first, None) if isinstance(first, (int, float)) else (None, first or None)  # an empty output says nothing
    if score is not None and not (isinstance(score, (int, float)) and 0 <= score <= 1):
        raise ValueError(f"{where}.captureData.endpointOutput: the score must be a number from 0 to 1, got {score!r}")
    values_ = list(spec.get("label_values") or [])
    if label is None and score is not None and len(values_) == 2:
        label = values_[0] if score > float(spec.get("threshold", 0.5)) else values_[1]
    facets = {f: inputs.get(f) for f in spec.get("facets", []) if f in inputs}
    when = meta.get("inferenceTime")
    if when is not None:
        try:
            when = _dt.datetime.fromisoformat(str(when).replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{where}.eventMetadata.inferenceTime: not an ISO 8601 time, got {when!r}") from None
    return {"id": str(pid), "inputs": inputs, "score": None if score is None else float(score), "label": None if label is None else str(label),
            "facets": facets, "inference_time": when}  # fmt: skip


def truth_from_capture(line: Any, spec: dict[str, Any], where: str = "record") -> dict[str, Any]:
    """A Model Monitor ground-truth record (``{"groundTruthData": {"data", "encoding"}, "eventMetadata": {"eventId"}, "eventVersion"}``) as
    ``{id, label}``: the data is one of the model's label values, or 1/0 for its first/second label value when it has two."""
    if not isinstance(line, dict) or not isinstance(line.get("groundTruthData"), dict):
        raise ValueError(f"{where}: not a Model Monitor ground-truth record (no groundTruthData object)")
    pid = _event_id(line.get("eventMetadata") or {}, where)
    data, fmt = _data(line["groundTruthData"], f"{where}.groundTruthData")
    value = _json(data, f"{where}.groundTruthData.data", "labels") if fmt == "json" else (_csv_row(data, f"{where}.groundTruthData.data") or [""])[0]
    text = str(value).strip()
    values = [str(v) for v in spec.get("label_values") or []]
    if text not in values and len(values) == 2 and text in ("1", "0", "1.0", "0.0", "True", "False", "true", "false"):
        text = values[0] if text in ("1", "1.0", "True", "true") else values[1]
    if values and text not in values:
        raise ValueError(f"{where}.groundTruthData.data: {text!r} is not one of the model's label values {values}")
    return {"id": str(pid), "label": text}


def to_capture(row: Any) -> dict[str, Any]:
    """A captured prediction as a Model Monitor capture record (JSON input and output)."""
    output = {k: v for k, v in (("score", row["score"]), ("label", row["label"])) if v is not None}
    at = row["inference_time"] or row["captured_at"]
    return {"captureData": {"endpointInput": {"observedContentType": "application/json", "mode": "INPUT", "data": json.dumps(row["inputs"]), "encoding": "JSON"},
                            "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT", "data": json.dumps(output), "encoding": "JSON"}},
            "eventMetadata": {"eventId": f"{row['model_id']}-{row['seq']}", "inferenceId": row["prediction_id"],
                              "inferenceTime": (at if at.tzinfo else at.replace(tzinfo=_dt.timezone.utc)).isoformat()},
            "eventVersion": "0"}  # fmt: skip
