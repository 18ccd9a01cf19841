"""Global ids: opaque, stable, and enough for ``node(id:)`` to find the record.

An id is the URL-safe base64 of ``Type:PROVIDER:key``, ``key`` being whatever the
provider's adapter needs to fetch the record again. A key outside its provider's
grammar (:mod:`adapters.transport.keys`) makes the id decode to nothing: such an id
reads exactly like one that does not exist, and no provider is asked.
"""

from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass

from adapters.model import Provider
from adapters.transport import keys
from caching import bounds

TYPENAMES = frozenset({"Application", "Enrollment", "Document"})


@dataclass(frozen=True)
class GlobalId:
    typename: str
    provider: Provider
    key: str

    def encode(self) -> str:
        raw = f"{self.typename}:{self.provider.name}:{self.key}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# What base64.urlsafe_b64encode does to b2a_base64's answer.
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def encode(typename: str, provider: Provider, key: str) -> str:
    """The id of a record (remembered: a page's records come back page after page).

    ``GlobalId.encode``, without its calls of Python code on the way (the enum's
    ``name`` property, ``base64``'s two wrappers around ``binascii``): a page of
    fresh records makes one per item. Remembered by the provider's name: a key
    holding the member itself would hash it with ``Enum.__hash__`` (Python code,
    about 2,300 instructions) on every look-up. At most ``bounds.ENCODED_IDS``
    ids (their bytes: ``caching.bounds``)."""
    return encode_by_name(typename, provider._name_, key)


@functools.lru_cache(maxsize=bounds.ENCODED_IDS)
def encode_by_name(typename: str, provider: str, key: str) -> str:
    """``encode`` of the provider named ``provider`` (a member's ``_name_``)."""
    raw = f"{typename}:{provider}:{key}".encode()
    return (
        binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).decode().rstrip("=")
    )


def decode(value: str) -> GlobalId | None:
    """The parts of an id, or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        typename, provider, key = raw.split(":", 2)
        parsed = GlobalId(typename, Provider[provider], key)
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError):
        return None
    if typename not in TYPENAMES or not keys.is_key(typename, parsed.provider, key):
        return None
    return parsed
