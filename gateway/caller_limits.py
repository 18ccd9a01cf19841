"""Each caller's rate limits: requests per second and query cost per second.

The policy in front of a limiter (``gateway.redis_limits`` for a fleet, the
in-process ``MemoryLimiter`` for one replica): who the caller is, what a request
costs, and the refusal the GraphQL view answers with (429, ``RATE_LIMITED``).
Counters (plain attributes, for the metrics): ``CallerLimits.refused`` by kind
(``requests``, ``cost``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request

from adapters.transport.ratelimit import Bucket, Decision, Limiter
from caching import Cache, bounds
from gateway.redis_limits import bucket_key
from schema.limits import QueryLimits, operation_cost


@dataclass
class Refusal:
    kind: str  # "requests" or "cost"
    decision: Decision

    @property
    def message(self) -> str:
        what = "requests" if self.kind == "requests" else "query cost"
        return (
            f"too many {what} from this caller: retry after "
            f"{self.decision.retry_after_header} s"
        )


@dataclass
class CallerLimits:
    """Each caller's request rate and query-cost rate (``GATEWAY_RATE_LIMIT_*``).

    The caller is the token's subject, or the client's address when the caller
    is anonymous (authentication off). A request charges one unit of its
    caller's request bucket and its estimated cost (``schema.limits``, the cost
    ``GATEWAY_MAX_QUERY_COST`` bounds) of the cost bucket, together.
    """

    limiter: Limiter
    requests_per_second: float = 0.0
    request_burst: float = 1.0
    cost_per_second: float = 0.0
    cost_burst: float = 1.0
    limits: QueryLimits = field(default_factory=QueryLimits)
    refused: dict[str, int] = field(default_factory=lambda: {"requests": 0, "cost": 0})
    # Parsed operations by (text, name), bounded in bytes like the schema's own
    # documents (caching.bounds).
    _operations: Cache[tuple[str, str | None], _Parsed] = field(
        default_factory=lambda: Cache(
            bounds.DOCUMENTS_MAX_BYTES // 4,
            _weigh,
            max_entry_bytes=bounds.DOCUMENT_MAX_ENTRY_BYTES,
        )
    )

    @property
    def enabled(self) -> bool:
        return self.requests_per_second > 0 or self.cost_per_second > 0

    async def check(
        self,
        request: Request,
        query: str | None,
        operation_name: str | None,
        variables: Mapping[str, Any] | None = None,
    ) -> Refusal | None:
        """None if the request may run; else which limit refused it."""
        identity = caller_identity(request)
        buckets: list[Bucket] = []
        cost_key = None
        if self.requests_per_second > 0:
            buckets.append(
                Bucket(
                    bucket_key("req", identity),
                    self.requests_per_second,
                    self.request_burst,
                )
            )
        if self.cost_per_second > 0 and query:
            cost = self.cost(query, operation_name, variables)
            cost_key = bucket_key("cost", identity)
            buckets.append(
                Bucket(
                    cost_key,
                    self.cost_per_second,
                    self.cost_burst,
                    cost,
                )
            )
        if not buckets:
            return None
        decision = await self.limiter.acquire(buckets)
        if decision.allowed:
            return None
        kind = "cost" if decision.refused_by == cost_key else "requests"
        self.refused[kind] += 1
        return Refusal(kind, decision)

    def cost(
        self,
        query: str,
        operation_name: str | None,
        variables: Mapping[str, Any] | None = None,
    ) -> int:
        """The estimated cost of the operation, page sizes from ``variables``;
        1 for a text that does not parse or names no operation (the request is
        refused anyway, and costs nothing upstream)."""
        key = (query, operation_name)
        found = self._operations.get(key)
        if found is None:
            found = _operation(query, operation_name, self.limits.max_tokens)
            self._operations.put(key, found)
        if found.document is None or found.operation is None:
            return 1
        cost = operation_cost(
            found.document, found.operation, self.limits.max_page, variables
        )
        return max(1, cost)


@dataclass(frozen=True)
class _Parsed:
    document: DocumentNode | None = None
    operation: OperationDefinitionNode | None = None  # None: nothing to run


def _weigh(key: tuple[str, str | None], value: _Parsed) -> int:
    return len(key[0]) * bounds.DOCUMENT_CHAR_BYTES


def _operation(query: str, operation_name: str | None, max_tokens: int) -> _Parsed:
    try:
        document = parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return _Parsed()
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        ):
            return _Parsed(document, definition)
    return _Parsed(document)


def caller_identity(request: Request) -> str:
    """The token's subject; the client's address for an anonymous caller."""
    caller: Any = getattr(request.state, "caller", None)
    subject = getattr(caller, "subject", None)
    roles = getattr(caller, "roles", None)
    if isinstance(subject, str) and subject != "anonymous" and roles is not None:
        return "sub:" + subject
    host = request.client.host if request.client else "unknown"
    return "ip:" + host
