"""A request's loaders are made when first used, once each."""

from __future__ import annotations

from typing import Any

from schema.loaders import Loader, Loaders


class Upstreams:
    def __getattr__(self, provider: str) -> Any:
        return self

    async def get_applications(self, keys: Any) -> dict[str, Any]:
        return {}


async def test_loaders_are_made_on_first_use_and_kept() -> None:
    loaders = Loaders(Upstreams())  # type: ignore[arg-type]
    assert vars(loaders).keys() == {"_upstreams"}
    first = loaders.apiture_application
    assert isinstance(first, Loader)
    assert loaders.apiture_application is first
    assert vars(loaders).keys() == {"_upstreams", "apiture_application"}
