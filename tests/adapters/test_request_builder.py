"""RequestBuilder builds the request httpx's own build_request builds."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import pytest

from adapters.http import RequestBuilder

BASES = [
    "http://connectfi.test",
    "http://sandbox.test/v1.5/ext",
    "https://bank.test:8443/accountApplications/",
]
CALLS: list[tuple[str, str, Mapping[str, str | int] | None, object]] = [
    ("POST", "/auth/get-token", None, {"user": {"login": "é", "password": "p"}}),
    ("GET", "applications", {"filter": "in(state,pending)", "n": 3, "t": True}, None),
    ("GET", "applications/a%20b", {"q": "a&b=c d/é"}, None),
    ("DELETE", "/api/documents/8a19c", {}, None),
]


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize(("method", "path", "params", "json"), CALLS)
def test_the_same_request_as_httpx(
    base: str,
    method: str,
    path: str,
    params: Mapping[str, str | int] | None,
    json: object,
) -> None:
    client = httpx.AsyncClient(base_url=base, headers={"API-Key": "k"}, timeout=7.0)
    theirs = client.build_request(
        method, path, params=params, json=json, headers={"If-Match": '"v1"'}
    )
    ours = RequestBuilder(client)(
        method, path, params=params, json=json, headers={"If-Match": '"v1"'}
    )
    assert ours.method == theirs.method
    assert ours.url == theirs.url
    assert ours.headers.multi_items() == theirs.headers.multi_items()
    assert ours.read() == theirs.read()
    assert ours.extensions == theirs.extensions


def test_extensions_are_added_and_the_timeout_is_the_requests_own() -> None:
    client = httpx.AsyncClient(base_url="http://x.test/", timeout=3.0)
    build = RequestBuilder(client)
    one = build("POST", "a", extensions={"gateway.retry_safe": True})
    two = build("POST", "a")
    assert one.extensions["gateway.retry_safe"] is True
    assert "gateway.retry_safe" not in two.extensions
    one.extensions["timeout"]["read"] = 0.5  # a transport clamping one request
    assert two.extensions["timeout"]["read"] == 3.0
