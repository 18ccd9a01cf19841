"""The connectFi sandbox's data: applications, documents, tokens, and the demo set.

Applications are kept exactly as the wire carries them (``record``), with the
creation time the ``/akepa/list`` date filter needs beside them, never sent. Uploaded
files are kept whole (bytes, SHA-256, size) so that tests compare them byte for byte.

The demo set is deterministic: the seed's customer with the seed's two applications,
a personal customer with one application per journey status, a business customer
whose applications have representatives, and a customer with
:data:`BULK_APPLICATIONS` applications (more than one page of 1000).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.sandbox_webhooks import WebhookSender

AGGREGATOR_ID = "CLIENTID"
MAX_RECORDS = 1000

SEED_CUSTOMER_ID = "cstap_5mBHiIx3QbkvEpjGfKsI9k"  # seed 002's example
JOURNEY_CUSTOMER_ID = "cstap_3QvLr8TnWc2XkP7dYhZa1m"  # one application per status
BUSINESS_CUSTOMER_ID = "cstap_7HbN2pKxRz9qWmE4sTfUoV"  # with representatives
BULK_CUSTOMER_ID = "cstap_9GfT4kLmQw8ZxC1vBnYsRe"  # more than one page
BULK_APPLICATIONS = 1203

# Every journey status of the reference, with the outcome it carries.
JOURNEYS: tuple[tuple[str, str | None], ...] = (
    ("running", None),
    ("waiting_review", None),
    ("pending_journey_application_review", None),
    ("pending_step_up", None),
    ("pending_documents", None),
    ("data_request", None),
    ("completed", "Approved"),
    ("completed", "Denied"),
)

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def demo_id(prefix: str, seed: str, length: int = 22) -> str:
    """A deterministic connectFi-looking id (``iapp_…``, ``doc_…``)."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return f"{prefix}_{''.join(chars)}"


def iso(moment: datetime) -> str:
    """connectFi's timestamp format: milliseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class StoredApplication:
    record: dict[str, Any]  # exactly what the wire carries
    created_at: datetime  # not on the wire; the date filter needs it
    # The ``webhookURL`` given to ``/akepa/identification``; None: the store's.
    webhook_url: str | None = None


@dataclass
class StoredDocument:
    record: dict[str, Any]
    content: bytes | None = None
    sha256: str | None = None

    @property
    def size(self) -> int | None:
        return None if self.content is None else len(self.content)


@dataclass
class ConnectFiStore:
    """The sandbox's data. Tests read and arrange it through ``app.store``."""

    aggregator_id: str = AGGREGATOR_ID
    applications: dict[str, StoredApplication] = field(default_factory=dict)
    documents: dict[str, StoredDocument] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)  # token → expiry
    # Where an application with no ``webhook_url`` of its own is posted when a
    # manual review resolves (the demo applications were started with it).
    webhook_url: str | None = None
    webhooks: WebhookSender = field(default_factory=WebhookSender)
    _by_customer: dict[str, list[str]] = field(default_factory=dict)

    def customers(self) -> list[str]:
        return list(self._by_customer)

    def application_ids(self, customer_id: str) -> list[str]:
        """The customer's application ids in list order (newest first)."""
        stored = self.applications_of(customer_id)
        return [application.record["applicationId"] for application in stored]

    def applications_of(self, customer_id: str) -> list[StoredApplication]:
        stored = [self.applications[a] for a in self._by_customer.get(customer_id, [])]
        # Newest first, as in the seed's example; ties in insertion order reversed.
        ordered = list(enumerate(stored))
        ordered.sort(key=lambda pair: (pair[1].created_at, pair[0]), reverse=True)
        return [app for _, app in ordered]

    def add_application(
        self,
        customer_id: str,
        *,
        status: str,
        created_at: datetime,
        outcome: str | None = None,
        reference: str | None = None,
        application_id: str | None = None,
        entities: Sequence[dict[str, Any]] | None = None,
    ) -> StoredApplication:
        number = len(self.applications)
        application_id = application_id or demo_id("iapp", f"{customer_id}:{number}")
        if entities is None:
            entities = [
                {
                    "entityId": customer_id,
                    "isCustomer": True,
                    "status": status,
                    "outcome": outcome.lower() if outcome else None,
                }
            ]
        stored = StoredApplication(
            record={
                "applicationId": application_id,
                "aggregatorId": self.aggregator_id,
                "customerId": customer_id,
                "reference": reference or f"extRefApp{number}",
                "status": status,
                "outcome": outcome,
                "entityApplications": [dict(e) for e in entities],
            },
            created_at=created_at,
        )
        self.applications[application_id] = stored
        self._by_customer.setdefault(customer_id, []).append(application_id)
        return stored

    def set_status(
        self, application_id: str, status: str, outcome: str | None = None
    ) -> None:
        record = self.applications[application_id].record
        record["status"], record["outcome"] = status, outcome
        for entity in record["entityApplications"]:
            entity["status"] = status
            entity["outcome"] = outcome.lower() if outcome else None

    def revoke_tokens(self) -> None:
        """Invalidate every token, as a provider-side logout or rotation would."""
        self.tokens.clear()


def seed_demo_data(store: ConnectFiStore) -> None:
    seed_day = datetime(2023, 11, 1, 16, 40, tzinfo=UTC)
    for number, application_id in (
        (100, "iapp_ASiuCX9tz9FGwlyiNHba2"),
        (101, "iapp_1BGgJeDQJFo5MCup15zq9A"),
    ):
        store.add_application(
            SEED_CUSTOMER_ID,
            status="pending_step_up",
            created_at=seed_day + timedelta(minutes=number - 100),
            reference=f"extRefApp{number}",
            application_id=application_id,
        )
    journeys_day = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
    for index, (status, outcome) in enumerate(JOURNEYS):
        store.add_application(
            JOURNEY_CUSTOMER_ID,
            status=status,
            outcome=outcome,
            created_at=journeys_day + timedelta(days=index),
            reference=f"journey{index}",
        )
    _seed_business(store, datetime(2024, 2, 1, 9, 0, tzinfo=UTC))
    bulk_start = datetime(2022, 6, 1, tzinfo=UTC)
    for index in range(BULK_APPLICATIONS):
        status, outcome = JOURNEYS[index % len(JOURNEYS)]
        store.add_application(
            BULK_CUSTOMER_ID,
            status=status,
            outcome=outcome,
            created_at=bulk_start + timedelta(hours=index),
            reference=f"bulk{index}",
        )


def _seed_business(store: ConnectFiStore, day: datetime) -> None:
    representatives = [
        demo_id("cstap", f"{BUSINESS_CUSTOMER_ID}:rep:{n}") for n in range(2)
    ]

    def entity(entity_id: str, status: str, outcome: str | None) -> dict[str, Any]:
        return {
            "entityId": entity_id,
            "isCustomer": entity_id == BUSINESS_CUSTOMER_ID,
            "status": status,
            "outcome": outcome,
        }

    cases: list[tuple[str, str | None, list[dict[str, Any]]]] = [
        (
            "waiting_review",
            None,
            [
                entity(BUSINESS_CUSTOMER_ID, "completed", "approved"),
                entity(representatives[0], "waiting_review", None),
                entity(representatives[1], "completed", "approved"),
            ],
        ),
        (
            "completed",
            "Approved",
            [
                entity(BUSINESS_CUSTOMER_ID, "completed", "approved"),
                entity(representatives[0], "completed", "approved"),
                entity(representatives[1], "completed", "approved"),
            ],
        ),
        (
            "completed",
            "Denied",
            [
                entity(BUSINESS_CUSTOMER_ID, "completed", "approved"),
                entity(representatives[0], "completed", "denied"),
                entity(representatives[1], "completed", "approved"),
            ],
        ),
    ]
    for index, (status, outcome, entities) in enumerate(cases):
        store.add_application(
            BUSINESS_CUSTOMER_ID,
            status=status,
            outcome=outcome,
            created_at=day + timedelta(days=index),
            reference=f"business{index}",
            entities=entities,
        )
