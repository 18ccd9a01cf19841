"""The Apiture summary mapping's quick reading (a known state without a call,
a timestamp read only when there is one) answers what the plain reading
answers, for any summary the answer's validation lets through."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.apiture import mapping
from adapters.model import State


def _plain_time(value: str | None) -> dt.datetime | None:
    """A timestamp as Python read it before 3.11 read a "Z"."""
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


STAMPS = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.datetimes(timezones=st.just(dt.UTC)).map(
        lambda d: d.isoformat().replace("+00:00", "Z")
    ),
    st.datetimes().map(dt.datetime.isoformat),
    st.dates().map(dt.date.isoformat),
)
TEXT = st.one_of(st.none(), st.text(max_size=6))


@settings(max_examples=300, derandomize=True)
@given(STAMPS)
def test_a_timestamp_is_read_as_before(value: str | None) -> None:
    assert mapping._time(value) == _plain_time(value)


@settings(max_examples=200, derandomize=True)
@given(
    state=st.one_of(st.sampled_from([s.value for s in State]), st.text(max_size=8)),
    created=STAMPS,
    completed=STAMPS,
    names=st.fixed_dictionaries(
        {},
        optional={
            "name": TEXT,
            "accountName": TEXT,
            "applicantName": TEXT,
            "productName": TEXT,
        },
    ),
)
def test_a_summary_reads_as_the_plain_reading(
    state: str, created: str | None, completed: str | None, names: dict[str, Any]
) -> None:
    item: Any = {"_id": "a1", "state": state, **names}
    if created is not None:
        item["createdAt"] = created
    if completed is not None:
        item["completedAt"] = completed
    record = mapping.application_summary(item)
    expected_state, raw = mapping.state_of(state, kind="application", id_="a1")
    assert (record.state, record.provider_state) == (expected_state, raw)
    assert record.created_at == _plain_time(created)
    assert record.completed_at == _plain_time(completed)
    assert record.key == record.provider_id == "a1"
