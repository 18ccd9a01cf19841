"""Benchmark data: a supply of running applications for state actions under load.

A state action changes its application for good (approved stays approved), so a
benchmark that approves needs a fresh application per request: ``make bench`` asks
for them over HTTP (``POST /_sandbox/seed/applications`` ``{"count": n}`` on the
standalone sandbox, see :class:`adapters.sandbox_kit.SandboxAdmin`) or at start
(``gateway sandbox --bench-applications N``), and gets their ids back.

A population to read (``seed_population``): applications in assorted states, so a
benchmark's every request can name its own record (``make bench`` seeds 10,000);
enrollments likewise (``seed_enrollments``: distinct people, the demo's states).

Each one is a small but whole application in the demo's shape (one primary
applicant with a contact, a product, a funding amount), ``running``, so every
action link is offered. The ids continue the store's deterministic sequence.
An unfiltered list pages the store's ordered view (``Store.ordered_applications``):
its cost per call does not grow with the number of applications.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.apiture.sandbox.demo import (
    APPLICATION_PROFILE,
    CONTACT_PROFILE,
    ENROLLMENT_CYCLE,
    person_enrollment,
)
from adapters.apiture.sandbox.store import JSON, Store, timestamp, workflow_state

BENCH_TIME = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)


def seed_running_applications(store: Store, count: int) -> list[str]:
    """Add ``count`` running applications; answer their ids in creation order."""
    start = len(store.applications)
    ids = []
    for n in range(start, start + count):
        record = store.add_application(_application(store, n))
        ids.append(record.id)
    return ids


# The states of a population, in turn: mostly running and decided ones.
POPULATION_STATES = (
    "running",
    "approved",
    "running",
    "blocked",
    "rejected",
    "approved",
    "canceled",
    "expired",
)


def seed_population(store: Store, count: int) -> list[str]:
    """Add ``count`` applications in the states of :data:`POPULATION_STATES` in
    turn; answer their ids in creation order."""
    ids = seed_running_applications(store, count)
    for n, id_ in enumerate(ids):
        state = POPULATION_STATES[n % len(POPULATION_STATES)]
        if state != "running":
            store.set_application_state(id_, state)
    return ids


def seed_enrollments(store: Store, count: int) -> list[str]:
    """Add ``count`` enrollments of distinct people, in the demo's cycle of
    states (verified as the demo's are); answer their ids in creation order."""
    ids = []
    for n in range(count):
        state = ENROLLMENT_CYCLE[n % len(ENROLLMENT_CYCLE)]
        verified = state == "approved" or n % 3 != 1
        # people after the demo's (its 64 applicants and 18 enrollees)
        data = person_enrollment(store, 82 + n, state, verified)
        ids.append(store.add_enrollment(data).id)
    return ids


def _application(store: Store, n: int) -> JSON:
    id_, contact_id = store.new_id(), store.new_id()
    first, last = "Bench", f"Applicant{n}"
    created = BENCH_TIME + timedelta(seconds=n)
    return {
        "_id": id_,
        "_profile": APPLICATION_PROFILE,
        "applicantName": f"{first} {last}",
        "accountName": f"Bench Checking {n}",
        "productName": "Personal Checking",
        "fundingAmount": {"value": "100.00", "currency": "USD"},
        "state": "running",
        "workflowState": workflow_state("running"),
        "createdAt": timestamp(created),
        "organization": {},
        "applicants": [
            {
                "username": f"bench.applicant{n}",
                "contact": {
                    "_id": contact_id,
                    "_profile": CONTACT_PROFILE,
                    "firstName": first,
                    "lastName": last,
                    "emailAddresses": [
                        {"_id": "ea1", "value": f"bench{n}@example.com"},
                    ],
                    "preferredEmailAddressId": "ea1",
                    "_links": {"self": {"href": f"/contacts/contacts/{contact_id}"}},
                },
                "role": {"name": "primaryUser", "label": "Primary User"},
                "verified": True,
            }
        ],
        "products": [{"name": "Personal Checking"}],
        "documents": [],
        "_links": {"self": {"href": f"/accountApplications/applications/{id_}"}},
    }
