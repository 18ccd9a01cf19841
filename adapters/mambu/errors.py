"""Mambu's refusals -> the domain errors (seed ``004_70f253724f9fbb2d``).

401 → ``ProviderAuthFailed``; 404, or a holder's entity code (301
``INVALID_CLIENT_ID``…) → ``NotFound``; 413 → ``UploadTooLarge``; 400 with
``INVALID_PARAMETERS`` on ``name``/``type``/``documentContent`` →
``ValidationFailed``; any other refusal → ``ProviderRejected``. ``provider_code``
is Mambu's ``returnStatus``; messages never quote a body, a URL or a credential.
"""

from __future__ import annotations

import logging

import httpx

from adapters.errors import (
    AdapterError,
    NotFound,
    ProviderAuthFailed,
    ProviderRejected,
    UploadTooLarge,
    ValidationFailed,
    Violation,
)
from adapters.mambu import mapping
from adapters.mambu.mapping import PROVIDER

log = logging.getLogger("gateway.mambu")


def raise_for(response: httpx.Response, max_upload_bytes: int, missing: str) -> None:
    """Translate a refusal; ``missing`` is what a 404 means on this endpoint."""
    if response.is_success:
        return
    status = response.status_code
    try:
        body: object = response.json()
    except ValueError:
        body = None
    answer = mapping.return_code(body)
    log.warning(
        "mambu refused: HTTP %s returnCode=%s returnStatus=%s errorSource=%s",
        status,
        answer.code,
        answer.status,
        answer.source,
    )
    error = refusal(status, answer, missing, max_upload_bytes)
    error.provider_code = answer.status
    raise error


def refusal(
    status: int, answer: mapping.ReturnCode, missing: str, max_upload_bytes: int
) -> AdapterError:
    if status == 401:
        return ProviderAuthFailed(
            "Mambu refused the gateway's credentials", provider=PROVIDER
        )
    if status == 404:
        return NotFound(missing, provider=PROVIDER)
    if answer.code in mapping.HOLDER_NOT_FOUND_CODES:
        return NotFound("Mambu has no such document holder", provider=PROVIDER)
    if status == 413:
        return UploadTooLarge(
            f"Mambu accepts files up to {max_upload_bytes} bytes.",
            max_upload_bytes,
            provider=PROVIDER,
        )
    path = mapping.INPUT_PATHS.get(answer.source or "")
    if status == 400 and answer.code == 4 and path is not None:
        violation = Violation(path, f"Mambu refused the {path[-1]}.")
        return ValidationFailed(violation.message, [violation], provider=PROVIDER)
    return ProviderRejected(
        f"Mambu refused the request (HTTP {status})", provider=PROVIDER
    )


def no_document() -> NotFound:
    return NotFound("Mambu has no such document", provider=PROVIDER)
