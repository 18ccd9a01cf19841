"""connectFi's token shared by every replica: ``RedisToken``.

One login for the fleet: a replica without a valid token reads the fleet's; when
there is none (or it was refused) one replica logs in while holding a Redis lock
(``SET NX PX``, released only by its holder), and the others, waiting on the
lock, then find its token.

At rest the token is encrypted (Fernet: AES-128-CBC with HMAC-SHA256) with a key
derived (HKDF-SHA256) from the connectFi login and password, which only the
gateway holds; it is kept only until its ``dtsExpireAt``. The Redis key name is
hashed from connectFi's URL and login.

Failure policy: **open**. When Redis cannot be reached each replica logs in and
renews on its own, as a single replica does; ``outage.count`` counts the reads,
writes and locks that failed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis.asyncio import Redis

from gateway.state.redis import FAILURES, Outage, key

NAMESPACE = "connectfi-token"
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def token_key(login: str, password: str) -> bytes:
    """The Fernet key for the token, derived from the gateway's credentials."""
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"gateway connectFi token at rest",
        info=login.encode("utf-8"),
    ).derive(password.encode("utf-8"))
    return base64.urlsafe_b64encode(derived)


class RedisToken:
    def __init__(
        self,
        redis: Redis,
        *,
        url: str,
        login: str,
        password: str,
        lock_ttl: float = 15.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.lock_ttl = lock_ttl
        self.clock = clock
        self.outage = Outage("the connectFi token", "each replica logs in itself")
        self._fernet = Fernet(token_key(login, password))
        self._key = key(NAMESPACE, url, login)
        self._lock = key(NAMESPACE + "-lock", url, login)
        self._release = redis.register_script(RELEASE)

    async def get(self) -> tuple[str, float] | None:
        try:
            stored = await self.redis.get(self._key)
        except FAILURES as exc:
            self.outage.failed(exc)
            return None
        self.outage.ok()
        if stored is None:
            return None
        try:
            found = json.loads(self._fernet.decrypt(stored))
            return str(found["token"]), float(found["renew_at"])
        except (InvalidToken, ValueError, KeyError, TypeError):
            return None  # another password wrote it, or not a token: log in

    async def put(self, token: str, renew_at: float, expires: float) -> None:
        lifetime = expires - self.clock()
        if lifetime <= 0:
            return
        plain = json.dumps({"token": token, "renew_at": renew_at}).encode("utf-8")
        try:
            await self.redis.set(
                self._key, self._fernet.encrypt(plain), px=int(lifetime * 1000)
            )
        except FAILURES as exc:
            self.outage.failed(exc)

    @asynccontextmanager
    async def renewing(self) -> AsyncIterator[None]:
        owner = uuid.uuid4().hex
        held = await self._acquire(owner)
        try:
            yield
        finally:
            if held:
                try:
                    await self._release(keys=[self._lock], args=[owner])
                except FAILURES as exc:
                    self.outage.failed(exc)  # it expires after lock_ttl

    async def _acquire(self, owner: str) -> bool:
        """Wait for the lock (at most ``lock_ttl``: a holder that died lets go)."""
        delay = 0.01
        deadline = time.monotonic() + self.lock_ttl
        while True:
            try:
                if await self.redis.set(
                    self._lock, owner, nx=True, px=int(self.lock_ttl * 1000)
                ):
                    return True
            except FAILURES as exc:
                self.outage.failed(exc)
                return False  # log in without the fleet
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.2)
