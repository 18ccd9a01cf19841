"""RequestBuilder builds the request httpx's own build_request builds."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import pytest

from adapters.transport.http import RequestBuilder
from adapters.transport.paths import ROUTE

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
    # httpx parses these itself: a space, a dot segment, a character to encode
    ("GET", "applications/a b", None, None),
    ("GET", "applications/x/../y", None, None),
    ("PUT", "documents/é{1}", None, []),
    ("POST", "applications/%zz", {"": ""}, None),
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
    # and the route template (adapters.transport.paths), which httpx has not
    assert ours.extensions.pop(ROUTE) == "/" + path.lstrip("/")
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


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (None, {}),
        (b"", {}),
        (b"{}", {"Content-Type": "application/hal+json"}),
        (b"x", {"content-length": "1", "API-KEY": "other"}),
    ],
)
@pytest.mark.parametrize("method", ["GET", "post", "PATCH"])
def test_bodies_and_headers_as_httpx_writes_them(
    method: str, content: bytes | None, headers: dict[str, str]
) -> None:
    client = httpx.AsyncClient(
        base_url="http://sandbox.test/api",
        headers={"API-Key": "k", "Accept": "application/json"},
    )
    theirs = client.build_request(method, "items/1", content=content, headers=headers)
    ours = RequestBuilder(client)(method, "items/1", content=content, headers=headers)
    assert ours.method == theirs.method
    assert ours.url == theirs.url
    assert ours.headers.raw == theirs.headers.raw  # names as written, in order
    assert ours.read() == theirs.read()


def test_the_usual_request_is_made_without_parsing_its_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = httpx.AsyncClient(base_url="http://sandbox.test/v1/", headers={"A": "b"})
    build = RequestBuilder(client)
    parsed: list[str] = []
    real = httpx._urlparse.urlparse

    def counting(url: str = "", **kwargs: str | None) -> object:
        parsed.append(url)
        return real(url, **kwargs)

    monkeypatch.setattr(httpx._urls, "urlparse", counting)
    request = build("GET", "applications/a%2Fb", params={"q": "x y", "n": 2})
    assert parsed == []
    assert str(request.url) == "http://sandbox.test/v1/applications/a%2Fb?q=x+y&n=2"
    assert request.url.params["q"] == "x y"
    assert request.url.raw_path == b"/v1/applications/a%2Fb?q=x+y&n=2"
    build("GET", "applications/a b")  # a space: httpx encodes it
    assert parsed == ["http://sandbox.test/v1/applications/a b"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_headers_of_every_call_given_once_are_as_if_each_call_gave_them(
    method: str,
) -> None:
    client = httpx.AsyncClient(
        base_url="https://bank.test/accountApplications", headers={"Accept": "*/*"}
    )
    every = {"Accept": "application/hal+json", "API-Key": "k", "Authorization": "B t"}
    build = RequestBuilder(client, headers=every)
    for given in (None, {"If-None-Match": '"v2"'}, {"Content-Type": "x/y"}):
        theirs = client.build_request(
            method, "applications/1", headers={**every, **(given or {})}
        )
        ours = build(method, "applications/1", headers=given)
        assert ours.headers.raw == theirs.headers.raw  # names, values, order
        assert ours.url == theirs.url
    # the slow road (httpx parses a path with a space) merges them alike
    slow = build(method, "applications/a b", headers={"If-Match": '"v1"'})
    assert slow.headers.multi_items() == (
        client.build_request(
            method, "applications/a b", headers={**every, "If-Match": '"v1"'}
        ).headers.multi_items()
    )
