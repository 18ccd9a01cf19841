"""connectFi's session: the token from ``/auth/get-token``, kept until a margin
before its ``dtsExpireAt``, renewed once for every call waiting on it, and
shared by the fleet's replicas when a ``SharedToken`` store is given (one login
for the fleet, under its lock)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol


class SharedToken(Protocol):
    """The token shared by replicas. Never raises: a store that cannot be reached
    answers None, drops the write and lets each replica log in on its own."""

    async def get(self) -> tuple[str, float] | None:
        """The fleet's token and when to renew it (epoch seconds), if any."""
        ...

    async def put(self, token: str, renew_at: float, expires: float) -> None: ...

    def renewing(self) -> AbstractAsyncContextManager[None]:
        """Held by one replica at a time while it logs in."""
        ...


class Session:
    """The token of one client; ``log_in`` asks connectFi for a new one."""

    def __init__(
        self,
        log_in: Callable[[], Awaitable[tuple[str, float]]],
        *,
        clock: Callable[[], float] = time.time,
        expiry_margin: float = 60.0,
        shared: SharedToken | None = None,
    ) -> None:
        self._request_token = log_in
        self._clock = clock
        self._margin = expiry_margin
        self.shared = shared
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self._expires = 0.0
        self._logins = 0  # bumped by each login; waiters on the lock compare it

    async def valid(self) -> str:
        """The token to send: the one held while it is fresh, else a new one."""
        if self._token is not None and self._clock() < self._renew_at:
            return self._token
        seen = self._logins
        async with self._lock:
            if self._token is not None and (
                self._logins != seen or self._clock() < self._renew_at
            ):
                return self._token  # someone logged in while this call waited
            return await self._fleet(stale=None)

    async def renewed(self, *, stale: str) -> str:
        """A token other than ``stale`` (which the provider refused)."""
        async with self._lock:
            if self._token is not None and self._token != stale:
                return self._token  # another call already renewed it
            return await self._fleet(stale=stale)

    async def _fleet(self, *, stale: str | None) -> str:
        """The fleet's token if it has a valid one, else a login under its lock."""
        if self.shared is None:
            return await self._log_in()
        adopted = await self._adopt(stale)
        if adopted is not None:
            return adopted
        async with self.shared.renewing():
            adopted = await self._adopt(stale)  # another replica logged in
            if adopted is not None:
                return adopted
            token = await self._log_in()
            await self.shared.put(token, self._renew_at, self._expires)
            return token

    async def _adopt(self, stale: str | None) -> str | None:
        assert self.shared is not None
        found = await self.shared.get()
        if found is None:
            return None
        token, renew_at = found
        if token == stale or self._clock() >= renew_at:
            return None
        self._token, self._renew_at = token, renew_at
        self._logins += 1
        return token

    async def _log_in(self) -> str:
        self._token = None
        token, expires = await self._request_token()
        lifetime = expires - self._clock()
        self._renew_at = expires - min(self._margin, max(lifetime, 0.0) / 2)
        self._expires = expires
        self._token = token
        self._logins += 1
        return token
