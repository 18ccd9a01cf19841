"""The sandbox enforces ``contracts/apiture.yaml``: credentials, route, method,
parameters, headers and body, before any endpoint runs.

Why a small interpreter of the contract rather than openapi-core or pydantic: the
contract is the one description of what Apiture accepts (written from the seed),
so the sandbox reads its rules from there and cannot drift from it; the contract
uses a small subset of JSON Schema (``$ref``, ``allOf``, ``type``, ``properties``,
``required``, ``additionalProperties``, ``items``, ``enum``, ``pattern``,
``minLength``, ``minimum``, ``maximum``, ``format`` date and date-time), which
takes ~150 lines to check and costs microseconds per request; openapi-core stays a
test dependency (the contract tests validate the sandbox's answers with it).

Refusals, in this order, each an ``errorResponse`` (seed L2005-2026):
- 405 ``methodNotAllowed`` with ``Allow``: a known path, a method it does not have
  (before the credentials: the answer names only the path's documented methods);
- 401 ``unauthorized``: ``API-Key`` and ``Authorization: Bearer`` are both required
  and must be the sandbox's (the contract's ``x-security-inference``);
- each parameter in the contract's order: 400 ``missingQueryParameter`` /
  ``ifMatchRequired`` / ``malformedQueryParameter`` / ``malformedHeader`` when it is
  missing or not well formed (an empty query value, ``filter=``, included: the
  contract allows none), 422 ``invalidQueryParameter`` for a well-formed integer
  outside the contract's bounds (a negative ``start``, a ``limit`` of 0; outside
  int32/int64 is 400); ``attributes.parameter`` or ``attributes.header`` names it;
- 415 ``unsupportedMediaType``: a body whose ``Content-Type`` is not one the
  operation names (``application/hal+json``; parameters such as ``charset``
  ignored), application/json and none included;
- 400 ``malformedRequestBody`` / ``invalidField``: a body that is not a JSON object
  or breaks the contract's schema (``attributes.field`` names the place).
Unknown paths go on to the app (its 404).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml  # type: ignore[import-untyped]  # PyYAML ships no type hints

from adapters.apiture.sandbox.store import JSON, ApiError

CONTRACT = Path(__file__).resolve().parents[3] / "contracts" / "apiture.yaml"
INT_RANGES = {"int32": 2**31 - 1, "int64": 2**63 - 1}


@cache
def load(path: Path = CONTRACT) -> Contract:
    with path.open(encoding="utf-8") as f:
        return Contract(yaml.safe_load(f))


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    operations: Mapping[str, JSON]  # method -> operation (path parameters merged)


class Contract:
    def __init__(self, document: JSON) -> None:
        self.document = document
        self.base = document["servers"][0]["url"].rstrip("/")
        self.routes: list[Route] = []
        for template, item in document["paths"].items():
            shared = item.get("parameters", [])
            operations = {
                method.upper(): {
                    **op,
                    "parameters": [*shared, *op.get("parameters", [])],
                }
                for method, op in item.items()
                if method != "parameters"
            }
            regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            self.routes.append(
                Route(
                    template, re.compile(f"{re.escape(self.base)}{regex}"), operations
                )
            )

    def route(self, path: str) -> Route | None:
        for route in self.routes:
            if route.pattern.fullmatch(path):
                return route
        return None

    def resolve(self, node: JSON) -> JSON:
        while "$ref" in node:
            found: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                found = found[part]
            node = found
        return node

    # requests ---------------------------------------------------------------------

    def check_request(
        self,
        operation: JSON,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        """Raise the ApiError the contract calls for, or return."""
        params: dict[str, list[str]] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            params.setdefault(name, []).append(value)
        for parameter in map(self.resolve, operation["parameters"]):
            name, where = parameter["name"], parameter["in"]
            if where == "path":
                continue  # the route matched, so it is there; opaque (L1037)
            if where == "query":
                values = params.get(name, [])
            else:
                header = headers.get(name.lower())
                values = [] if header is None else [header]
            if not values:
                _check_missing(parameter)
            # A repeated parameter: each value must fit (the endpoint reads one).
            for raw in values:
                if where == "query" and not raw:
                    _check_empty(parameter)
                self._check_parameter(parameter, raw)
        request_body = operation.get("requestBody")
        if request_body is not None:
            content = self.resolve(request_body)["content"]
            media = _media_type(headers.get("content-type", ""))
            if media not in content:
                raise ApiError(
                    415,
                    "unsupportedMediaType",
                    "The request body must be sent as "
                    + " or ".join(content)
                    + (f", not {media}." if media else "; no Content-Type was given."),
                    attributes={"contentType": media} if media else None,
                    remediation="Send Content-Type: " + next(iter(content)) + ".",
                )
            self._check_body(content[media]["schema"], body)

    def _check_parameter(self, parameter: JSON, raw: str) -> None:
        name, where = parameter["name"], parameter["in"]
        schema = self.resolve(parameter["schema"])
        key = "header" if where == "header" else "parameter"
        value: Any = raw
        if schema.get("type") == "integer":
            value = _integer(raw, schema)
            if value is None:
                raise ApiError(
                    400,
                    "malformedQueryParameter",
                    f"{name} must be an integer"
                    + (f" ({schema['format']})." if "format" in schema else "."),
                    attributes={key: name, "value": raw},
                )
            if not _in_bounds(value, schema):
                raise ApiError(
                    422,
                    "invalidQueryParameter",
                    f"{name} is out of range.",
                    attributes={key: name, "value": value},
                )
            return
        problem = self.problem(schema, value)
        if problem is not None:
            raise ApiError(
                400,
                "malformedHeader" if where == "header" else "malformedQueryParameter",
                f"{name} is not well formed: {problem[1]}.",
                attributes={key: name, "value": raw},
            )

    def _check_body(self, schema: JSON, raw: bytes) -> None:
        try:
            body = json.loads(raw or b"null", parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError):
            body = _MALFORMED
        if body is _MALFORMED or not isinstance(body, dict):
            raise ApiError(
                400,
                "malformedRequestBody",
                "The request body must be a JSON object.",
            )
        problem = self.problem(schema, body)
        if problem is not None:
            path, message = problem
            raise ApiError(
                400,
                "invalidField",
                f"{path or 'the body'}: {message}.",
                attributes={"field": path} if path else None,
            )

    # JSON Schema (the subset the contract uses) ----------------------------------

    def problem(
        self, schema: JSON, value: Any, path: str = ""
    ) -> tuple[str, str] | None:
        """The first place ``value`` breaks ``schema``: (dotted path, why)."""
        return next(self._problems(schema, value, path), None)

    def _problems(
        self, schema: JSON, value: Any, path: str
    ) -> Iterator[tuple[str, str]]:
        schema = self.resolve(schema)
        for part in schema.get("allOf", ()):
            yield from self._problems(part, value, path)
        kind = schema.get("type")
        if kind is not None and not _TYPES[kind](value):
            yield path, f"must be {_ARTICLE.get(kind, 'a')} {kind}"
            return
        if "enum" in schema and value not in schema["enum"]:
            yield path, "must be one of " + ", ".join(map(str, schema["enum"]))
        if isinstance(value, str):
            yield from _string_problems(schema, value, path)
        elif isinstance(value, int) and not isinstance(value, bool):
            if not _in_bounds(value, schema):
                yield path, "is out of range"
        elif isinstance(value, dict):
            for name in schema.get("required", ()):
                if name not in value:
                    yield _join(path, name), "is required"
            properties = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for name, item in value.items():
                if name in properties:
                    yield from self._problems(properties[name], item, _join(path, name))
                elif isinstance(extra, dict):
                    yield from self._problems(extra, item, _join(path, name))
        elif isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                yield from self._problems(schema["items"], item, _join(path, str(i)))


def _check_missing(parameter: JSON) -> None:
    if not parameter.get("required"):
        return
    name = parameter["name"]
    if name == "If-Match":
        raise ApiError(
            400,
            "ifMatchRequired",
            "The If-Match request header is required.",
            attributes={"header": "If-Match"},
            remediation="Pass the ETag of the last representation in If-Match.",
        )
    raise ApiError(
        400,
        "missingQueryParameter",
        f"The {name} query parameter is required.",
        attributes={"parameter": name},
    )


def _check_empty(parameter: JSON) -> None:
    """An empty query value (``filter=``) is no value unless the contract says
    ``allowEmptyValue`` (OpenAPI 3.0): 400, as a value not well formed."""
    if parameter.get("allowEmptyValue"):
        return
    name = parameter["name"]
    raise ApiError(
        400,
        "malformedQueryParameter",
        f"{name} must not be empty; leave the parameter out instead.",
        attributes={"parameter": name, "value": ""},
    )


def _media_type(content_type: str) -> str:
    """``application/hal+json; charset=utf-8`` → ``application/hal+json``."""
    return content_type.split(";", 1)[0].strip().lower()


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _string_problems(schema: JSON, value: str, path: str) -> Iterator[tuple[str, str]]:
    if len(value) < schema.get("minLength", 0):
        yield path, "must not be empty"
    pattern = schema.get("pattern")
    if pattern is not None and not re.search(pattern, value):
        yield path, "is not in the expected form"
    fmt = schema.get("format")
    if fmt in _FORMATS and not _FORMATS[fmt](value):
        yield path, f"must be a {fmt} (RFC 3339)"


def _in_bounds(value: int, schema: JSON) -> bool:
    low: int = schema.get("minimum", value)
    high: int = schema.get("maximum", value)
    return low <= value <= high


def _integer(raw: str, schema: JSON) -> int | None:
    if not re.fullmatch(r"-?[0-9]{1,20}", raw):
        return None
    value = int(raw)
    limit = INT_RANGES.get(schema.get("format", ""))
    if limit is not None and not -limit - 1 <= value <= limit:
        return None
    return value


def _is_date(value: str) -> bool:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _is_date_time(value: str) -> bool:
    if not _DATE_TIME.fullmatch(value):
        return False
    text = re.sub(r"\.[0-9]+", "", value.upper().replace("Z", "+00:00"))
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


_FORMATS: dict[str, Callable[[str], bool]] = {
    "date": _is_date,
    "date-time": _is_date_time,
}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}
_ARTICLE = {"object": "an", "array": "an", "integer": "an"}
_MALFORMED = object()


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
