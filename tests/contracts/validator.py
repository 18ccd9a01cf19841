"""Provider contracts (``contracts/<provider>.yaml``) checked against sandbox traffic.

:func:`load_contracts` reads every contract that exists, keyed by its file name
(``apiture.yaml`` → ``"apiture"``); a sandbox is matched to its contract by the
provider name its :class:`~adapters.sandbox_kit.Controlled` carries, so a contract
that lands later is picked up with no code change.

:meth:`Contracts.check` validates one :class:`~adapters.sandbox_kit.Exchange` with
openapi-core: the request (path, method, parameters, security, body) and, unless an
injected fault answered, the sandbox's answer (status, content type, body). Two
kinds of request are not API calls and are only counted:

- ``HEAD`` requests: the gateway's reachability probe (``providers { … }``) asks
  "is it there", any answer will do;
- paths a contract lists under ``x-passthrough`` (URLs the provider hands out, such
  as pre-signed upload links, which are not its API).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import (
    OperationNotFound,
    PathNotFound,
    ServerNotFound,
)
from werkzeug.datastructures import Headers, ImmutableMultiDict

from adapters.sandbox_kit import Exchange

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


class _Request:
    """openapi-core's ``Request`` protocol over a recorded exchange."""

    def __init__(self, exchange: Exchange) -> None:
        self.host_url = f"http://{exchange.provider}.sandbox"
        self.path = exchange.path
        self.method = exchange.method.lower()
        self.body = exchange.body or None
        self.content_type = exchange.headers.get("content-type", "").lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(exchange.query, keep_blank_values=True)),
            header=Headers(exchange.headers),
            cookie=ImmutableMultiDict(),
            path={},
        )


class _Response:
    """openapi-core's ``Response`` protocol over a recorded answer."""

    def __init__(self, exchange: Exchange) -> None:
        self.status_code = exchange.status
        self.headers = Headers(exchange.response_headers)
        self.data = exchange.response_body
        self.content_type = exchange.response_headers.get("content-type", "").lower()


def _text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # some openapi-core errors cannot print their cause
        return repr(error.__cause__ or error.__context__)


def describe(error: BaseException) -> str:
    """One line: the error and the schema errors under it."""
    cause = error.__cause__
    details = getattr(cause, "schema_errors", None) or getattr(
        error, "schema_errors", None
    )
    if details:
        return f"{type(error).__name__}: " + "; ".join(str(e.message) for e in details)
    text = f"{type(error).__name__}: {_text(error)}"
    if cause is not None:
        text += f" ({type(cause).__name__}: {_text(cause)})"
    return text


def _media_types(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "content" and isinstance(value, dict):
                yield from value
            yield from _media_types(value)
    elif isinstance(node, list):
        for item in node:
            yield from _media_types(item)


def _config(document: dict[str, Any]) -> Config:
    """JSON for every ``…+json`` media type a contract names (HAL's, say), which
    openapi-core would otherwise hand over as bytes."""
    structured = {m for m in _media_types(document) if m.endswith("+json")}
    return Config(extra_media_type_deserializers=dict.fromkeys(structured, _json))


def _json(value: bytes, **parameters: str) -> Any:
    """JSON whatever the media type's parameters (``; charset=utf-8``): JSON text
    is UTF-8 (RFC 8259 §8.1)."""
    return json.loads(value)


@dataclass
class Contract:
    provider: str
    spec: OpenAPI
    passthrough: tuple[re.Pattern[str], ...]
    document: dict[str, Any]
    base: str = ""  # the server's path, before every contract path
    paths: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Contract:
        document = yaml.safe_load(path.read_text())
        # Sandboxes answer on any host: servers keep only their paths
        # ("https://{tenant}.mambu.com/api" → "/api"), variables and all.
        document["servers"] = [
            {"url": urlsplit(server["url"]).path.rstrip("/") or "/"}
            for server in document.get("servers") or [{"url": "/"}]
        ]
        passthrough = document.get("x-passthrough", {}).get("paths", [])
        return cls(
            provider=path.stem,
            spec=OpenAPI.from_dict(document, config=_config(document)),
            passthrough=tuple(re.compile(p) for p in passthrough),
            document=document,
            base=document.get("servers", [{"url": "/"}])[0]["url"].rstrip("/"),
            paths=document["paths"],
        )


@dataclass(frozen=True)
class Outcome:
    """What the contract says of one exchange."""

    kind: str  # "api", "probe" or "passthrough"
    request_errors: tuple[str, ...] = ()
    response_errors: tuple[str, ...] = ()
    response_checked: bool = False


@dataclass
class Tally:
    """Counts per provider, for the session summary."""

    requests: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)
    refused_invalid: Counter[str] = field(default_factory=Counter)
    probes: Counter[str] = field(default_factory=Counter)
    passthrough: Counter[str] = field(default_factory=Counter)
    violations: Counter[str] = field(default_factory=Counter)


class Contracts:
    def __init__(self, contracts: dict[str, Contract]) -> None:
        self.by_provider = contracts

    def __contains__(self, provider: object) -> bool:
        return provider in self.by_provider

    def check(self, exchange: Exchange) -> Outcome | None:
        """None when no contract covers the exchange's provider."""
        contract = self.by_provider.get(exchange.provider or "")
        if contract is None:
            return None
        if exchange.method == "HEAD":
            return Outcome("probe")
        if any(p.search(exchange.path) for p in contract.passthrough):
            return Outcome("passthrough")
        request = _Request(exchange)
        request_errors: list[str] = []
        unknown: str | None = None
        literal = contract.paths.get(exchange.path[len(contract.base) :])
        try:
            if literal is not None and exchange.method.lower() not in literal:
                # openapi-core would match "/documents/" to "/documents/{id}" with
                # an empty id; a path the contract names as it is wins.
                raise OperationNotFound(exchange.path, exchange.method.lower())
            contract.spec.validate_request(request)
        except (PathNotFound, ServerNotFound) as exc:
            request_errors.append(describe(exc))
            unknown = "path"
        except OperationNotFound as exc:
            request_errors.append(describe(exc))
            unknown = "method"
        except Exception as exc:  # openapi-core raises a tree of its own errors
            request_errors.append(describe(exc))
        response_errors: list[str] = []
        checked = not exchange.faulted
        if checked and unknown is not None:
            # No operation to check the answer against: it must refuse, and a
            # 405 must say which methods the path takes (RFC 9110 §15.5.6).
            if unknown == "method" and (
                exchange.status != 405 or "allow" not in exchange.response_headers
            ):
                response_errors.append(
                    f"a method the path does not take answered {exchange.status} "
                    f"(Allow: {exchange.response_headers.get('allow')}), not 405 "
                    "with Allow"
                )
        elif checked:
            try:
                contract.spec.validate_response(request, _Response(exchange))
            except Exception as exc:
                response_errors.append(describe(exc))
        return Outcome("api", tuple(request_errors), tuple(response_errors), checked)


def load_contracts(directory: Path = CONTRACTS) -> Contracts:
    return Contracts(
        {p.stem: Contract.load(p) for p in sorted(directory.glob("*.yaml"))}
    )
