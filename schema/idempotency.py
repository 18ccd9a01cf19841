"""Mutations safe to retry: an optional ``idempotencyKey`` on every mutation.

A repeat with the same key and the same input, by the same caller, within the
retention period (24 hours) returns the first result and makes no second upstream
call; the same key with different input is refused as ``ValidationFailed`` on
``idempotencyKey``. A repeat that arrives while the first is still running waits for
it. A provider's failure is not remembered, whether it raised or came back as
``ProviderFailed`` (the waiting repeats get it too), so a retry with the same key
calls the provider again; results, including the other typed errors, are.

The store is an interface (``IdempotencyStore``); ``MemoryIdempotencyStore`` keeps
entries in this process, and a shared store (``gateway.state.idempotency``, Redis)
implements the same methods for many replicas; the app hands it in through the
request's context (``Context.idempotency``), else the schema's own store serves.
A store that cannot be reached raises ``IdempotencyUnavailable`` from ``claim``:
the keyed mutation is refused (``Unavailable``, ``IDEMPOTENCY_UNAVAILABLE``)
before anything is sent upstream: it fails closed, never twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.annotation import StrawberryAnnotation
from strawberry.extensions import FieldExtension
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.field import StrawberryField

from schema.context import Info
from schema.errors import FieldError, ProviderFailed, Unavailable, ValidationFailed
from schema.stores import Entry as Entry
from schema.stores import IdempotencyStore as IdempotencyStore

RETENTION = 24 * 3600.0
ARGUMENT = "idempotency_key"


UNAVAILABLE = "IDEMPOTENCY_UNAVAILABLE"


class IdempotencyUnavailable(Exception):
    """The store cannot say whether ``key`` ran: the mutation must not run."""


class MemoryIdempotencyStore:
    """Entries in this process, oldest evicted first beyond ``max_entries``."""

    def __init__(
        self,
        retention: float = RETENTION,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.retention = retention
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    async def claim(self, key: str, fingerprint: str) -> tuple[Entry, bool]:
        now = self.clock()
        entry = self._entries.get(key)
        if entry is not None and entry.expires > now:
            return entry, False
        entry = Entry(fingerprint, now + self.retention, asyncio.Future())
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return entry, True

    async def keep(self, key: str, entry: Entry) -> None:
        return None  # the entry is already here

    async def forget(self, key: str, entry: Entry | None = None) -> None:
        self._entries.pop(key, None)


def _canonical(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _canonical(getattr(value, f.name))
            for f in dataclasses.fields(value)
        }
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if hasattr(value, "file") and hasattr(value, "filename"):
        return _file_digest(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _file_digest(upload: Any) -> dict[str, Any]:
    """An uploaded file by its name and content hash, read in chunks."""
    digest = hashlib.sha256()
    raw = upload.file
    raw.seek(0)
    size = 0
    while chunk := raw.read(64 * 1024):
        digest.update(chunk)
        size += len(chunk)
    raw.seek(0)
    return {"filename": upload.filename, "size": size, "sha256": digest.hexdigest()}


def fingerprint(field_name: str, arguments: dict[str, Any]) -> str:
    text = json.dumps([field_name, _canonical(arguments)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class Idempotent(FieldExtension):
    """Adds ``idempotencyKey: String`` to a mutation and replays its result."""

    def __init__(self, store: IdempotencyStore) -> None:
        self.store = store

    def apply(self, field: StrawberryField) -> None:
        field.arguments = [
            *field.arguments,
            StrawberryArgument(
                python_name=ARGUMENT,
                graphql_name=None,
                type_annotation=StrawberryAnnotation(str | None),
                description="Makes a retry safe: a repeat with the same key and "
                "input within 24 hours returns the first result without calling "
                "the provider again; the same key with other input is refused.",
                default=None,
            ),
        ]

    async def resolve_async(
        self,
        next_: Callable[..., Awaitable[Any]],
        source: Any,
        info: Info,
        **kwargs: Any,
    ) -> Any:
        key = kwargs.pop(ARGUMENT, None)
        if key is None:
            return await next_(source, info, **kwargs)
        store = getattr(info.context, "idempotency", None) or self.store
        scoped = f"{info.context.caller.subject}\x00{key}"
        mark = fingerprint(info.field_name, kwargs)
        try:
            entry, mine = await store.claim(scoped, mark)
        except IdempotencyUnavailable:
            return _unavailable()
        if entry.fingerprint != mark:
            return ValidationFailed(
                code="VALIDATION_FAILED",
                message="this idempotencyKey was used with other input",
                fields=[
                    FieldError(
                        path=["idempotencyKey"],
                        message="already used with other input",
                    )
                ],
            )
        if not mine:
            try:
                return await asyncio.shield(entry.result)
            except IdempotencyUnavailable:  # another replica's attempt raised
                return _unavailable()
        try:
            result = await next_(source, info, **kwargs)
        except BaseException as exc:
            entry.result.set_exception(exc)
            entry.result.exception()  # retrieved: no "never retrieved" warning
            await store.forget(scoped, entry)
            raise
        entry.result.set_result(result)
        if isinstance(result, ProviderFailed):
            await store.forget(scoped, entry)
        else:
            await store.keep(scoped, entry)
        return result


def _unavailable() -> Unavailable:
    return Unavailable(
        code=UNAVAILABLE,
        message="the gateway cannot check this idempotencyKey now; nothing was "
        "sent: retry later with the same key",
        retryable=True,
    )


def make_idempotent(mutation_type: type, store: IdempotencyStore) -> None:
    """Give every field of ``mutation_type`` an ``idempotencyKey``."""
    definition = mutation_type.__strawberry_definition__  # type: ignore[attr-defined]
    for mutation in definition.fields:
        mutation.extensions.append(Idempotent(store))
