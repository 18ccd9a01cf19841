"""A domain record that comes again is presented by the object made for it."""

from __future__ import annotations

import dataclasses

from adapters import model
from caching.bounds import PRESENTED_BYTES
from engine.presented import Presented
from schema.types.application import Application
from schema.types.document import Document


def _record(
    key: str, state: model.State = model.State.RUNNING, version: str | None = '"v1"'
) -> model.Application:
    return model.Application(
        provider=model.Provider.APITURE,
        key=key,
        provider_id=key,
        state=state,
        provider_state=state.name.lower(),
        name=f"Account {key}",
        applicants=(model.Applicant(name="Ada", role="primary"),),
        version=version,
    )


def test_the_same_record_gets_the_same_object() -> None:
    record = _record("a1")
    made = Application.from_domain(record)
    assert Application.from_domain(record) is made
    assert made.provider_id == "a1" and made.name == "Account a1"
    assert made.applicants[0].name == "Ada"


def test_a_record_without_a_version_is_made_per_request_and_not_kept() -> None:
    # A list summary (no ETag): no cache hands the same record out again.
    record = _record("a3", version=None)
    made = Application.from_domain(record)
    again = Application.from_domain(record)
    assert again is not made and again == made
    assert made.kept is False and Application.from_domain(_record("a4")).kept


def test_an_equal_copy_or_a_changed_record_is_made_anew() -> None:
    record = _record("a2")
    made = Application.from_domain(record)
    copy = dataclasses.replace(record)
    assert copy == record and copy is not record
    assert Application.from_domain(copy) is not made
    changed = dataclasses.replace(record, state=model.State.APPROVED)
    assert Application.from_domain(changed).state.name == "APPROVED"
    assert made.state.name == "RUNNING"  # what was made is never changed


def test_bounded_least_recently_used_first_and_keyed_by_identity() -> None:
    presented: Presented[object, str] = Presented(max_bytes=2 * PRESENTED_BYTES)
    a, b, c = object(), object(), object()
    presented.put(a, "a")
    presented.put(b, "b")
    assert presented.get(a) == "a"  # used: now the most recent
    presented.put(c, "c")  # b, the least recently used, goes
    assert presented.get(b) is None
    assert (presented.get(a), presented.get(c)) == ("a", "c")
    assert presented.get(object()) is None


def test_documents_too() -> None:
    record = model.Document(
        provider=model.Provider.MAMBU,
        key="CLIENT:1:8a1",
        provider_id="8a1",
        name="passport",
        status=model.DocumentStatus.UPLOADED,
    )
    made = Document.from_domain(record)
    assert Document.from_domain(record) is made
    assert Document.from_domain(dataclasses.replace(record)) is not made
    assert made.name == "passport"
