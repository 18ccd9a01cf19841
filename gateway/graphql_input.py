"""What a client sends to ``/graphql`` beyond the query: its JSON and its uploads.

- JSON from the client (the body, GET ``variables``/``extensions``, multipart
  ``operations`` and ``map``: all go through the view's ``decode_json``) nested
  deeper than ``MAX_JSON_DEPTH`` is ``TooDeep``: a 400 with a GraphQL error,
  never a ``RecursionError``.
- Multipart (the GraphQL multipart request spec): every file part and every path
  of ``map`` counts toward ``max_upload_files`` (``too_many_files``: a 413); a
  map that points a path at a file twice, at a part that is not there, or
  anywhere but a ``null`` of the operations is a 400 (``place_files``).
  Starlette's parser stops just past the limit (``BoundedForm``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, cast

from cross_web import (
    AsyncHTTPRequestAdapter,
    FormData,
    HTTPException,
    StarletteRequestAdapter,
)
from starlette.datastructures import FormData as StarletteFormData
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

# Containers inside containers in any JSON the client sends. The deepest real
# request (an input object in a variable, in ``variables``, in the request) is
# under ten; orjson stops at 1024, the standard library at the recursion limit.
MAX_JSON_DEPTH = 64
MULTIPART_FIELDS = frozenset({"operations", "map"})


async def read_multipart(
    request: AsyncHTTPRequestAdapter, limit: int, parse_json: Callable[[str], Any]
) -> object:
    """A multipart request's operations with its files placed (``place_files``),
    the parts counted and the map checked first."""
    try:
        form_data = await request.get_form_data()
    except (ValueError, MultiPartException, StarletteHTTPException) as exc:
        detail = str(getattr(exc, "detail", None) or getattr(exc, "message", ""))
        if detail.startswith("Too many"):  # Starlette stopped past our limit
            raise too_many_files(limit) from None
        raise HTTPException(400, "Unable to parse the multipart body") from exc
    form = cast(StarletteFormData, form_data.form)
    parts = [(k, v) for k, v in form.multi_items() if k not in MULTIPART_FIELDS]
    if len(parts) > limit:
        raise too_many_files(limit, len(parts))
    files = {k: v for k, v in parts if isinstance(v, UploadFile)}
    fields = [form.get(name) or "{}" for name in ("operations", "map")]
    if not all(isinstance(f, str) for f in fields):
        raise HTTPException(400, "`operations` and `map` must be form fields")
    operations, files_map = (parse_json(cast(str, f)) for f in fields)
    return place_files(operations, files_map, files, limit)


class TooDeep(json.JSONDecodeError):
    """JSON nested deeper than ``MAX_JSON_DEPTH``: a decoding error like any
    other to whoever catches those (a WebSocket message is refused as not
    JSON), a 400 saying so over HTTP (``parse_json``)."""

    def __init__(self) -> None:
        message = f"the request's JSON is nested deeper than {MAX_JSON_DEPTH} levels"
        super().__init__(message, "", 0)  # no copy of the body kept


def json_depth(value: object) -> int:
    """How deep containers nest in ``value``, without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest


def place_files(
    operations: object, files_map: object, files: Mapping[str, Any], limit: int
) -> object:
    """The multipart spec's ``map`` applied to ``operations``, checked first.

    Every file part and every path counts toward ``limit`` (413 beyond it). A
    map that is not an object of lists of paths, that names a part that is not
    a file, or a path twice, or a path that does not lead to a ``null`` of the
    operations is a 400: nothing is placed where the client did not leave room.
    """
    if not isinstance(files_map, dict) or not all(
        isinstance(paths, list) and all(isinstance(p, str) for p in paths)
        for paths in files_map.values()
    ):
        raise HTTPException(400, "the multipart `map` must map names to lists of paths")
    paths = sum(len(p) for p in files_map.values())
    if paths > limit:
        raise too_many_files(limit, paths)
    seen: set[str] = set()
    for name, targets in files_map.items():
        if name not in files:
            raise HTTPException(400, f"the multipart `map` names no file part {name!r}")
        for path in targets:
            if path in seen:
                raise HTTPException(400, f"the multipart `map` fills {path!r} twice")
            seen.add(path)
            *steps, last = path.split(".")
            target: Any = operations
            try:
                for step in steps:
                    target = target[_key(target, step)]
                key = _key(target, last)
                if target[key] is not None:
                    raise KeyError(last)
            except (KeyError, IndexError, ValueError, TypeError):
                raise HTTPException(
                    400, f"the multipart `map` path {path!r} is not a null variable"
                ) from None
            target[key] = files[name]
    return operations


def _key(target: object, step: str) -> int | str:
    """``step`` as an index of ``target``; KeyError when it names nothing there."""
    if isinstance(target, list):
        if not step.isdigit() or int(step) >= len(target):
            raise KeyError(step)
        return int(step)
    if isinstance(target, dict) and step in target:
        return step
    raise KeyError(step)


def too_many_files(limit: int, sent: int | None = None) -> HTTPException:
    counted = f" ({sent} sent)" if sent is not None else ""
    return HTTPException(
        413, f"at most {limit} files may be uploaded in one request{counted}"
    )


class BoundedForm(StarletteRequestAdapter):
    """Starlette's multipart parser stopped just past the gateway's file limit.

    Its defaults (1,000 files, 1,000 fields) would spool every part first."""

    max_files = 5

    async def get_form_data(self) -> FormData:
        form = await self._request.form(
            max_files=self.max_files + 1,
            max_fields=len(MULTIPART_FIELDS) + self.max_files + 1,
        )
        return FormData(files=form, form=form)
