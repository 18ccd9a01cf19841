"""exchange() answers as client.send() does, straight from the client's transport."""

from __future__ import annotations

import httpx

from adapters.transport.cap import request_of
from adapters.transport.http import RequestBuilder, exchange


def handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        201,
        json={"path": request.url.path, "key": request.headers.get("api-key")},
        headers={"ETag": '"7"', "Set-Cookie": "session=abc"},
    )


async def test_the_same_response_as_client_send() -> None:
    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://p.test/v1") as c:
        build = RequestBuilder(c)
        ours = await exchange(c, build("GET", "apps/1", headers={"API-Key": "k"}))
        theirs = await c.send(build("GET", "apps/1", headers={"API-Key": "k"}))
        assert ours.status_code == theirs.status_code == 201
        assert ours.headers.multi_items() == theirs.headers.multi_items()
        assert ours.content == theirs.content
        assert ours.json() == {"path": "/v1/apps/1", "key": "k"}
        assert ours.request.url == theirs.request.url
        assert ours.is_closed


async def test_no_cookie_is_kept_from_a_response() -> None:
    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://p.test") as c:
        await exchange(c, RequestBuilder(c)("GET", "a"))
        assert not c.cookies


async def test_a_client_with_hooks_or_auth_goes_through_client_send() -> None:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(str(request.url))

    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://p.test", event_hooks={"request": [hook]}
    ) as c:
        await exchange(c, RequestBuilder(c)("GET", "a"))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://p.test", auth=("u", "p")
    ) as c:
        response = await exchange(c, RequestBuilder(c)("GET", "b"))
        assert response.request.headers["authorization"].startswith("Basic ")
    assert seen == ["http://p.test/a"]


def test_request_of_answers_the_request_or_none_through_public_api() -> None:
    sent = httpx.Request("GET", "http://upstream.test/a")
    assert request_of(httpx.Response(200, request=sent)) is sent
    assert request_of(httpx.Response(200)) is None
