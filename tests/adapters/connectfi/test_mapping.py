"""connectFi JSON ⇄ domain, without HTTP."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest

from adapters.connectfi import mapping
from adapters.model import DocumentStatus, Provider, State

ITEM = {
    "applicationId": "iapp_1BGgJeDQJFo5MCup15zq9A",
    "aggregatorId": "CLIENTID",
    "customerId": "cstap_5mBHiIx3QbkvEpjGfKsI9k",
    "reference": "extRefApp101",
    "status": "pending_step_up",
    "outcome": None,
    "entityApplications": [
        {
            "entityId": "cstap_5mBHiIx3QbkvEpjGfKsI9k",
            "isCustomer": True,
            "status": "pending_step_up",
            "outcome": None,
        }
    ],
}


@pytest.mark.parametrize(
    ("status", "outcome", "state"),
    [
        ("running", None, State.RUNNING),
        ("waiting_review", None, State.RUNNING),
        ("pending_journey_application_review", None, State.RUNNING),
        ("pending_step_up", None, State.BLOCKED),
        ("pending_documents", None, State.BLOCKED),
        ("data_request", None, State.BLOCKED),
        ("completed", "Approved", State.APPROVED),
        ("completed", "Denied", State.REJECTED),
        ("completed", "approved", State.APPROVED),  # entities say it in lower case
        ("completed", "denied", State.REJECTED),
    ],
)
def test_states_follow_the_design_table(
    status: str, outcome: str | None, state: State
) -> None:
    assert mapping.normalize_state(status, outcome) is state


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("frozen", None), ("completed", None), ("completed", "Withdrawn")],
)
def test_unknown_values_are_running_and_logged(
    status: str, outcome: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert mapping.normalize_state(status, outcome) is State.RUNNING
    assert caplog.records


def test_an_application_with_an_unknown_status_still_maps() -> None:
    application = mapping.application_from_json({**ITEM, "status": "archived"})
    assert application.state is State.RUNNING
    assert application.provider_state == "archived"


def test_the_seed_item_maps_every_field_it_carries() -> None:
    application = mapping.application_from_json(ITEM)
    assert application.provider is Provider.CONNECTFI
    assert application.key == "cstap_5mBHiIx3QbkvEpjGfKsI9k:iapp_1BGgJeDQJFo5MCup15zq9A"
    assert application.provider_id == "iapp_1BGgJeDQJFo5MCup15zq9A"
    assert application.customer_id == "cstap_5mBHiIx3QbkvEpjGfKsI9k"
    assert application.created_at is None
    assert application.available_actions == frozenset()
    # A list item is complete: no detail call can add to it.
    assert application.fields == mapping.APPLICATION_FIELDS
    assert {"customer_id", "reference", "outcome", "entities"} <= application.fields
    assert {"created_at", "name", "documents"} <= application.fields
    assert "fields" not in application.fields


@pytest.mark.parametrize(
    "broken",
    [
        {k: v for k, v in ITEM.items() if k != "applicationId"},
        {**ITEM, "status": None},
        {**ITEM, "entityApplications": [{"entityId": "x"}]},
    ],
)
def test_a_broken_item_raises_for_the_client_to_translate(
    broken: dict[str, object],
) -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        mapping.application_from_json(broken)


def test_keys_split_back_into_customer_and_application() -> None:
    key = mapping.application_key("cstap_a", "iapp_b")
    assert mapping.split_key(key) == ("cstap_a", "iapp_b")
    for bad in ("cstap_a", ":iapp_b", "cstap_a:"):
        with pytest.raises(ValueError):
            mapping.split_key(bad)


def test_the_seed_document_maps_to_an_awaiting_upload() -> None:
    document = mapping.document_from_json(
        {
            "id": "doc_71YxuRUnKqLhOWriDJFMI2",
            "aggregatorId": "CLIENTID",
            "uploadStatus": False,
            "workflow": "PERSONAL",
            "name": "license",
            "extension": "jpg",
            "type": "license",
            "dtsCreatedAt": "2023-11-01T16:44:19.473Z",
        }
    )
    assert document.key == "doc_71YxuRUnKqLhOWriDJFMI2"
    assert document.status is DocumentStatus.AWAITING_UPLOAD
    assert document.kind == "license"
    assert document.content_type == "image/jpeg"
    assert document.created_at == datetime(2023, 11, 1, 16, 44, 19, 473000, tzinfo=UTC)


def test_timestamps_are_sent_in_utc_with_milliseconds() -> None:
    eastern = timezone(timedelta(hours=-5))
    assert (
        mapping.timestamp(datetime(2023, 1, 14, 19, 0, 0, 1999, tzinfo=eastern))
        == "2023-01-15T00:00:00.001Z"
    )
    assert mapping.timestamp(datetime(2099, 1, 17)) == "2099-01-17T00:00:00.000Z"
