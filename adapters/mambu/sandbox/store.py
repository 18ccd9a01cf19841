"""The Mambu sandbox's data: holders, their attachments, and the deterministic demo.

The store is what ``create_app(...).store`` exposes to tests: they arrange holders and
documents with :meth:`MambuStore.add_holder` / :meth:`MambuStore.add_document` and read
back what an upload stored (``store.documents[encoded_key].content`` holds the decoded
bytes, so a test compares them with what it sent).

Demo data (rebuilt identically by every ``MambuStore.demo()``):

- the seed's own examples: client ``1`` (encoded key
  ``8a13732d44bde36e0144bfbf7e41009b``) holds the two documents of the seed's
  sample list, ids 59 and 41, verbatim; client
  ``2`` (encoded key ``8a13732d44cd56800144cf0311550077``) holds document 10 (encoded
  key ``8a13732d44bde36e0144bfc1e74100a9``) whose content is the seed's
  ``"ZmlsZSBjb250ZW50"``; client ``3`` and user ``demo`` carry the encoded keys of the
  seed's two POST examples; group ``2``, loan ``3``, savings ``2344``, loan product
  ``LDP``, savings product ``SDP``, branch ``b123`` and centre ``c123`` are the seed's
  GET examples. Every holder type has documents.
- clients whose ids are connectFi customer ids (:data:`DEMO_CLIENT_IDS`): the connectFi
  seed's ``cstap_5mBHiIx3QbkvEpjGfKsI9k`` and ``cstap_demo0001`` … ``cstap_demo0012``,
  so that a connectFi customer can be linked to its Mambu client by id.
- holders with enough documents to page: ``cstap_demo0001`` (30), ``cstap_demo0002``
  (26), group ``2`` (27), branch ``b123`` (25). ``cstap_demo0012`` has none.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

API_USER_KEY = "8a33ae49441c4fe101441c5fe42f0005"  # the seed's createdByUserKey
API_USER_NAME = "Max Power"  # the seed's userName

HOLDER_TYPES = (
    "CLIENT",
    "GROUP",
    "LOAN_ACCOUNT",
    "LOAN_PRODUCT",
    "DEPOSIT_ACCOUNT",
    "SAVINGS_PRODUCT",
    "BRANCH",
    "CENTRE",
    "USER",
)

DEMO_CLIENT_IDS: tuple[str, ...] = (
    "cstap_5mBHiIx3QbkvEpjGfKsI9k",
    *(f"cstap_demo{n:04d}" for n in range(1, 13)),
)

# (holder type, id, encoded key or None for a derived one, generated documents)
_DEMO_HOLDERS: tuple[tuple[str, str, str | None, int], ...] = (
    ("CLIENT", "1", "8a13732d44bde36e0144bfbf7e41009b", 0),
    ("CLIENT", "2", "8a13732d44cd56800144cf0311550077", 2),
    ("CLIENT", "3", "40288a0c3e3cfb4e013e3d00bb9c00df", 1),
    ("CLIENT", "cstap_5mBHiIx3QbkvEpjGfKsI9k", None, 3),
    ("CLIENT", "cstap_demo0001", None, 30),
    ("CLIENT", "cstap_demo0002", None, 26),
    *(("CLIENT", f"cstap_demo{n:04d}", None, n % 4 + 1) for n in range(3, 12)),
    ("CLIENT", "cstap_demo0012", None, 0),
    ("GROUP", "2", None, 27),
    ("GROUP", "g_demo01", None, 2),
    ("LOAN_ACCOUNT", "3", None, 3),
    ("LOAN_ACCOUNT", "ln_demo01", None, 1),
    ("DEPOSIT_ACCOUNT", "2344", None, 4),
    ("LOAN_PRODUCT", "LDP", None, 2),
    ("SAVINGS_PRODUCT", "SDP", None, 2),
    ("BRANCH", "b123", None, 25),
    ("CENTRE", "c123", None, 3),
    ("USER", "demo", "40288a0c3e3cfb4e013e3d00bbzxcvs", 2),
)

_DEMO_NAMES = (
    ("passport", "jpg"),
    ("proof_of_address", "pdf"),
    ("bank_statement", "pdf"),
    ("signed_contract.pdf", "pdf"),
    ("selfie", "png"),
    ("notes", "txt"),
    ("tax_return", "docx"),
    ("payslip", "pdf"),
    ("utility_bill.jpeg", "jpeg"),
    ("kyc_report", "json"),
)

_DEMO_EPOCH = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)


def derived_key(*parts: str) -> str:
    """A stable 32-hex encoded key, shaped like Mambu's."""
    return hashlib.md5(":".join(("mambu-sandbox", *parts)).encode()).hexdigest()


@dataclass(frozen=True)
class Holder:
    type: str  # documentHolderType: CLIENT, LOAN_ACCOUNT…
    id: str
    encoded_key: str


@dataclass
class StoredDocument:
    encoded_key: str
    id: int
    holder: Holder
    name: str
    type: str
    content: bytes  # decoded: what the uploader sent, byte for byte
    creation_date: datetime
    last_modified_date: datetime
    created_by_user_key: str = API_USER_KEY
    user_name: str = API_USER_NAME

    @property
    def file_size(self) -> int:
        return len(self.content)


@dataclass
class MambuStore:
    holders: dict[str, Holder] = field(default_factory=dict)  # by encoded key
    documents: dict[str, StoredDocument] = field(default_factory=dict)  # by key
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))
    # Indexes kept by add_holder, add_document and delete (so arrange data through
    # them): a call costs the same however many holders and documents there are.
    _by_ref: dict[tuple[str, str], Holder] = field(default_factory=dict)
    _by_holder: dict[str, dict[str, StoredDocument]] = field(default_factory=dict)
    _by_number: dict[str, StoredDocument] = field(default_factory=dict)

    # holders ----------------------------------------------------------------------

    def add_holder(
        self, holder_type: str, holder_id: str, encoded_key: str | None = None
    ) -> Holder:
        holder = Holder(
            holder_type, holder_id, encoded_key or derived_key(holder_type, holder_id)
        )
        self.holders[holder.encoded_key] = holder
        self._by_ref.setdefault((holder.type, holder.id), holder)
        return holder

    def holder(self, holder_type: str, ref: str) -> Holder | None:
        """The holder of that type whose id or encoded key is ``ref``."""
        found = self.holders.get(ref)
        if found is not None and found.type == holder_type:
            return found
        return self._by_ref.get((holder_type, ref))

    def holders_of(self, holder_type: str) -> list[Holder]:
        return [h for h in self.holders.values() if h.type == holder_type]

    # documents --------------------------------------------------------------------

    def add_document(
        self,
        holder: Holder,
        name: str,
        type: str,
        content: bytes,
        *,
        id: int | None = None,
        encoded_key: str | None = None,
        created: datetime | None = None,
    ) -> StoredDocument:
        doc_id = next(self._ids) if id is None else id
        when = created or self.clock()
        document = StoredDocument(
            encoded_key=encoded_key or derived_key("document", str(doc_id)),
            id=doc_id,
            holder=holder,
            name=name,
            type=type,
            content=content,
            creation_date=when,
            last_modified_date=when,
        )
        self.documents[document.encoded_key] = document
        self._by_holder.setdefault(holder.encoded_key, {})[document.encoded_key] = (
            document
        )
        self._by_number.setdefault(str(document.id), document)
        return document

    def documents_of(self, holder: Holder) -> list[StoredDocument]:
        """The holder's documents, newest first (as the seed's sample list is)."""
        return sorted(
            (
                d
                for d in self._by_holder.get(holder.encoded_key, {}).values()
                if d.holder == holder
            ),
            key=lambda d: (d.creation_date, d.id),
            reverse=True,
        )

    def document(self, ref: str) -> StoredDocument | None:
        """The document whose encoded key or (numeric) id is ``ref``."""
        found = self.documents.get(ref)
        if found is not None:
            return found
        return self._by_number.get(ref)

    def delete(self, document: StoredDocument) -> None:
        del self.documents[document.encoded_key]
        self._by_holder.get(document.holder.encoded_key, {}).pop(
            document.encoded_key, None
        )
        if self._by_number.get(str(document.id)) is document:
            del self._by_number[str(document.id)]

    # demo -------------------------------------------------------------------------

    @classmethod
    def demo(cls) -> MambuStore:
        store = cls()
        holders = {
            (kind, ident): store.add_holder(kind, ident, key)
            for kind, ident, key, _ in _DEMO_HOLDERS
        }
        _add_seed_documents(store, holders)
        counter = itertools.count()
        for kind, ident, _, count in _DEMO_HOLDERS:
            holder = holders[kind, ident]
            for i in range(count):
                n = next(counter)
                base, ext = _DEMO_NAMES[n % len(_DEMO_NAMES)]
                stem, dot, _ = base.partition(".")
                name = f"{stem}_{i + 1:02d}" + (f".{ext}" if dot else "")
                line = f"Demo attachment {name} of {kind} {ident}.\n".encode()
                store.add_document(
                    holder,
                    name,
                    ext,
                    line * (1 + n % 5),
                    created=_DEMO_EPOCH + timedelta(hours=7 * n),
                )
        return store


def _add_seed_documents(
    store: MambuStore, holders: dict[tuple[str, str], Holder]
) -> None:
    def text(label: str, size: int) -> bytes:
        return (f"{label}: sample attachment text. ".encode() * size)[:size]

    def at(value: str) -> datetime:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")

    client_1, client_2 = holders["CLIENT", "1"], holders["CLIENT", "2"]
    store.add_document(
        client_1,
        "post_document_1",
        "txt",
        text("post_document_1", 115),
        id=59,
        encoded_key="8a13732d44cd56800144cf86625d01e7",
        created=at("2014-03-17T10:11:34+0000"),
    )
    store.add_document(
        client_1,
        "internal_demo",
        "txt",
        text("internal_demo", 131),
        id=41,
        encoded_key="8a13732d44c07fb80144c0aff4e2009d",
        created=at("2014-03-14T13:02:40+0000"),
    )
    store.add_document(
        client_2,
        "file_content",
        "txt",
        b"file content",
        id=10,
        encoded_key="8a13732d44bde36e0144bfc1e74100a9",
        created=at("2014-03-10T08:00:00+0000"),
    )
