"""The sandbox's data: applications and enrollments, their ETags and state machines.

Records hold the provider JSON as the seed shows it, minus what is computed on the way
out (action links, summaries). Every mutation bumps the record's revision, and the
ETag is derived from (id, revision), so any change (PUT, PATCH, an action, a test
hook) invalidates earlier ETags.

State machine (seed L24-48, digest §4.1/§4.2):
    running | blocked  -> canceled | expired | approved | rejected
    blocked            -> running            (start)
    terminal states (canceled, expired, approved, rejected) never change.
An action whose target is the current state is a no-op (200), start on a running
application included (L3015). Anything else is a 409. Enrollments know approve and
reject only; approve also needs a verified applicant (L13416).
"""

from __future__ import annotations

import copy
import hashlib
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

JSON = dict[str, Any]

STATES = (
    "pending",
    "running",
    "blocked",
    "canceled",
    "expired",
    "rejected",
    "approved",
)
TERMINAL = frozenset({"canceled", "expired", "rejected", "approved"})
ACTIVE = frozenset({"running", "blocked"})

# action -> (target state, the state set the action POSTs to)
APPLICATION_ACTIONS: dict[str, tuple[str, str]] = {
    "approve": ("approved", "approvedApplications"),
    "reject": ("rejected", "rejectedApplications"),
    "cancel": ("canceled", "canceledApplications"),
    "expire": ("expired", "expiredApplications"),
    "start": ("running", "runningApplications"),
}
ENROLLMENT_ACTIONS: dict[str, tuple[str, str]] = {
    "approve": ("approved", "approvedEnrollments"),
    "reject": ("rejected", "rejectedEnrollments"),
}

Outcome = Literal["change", "noop", "conflict"]


class ApiError(Exception):
    """A refusal the sandbox answers with an ``errorResponse`` body."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        attributes: JSON | None = None,
        remediation: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.attributes = attributes
        self.remediation = remediation


def application_outcome(state: str, action: str) -> Outcome:
    target = APPLICATION_ACTIONS[action][0]
    if state == target:
        return "noop"
    if action == "start":
        return "change" if state == "blocked" else "conflict"
    return "change" if state in ACTIVE else "conflict"


def enrollment_outcome(state: str, action: str, verified: bool) -> Outcome:
    target = ENROLLMENT_ACTIONS[action][0]
    if state == target:
        return "noop"
    if state not in ACTIVE:
        return "conflict"
    if action == "approve" and not verified:
        return "conflict"
    return "change"


def timestamp(when: datetime) -> str:
    """RFC 3339 UTC with milliseconds, as the seed writes them (L853)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{when.microsecond // 1000:03d}Z"
    )


@dataclass
class Record:
    data: JSON
    revision: int = 1
    # Told of every change (the store's ordered views of its records).
    on_touch: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    # (revision, body) of its list summary, made once per revision
    # (``hal.application_summary``): every change goes through ``touch``.
    summary: tuple[int, JSON] | None = field(default=None, repr=False, compare=False)

    @property
    def id(self) -> str:
        return str(self.data["_id"])

    @property
    def etag(self) -> str:
        digest = hashlib.sha1(f"{self.id}:{self.revision}".encode()).hexdigest()
        return f'"{digest[:20]}"'

    def touch(self) -> None:
        self.revision += 1
        if self.on_touch is not None:
            self.on_touch()


class Store:
    """Applications and enrollments by ``_id``, in creation order.

    Test hooks: ``application_ids``/``enrollment_ids``, ``ids_in_state``,
    ``set_application_state``, ``set_enrollment_state``, ``set_enrollment_verified``,
    ``application``/``enrollment`` (a copy of the stored JSON) and the ``*_etag``
    readers.
    """

    def __init__(
        self, *, seed: int = 0, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.rng = random.Random(seed)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.applications: dict[str, Record] = {}
        self.enrollments: dict[str, Record] = {}
        # Ordered views of every application, by ``sortBy``: a list call pages a
        # view already sorted instead of sorting the whole store (the benchmark's
        # sandbox answers in the same CPU at 1,000 or 10,000 applications).
        self._added = 0  # applications ever added: with the count, the membership
        self._edits = 0  # record changes (a sort over a changeable field)
        self._views: dict[str, tuple[tuple[int, int, int], list[Record]]] = {}

    # ids and time ---------------------------------------------------------------

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def now(self) -> str:
        return timestamp(self.clock())

    # reading --------------------------------------------------------------------

    @property
    def application_ids(self) -> list[str]:
        return list(self.applications)

    @property
    def enrollment_ids(self) -> list[str]:
        return list(self.enrollments)

    def ids_in_state(self, state: str, *, enrollments: bool = False) -> list[str]:
        records = self.enrollments if enrollments else self.applications
        return [i for i, r in records.items() if r.data["state"] == state]

    def application(self, id_: str) -> JSON:
        return copy.deepcopy(self.applications[id_].data)

    def enrollment(self, id_: str) -> JSON:
        return copy.deepcopy(self.enrollments[id_].data)

    def application_etag(self, id_: str) -> str:
        return self.applications[id_].etag

    def enrollment_etag(self, id_: str) -> str:
        return self.enrollments[id_].etag

    def iter_applications(self) -> Iterator[Record]:
        return iter(list(self.applications.values()))

    def iter_enrollments(self) -> Iterator[Record]:
        return iter(list(self.enrollments.values()))

    def ordered_applications(
        self, sort_by: str | None, sort: Callable[[list[JSON], str | None], None]
    ) -> list[Record]:
        """Every application in ``sortBy`` order (``sort`` orders their JSON in
        place), kept until an application is added or removed or, for a sort
        over anything but ``createdAt`` (which never changes), until one changes.
        Callers must not change the list."""
        fixed = {k.lstrip("+-") for k in (sort_by or "").split(",") if k} <= {
            "createdAt"
        }
        version = (self._added, len(self.applications), 0 if fixed else self._edits)
        key = sort_by or ""
        cached = self._views.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        records = list(self.applications.values())
        data = [r.data for r in records]
        sort(data, sort_by)
        by_id = {r.id: r for r in records}
        ordered = [by_id[d["_id"]] for d in data]
        self._views[key] = (version, ordered)
        return ordered

    def _edited(self) -> None:
        self._edits += 1

    # test hooks -------------------------------------------------------------------

    def set_application_state(self, id_: str, state: str) -> None:
        """Force a state, bypassing the machine (e.g. the service-side running ->
        blocked, which no operation causes, digest §9.4)."""
        self._force_state(self.applications[id_], state)

    def set_enrollment_state(self, id_: str, state: str) -> None:
        self._force_state(self.enrollments[id_], state)

    def set_enrollment_verified(self, id_: str, verified: bool) -> None:
        record = self.enrollments[id_]
        for applicant in _applicants_of(record.data):
            applicant["verified"] = verified
        record.touch()

    # mutations used by the routes ----------------------------------------------------

    def add_application(self, data: JSON) -> Record:
        record = Record(data, on_touch=self._edited)
        self.applications[record.id] = record
        self._added += 1
        return record

    def add_enrollment(self, data: JSON) -> Record:
        record = Record(data)
        self.enrollments[record.id] = record
        return record

    def change_state(self, record: Record, state: str) -> None:
        self._force_state(record, state)

    def _force_state(self, record: Record, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        data = record.data
        data["state"] = state
        data["workflowState"] = workflow_state(state)
        if state in TERMINAL:
            data.setdefault("completedAt", self.now())
        else:
            data.pop("completedAt", None)
        record.touch()


def workflow_state(state: str) -> str:
    """The seed never enumerates ``workflowState`` (L852). REC: the workflow runs
    while the application does, is canceled with it (L2795), else completed."""
    if state == "pending":
        return "pending"
    if state in ACTIVE:
        return "running"
    return "canceled" if state == "canceled" else "completed"


def enrollment_verified(data: JSON) -> bool:
    applicant = data.get("applicant")
    if isinstance(applicant, dict):
        return applicant.get("verified") is True
    applicants = data.get("applicants") or []
    return bool(applicants) and all(
        isinstance(a, dict) and a.get("verified") is True for a in applicants
    )


def _applicants_of(data: JSON) -> Iterator[JSON]:
    applicant = data.get("applicant")
    if isinstance(applicant, dict):
        yield applicant
    for item in data.get("applicants") or []:
        if isinstance(item, dict) and item is not applicant:
            yield item
