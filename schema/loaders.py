"""Per-request dataloaders, one per thing loaded, each mapped onto one batch-shaped
adapter method. Built fresh for every request (aiodataloader binds to the running
loop); the adapters underneath are shared.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from aiodataloader import DataLoader

from adapters import model
from adapters.errors import AdapterError, NotFound

if TYPE_CHECKING:
    from gateway.upstreams import Upstreams

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Loader(Generic[K, V]):
    """A typed face over aiodataloader: ``load`` answers None for a missing key."""

    def __init__(
        self, fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, V | AdapterError]]]
    ) -> None:
        async def batch(keys: list[K]) -> list[Any]:
            found = await fetch(keys)
            return [_value(found.get(key)) for key in keys]

        self._loader = DataLoader(batch_load_fn=batch)

    async def load(self, key: K) -> V | None:
        value: V | None = await self._loader.load(key)
        return value


def _value(found: object) -> object:
    if isinstance(found, NotFound):
        return None
    return found  # a value, None, or an AdapterError that rejects just this key


@dataclass
class Loaders:
    apiture_application: Loader[str, model.Application]
    apiture_enrollment: Loader[str, model.Enrollment]
    connectfi_application: Loader[str, model.Application]
    documents_by_owner: Loader[model.Owner, Sequence[model.Document]]
    mambu_document: Loader[str, model.Document]
    mambu_content: Loader[str, str]
    auco_document: Loader[str, model.Document]


def create_loaders(upstreams: Upstreams) -> Loaders:
    return Loaders(
        apiture_application=Loader(upstreams.apiture.get_applications),
        apiture_enrollment=Loader(upstreams.apiture.get_enrollments),
        connectfi_application=Loader(upstreams.connectfi.get_applications),
        documents_by_owner=Loader(upstreams.mambu.documents_for_owners),
        mambu_document=Loader(upstreams.mambu.get_documents),
        mambu_content=Loader(upstreams.mambu.get_contents),
        auco_document=Loader(upstreams.auco.get_documents),
    )
