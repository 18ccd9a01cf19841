"""A request's loaders are made when first used, once each."""

from __future__ import annotations

import asyncio
from typing import Any

from schema.loaders import Loader, Loaders


class Upstreams:
    def __getattr__(self, provider: str) -> Any:
        return self

    async def get_applications(self, keys: Any) -> dict[str, Any]:
        return {}


async def test_loaders_are_made_on_first_use_and_kept() -> None:
    loaders = Loaders(Upstreams())  # type: ignore[arg-type]
    assert vars(loaders).keys() == {"_upstreams", "_tracer"}
    first = loaders.apiture_application
    assert isinstance(first, Loader)
    assert loaders.apiture_application is first
    assert vars(loaders).keys() == {"_upstreams", "_tracer", "apiture_application"}


async def test_a_batch_leaves_the_loop_iteration_after_its_keys() -> None:
    fetched: list[list[str]] = []

    async def fetch(keys: Any) -> dict[str, Any]:
        fetched.append(list(keys))
        return {k: k.upper() for k in keys}

    loader: Loader[str, str] = Loader(fetch)
    futures = [loader.load(k) for k in ("a", "b", "a", "c")]
    await asyncio.sleep(0)  # the batch is dispatched
    await asyncio.sleep(0)  # and its task runs up to the upstream call
    assert fetched == [["a", "b", "c"]]  # one batch, each key once
    assert await asyncio.gather(*futures) == ["A", "B", "A", "C"]
    assert futures[0] is futures[2]  # the same key: the same future
    await loader.load("d")
    assert fetched == [["a", "b", "c"], ["d"]]
