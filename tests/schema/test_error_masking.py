"""Unexpected exceptions are masked for the client and logged in full."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import Gateway


async def test_an_unexpected_exception_is_masked_and_logged(
    gateway: Gateway,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from schema import listing

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("internal detail: db password is hunter2")

    monkeypatch.setattr(listing, "applications", broken)
    caplog.set_level(logging.ERROR)
    body = await gateway.execute("{ applications(first: 1) { totalCount } }")
    [error] = body["errors"]
    assert error["message"] == "Unexpected error."
    assert error["extensions"]["code"] == "INTERNAL"
    assert set(error["extensions"]) == {"code", "requestId"}  # nothing else
    assert error["path"] == ["applications"]
    assert "hunter2" not in str(body)
    assert "hunter2" in caplog.text  # the server keeps the whole story
    assert "Traceback" in caplog.text
