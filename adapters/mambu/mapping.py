"""Mambu API v1 attachments ⇄ the domain: the only place that knows Mambu's fields.

Seed: ``/work/shared/seeds/004_70f253724f9fbb2d.txt``. Here live:

- the holders: :class:`OwnerKind` ⇄ ``documentHolderType`` ⇄ the collection path of
  ``GET /api/{collection}/{id}/documents`` (:data:`HOLDERS`);
- the document key, ``"{documentHolderType}:{holder id}:{encodedKey}"``, e.g.
  ``CLIENT:cstap_demo0001:8a13732d44cd56800144cf86625d01e7``. The holder part is the
  holder as the caller named it (id or encoded key), so the key gives back the same
  :class:`Owner`; it is needed because v1 has no metadata-by-document call: a
  document's metadata is found again by listing its holder. Holder types and encoded
  keys hold no ``:``, so a holder id may;
- metadata JSON, as :mod:`adapters.mambu.answers` declares it (a list or a
  document that does not fit is a ProviderError, a size out of 0 … 2³¹-1 too),
  → :class:`Document` (``kind`` is Mambu's ``type`` as sent,
  ``file_extension`` the same lower-cased, ``content_type`` derived from it, ``size``
  from ``fileSize``, ``created_at`` from ``creationDate``, status always ``UPLOADED``:
  Mambu attachments have no lifecycle);
- the seed's upload rules (name length, forbidden characters, one extension matching
  ``type``, the extension list), checked before anything is sent;
- the upload body's JSON around the streamed base64, the quoted base64 content, and
  the ``{returnCode, returnStatus, errorSource}`` error bodies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from adapters.errors import ProviderError, Violation
from adapters.mambu import answers
from adapters.model import Document, DocumentStatus, Owner, OwnerKind, Provider

PROVIDER = Provider.MAMBU


@dataclass(frozen=True)
class HolderKind:
    owner_kind: OwnerKind
    holder_type: str  # documentHolderType
    collection: str  # path segment: /api/{collection}/{id}/documents
    noun: str  # for messages


HOLDERS: tuple[HolderKind, ...] = (
    HolderKind(OwnerKind.MAMBU_CLIENT, "CLIENT", "clients", "client"),
    HolderKind(OwnerKind.MAMBU_GROUP, "GROUP", "groups", "group"),
    HolderKind(OwnerKind.MAMBU_LOAN, "LOAN_ACCOUNT", "loans", "loan account"),
    HolderKind(
        OwnerKind.MAMBU_SAVINGS, "DEPOSIT_ACCOUNT", "savings", "savings account"
    ),
    HolderKind(
        OwnerKind.MAMBU_LOAN_PRODUCT, "LOAN_PRODUCT", "loanProducts", "loan product"
    ),
    HolderKind(
        OwnerKind.MAMBU_SAVINGS_PRODUCT,
        "SAVINGS_PRODUCT",
        "savingsProducts",
        "savings product",
    ),
    HolderKind(OwnerKind.MAMBU_BRANCH, "BRANCH", "branches", "branch"),
    HolderKind(OwnerKind.MAMBU_CENTRE, "CENTRE", "centres", "centre"),
    HolderKind(OwnerKind.MAMBU_USER, "USER", "users", "user"),
)
BY_OWNER_KIND: Mapping[OwnerKind, HolderKind] = {h.owner_kind: h for h in HOLDERS}
BY_HOLDER_TYPE: Mapping[str, HolderKind] = {h.holder_type: h for h in HOLDERS}

# The seed's extensions (its ``type`` list), with the MIME type each maps to.
CONTENT_TYPES: Mapping[str, str] = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "tif": "image/tiff",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "docm": "application/vnd.ms-word.document.macroEnabled.12",
    "dot": "application/msword",
    "dotx": "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    "dotm": "application/vnd.ms-word.template.macroEnabled.12",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xlsb": "application/vnd.ms-excel.sheet.binary.macroEnabled.12",
    "xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    "pptx": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    ),
    "ppt": "application/vnd.ms-powerpoint",
    "pps": "application/vnd.ms-powerpoint",
    "ppsx": "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
    "odt": "application/vnd.oasis.opendocument.text",
    "ott": "application/vnd.oasis.opendocument.text-template",
    "fodt": "application/vnd.oasis.opendocument.text-flat-xml",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "pdf": "application/pdf",
    "xml": "application/xml",
    "txt": "text/plain",
    "csv": "text/csv",
    "properties": "text/plain",
    "msg": "application/vnd.ms-outlook",
    "zip": "application/zip",
    "rtf": "application/rtf",
    "eml": "message/rfc822",
    "emlx": "message/rfc822",
    "html": "text/html",
    "mht": "multipart/related",
    "mhtml": "multipart/related",
    "xps": "application/vnd.ms-xpsdocument",
    "numbers": "application/vnd.apple.numbers",
    "key": "application/vnd.apple.keynote",
    "pages": "application/vnd.apple.pages",
    "yaml": "application/yaml",
    "json": "application/json",
    "jasper": "application/octet-stream",
    "jrxml": "application/xml",
}
ALLOWED_EXTENSIONS = frozenset(CONTENT_TYPES)
MAX_NAME_LENGTH = 256
FORBIDDEN_NAME_CHARACTERS = "/<>|:&?*[]#\\\"'"

# returnCode values that mean "no such holder" (the entity codes of Mambu's table).
HOLDER_NOT_FOUND_CODES = frozenset({100, 201, 301, 400, 701, 800, 851})
# errorSource of an INVALID_PARAMETERS (4) refusal → the GraphQL input path.
INPUT_PATHS: Mapping[str, tuple[str, ...]] = {
    "name": ("name",),
    "type": ("file",),
    "documentContent": ("file",),
}

_TIMESTAMP = "%Y-%m-%dT%H:%M:%S%z"  # 2014-03-17T10:11:34+0000, as the seed writes


# keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentKey:
    holder: HolderKind
    holder_id: str
    encoded_key: str

    @property
    def owner(self) -> Owner:
        return Owner(self.holder.owner_kind, self.holder_id)

    def __str__(self) -> str:
        return f"{self.holder.holder_type}:{self.holder_id}:{self.encoded_key}"


def document_key(owner: Owner, encoded_key: str) -> str:
    return str(DocumentKey(BY_OWNER_KIND[owner.kind], owner.id, encoded_key))


def parse_key(key: str) -> DocumentKey | None:
    """The key's parts, or None when it is not a Mambu document key."""
    holder_type, _, rest = key.partition(":")
    holder_id, _, encoded_key = rest.rpartition(":")
    holder = BY_HOLDER_TYPE.get(holder_type)
    if holder is None or not holder_id or not encoded_key:
        return None
    return DocumentKey(holder, holder_id, encoded_key)


# metadata -----------------------------------------------------------------------------


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    # fromisoformat reads the seed's form (Python 3.11+) a hundred times
    # faster; where both read a value they agree, and strptime still reads what
    # only it accepts (fields without their leading zeros).
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    try:
        return datetime.strptime(value, _TIMESTAMP)
    except ValueError:
        return None  # a date we cannot read is not worth failing the document for


def document_from_json(body: object, owner: Owner) -> Document:
    """One metadata object of a list or an upload answer, held by ``owner``."""
    try:
        meta = answers.DOCUMENT.validate_python(body)
    except ValidationError as exc:
        raise ProviderError(
            "Mambu sent a malformed document", provider=PROVIDER
        ) from exc
    return document_answer(meta, owner)


def documents_from_json(body: object, owner: Owner) -> list[Document]:
    """A list answer: a JSON array of metadata."""
    try:
        metas = answers.DOCUMENTS.validate_python(body)
    except ValidationError as exc:
        raise ProviderError(
            "Mambu sent a malformed document list", provider=PROVIDER
        ) from exc
    return documents_answer(metas, owner)


def document_answer(meta: answers.DocumentMeta, owner: Owner) -> Document:
    """:func:`document_from_json` for metadata validated already (from bytes)."""
    encoded_key = meta["encodedKey"]
    type_ = meta.get("type")
    extension = type_.lower() if type_ else None
    return Document(
        provider=PROVIDER,
        key=document_key(owner, encoded_key),
        provider_id=encoded_key,
        name=meta["name"],
        status=DocumentStatus.UPLOADED,
        kind=type_,
        file_extension=extension,
        content_type=CONTENT_TYPES.get(extension) if extension else None,
        size=meta.get("fileSize"),
        created_at=_timestamp(meta.get("creationDate")),
        owner=owner,
    )


def documents_answer(metas: list[answers.DocumentMeta], owner: Owner) -> list[Document]:
    return [document_answer(meta, owner) for meta in metas]


def content_from_body(text: str) -> str:
    """The base64 of ``GET /api/documents/{id}``: a JSON string literal, unquoted.

    Parsed as JSON rather than stripped, so that an escaped character (a Java
    serializer may write ``=`` as ``\\u003d``) comes out right; a bare base64 answer
    is taken as it is.
    """
    stripped = text.strip()
    if stripped.startswith('"'):
        try:
            value = json.loads(stripped)
        except ValueError:
            value = None
        if isinstance(value, str):
            return value
    elif stripped and not stripped.startswith(("{", "[")):
        return stripped
    raise ProviderError("Mambu sent malformed document content", provider=PROVIDER)


# errors -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnCode:
    code: int | None
    status: str | None
    source: str | None


def return_code(body: object) -> ReturnCode:
    """``{returnCode, returnStatus, errorSource}``; all None when absent."""
    if not isinstance(body, dict):
        return ReturnCode(None, None, None)
    code, status, source = (
        body.get("returnCode"),
        body.get("returnStatus"),
        body.get("errorSource"),
    )
    return ReturnCode(
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        status if isinstance(status, str) else None,
        source if isinstance(source, str) else None,
    )


# uploads ------------------------------------------------------------------------------


def extension_of(filename: str) -> str | None:
    """The lower-cased extension of a file name (its last path part), if any."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, extension = base.rpartition(".")
    return extension.lower() if dot and stem and extension else None


def upload_type(name: str, filename: str) -> tuple[str | None, list[Violation]]:
    """Mambu's ``type`` for an upload, and what the seed's rules refuse in it.

    ``type`` is the uploaded file's extension, or the name's when the file has none.
    The name: 1-256 characters, none of ``/ < > | : & ? * [ ] # \\ " '``, at most one
    extension, equal to ``type`` when present. ``type``: one of the seed's list.
    """
    violations: list[Violation] = []
    if not name.strip():
        violations.append(Violation(("name",), "The name must not be blank."))
    elif len(name) > MAX_NAME_LENGTH:
        violations.append(
            Violation(
                ("name",), f"Mambu names are at most {MAX_NAME_LENGTH} characters."
            )
        )
    forbidden = sorted({c for c in name if c in FORBIDDEN_NAME_CHARACTERS})
    if forbidden:
        violations.append(
            Violation(
                ("name",),
                "Mambu names may not contain " + " ".join(forbidden) + ".",
            )
        )
    _, dot, name_extension = name.partition(".")
    several = bool(dot) and "." in name_extension
    if several:
        violations.append(
            Violation(("name",), "Mambu names have at most one extension.")
        )
    file_extension = extension_of(filename)
    named = None if several or not dot else name_extension.lower()
    type_ = file_extension or named or None
    if type_ is None:
        violations.append(
            Violation(("file",), "The file needs an extension (pdf, jpg, docx…).")
        )
    elif type_ not in ALLOWED_EXTENSIONS:
        violations.append(
            Violation(("file",), f"Mambu does not accept .{type_} files.")
        )
    elif named is not None and named != type_:
        violations.append(
            Violation(
                ("name",), f"The name's extension must match the file's (.{type_})."
            )
        )
    return type_, violations


def upload_prefix(holder: HolderKind, holder_key: str, name: str, type_: str) -> bytes:
    """The upload body up to the opening quote of ``documentContent``'s value."""
    document = {
        "document": {
            "documentHolderKey": holder_key,
            "documentHolderType": holder.holder_type,
            "name": name,
            "type": type_,
        }
    }
    opened = json.dumps(document, separators=(",", ":"))[:-1]  # drop the final }
    return (opened + ',"documentContent":"').encode("ascii")  # json.dumps escapes


UPLOAD_SUFFIX = b'"}'


def violations_message(violations: Sequence[Violation]) -> str:
    return " ".join(v.message for v in violations)
