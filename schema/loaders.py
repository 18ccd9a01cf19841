"""Per-request dataloaders, one per thing loaded, each mapped onto one batch-shaped
adapter method. Built fresh for every request, each when first used (aiodataloader
binds to the running loop); the adapters underneath are shared.

With a tracer (tracing on) each batch is a span, ``dataloader.batch``
(``gateway.loader``: which one, ``gateway.batch.size``: its keys), current while
it runs: the upstream calls it makes are its children. Without one, no span.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from aiodataloader import DataLoader, dispatch_queue
from aiodataloader import Loader as Queued
from opentelemetry.trace import Tracer

from adapters import model
from adapters.errors import AdapterError, NotFound
from adapters.transport.tracing import scope

if TYPE_CHECKING:
    from schema.upstreams import Upstreams

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Loader(Generic[K, V]):
    """A typed face over aiodataloader: ``load`` answers None for a missing key."""

    def __init__(
        self,
        fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, V | AdapterError]]],
        *,
        name: str = "loader",
        tracer: Tracer | None = None,
    ) -> None:
        async def batch(keys: list[K]) -> list[Any]:
            found = await fetch(keys)
            return [_value(found.get(key)) for key in keys]

        if tracer is not None:
            untraced = batch

            async def batch(keys: list[K]) -> list[Any]:
                attributes: dict[str, str | int] = {
                    "gateway.loader": name,
                    "gateway.batch.size": len(keys),
                }
                with scope(tracer, "dataloader.batch", attributes=attributes):
                    return await untraced(keys)  # its calls' parent

        self._loader = _PromptDataLoader(batch_load_fn=batch)

    def load(self, key: K) -> asyncio.Future[V | None]:
        """The loader's own future for ``key``: awaited as it is, or gathered
        with others without a task each."""
        found: asyncio.Future[V | None] = self._loader.load(key)
        return found


class _PromptDataLoader(DataLoader[Any, Any]):
    """aiodataloader's loader, its batch dispatched one loop iteration after the
    first key is queued (every load made in that iteration joins it), as
    aiodataloader does, but from a plain callback: aiodataloader schedules a
    coroutine that then starts the batch in a task of its own, which costs a
    task and two loop iterations more before any upstream call can leave."""

    def do_resolve_reject(self, key: Any, future: asyncio.Future[Any]) -> None:
        self._queue.append(Queued(key=key, future=future))
        if len(self._queue) == 1:
            self.loop.call_soon(dispatch_queue, self)


def _value(found: object) -> object:
    if isinstance(found, NotFound):
        return None
    return found  # a value, None, or an AdapterError that rejects just this key


class Loaders:
    """A request's loaders, each made when the request first uses it (most
    requests reach one or two providers of the four)."""

    def __init__(self, upstreams: Upstreams, tracer: Tracer | None = None) -> None:
        self._upstreams = upstreams
        self._tracer = tracer

    def _loader(
        self,
        name: str,
        fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, V | AdapterError]]],
    ) -> Loader[K, V]:
        return Loader(fetch, name=name, tracer=self._tracer)

    @cached_property
    def apiture_application(self) -> Loader[str, model.Application]:
        return self._loader(
            "apiture_application", self._upstreams.apiture.get_applications
        )

    @cached_property
    def apiture_enrollment(self) -> Loader[str, model.Enrollment]:
        return self._loader(
            "apiture_enrollment", self._upstreams.apiture.get_enrollments
        )

    @cached_property
    def connectfi_application(self) -> Loader[str, model.Application]:
        return self._loader(
            "connectfi_application", self._upstreams.connectfi.get_applications
        )

    @cached_property
    def documents_by_owner(self) -> Loader[model.Owner, Sequence[model.Document]]:
        return self._loader(
            "documents_by_owner", self._upstreams.mambu.documents_for_owners
        )

    @cached_property
    def mambu_document(self) -> Loader[str, model.Document]:
        return self._loader("mambu_document", self._upstreams.mambu.get_documents)

    @cached_property
    def mambu_content(self) -> Loader[str, str]:
        return self._loader("mambu_content", self._upstreams.mambu.get_contents)

    @cached_property
    def auco_document(self) -> Loader[str, model.Document]:
        return self._loader("auco_document", self._upstreams.auco.get_documents)


def create_loaders(upstreams: Upstreams, tracer: Tracer | None = None) -> Loaders:
    return Loaders(upstreams, tracer)
