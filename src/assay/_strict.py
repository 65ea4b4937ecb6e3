"""The rules of every model that reads input from outside (a config file, a request body, a stored setting, a routing policy),
and the one translation of their validation errors into messages that name the key, what was expected and what was given."""

from __future__ import annotations

import operator
import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainValidator, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError

from assay._errors import AssayError, ConfigError, did_you_mean

__all__ = ["STRICT", "Column", "Whole", "checked", "integral", "kind", "messages"]

#: No unknown keys, no NaN, and no coercion ("0.9" is not a number, 1 is not true, 2.5 is not a count).
STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


def integral(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)  # JSON (and its schema) has one number type: 5.0 is the integer 5
    if not isinstance(v, (bool, int, float, str)) and hasattr(v, "__index__"):
        return operator.index(v)  # numpy's integers
    return v


#: A count: an integer, or a number JSON writes as 5.0; 2.5 and "5" are refused.
Whole = Annotated[int, BeforeValidator(integral)]


def kind(check: Callable[[Any], bool], expected: str, schema: dict[str, Any]) -> tuple[PlainValidator, WithJsonSchema]:
    """The metadata of a type that a union would describe badly: values for which ``check`` holds pass as they are; any other is
    refused as "KEY must be EXPECTED, got VALUE"; ``schema`` is its JSON Schema."""

    def validate(v: Any) -> Any:
        if not check(v):
            raise PydanticCustomError("assay_kind", "must be {expected}, got {got}", {"expected": expected, "got": repr(v)})
        return v

    return PlainValidator(validate), WithJsonSchema(schema)


def _is_column(v: Any) -> bool:
    return isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)


#: A column, by name or by index into ``headers`` (as Clarify allows).
Column = Annotated[Any, *kind(_is_column, "a column name or index", {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]})]

_KINDS = {
    "int_type": "a whole number", "int_from_float": "a whole number", "int_parsing": "a whole number",
    "float_type": "a number", "float_parsing": "a number", "finite_number": "a finite number", "bool_type": "true or false",
    "string_type": "a string", "list_type": "a list", "tuple_type": "a list", "dict_type": "a mapping", "model_type": "a mapping",
    "model_attributes_type": "a mapping", "literal_error": "one of {expected}", "string_pattern_mismatch": "a string matching {pattern}",
    "too_long": "at most {max_length} long", "too_short": "at least {min_length} long", "url_parsing": "a URL",
}  # fmt: skip
_BOUNDS = {"greater_than": "> {gt}", "greater_than_equal": ">= {ge}", "less_than": "< {lt}", "less_than_equal": "<= {le}"}

M = TypeVar("M", bound=BaseModel)


def where(loc: tuple[Any, ...], prefix: str = "") -> str:
    """``('facet', 0, 'type')`` as ``facet[0].type``."""
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys the model allows at ``loc`` (a mapping inside it), found by following the field types."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        sub = _model_in(current)
        if sub is None or part not in sub.model_fields:
            return []
        current = sub.model_fields[part].annotation
    sub = _model_in(current)
    return [f.alias or name for name, f in sub.model_fields.items()] if sub is not None else []


def _annotation_at(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    """The type of the field at ``loc``, or None where the path leaves the models."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        sub = _model_in(current)
        if sub is None or part not in sub.model_fields:
            return None
        current = sub.model_fields[part].annotation
    return current


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class an annotation holds (directly, in an Optional, a list or an Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, tuple, Annotated) or typing.get_args(annotation):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def messages(exc: ValidationError, model: type[BaseModel], *, prefix: str = "", top: str = "config key") -> list[str]:
    """One sentence per error of ``exc`` (raised validating ``model``), naming the key as the user wrote it."""
    out: list[str] = []
    for e in exc.errors(include_url=False):
        loc, ctx, got = tuple(e["loc"]), e.get("ctx") or {}, e.get("input")
        key = where(loc, prefix)
        cause = ctx.get("error")
        if isinstance(cause, AssayError):
            out.append(str(cause))  # a message of the library, which names what it is about
        elif e["type"] == "extra_forbidden":
            known = _fields_at(model, loc[:-1])
            name = str(loc[-1])
            head = f"unknown {top} {name!r}." if len(loc) == 1 and not prefix else f"unknown key {key}."
            out.append(f"{head}{did_you_mean(name, known)} Known{' keys' if len(loc) == 1 else ''}: {', '.join(sorted(known))}")
        elif e["type"] == "missing":
            out.append(f"{key} is required")
        elif e["type"] in _BOUNDS:
            field = str(_annotation_at(model, loc))
            whole = "int" in field and "float" not in field if field != "None" else isinstance(got, int)
            number = "a whole number" if whole else "a number"
            bounds = {k: f"{v:g}" if isinstance(v, float) else v for k, v in ctx.items()}
            out.append(f"{key} must be {number} {_BOUNDS[e['type']].format(**bounds)}, got {got!r}")
        elif e["type"] in _KINDS:
            expected = _KINDS[e["type"]].format(**{k: str(v).replace("'", "").replace(" or ", ", ") for k, v in ctx.items()})
            out.append(f"{key} must be {expected}, got {got!r}")
        elif e["type"] == "assay_kind":
            out.append(f"{key} {e['msg']}")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            out.append(f"{key}: {msg}" if key else msg)
    return out


def checked(model: type[M], data: Mapping[str, Any] | Any, *, prefix: str = "", top: str = "config key", context: Any = None) -> M:
    """``model`` validated from ``data``, or a :class:`ConfigError` whose message names every bad key (see :func:`messages`)."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise ConfigError("; ".join(messages(exc, model, prefix=prefix, top=top))) from None
