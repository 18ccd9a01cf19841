"""Domain records built quickly: a frozen dataclass's ``__init__`` that fills
``__dict__`` directly (``quick_init``), applied to every record of
``adapters.model``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def quick_init(cls: type) -> None:
    """Give the frozen dataclass ``cls`` an ``__init__`` that fills the instance's
    ``__dict__`` directly, with the same parameters and defaults.

    The one ``dataclass(frozen=True)`` writes calls ``object.__setattr__`` once
    per field (a frozen class refuses plain assignment): 3x slower for the 17
    fields of an ``Application``, and the adapters make a record per item of
    every page. Instances stay frozen (assigning still raises); equality and
    hashing are the dataclass's own.
    """
    fields = dataclasses.fields(cls)
    defaults: dict[str, object] = {}
    positional: list[str] = []
    keyword: list[str] = []
    for f in fields:
        if not f.init or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: only plain fields")
        params = keyword if f.kw_only else positional
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            defaults[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    params = positional + (["*", *keyword] if keyword else [])
    body = ["    d = self.__dict__"] + [f"    d[{f.name!r}] = {f.name}" for f in fields]
    lines = [f"def __init__(self, {', '.join(params)}):", *body]
    # The same, making the record: a plain function, called with keyword
    # arguments without the dict a class call builds for them (``quick_maker``).
    lines += [f"def make({', '.join(params)}):", "    self = new(cls)", *body]
    lines.append("    return self")
    defaults.update(new=object.__new__, cls=cls)
    exec("\n".join(lines), defaults)
    init = defaults["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[misc]
    make: Any = defaults.pop("make")  # not kept in its own globals: no reference cycle
    make.__qualname__ = f"{cls.__qualname__}.make"
    _MAKERS[cls] = make


_MAKERS: dict[type, Callable[..., object]] = {}


def quick_maker(cls: Callable[P, R]) -> Callable[P, R]:
    """A function making a ``cls`` (a record given ``quick_init``) from the same
    arguments, as ``cls(...)`` does: for the records made per item of a page,
    where the class call's keyword arguments cost a dict each."""
    made: Callable[P, R] = _MAKERS[cls]  # type: ignore[index,assignment]
    return made


def positional_maker(cls: Callable[..., R], *names: str) -> Callable[..., R]:
    """A function making a ``cls`` (a record given ``quick_init``) from the
    values of the fields ``names``, passed positionally in that order; every
    other field takes its default.

    ``cls(**given)`` without its keyword arguments: CPython matches each keyword
    against the parameters' names, about 500 instructions apiece, which made a
    page's eleven keywords per summary half the cost of making it. The record
    is built as ``quick_init``'s ``__init__`` builds it (the same fields, in the
    same order, into ``__dict__``). A name that is not a field, a name given
    twice or a field without a default left out raises ``TypeError``."""
    record: Any = cls
    if cls not in _MAKERS:
        raise TypeError(f"{record.__name__} has no quick_init")
    fields = dataclasses.fields(record)
    known = [f.name for f in fields]
    if len(set(names)) != len(names) or not set(names) <= set(known):
        raise TypeError(f"{record.__name__}: not its fields, once each: {names}")
    names_: dict[str, Any] = {"new": object.__new__, "cls": cls}
    body = ["    self = new(cls)", "    d = self.__dict__"]
    for f in fields:
        value = f.name
        if f.name not in names:
            if f.default is dataclasses.MISSING:
                raise TypeError(f"{record.__name__}.{f.name} has no default")
            value = f"_default_{f.name}"
            names_[value] = f.default
        body.append(f"    d[{f.name!r}] = {value}")
    lines = [f"def make({', '.join(names)}):", *body, "    return self"]
    exec("\n".join(lines), names_)
    make: Callable[..., R] = names_.pop("make")  # no reference cycle
    make.__qualname__ = f"{record.__qualname__}.make"
    return make
