"""The connectFi request schemas as the provider declares them, and a small AJV.

The schemas are copied from the seeds' property tables (``000_…`` for
``/akepa/document/generate``, ``002_…`` for ``/akepa/list``) and from the public
reference for the others (``/auth/get-token``, ``/akepa/status``,
``/akepa/identification``). connectFi
validates with AJV; :func:`validate` reproduces the part of AJV these schemas need
and reports errors in AJV's shape (``instancePath``, ``schemaPath``, ``keyword``,
``params``, ``message``), which is what connectFi returns in the ``context`` of a
``requestValidateError``.

Choices where the sources leave room:

- Every error is reported (AJV's ``allErrors: true``); the documented example shows
  one error, which is also what a single mistake gives here.
- Patterns are ECMAScript regular expressions: ``.`` matches no line terminator and
  ``$`` only the very end. :func:`_ecma` translates the two patterns used here.
- ``format: dateISO`` (connectFi's own format) accepts an ISO 8601 date or date-time.
- ``format: email`` is ajv-formats' "fast" email expression.
- Objects refuse unknown properties (the reference's ``additionalProperties``
  example) and report missing ones with ``keyword: "required"``.

This module belongs to the sandbox. The client pre-validates with its own code
(:mod:`adapters.connectfi.checks`) on purpose; the tests prove that both agree on
the seeds' cases.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

Schema = Mapping[str, Any]
Error = dict[str, Any]

NAME_PATTERN = "^((?![<>]).)*$"
ID_PATTERN = "^[0-9a-zA-Z_]+$"
EMAIL_PATTERN = (
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)
DATE_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?"
)

COMMON_ID: Schema = {
    "type": "string",
    "pattern": ID_PATTERN,
    "minLength": 1,
    "maxLength": 36,
}

DOCUMENT_TYPES = [
    "contract",
    "license",
    "passport",
    "utility",
    "other",
    "internal",
    "identification_card",
    "residence_permit",
    "canada_provincial_id",
    "indigenous_card",
    "paystub",
    "bank_statement",
    "w2",
    "1099",
    "1120",
    "1065",
    "t1",
    "t4",
]


def _object(properties: Mapping[str, Schema], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": dict(properties),
        "required": required,
        "additionalProperties": False,
    }


GET_TOKEN = _object(
    {
        "user": _object(
            {
                "login": COMMON_ID,
                "password": {"type": "string", "minLength": 1, "maxLength": 50},
            },
            ["login", "password"],
        ),
        "requestId": {
            "type": "string",
            "pattern": NAME_PATTERN,
            "minLength": 1,
            "maxLength": 32,
            "isNotOnlyWhitespace": True,
        },
    },
    ["user"],
)

LIST = _object(  # seed 002
    {
        "customerId": COMMON_ID,
        "dateCreateFrom": {"type": "string", "format": "dateISO", "nullable": True},
        "dateCreateTo": {"type": "string", "format": "dateISO", "nullable": True},
        "numberOfRecords": {"type": "integer", "minimum": 1, "nullable": True},
        "skipRecords": {"type": "integer", "minimum": 0, "nullable": True},
    },
    ["customerId"],
)

STATUS = _object(
    {"customerId": COMMON_ID, "applicationId": COMMON_ID},
    ["customerId", "applicationId"],
)

IDENTIFICATION = _object(  # reference §1.4 step 2
    {
        "customerId": COMMON_ID,
        "reference": {
            "type": "string",
            "pattern": "^[0-9a-zA-Z]+$",
            "minLength": 1,
            "maxLength": 32,
        },
        "syncMode": {"type": "boolean"},
        # The schema spells it webhookURL, the request example webhookUrl: both.
        "webhookURL": {"type": "string", "maxLength": 500},
        "webhookUrl": {"type": "string", "maxLength": 500},
    },
    ["customerId", "reference"],
)

GENERATE_DOCUMENT = _object(  # seed 000
    {
        "workflow": {"type": "string", "enum": ["BUSINESS", "PERSONAL"]},
        "name": {
            "type": "string",
            "pattern": NAME_PATTERN,
            "minLength": 1,
            "maxLength": 50,
            "isNotOnlyWhitespace": True,
        },
        "extension": {"type": "string", "enum": ["jpg", "png"]},
        "type": {"type": "string", "enum": DOCUMENT_TYPES},
        "note": {
            "type": "string",
            "pattern": NAME_PATTERN,
            "minLength": 0,
            "maxLength": 500,
            "nullable": True,
        },
        "note_author_agent_email": {"type": "string", "format": "email"},
    },
    ["workflow", "name", "extension", "type"],
)


@cache
def _ecma(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Compile an ECMAScript pattern with ECMAScript's ``.`` and ``$``."""
    out: list[str] = []
    in_class = escaped = False
    for index, char in enumerate(pattern):
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif char == "[":
            in_class = True
            out.append(char)
        elif char == "]":
            in_class = False
            out.append(char)
        elif char == "." and not in_class:
            out.append("[^\n\r\u2028\u2029]")
        elif char == "$" and not in_class and index == len(pattern) - 1:
            out.append(r"\Z")
        else:
            out.append(char)
    return re.compile("".join(out), flags)


def _format_ok(name: str, value: str) -> bool:
    if name == "email":
        return _ecma(EMAIL_PATTERN, re.IGNORECASE).search(value) is not None
    if name == "dateISO":
        if DATE_ISO.fullmatch(value) is None:
            return False
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return False
        return True
    return True


def _type_ok(expected: str, value: object) -> bool:
    if expected == "object":
        return isinstance(value, dict)
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        if isinstance(value, bool):
            return False
        # JavaScript has one number type: 5.0 is an integer to AJV.
        return isinstance(value, int) or (
            isinstance(value, float) and value.is_integer()
        )
    return True


def validate(
    schema: Schema, value: object, path: str = "", at: str = "#"
) -> list[Error]:
    """AJV-style errors of ``value`` against ``schema`` (empty when valid)."""
    errors: list[Error] = []

    def fail(keyword: str, params: dict[str, Any], message: str) -> None:
        errors.append(
            {
                "instancePath": path,
                "schemaPath": f"{at}/{keyword}",
                "keyword": keyword,
                "params": params,
                "message": message,
            }
        )

    if value is None and schema.get("nullable"):
        return errors
    expected = schema.get("type")
    if expected is not None and not _type_ok(expected, value):
        fail("type", {"type": expected}, f"must be {expected}")
        return errors
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            if name not in value:
                fail(
                    "required",
                    {"missingProperty": name},
                    f"must have required property '{name}'",
                )
        properties: Mapping[str, Schema] = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            for name in value:
                if name not in properties:
                    fail(
                        "additionalProperties",
                        {"additionalProperty": name},
                        "must NOT have additional properties",
                    )
        for name, sub in properties.items():
            if name in value:
                errors.extend(
                    validate(
                        sub, value[name], f"{path}/{name}", f"{at}/properties/{name}"
                    )
                )
        return errors
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            limit = schema["maxLength"]
            fail(
                "maxLength",
                {"limit": limit},
                f"must NOT have more than {limit} characters",
            )
        if "minLength" in schema and len(value) < schema["minLength"]:
            limit = schema["minLength"]
            fail(
                "minLength",
                {"limit": limit},
                f"must NOT have fewer than {limit} characters",
            )
        pattern = schema.get("pattern")
        if pattern is not None and _ecma(pattern).search(value) is None:
            fail("pattern", {"pattern": pattern}, f'must match pattern "{pattern}"')
        fmt = schema.get("format")
        if fmt is not None and not _format_ok(fmt, value):
            fail("format", {"format": fmt}, f'must match format "{fmt}"')
        if schema.get("isNotOnlyWhitespace") and value and not value.strip():
            fail(
                "isNotOnlyWhitespace",
                {},
                'must pass "isNotOnlyWhitespace" keyword validation',
            )
    if (
        "minimum" in schema
        and isinstance(value, int | float)
        and value < schema["minimum"]
    ):
        limit = schema["minimum"]
        fail("minimum", {"comparison": ">=", "limit": limit}, f"must be >= {limit}")
    if "enum" in schema and value not in schema["enum"]:
        fail(
            "enum",
            {"allowedValues": list(schema["enum"])},
            "must be equal to one of the allowed values",
        )
    return errors
