"""The guard of ``docs/adding-a-field.md``: how the engine reads every field.

Every object type's whole selection is planned (``engine.survey``). A field not
listed in ``NOT_DIRECT`` must be read directly, in the plan's loop; a listed
one must be read as listed. A new field that would leave the fast path (a
computed resolver, arguments, a guard) fails here until it is listed, on
purpose: the list is where the author says "yes, this one runs per object".

``SHARED`` lists every attribute of the schema objects shared between requests
(``immutable`` types, made once per record by ``Presented``): nothing per
caller may live there. A new attribute fails here until listed.
"""

from __future__ import annotations

from engine.survey import declarations, shared_attributes, survey
from schema.api import build_schema

GUIDE = "see docs/adding-a-field.md"

# (type, field) -> how it is read, for every field not read directly.
NOT_DIRECT = {
    # at_hand("listed_documents"): read directly when a detail lists them.
    ("Application", "documents"): "at hand",
    ("Enrollment", "documents"): "at hand",
    # Encoded only when selected (schema.pagination).
    ("ApplicationEdge", "cursor"): "resolver",
    ("DocumentEdge", "cursor"): "resolver",
    ("EnrollmentEdge", "cursor"): "resolver",
    # Reads the file from its provider, per document, on request.
    ("Document", "content"): "resolver",
}

SHARED = {
    "Application": (
        "id",
        "provider",
        "provider_id",
        "state",
        "provider_state",
        "name",
        "product_name",
        "applicant_name",
        "customer_id",
        "reference",
        "outcome",
        "created_at",
        "completed_at",
        "funding_amount",
        "funding_account",
        "applicants",
        "entities",
        "available_actions",
        "version",
        "domain",
        "listed_documents",
        "kept",
        "documents",
    ),
    "Document": (
        "id",
        "provider",
        "provider_id",
        "name",
        "kind",
        "file_extension",
        "content_type",
        "size",
        "status",
        "provider_status",
        "created_at",
        "owner",
        "download_url",
        "signers",
        "domain",
        "content",
    ),
}


def not_direct(found: dict[str, dict[str, str]]) -> dict[tuple[str, str], str]:
    return {
        (type_name, field): kind
        for type_name, fields in found.items()
        for field, kind in fields.items()
        if kind != "direct"
    }


def test_every_field_is_read_as_declared() -> None:
    found = survey(build_schema()._schema)
    assert {"Application", "Document", "Enrollment", "PageInfo"} <= set(found)
    assert not_direct(found) == NOT_DIRECT, GUIDE
    # The survey really planned the plain fields: most of Application's.
    assert sum(k == "direct" for k in found["Application"].values()) >= 19


def test_every_field_a_record_declares_is_read_as_declared() -> None:
    """A field declared on a record (``adapters.declaring.shown``) is read
    directly, unless it says ``resolver=True``; then it is listed above."""
    schema = build_schema()._schema
    found, declared = survey(schema), declarations(schema)
    assert {"Application", "Document", "Enrollment", "Applicant"} <= set(declared)
    for type_name, fields in declared.items():
        for field, kind in fields.items():
            read = found[type_name][field]
            if kind == "direct":
                assert read == "direct", (type_name, field, GUIDE)
            else:
                assert NOT_DIRECT.get((type_name, field)) == read, GUIDE
    assert declared["Application"]["documents"] == "resolver"
    assert sum(k == "direct" for k in declared["Application"].values()) == 18


def test_shared_objects_hold_only_what_every_caller_may_read() -> None:
    assert shared_attributes(build_schema()._schema) == SHARED, GUIDE
