"""Each provider's key grammar: what a key must look like before it goes upstream.

A key that does not fit its grammar names nothing: the adapters answer it as
``NotFound`` without a call, and a global id holding one decodes to nothing
(:func:`schema.ids.decode`), so it reads exactly like an id that does not exist.
Together with :mod:`adapters.transport.paths` this keeps a key inside its own URL
segment or query value. The grammars, and where each comes from:

- Apiture resource ids: "an opaque string" (seed 001 L1037, L5934), every example a
  UUID, the sandbox's too. Taken as 1-128 of ``A-Z a-z 0-9 _ -`` (URL-unreserved,
  no dot, so never a dot segment); an id outside it is refused although the seed
  would allow it: an id outside it has not been seen anywhere.
- connectFi ids: ``common-id``, ``^[0-9a-zA-Z_]+$``, 1-36 (reference §1, seed 000
  ``doc_…``), :func:`adapters.connectfi.checks.is_id`. An application key is
  ``customerId:applicationId``, both ids.
- Auco document codes: ``DOCUMENTCODE`` in seed 003, ten capitals and digits in
  the sandbox. Taken as 1-64 of ``A-Z a-z 0-9 _ -``.
- Mambu: a holder is named by its id or encoded key (seed 004: ``1``, ``LDP``,
  ``b123``, ``demo``, ``8a13732d44cd56800144cf0311550077``); ids are the tenant's
  own, so dots, ``@`` and ``-`` are allowed, but not first (no dot segment). 1-64
  characters. A document is named by its encoded key (32 hex digits in the seed)
  or its numeric id: 1-64 of ``A-Z a-z 0-9 _ -``. A document key is
  ``HOLDER_TYPE:holder:encodedKey`` (:func:`adapters.mambu.mapping.parse_key`).
"""

from __future__ import annotations

import re

from adapters.connectfi import mapping as connectfi_mapping
from adapters.connectfi.checks import is_id as connectfi_id
from adapters.mambu import mapping as mambu_mapping
from adapters.model import Provider

_APITURE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_AUCO_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAMBU_HOLDER = re.compile(r"[A-Za-z0-9_@-][A-Za-z0-9_.@-]{0,63}")
_MAMBU_DOCUMENT = re.compile(r"[A-Za-z0-9_-]{1,64}")


def apiture_id(value: str) -> bool:
    return _APITURE_ID.fullmatch(value) is not None


def connectfi_application_key(value: str) -> bool:
    try:
        customer_id, application_id = connectfi_mapping.split_key(value)
    except ValueError:
        return False
    return connectfi_id(customer_id) and connectfi_id(application_id)


def auco_code(value: str) -> bool:
    return _AUCO_CODE.fullmatch(value) is not None


def mambu_holder(value: str) -> bool:
    return _MAMBU_HOLDER.fullmatch(value) is not None


def mambu_document_key(value: str) -> bool:
    parsed = mambu_mapping.parse_key(value)
    return (
        parsed is not None
        and mambu_holder(parsed.holder_id)
        and _MAMBU_DOCUMENT.fullmatch(parsed.encoded_key) is not None
    )


def is_key(typename: str, provider: Provider, key: str) -> bool:
    """Whether ``key`` can name a ``typename`` record at ``provider``."""
    if provider is Provider.APITURE:
        return typename in ("Application", "Enrollment") and apiture_id(key)
    if provider is Provider.CONNECTFI:
        if typename == "Application":
            return connectfi_application_key(key)
        return typename == "Document" and connectfi_id(key)
    if provider is Provider.AUCO:
        return typename == "Document" and auco_code(key)
    return typename == "Document" and mambu_document_key(key)
