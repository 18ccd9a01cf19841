"""The ``DateTime`` scalar, written out without ``datetime.isoformat``.

Strawberry's ``DateTime`` answers ``value.isoformat()``. CPython builds that
string with a C ``printf`` per field and asks the time zone for its offset
through a ``timedelta``: about 10,000 instructions per value, a tenth of the
gateway's CPU on a page of 50 applications (two timestamps each). ``isoformat``
here answers the very same string from tables of two-digit numbers for the
values the providers' mappings make (naive or UTC, ``datetime`` itself), and
asks ``isoformat`` for any other (another zone, a subclass, a ``date``).
``tests/schema/test_scalars.py`` checks both agree on any datetime.

The scalar keeps Strawberry's name, description and input parsing: the schema
is unchanged (``schema.graphql``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

_TWO = tuple(f"{n:02d}" for n in range(100))
_UTC = dt.UTC


def isoformat(value: Any) -> Any:
    """``value.isoformat()``, for any value."""
    if type(value) is not dt.datetime:
        return value.isoformat()
    zone = value.tzinfo
    if zone is _UTC:
        suffix = "+00:00"
    elif zone is None:
        suffix = ""
    else:
        return value.isoformat()
    two = _TWO
    year = value.year
    text = (
        f"{year if year >= 1000 else f'{year:04d}'}-{two[value.month]}"
        f"-{two[value.day]}T{two[value.hour]}:{two[value.minute]}"
        f":{two[value.second]}"
    )
    micro = value.microsecond
    if micro:
        return f"{text}.{micro:06d}{suffix}"
    return text + suffix


DATETIME = dataclasses.replace(DateTimeDefinition, serialize=isoformat)
# For ``strawberry.Schema(scalar_overrides=...)``.
OVERRIDES: dict[object, ScalarDefinition] = {dt.datetime: DATETIME}
