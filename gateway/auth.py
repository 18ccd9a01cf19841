"""Authentication: bearer JWTs become the caller of the GraphQL context.

Tokens are verified against a shared secret (HS256) or the keys of a JWKS URL
(RS256/ES256): signature, expiry, issuer and audience when configured, with a small
clock skew. Unsigned (``alg: none``) and forged tokens are refused. Roles come from
``roles`` (a list) or ``role``; the caller's own records are bound by the claims
``connectfi_customer_id``, ``apiture_contact``, ``mambu_client_key`` and ``email``.

A verified token is remembered (by its exact text, in a :class:`caching.Cache`
of ``caching.bounds.VERIFIED_MAX_BYTES``, each weighed by its length: a long
token takes more room) for ``VERIFIED_SECONDS`` and never past its expiry: a
front end sends the same token with every request, and checking its signature
each time cost a tenth of a one-record query. Refused tokens are not remembered.

With no authentication configured the gateway runs open, every caller an anonymous
member of staff. That is allowed only while every provider is an embedded sandbox
(``check_startup`` refuses otherwise) and is logged loudly at start-up.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from jwt.types import Options

from caching import Cache, bounds
from schema.context import Caller

log = logging.getLogger("gateway.auth")

ANONYMOUS = Caller()
JWKS_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
VERIFIED_SECONDS = 60.0  # then the signature (and the JWKS key) is checked again


def _weigh_verified(token: str, remembered: object) -> int:
    """The token's text and, at most as long again, the claims its Caller keeps."""
    return bounds.VERIFIED_ENTRY_BYTES + 2 * len(token)


class Unauthenticated(Exception):
    """The request's credentials are missing or not acceptable."""


class AuthNotConfigured(Exception):
    """A real provider is configured but no way to authenticate callers is."""


@dataclass
class Authenticator:
    secret: str | None = field(default=None, repr=False)
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    leeway: float = 30.0
    jwks_ttl: float = 600.0
    http: httpx.AsyncClient | None = None
    _keys: dict[str, Any] = field(default_factory=dict, repr=False)
    _fetched: float = field(default=0.0, repr=False)
    verified_max_bytes: int = bounds.VERIFIED_MAX_BYTES
    # token -> (caller, its exp claim, when to verify it again (monotonic))
    _verified: Cache[str, tuple[Caller, float, float]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._verified = Cache(
            self.verified_max_bytes, _weigh_verified, name="verified_tokens"
        )

    @property
    def enabled(self) -> bool:
        return bool(self.secret or self.jwks_url)

    async def caller(self, authorization: str | None) -> Caller:
        if not self.enabled:
            return ANONYMOUS
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthenticated("a bearer token is required")
        token = authorization[7:].strip()
        known = self._verified.get(token)
        if known is not None:
            caller, expires, recheck = known
            if time.time() <= expires + self.leeway and time.monotonic() < recheck:
                return caller
            self._verified.pop(token)
        claims = await self._verify(token)
        caller = _caller_from(claims)
        self._verified.put(
            token, (caller, float(claims["exp"]), time.monotonic() + VERIFIED_SECONDS)
        )
        return caller

    async def caller_until(
        self, authorization: str | None
    ) -> tuple[Caller, float | None]:
        """The caller and when their token expires (epoch seconds, the clock
        skew included); None when authentication is off."""
        caller = await self.caller(authorization)
        if not self.enabled or authorization is None:
            return caller, None
        known = self._verified.peek(authorization[7:].strip())
        return caller, (known[1] + self.leeway) if known else None

    async def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the token is malformed") from exc
        key: Any
        if self.secret:
            key, algorithms = self.secret, ["HS256", "HS384", "HS512"]
        else:
            key, algorithms = await self._jwks_key(header.get("kid")), JWKS_ALGORITHMS
        options: Options = {
            "require": ["exp", "sub"],
            "verify_aud": self.audience is not None,
        }
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options=options,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthenticated("the token is not for this audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthenticated("the token's issuer is not trusted") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the token is not valid") from exc
        return claims

    async def _jwks_key(self, kid: str | None) -> Any:
        stale = time.monotonic() - self._fetched > self.jwks_ttl
        if stale or (kid not in self._keys and time.monotonic() - self._fetched > 5):
            await self._refresh()
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        if kid not in self._keys:
            raise Unauthenticated("the token's signing key is unknown")
        return self._keys[kid]

    async def _refresh(self) -> None:
        assert self.jwks_url is not None
        client = self.http or httpx.AsyncClient(timeout=5.0)
        try:
            response = await client.get(self.jwks_url)
            response.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(response.json()).keys
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            log.error("could not fetch the JWKS: %s", type(exc).__name__)
            raise Unauthenticated("the signing keys are unavailable") from exc
        finally:
            if self.http is None:
                await client.aclose()
        self._keys = {k.key_id or "": k.key for k in keys}
        self._fetched = time.monotonic()


def _caller_from(claims: dict[str, Any]) -> Caller:
    roles = claims.get("roles")
    if isinstance(roles, str):
        roles = roles.split()
    if roles is None and isinstance(claims.get("role"), str):
        roles = [claims["role"]]
    return Caller(
        subject=str(claims["sub"]),
        roles=frozenset(str(r) for r in roles or ()),
        connectfi_customer_id=_text(claims.get("connectfi_customer_id")),
        apiture_contact=_text(claims.get("apiture_contact")),
        mambu_client_key=_text(claims.get("mambu_client_key")),
        email=_text(claims.get("email")),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
