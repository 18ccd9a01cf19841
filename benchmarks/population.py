"""The benchmark's population: enough records that every request names its own.

- Apiture: :data:`APPLICATIONS` applications in assorted states
  (:func:`adapters.apiture.sandbox.bench.seed_population`) and :data:`ENROLLMENTS`
  enrollments of distinct people in assorted states
  (:func:`adapters.apiture.sandbox.bench.seed_enrollments`), beside the demo's.
- connectFi and Mambu: :data:`CUSTOMERS` customers, each a connectFi customer with
  :data:`APPLICATIONS_PER_CUSTOMER` applications and a Mambu client of the same id
  with :data:`DOCUMENTS_PER_CLIENT` attachments (the link operation d follows).

Everything is deterministic: the same ids in every run. ``benchmarks/sandboxes.py``
seeds it into the standalone sandboxes and writes the ids the load draws from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.apiture.sandbox.bench import seed_enrollments, seed_population
from adapters.apiture.sandbox.store import Store as ApitureStore
from adapters.connectfi.sandbox.store import JOURNEYS, ConnectFiStore, demo_id
from adapters.mambu.sandbox.store import MambuStore

APPLICATIONS = 10_000
ENROLLMENTS = 2_500
CUSTOMERS = 250
APPLICATIONS_PER_CUSTOMER = 4
DOCUMENTS_PER_CLIENT = 3
EPOCH = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
_DOCUMENTS = (("passport", "jpg"), ("proof_of_address", "pdf"), ("payslip", "pdf"))


def customer_id(n: int) -> str:
    """The ``n``-th bench customer: a connectFi customer id, a Mambu client id."""
    return demo_id("cstap", f"bench-customer:{n}")


def customers(count: int = CUSTOMERS) -> list[str]:
    return [customer_id(n) for n in range(count)]


def seed_apiture(store: ApitureStore, count: int = APPLICATIONS) -> list[str]:
    """The population's Apiture applications; answers every application id in the
    store (the demo's too): each one a record an operation may read."""
    seed_population(store, count)
    return list(store.applications)


def seed_apiture_enrollments(
    store: ApitureStore, count: int = ENROLLMENTS
) -> list[str]:
    """The population's Apiture enrollments; answers every enrollment id in the
    store (the demo's too)."""
    seed_enrollments(store, count)
    return list(store.enrollments)


def seed_connectfi(
    store: ConnectFiStore,
    count: int = CUSTOMERS,
    per_customer: int = APPLICATIONS_PER_CUSTOMER,
) -> list[str]:
    """Each bench customer's applications, journey statuses in turn."""
    for n, customer in enumerate(customers(count)):
        for k in range(per_customer):
            status, outcome = JOURNEYS[(n + k) % len(JOURNEYS)]
            store.add_application(
                customer,
                status=status,
                outcome=outcome,
                created_at=EPOCH + timedelta(hours=n * per_customer + k),
                reference=f"bench{n}-{k}",
            )
    return customers(count)


def seed_mambu(
    store: MambuStore,
    count: int = CUSTOMERS,
    per_client: int = DOCUMENTS_PER_CLIENT,
) -> list[str]:
    """A Mambu client per bench customer, with its attachments."""
    for n, customer in enumerate(customers(count)):
        holder = store.add_holder("CLIENT", customer)
        for k in range(per_client):
            stem, ext = _DOCUMENTS[k % len(_DOCUMENTS)]
            store.add_document(
                holder,
                f"{stem}_{n}",
                ext,
                f"Bench attachment {k} of {customer}.\n".encode(),
                created=EPOCH + timedelta(minutes=n * per_client + k),
            )
    return customers(count)


def seed(provider: str, store: Any) -> dict[str, list[str]]:
    """Seed ``provider``'s share of the population; answer the ids by kind."""
    if provider == "apiture":
        return {
            "applications": seed_apiture(store),
            "enrollments": seed_apiture_enrollments(store),
        }
    if provider == "connectfi":
        return {"customers": seed_connectfi(store)}
    if provider == "mambu":
        return {"clients": seed_mambu(store)}
    return {}
