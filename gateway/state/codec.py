"""A mutation's result as JSON, and back: what the Redis idempotency store keeps.

A result is a tree of the schema's types and the adapters' models (dataclasses,
enums, dates, decimals, tuples...). Each dataclass and enum is written with its
class's module and name; reading one back instantiates only a dataclass or enum
of the gateway's own packages (``adapters.``, ``schema.``), never an arbitrary
class, so what Redis holds cannot make the gateway run code (unlike pickle).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import importlib
import inspect
import json
from typing import Any

ALLOWED = ("adapters.", "schema.")


class Unencodable(TypeError):
    """A value the codec does not know: the result is not shared."""


def dumps(value: Any) -> str:
    return json.dumps(_encode(value), separators=(",", ":"))


def loads(text: str) -> Any:
    return _decode(json.loads(text))


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        if isinstance(value, enum.Enum):
            return {"$e": _name(type(value)), "v": value.name}
        return value
    if isinstance(value, enum.Enum):
        return {"$e": _name(type(value)), "v": value.name}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            f.name: _encode(found)
            for f in dataclasses.fields(value)
            # A field with a resolver reads as its method: the class has it.
            if not inspect.ismethod(found := getattr(value, f.name))
        }
        return {"$d": _name(type(value)), "f": fields}
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"$dec": str(value)}
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$t": [_encode(v) for v in value]}
    if isinstance(value, frozenset | set):
        return {"$fs": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return {"$m": [[_encode(k), _encode(v)] for k, v in value.items()]}
    raise Unencodable(f"cannot share a {type(value).__name__}")


def _class(name: Any) -> type:
    if not isinstance(name, str) or ":" not in name:
        raise ValueError("not a class name")
    module, _, qualname = name.partition(":")
    if not module.startswith(ALLOWED):
        raise ValueError(f"class outside the gateway: {module}")
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"no class {name}") from exc
    if not isinstance(found, type):
        raise ValueError(f"not a class: {name}")
    return found


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$d" in value:
        cls = _class(value["$d"])
        if not dataclasses.is_dataclass(cls):
            raise ValueError(f"not a dataclass: {value['$d']}")
        fields = {name: _decode(v) for name, v in value["f"].items()}
        init = {f.name for f in dataclasses.fields(cls) if f.init}
        made = cls(**{k: v for k, v in fields.items() if k in init})
        for k, v in fields.items():
            if k not in init:
                object.__setattr__(made, k, v)
        return made
    if "$e" in value:
        cls = _class(value["$e"])
        if not issubclass(cls, enum.Enum):
            raise ValueError(f"not an enum: {value['$e']}")
        return cls[value["v"]]
    if "$dt" in value:
        return dt.datetime.fromisoformat(value["$dt"])
    if "$date" in value:
        return dt.date.fromisoformat(value["$date"])
    if "$dec" in value:
        return decimal.Decimal(value["$dec"])
    if "$b" in value:
        return base64.b64decode(value["$b"])
    if "$t" in value:
        return tuple(_decode(v) for v in value["$t"])
    if "$fs" in value:
        return frozenset(_decode(v) for v in value["$fs"])
    if "$m" in value:
        return {_decode(k): _decode(v) for k, v in value["$m"]}
    raise ValueError("unknown shape")
