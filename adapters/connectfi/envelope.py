"""connectFi's envelope: ``{code: "0", data, requestId}`` or a refusal, translated.

Refusals are ``{requestId, code, subCode?, context, message}`` (reference §1.3);
:func:`unwrap` gives the data of a success and raises the domain error of a refusal:

    requestValidateError, greaterNumberOfRecords  → ValidationFailed (field paths)
    fileNotFound                                  → ValidationFailed (``file``)
    applicationNotFound, documentNotFound,
    customerNotFound                              → NotFound
    any other 404, whatever its body              → NotFound ("no such record")
    401, unauthorized                             → ProviderAuthFailed
    any other code                                → ProviderRejected
    anything that is not the envelope             → ProviderError

Each error keeps connectFi's ``requestId`` and ``code``. Messages are the gateway's
own: connectFi's ``message`` and AJV's texts are not repeated, only the keyword's
meaning and the field path (``paths`` maps connectFi's property names to the GraphQL
input names).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from adapters.connectfi import answers
from adapters.errors import (
    AdapterError,
    NotFound,
    ProviderAuthFailed,
    ProviderError,
    ProviderRejected,
    ValidationFailed,
    Violation,
)
from adapters.model import Provider
from adapters.transport.http import json_body

PROVIDER = Provider.CONNECTFI
MALFORMED = "connectFi sent a malformed answer"
NO_SUCH_RECORD = "connectFi has no such record"

T = TypeVar("T")
Paths = Mapping[str, tuple[str, ...]]

NOT_FOUND = {
    "applicationNotFound": "connectFi has no such application",
    "documentNotFound": "connectFi has no such document",
    "customerNotFound": "connectFi has no such customer",
}
_TOO_MANY = frozenset({"greaterNumberOfRecords", "greaterMaximumNumberOfRecords"})


def parse(build: Callable[[Any], T], data: Any, request_id: str | None) -> T:
    """``build(data)``, or ``ProviderError`` when ``data`` is not what it needs."""
    try:
        return build(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProviderError(
            MALFORMED,
            provider=PROVIDER,
            request_id=request_id,
        ) from exc


def is_success(body: object) -> bool:
    return isinstance(body, dict) and body.get("code") == "0" and "data" in body


def code_of(body: object) -> str | None:
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def request_id_of(body: object) -> str | None:
    value = body.get("requestId") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def unwrap(
    response: httpx.Response,
    paths: Paths,
    shape: TypeAdapter[Any] | None = None,
) -> tuple[Any, str | None]:
    """``(data, requestId)`` of a success, or the refusal's error. With ``shape``,
    a success is validated against it in one pass from the bytes, and one whose
    ``data`` does not fit is malformed."""
    if shape is not None and response.is_success:
        try:
            answer: answers.Answer = shape.validate_json(response.content)
        except ValidationError:
            pass  # a refusal, or a misfit: read as JSON below
        else:
            return answer["data"], answer.get("requestId")
    try:
        body = json_body(response, PROVIDER)
    except ProviderError:
        if response.status_code == 404:  # a 404 says "no such record", body or not
            raise NotFound(NO_SUCH_RECORD, provider=PROVIDER) from None
        raise
    request_id = request_id_of(body)
    if response.is_success and is_success(body):
        assert isinstance(body, dict)
        if shape is not None:  # a success whose data does not fit its shape
            raise ProviderError(MALFORMED, provider=PROVIDER, request_id=request_id)
        return body["data"], request_id
    if response.status_code == 401:  # still, after a fresh token
        raise ProviderAuthFailed(
            "connectFi refused the gateway's token",
            provider=PROVIDER,
            request_id=request_id,
            provider_code=code_of(body),
        )
    raise _failure(body, request_id, paths, response.status_code)


def _failure(
    body: object, request_id: str | None, paths: Paths, status: int
) -> AdapterError:
    code = code_of(body)
    if status == 404 and code not in NOT_FOUND:
        # A 404 means no such record whatever the body says (a proxy's page, an
        # empty body, another code): not a malformed answer.
        return NotFound(
            NO_SUCH_RECORD, provider=PROVIDER, request_id=request_id, provider_code=code
        )
    if not isinstance(body, dict) or not code or code == "0":
        return ProviderError(
            MALFORMED,
            provider=PROVIDER,
            request_id=request_id,
        )
    about: dict[str, Any] = {
        "provider": PROVIDER,
        "request_id": request_id,
        "provider_code": code,
    }
    context = body.get("context")
    if code == "requestValidateError":
        violations = _violations(context, paths)
        return ValidationFailed("connectFi refused the input", violations, **about)
    if code in _TOO_MANY:
        limit = context.get("maxNumberOfRecords") if isinstance(context, dict) else None
        size = f"at most {limit}" if isinstance(limit, int) else "fewer"
        path = paths.get("numberOfRecords", ("numberOfRecords",))
        violation = Violation(path, f"connectFi pages hold {size} records")
        return ValidationFailed("connectFi refused the page size", [violation], **about)
    if code == "fileNotFound":
        violation = Violation(paths.get("file", ("file",)), "a file is required")
        return ValidationFailed("connectFi received no file", [violation], **about)
    if code in NOT_FOUND:
        return NotFound(NOT_FOUND[code], **about)
    if code == "unauthorized":
        return ProviderAuthFailed("connectFi refused the gateway's token", **about)
    return ProviderRejected("connectFi refused the request", **about)


def _violations(context: object, paths: Paths) -> list[Violation]:
    """AJV errors (``instancePath``, ``keyword``, ``params``) as field violations."""
    if not isinstance(context, list):
        return []
    found: list[Violation] = []
    for error in context:
        if not isinstance(error, dict):
            continue
        pointer = error.get("instancePath")
        parts = [
            part.replace("~1", "/").replace("~0", "~")
            for part in (pointer.split("/") if isinstance(pointer, str) else [])
            if part
        ]
        keyword = error.get("keyword")
        params = error.get("params")
        params = params if isinstance(params, dict) else {}
        extra = {
            "required": params.get("missingProperty"),
            "additionalProperties": params.get("additionalProperty"),
        }.get(keyword if isinstance(keyword, str) else "")
        if isinstance(extra, str):
            parts.append(extra)
        path = paths.get(parts[0], tuple(parts)) if parts else ()
        label = path[-1] if path else "the input"
        found.append(Violation(path, f"{label} {_explain(keyword, params)}"))
    return found


def _explain(keyword: object, params: Mapping[str, Any]) -> str:
    limit = params.get("limit")
    number = limit if isinstance(limit, int) else None
    if keyword == "required":
        return "is required"
    if keyword == "maxLength" and number is not None:
        return f"must be at most {number} characters long"
    if keyword == "minLength" and number is not None:
        return f"must be at least {number} characters long"
    if keyword == "minimum" and number is not None:
        return f"must be at least {number}"
    if keyword == "pattern":
        return "contains characters connectFi does not accept"
    if keyword == "isNotOnlyWhitespace":
        return "must not be only whitespace"
    if keyword == "enum":
        return "is not one of the allowed values"
    if keyword == "format":
        return "is not in the expected format"
    if keyword == "type":
        return "has the wrong type"
    return "is not accepted by connectFi"
