"""The Auco sandbox's data: documents, their PDF bytes, signers and upload links.

Tests arrange and inspect state through this store (``app.store``):

- ``documents[code]``: a :class:`StoredDocument`; ``content`` holds the PDF bytes
  exactly as they arrived (inline base64 decoded, or the signed-URL PUT), so tests can
  compare them byte for byte.
- ``sign(code, email)``, ``reject(code, email)``, ``block(code, email)``: a
  participant acts, as they would in Auco's signing flow.
- ``expire(code)``: the document reaches its ``expiredDate``.
- ``advance(seconds)``: moves both sandbox clocks (the monotonic one that ages
  signed upload links and the wall clock that ages ``expiredDate``).
- ``on_event``: called with each webhook body Auco would post (reference §3.8):
  ``CREATE`` when the PDF is in, ``NOTIFICATION`` (with ``signer``) each time a
  participant signs, then ``FINISH`` after the last, ``REJECT`` (with ``signer``),
  ``REJECTED`` on cancellation, ``BLOCKED`` (with ``signer``), ``EXPIRED``. Every
  body carries ``code``: the reference's examples that omit it are Auco's to send,
  not the sandbox's (:mod:`.webhooks` delivers them).

Statuses are Auco's own (reference §3.5): a document is ``CREATED``, ``FINISH``,
``REJECTED`` or ``EXPIRED``; a participant ``PENDING`` (not notified yet),
``NOTIFICATION``, ``FINISH``, ``REJECT`` or ``BLOCK``. Auco documents no ``CANCELED``
status; its cancellation webhook is ``REJECTED``, so a cancelled document reads
``REJECTED`` with ``canceled`` set here and no participant in ``REJECT``.
"""

from __future__ import annotations

import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from adapters.auco.sandbox import demo
from adapters.auco.sandbox.records import StoredDocument as StoredDocument
from adapters.auco.sandbox.records import StoredSigner as StoredSigner

if TYPE_CHECKING:
    from adapters.auco.sandbox.webhooks import AucoWebhooks

CODE_ALPHABET = string.ascii_uppercase + string.digits


@dataclass
class PendingUpload:
    code: str
    expires_at: float  # on the sandbox's monotonic clock
    used: bool = False


class Store:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        seed: int = 3,
    ) -> None:
        self._clock = clock
        self._now = now
        self._offset = 0.0
        self._random = random.Random(seed)
        self.documents: dict[str, StoredDocument] = demo.documents()
        self.uploads: dict[str, PendingUpload] = {}
        self.users: set[str] = set(demo.USERS)
        self.folders: dict[str, set[str]] = {k: set(v) for k, v in demo.FOLDERS.items()}
        self.templates: dict[str, dict[str, Any]] = {
            k: dict(v) for k, v in demo.TEMPLATES.items()
        }
        # Where the finished PDF is linked from in webhook bodies (``url``).
        self.download_base: str | None = None
        self.on_event: Callable[[dict[str, Any]], None] | None = None
        self.webhooks: AucoWebhooks | None = None  # the app's (create_app)

    # webhooks -------------------------------------------------------------------

    def _event(
        self,
        document: StoredDocument,
        status: str,
        signer: StoredSigner | None = None,
        message: str | None = None,
    ) -> None:
        if self.on_event is None:
            return
        body: dict[str, Any] = {
            "code": document.code,
            "name": document.name,
            "status": status,
        }
        if status in ("CREATE", "FINISH") and self.download_base and document.sent:
            body["url"] = f"{self.download_base}{document.code}"
        if signer is not None:
            body["signer"] = {
                "id": signer.id,
                "name": signer.name,
                "email": signer.email,
                "phone": signer.phone,
            }
        if message is not None:
            body["message"] = message
        self.on_event(body)

    # clocks ---------------------------------------------------------------------

    def monotonic(self) -> float:
        return self._clock() + self._offset

    def utcnow(self) -> datetime:
        return self._now() + timedelta(seconds=self._offset)

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    # identifiers ----------------------------------------------------------------

    def new_code(self) -> str:
        while True:
            code = "".join(self._random.choices(CODE_ALPHABET, k=10))
            if code not in self.documents:
                return code

    def new_package(self) -> str:
        return "".join(self._random.choices("0123456789abcdef", k=24))

    def new_signer_id(self) -> str:
        return "".join(self._random.choices(CODE_ALPHABET, k=2))

    # lifecycle ------------------------------------------------------------------

    def add(self, document: StoredDocument) -> None:
        self.documents[document.code] = document
        if document.sent:
            self._event(document, "CREATE")
        self.notify_next(document)

    def receive(self, code: str, content: bytes) -> None:
        """The PDF arrived: the document goes out for signature."""
        document = self.documents[code]
        document.content = content
        document.updated_at = self.utcnow()
        self._event(document, "CREATE")
        self.notify_next(document)

    def notify_next(self, document: StoredDocument) -> None:
        """Notify the lowest ``order`` still open (everyone when none has an order)."""
        if document.status != "CREATED" or not document.sent:
            return
        open_ = [s for s in document.signers if s.status != "FINISH"]
        if not open_:
            return
        current = min(s.order or 0 for s in open_)
        for signer in open_:
            if (signer.order or 0) == current and signer.status == "PENDING":
                signer.status = "NOTIFICATION"

    def refresh(self, document: StoredDocument) -> StoredDocument:
        """Apply the passage of time: an unfinished document past its date expires."""
        if (
            document.status == "CREATED"
            and document.expired_date is not None
            and self.utcnow() >= document.expired_date
        ):
            document.status = "EXPIRED"
            self._event(document, "EXPIRED")
        return document

    def _signer(self, code: str, email: str) -> tuple[StoredDocument, StoredSigner]:
        document = self.refresh(self.documents[code])
        for signer in document.signers:
            if signer.email.lower() == email.lower():
                return document, signer
        raise KeyError(email)

    def sign(self, code: str, email: str) -> None:
        document, signer = self._signer(code, email)
        if document.status != "CREATED" or signer.status != "NOTIFICATION":
            raise ValueError(f"{email} cannot sign {code} now")
        signer.status = "FINISH"
        document.updated_at = self.utcnow()
        self._event(document, "NOTIFICATION", signer)
        if all(s.status == "FINISH" for s in document.signers):
            document.status = "FINISH"
            self._event(document, "FINISH")
        else:
            self.notify_next(document)

    def reject(self, code: str, email: str) -> None:
        document, signer = self._signer(code, email)
        if document.status != "CREATED" or signer.status != "NOTIFICATION":
            raise ValueError(f"{email} cannot reject {code} now")
        signer.status = "REJECT"
        document.status = "REJECTED"
        document.updated_at = self.utcnow()
        self._event(document, "REJECT", signer)

    def block(self, code: str, email: str) -> None:
        """Too many failed identity checks (Auco blocks after three)."""
        document, signer = self._signer(code, email)
        signer.status = "BLOCK"
        self._event(document, "BLOCKED", signer, "OTP_CODE_INVALID")

    def expire(self, code: str) -> None:
        document = self.documents[code]
        document.status = "EXPIRED"
        document.updated_at = self.utcnow()
        self._event(document, "EXPIRED")

    def cancel(self, code: str, message: str | None) -> bool:
        """Auco refuses to cancel a finished or rejected document."""
        document = self.documents.get(code)
        if document is None:
            return False
        self.refresh(document)
        if document.status in ("FINISH", "REJECTED"):
            return False
        document.status = "REJECTED"
        document.canceled = True
        document.cancel_message = message
        document.updated_at = self.utcnow()
        self._event(document, "REJECTED", message=message)
        return True

    def open_upload(self, code: str, token: str, ttl: float) -> None:
        self.uploads[token] = PendingUpload(code, self.monotonic() + ttl)
