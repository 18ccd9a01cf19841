"""Collection queries: ``start``/``limit`` paging, ``sortBy``, ``filter``, ``q``.

Paging (seed L210-213, digest §8): ``start`` is zero-based (default 0), ``limit``
defaults to 100. The page echoes ``start``, ``limit`` and ``count`` (the number of
matching items over all pages). Links: ``self``, ``first`` and ``collection`` always,
``next`` only when ``start + limit < count``, ``prev`` when ``start > 0`` (REC).
Paging links keep the caller's other query parameters, so ``next`` walks the same
filtered, sorted view. (The seed's view examples link to ``/applications`` even from
``/runningApplications``, §9.17; we link to the view actually asked for.)

``sortBy`` is ``field1,-field2`` (L215); the contract lists the fields, so the
guard refuses a malformed value or an unknown field with 400 first (the 400/422
here answer only direct calls of these helpers). ``q`` is a case-insensitive
substring over the item's names (REC: the seed says only "See searching").
``filter``'s grammar is not in the seed (§8); we support a small subset of
Apiture's expression style and say so: ``eq|ne|lt|le|gt|ge(field,value)``,
``in(field,v1|v2)``, ``and(e,…)``, ``or(e,…)`` over the sortable fields.
Malformed is 400, an unknown field or state value 422.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from adapters.apiture.sandbox.store import JSON, STATES, ApiError

Predicate = Callable[[JSON], bool]

APPLICATION_FIELDS = frozenset(
    {
        "accountName",
        "applicantName",
        "productName",
        "organizationName",
        "state",
        "createdAt",
        "completedAt",
    }
)
ENROLLMENT_FIELDS = frozenset({"applicantName", "state", "createdAt", "completedAt"})
DEFAULT_LIMIT = 100

_SORT = re.compile(r"^[+-]?[A-Za-z_]\w*(,[+-]?[A-Za-z_]\w*)*$")
_NAME = re.compile(r"[A-Za-z_]\w*")


def paging(params: Mapping[str, str]) -> tuple[int, int]:
    start = _integer(params, "start", 0)
    limit = _integer(params, "limit", DEFAULT_LIMIT)
    if start < 0:
        raise ApiError(
            422,
            "invalidQueryParameter",
            "start must not be negative.",
            attributes={"parameter": "start", "value": start},
        )
    if limit < 1:
        raise ApiError(
            422,
            "invalidQueryParameter",
            "limit must be at least 1.",
            attributes={"parameter": "limit", "value": limit},
        )
    return start, limit


def _integer(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(
            400,
            "malformedQueryParameter",
            f"{name} must be an integer.",
            attributes={"parameter": name, "value": raw},
        ) from None


def sort_items(items: list[JSON], sort_by: str | None, fields: frozenset[str]) -> None:
    """Sort ``items`` in place by ``sortBy``; missing values go last."""
    if not sort_by:
        return
    if not _SORT.match(sort_by):
        raise ApiError(
            400,
            "malformedQueryParameter",
            "sortBy must be a comma-separated list of field names, each optionally "
            "prefixed with -.",
            attributes={"parameter": "sortBy", "value": sort_by},
        )
    keys = [(k.lstrip("+-"), k.startswith("-")) for k in sort_by.split(",")]
    for name, _ in keys:
        if name not in fields:
            raise ApiError(
                422,
                "invalidSortField",
                f"Cannot sort by {name}.",
                attributes={"parameter": "sortBy", "value": name},
                remediation="Sort by one of: " + ", ".join(sorted(fields)) + ".",
            )
    for name, descending in reversed(keys):
        present = [i for i in items if i.get(name) is not None]
        absent = [i for i in items if i.get(name) is None]
        present.sort(key=_sort_key(name), reverse=descending)
        items[:] = present + absent


def _sort_key(name: str) -> Callable[[JSON], str]:
    return lambda item: str(item[name]).casefold()


def search(q: str | None, keys: Sequence[str]) -> Predicate:
    if not q:
        return lambda _: True
    needle = q.casefold()
    return lambda item: any(needle in str(item.get(k) or "").casefold() for k in keys)


def one_of(param: str, raw: str | None, key: str, *, enum: bool = False) -> Predicate:
    """``state=running|canceled`` / ``name=Bartell|kirsten`` (L220-223)."""
    if raw is None or raw == "":
        return lambda _: True
    values = set(raw.split("|"))
    if enum:
        bad = sorted(values - set(STATES))
        if bad:
            raise ApiError(
                422,
                "invalidQueryParameter",
                f"{param} has values that are not application states.",
                attributes={"parameter": param, "value": bad},
            )
    return lambda item: item.get(key) in values


# filter ------------------------------------------------------------------------------

_COMPARE: dict[str, Callable[[str, str], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def parse_filter(text: str | None, fields: frozenset[str]) -> Predicate:
    if not text:
        return lambda _: True
    parser = _FilterParser(text, fields)
    predicate = parser.expression()
    if parser.pos != len(text):
        parser.fail()
    return predicate


class _FilterParser:
    def __init__(self, text: str, fields: frozenset[str]) -> None:
        self.text = text
        self.pos = 0
        self.fields = fields

    def fail(self) -> None:
        raise ApiError(
            400,
            "malformedFilter",
            "The filter expression is not well formed.",
            attributes={"parameter": "filter", "value": self.text},
        )

    def expect(self, char: str) -> None:
        if self.text[self.pos : self.pos + 1] != char:
            self.fail()
        self.pos += 1

    def name(self) -> str:
        match = _NAME.match(self.text, self.pos)
        if not match:
            self.fail()
            raise AssertionError  # unreachable; fail() raises
        self.pos = match.end()
        return match.group()

    def value(self) -> str:
        end = self.pos
        while end < len(self.text) and self.text[end] not in ",()":
            end += 1
        raw, self.pos = self.text[self.pos : end], end
        return raw

    def expression(self) -> Predicate:
        op = self.name()
        self.expect("(")
        if op in ("and", "or"):
            parts = [self.expression()]
            while self.text[self.pos : self.pos + 1] == ",":
                self.pos += 1
                parts.append(self.expression())
            self.expect(")")
            combine = all if op == "and" else any
            return lambda item: combine(p(item) for p in parts)
        if op not in _COMPARE and op != "in":
            self.fail()
        field = self.name()
        self.expect(",")
        raw = self.value()
        self.expect(")")
        self.check(field, raw.split("|") if op == "in" else [raw])
        if op == "in":
            values = set(raw.split("|"))
            return lambda item: item.get(field) in values
        compare = _COMPARE[op]
        return lambda item: _compare(compare, item.get(field), raw)

    def check(self, field: str, values: list[str]) -> None:
        if field not in self.fields:
            raise ApiError(
                422,
                "invalidFilterField",
                f"Cannot filter by {field}.",
                attributes={"parameter": "filter", "value": field},
            )
        if field == "state" and not set(values) <= set(STATES):
            raise ApiError(
                422,
                "invalidQueryParameter",
                "The filter names a state that does not exist.",
                attributes={"parameter": "filter", "value": values},
            )


def _compare(compare: Callable[[str, str], bool], actual: Any, wanted: str) -> bool:
    if actual is None:
        return compare is _COMPARE["ne"]
    return compare(str(actual), wanted)


# the page ----------------------------------------------------------------------------


def page(
    items: list[JSON],
    *,
    path: str,
    params: Mapping[str, str],
    start: int,
    limit: int,
    profile: str,
    name: str | None,
    count: int | None = None,
) -> JSON:
    """The page at ``start``: of ``items`` when ``count`` is None, else ``items``
    are already the page's, out of ``count`` matching items."""
    window = items[start : start + limit] if count is None else items
    count = len(items) if count is None else count
    kept = {k: v for k, v in params.items() if k not in ("start", "limit")}
    # urlencode({**kept, "start": at, "limit": limit}), the kept part encoded once
    # (four links a page; an int encodes as its str).
    head = f"{path}?{urlencode(kept)}&" if kept else f"{path}?"

    def href(at: int) -> str:
        return f"{head}start={at}&limit={limit}"

    links: JSON = {"self": {"href": href(start)}, "first": {"href": href(0)}}
    if start > 0:
        links["prev"] = {"href": href(max(0, start - limit))}
    if start + limit < count:
        links["next"] = {"href": href(start + limit)}
    links["collection"] = {"href": path}
    body: JSON = {"_profile": profile, "start": start, "limit": limit, "count": count}
    if name is not None:
        body["name"] = name
    body["_links"] = links
    body["_embedded"] = {"items": window}
    return body
