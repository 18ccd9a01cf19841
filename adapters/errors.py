"""The domain errors adapters raise. Nothing above ``adapters/`` sees an httpx error.

    AdapterError                    root; ``provider`` and ``request_id`` where known
    ├── NotFound                    the record does not exist (or is not the caller's)
    ├── ValidationFailed            input the provider refuses; ``violations``
    ├── VersionConflict             stale ``If-Match`` (HTTP 412)
    ├── InvalidStateTransition      the action is not allowed in this state (HTTP 409)
    ├── ProviderRejected            the provider refused for a reason of its own (4xx)
    ├── UploadTooLarge              a file over the provider's or the gateway's limit
    └── ProviderFailure             the provider could not answer
        ├── ProviderUnavailable     connection refused/reset, 5xx, breaker open
        ├── ProviderTimeout         no answer in time
        ├── ProviderAuthFailed      our own credentials were refused
        ├── RateLimited             HTTP 429; ``retry_after`` seconds when given
        └── ProviderError           a malformed or unexpected answer
            └── AnswerTooLarge      an answer over GATEWAY_MAX_UPSTREAM_BYTES; ``limit``

Each class carries ``code``: the GraphQL ``extensions.code`` of DESIGN.md. Messages are
written for the gateway's client: they never quote a credential, an upstream URL or an
upstream body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from adapters.model import Provider


@dataclass(frozen=True)
class Violation:
    """One refused input field: ``path`` as the GraphQL input names it."""

    path: tuple[str, ...]
    message: str


class AdapterError(Exception):
    code = "PROVIDER_ERROR"

    def __init__(
        self,
        message: str,
        *,
        provider: Provider | None = None,
        request_id: str | None = None,
        provider_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.request_id = request_id
        self.provider_code = provider_code


class NotFound(AdapterError):
    code = "NOT_FOUND"


class ValidationFailed(AdapterError):
    code = "BAD_USER_INPUT"

    def __init__(
        self,
        message: str,
        violations: Sequence[Violation] = (),
        **kwargs: object,
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.violations = tuple(violations)


class VersionConflict(AdapterError):
    code = "VERSION_CONFLICT"


class InvalidStateTransition(AdapterError):
    code = "INVALID_STATE_TRANSITION"


class ProviderRejected(AdapterError):
    code = "PROVIDER_ERROR"


class UploadTooLarge(AdapterError):
    code = "UPLOAD_TOO_LARGE"

    def __init__(self, message: str, limit: int, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.limit = limit


class ProviderFailure(AdapterError):
    code = "PROVIDER_ERROR"


class ProviderUnavailable(ProviderFailure):
    code = "PROVIDER_UNAVAILABLE"


class ProviderTimeout(ProviderFailure):
    code = "PROVIDER_TIMEOUT"


class ProviderAuthFailed(ProviderFailure):
    code = "PROVIDER_ERROR"


class RateLimited(ProviderFailure):
    code = "RATE_LIMITED"

    def __init__(
        self, message: str, retry_after: float | None = None, **kwargs: object
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ProviderError(ProviderFailure):
    code = "PROVIDER_ERROR"


class AnswerTooLarge(ProviderError):
    """The provider's answer passed the gateway's size cap; reading stopped there."""

    code = "PROVIDER_ERROR"

    def __init__(self, message: str, limit: int, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.limit = limit
