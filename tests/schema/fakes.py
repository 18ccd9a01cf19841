"""In-memory providers behind the ports (:mod:`adapters.ports`), for schema tests
that need no sandbox: records held in dicts, every call recorded in ``calls``.

Each fake implements its provider's port bundle in full (mypy checks it in
``make check``: :data:`_CHECKED`), answering from what a test put in it; a test
sets ``failure`` to make every call of that provider raise it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypeVar

from adapters.auco.inputs import SignatureRequest
from adapters.errors import AdapterError, InvalidStateTransition, NotFound
from adapters.model import (
    Action,
    Application,
    ApplicationInput,
    ApplicationQuery,
    Document,
    Enrollment,
    EnrollmentInput,
    Owner,
    Page,
    Provider,
    State,
    Upload,
)
from adapters.ports import ApiturePort, AucoPort, ConnectFiPort, MambuPort
from adapters.transport.breaker import CircuitBreaker
from schema.authz import DocumentOwners
from schema.context import Upstreams

T = TypeVar("T")

AFTER: dict[Action, State] = {
    Action.APPROVE: State.APPROVED,
    Action.REJECT: State.REJECTED,
    Action.CANCEL: State.CANCELED,
    Action.EXPIRE: State.EXPIRED,
    Action.START: State.RUNNING,
}


@dataclass
class _Recording:
    provider: Provider
    calls: list[tuple[object, ...]] = field(default_factory=list)
    failure: AdapterError | None = None

    def _call(self, *call: object) -> None:
        self.calls.append(call)
        if self.failure is not None:
            raise self.failure

    def _missing(self) -> NotFound:
        return NotFound("no such record", provider=self.provider)


def _page(items: Sequence[T], offset: int, limit: int) -> Page[T]:
    chosen = items[offset : offset + limit]
    return Page(chosen, offset, len(items), offset + len(chosen) < len(items))


@dataclass
class FakeApiture(_Recording):
    provider: Provider = Provider.APITURE
    applications: dict[str, Application] = field(default_factory=dict)
    enrollments: dict[str, Enrollment] = field(default_factory=dict)

    async def get_applications(
        self, ids: Sequence[str]
    ) -> Mapping[str, Application | AdapterError]:
        self._call("get_applications", tuple(ids))
        return {i: self.applications.get(i) or self._missing() for i in ids}

    async def get_enrollments(
        self, ids: Sequence[str]
    ) -> Mapping[str, Enrollment | AdapterError]:
        self._call("get_enrollments", tuple(ids))
        return {i: self.enrollments.get(i) or self._missing() for i in ids}

    async def list_applications(
        self,
        query: ApplicationQuery,
        offset: int,
        limit: int,
        *,
        view: Literal["all", "running", "blocked"] = "all",
        applicant: str | None = None,
    ) -> Page[Application]:
        self._call("list_applications", offset, limit)
        items = [
            a
            for a in self.applications.values()
            if not query.states or a.state in query.states
        ]
        return _page(items, offset, limit)

    async def list_enrollments(
        self, query: ApplicationQuery, offset: int, limit: int
    ) -> Page[Enrollment]:
        self._call("list_enrollments", offset, limit)
        return _page(list(self.enrollments.values()), offset, limit)

    async def create_application(self, data: ApplicationInput) -> Application:
        self._call("create_application", data)
        key = f"app-{len(self.applications) + 1}"
        made = Application(
            Provider.APITURE, key, key, State.RUNNING, "running", name=data.account_name
        )
        self.applications[key] = made
        return made

    async def update_application(
        self, id: str, changes: ApplicationInput, if_match: str | None
    ) -> Application:
        self._call("update_application", id, changes, if_match)
        return self._store(id, name=changes.account_name)

    async def replace_application(
        self, id: str, data: ApplicationInput, if_match: str | None
    ) -> Application:
        self._call("replace_application", id, data, if_match)
        return self._store(id, name=data.account_name)

    async def delete_application(self, id: str, if_match: str | None) -> None:
        self._call("delete_application", id, if_match)
        self._get(id)
        del self.applications[id]

    async def act_on_application(
        self, id: str, action: Action, if_match: str | None
    ) -> Application:
        self._call("act_on_application", id, action, if_match)
        if action not in self._get(id).available_actions:
            raise InvalidStateTransition("not now", provider=self.provider)
        return self._store(id, state=AFTER[action], available_actions=frozenset())

    async def create_enrollment(self, data: EnrollmentInput) -> Enrollment:
        self._call("create_enrollment", data)
        raise NotImplementedError

    async def update_enrollment(
        self, id: str, changes: EnrollmentInput, if_match: str | None
    ) -> Enrollment:
        self._call("update_enrollment", id, changes, if_match)
        raise NotImplementedError

    async def replace_enrollment(
        self, id: str, data: EnrollmentInput, if_match: str | None
    ) -> Enrollment:
        self._call("replace_enrollment", id, data, if_match)
        raise NotImplementedError

    async def delete_enrollment(self, id: str) -> None:
        self._call("delete_enrollment", id)
        self.enrollments.pop(id)

    async def act_on_enrollment(
        self, id: str, action: Action, if_match: str | None
    ) -> Enrollment:
        self._call("act_on_enrollment", id, action, if_match)
        found = self.enrollments.get(id)
        if found is None:
            raise self._missing()
        changed = dataclasses.replace(found, state=AFTER[action])
        self.enrollments[id] = changed
        return changed

    def _get(self, id: str) -> Application:
        found = self.applications.get(id)
        if found is None:
            raise self._missing()
        return found

    def _store(
        self,
        id: str,
        *,
        name: str | None = None,
        state: State | None = None,
        available_actions: frozenset[Action] | None = None,
    ) -> Application:
        old = self._get(id)
        new = dataclasses.replace(
            old,
            version=str(int(old.version or "0") + 1),
            name=name if name is not None else old.name,
            state=state or old.state,
            available_actions=(
                old.available_actions
                if available_actions is None
                else available_actions
            ),
        )
        self.applications[id] = new
        return new


@dataclass
class FakeConnectFi(_Recording):
    provider: Provider = Provider.CONNECTFI
    applications: dict[str, Application] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)

    async def get_applications(
        self, ids: Sequence[str]
    ) -> Mapping[str, Application | AdapterError]:
        self._call("get_applications", tuple(ids))
        return {i: self.applications.get(i) or self._missing() for i in ids}

    async def list_applications(
        self,
        customer_id: str,
        *,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        offset: int = 0,
        limit: int = 1000,
    ) -> Page[Application]:
        self._call("list_applications", customer_id, offset, limit)
        mine = [a for a in self.applications.values() if a.customer_id == customer_id]
        return _page(mine, offset, limit)

    async def generate_document(
        self,
        *,
        workflow: str,
        name: str,
        extension: str,
        type: str,
        note: str | None = None,
        note_author_agent_email: str | None = None,
    ) -> Document:
        self._call("generate_document", workflow, name, extension, type)
        raise NotImplementedError

    async def start_identification(
        self, customer_id: str, *, reference: str
    ) -> Application:
        self._call("start_identification", customer_id, reference)
        raise NotImplementedError

    async def upload_document(self, document_id: str, upload: Upload) -> Document:
        self._call("upload_document", document_id, upload.filename)
        raise NotImplementedError


@dataclass
class FakeMambu(_Recording):
    provider: Provider = Provider.MAMBU
    documents: dict[Owner, list[Document]] = field(default_factory=dict)
    contents: dict[str, str] = field(default_factory=dict)

    def _by_key(self) -> dict[str, Document]:
        return {d.key: d for listed in self.documents.values() for d in listed}

    async def get_documents(
        self, keys: Sequence[str]
    ) -> Mapping[str, Document | AdapterError]:
        self._call("get_documents", tuple(keys))
        known = self._by_key()
        return {k: known.get(k) or self._missing() for k in keys}

    async def get_contents(
        self, keys: Sequence[str]
    ) -> Mapping[str, str | AdapterError]:
        self._call("get_contents", tuple(keys))
        return {k: self.contents.get(k) or self._missing() for k in keys}

    async def list_documents(
        self, owner: Owner, *, offset: int, limit: int
    ) -> Page[Document]:
        self._call("list_documents", owner, offset, limit)
        return _page(self.documents.get(owner, []), offset, limit)

    async def documents_for_owners(
        self, owners: Sequence[Owner]
    ) -> Mapping[Owner, Sequence[Document] | AdapterError]:
        self._call("documents_for_owners", tuple(owners))
        return {o: tuple(self.documents.get(o, ())) for o in owners}

    async def upload_document(
        self, owner: Owner, *, name: str, upload: Upload
    ) -> Document:
        self._call("upload_document", owner, name)
        raise NotImplementedError

    async def delete_document(self, key: str) -> None:
        self._call("delete_document", key)
        for listed in self.documents.values():
            listed[:] = [d for d in listed if d.key != key]


@dataclass
class FakeAuco(_Recording):
    provider: Provider = Provider.AUCO
    documents: dict[str, Document] = field(default_factory=dict)

    async def get_documents(
        self, codes: Sequence[str]
    ) -> Mapping[str, Document | AdapterError]:
        self._call("get_documents", tuple(codes))
        return {c: self.documents.get(c) or self._missing() for c in codes}

    async def request_signature(
        self, request: SignatureRequest, upload: Upload | None
    ) -> Document:
        self._call("request_signature", request)
        raise NotImplementedError

    async def cancel_signature(
        self, code: str, *, reason: str | None = None
    ) -> Document:
        self._call("cancel_signature", code, reason)
        raise NotImplementedError


@dataclass
class FakeUpstreams:
    """All four providers in memory, embedded (no breaker ever opens)."""

    apiture: FakeApiture = field(default_factory=FakeApiture)
    connectfi: FakeConnectFi = field(default_factory=FakeConnectFi)
    mambu: FakeMambu = field(default_factory=FakeMambu)
    auco: FakeAuco = field(default_factory=FakeAuco)
    breakers: dict[Provider, CircuitBreaker] = field(
        default_factory=lambda: {p: CircuitBreaker() for p in Provider}
    )
    request_deadline: float = 15.0
    document_owners: DocumentOwners = field(default_factory=DocumentOwners)

    @property
    def sandboxes(self) -> Collection[Provider]:
        return frozenset(Provider)

    async def probe(self, provider: Provider) -> float | None:
        return 0.0


# Checked by mypy: each fake fits its port, and the whole fits the schema's context.
_CHECKED: tuple[ApiturePort, ConnectFiPort, MambuPort, AucoPort, Upstreams] = (
    FakeApiture(),
    FakeConnectFi(),
    FakeMambu(),
    FakeAuco(),
    FakeUpstreams(),
)
