"""The DateTime scalar writes what ``datetime.isoformat`` writes."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from schema import api, scalars

ZONES = st.one_of(
    st.none(),
    st.just(dt.UTC),
    st.timedeltas(
        min_value=-dt.timedelta(hours=23), max_value=dt.timedelta(hours=23)
    ).map(dt.timezone),
)


@settings(max_examples=500, derandomize=True)
@given(st.datetimes(timezones=ZONES))
def test_a_datetime_is_written_as_isoformat_writes_it(value: dt.datetime) -> None:
    assert scalars.isoformat(value) == value.isoformat()


@settings(max_examples=100, derandomize=True)
@given(st.one_of(st.dates(), st.times()))
def test_other_values_are_left_to_isoformat(value: dt.date | dt.time) -> None:
    assert scalars.isoformat(value) == value.isoformat()


def test_the_schema_writes_datetimes_so() -> None:
    datetime_type = api.schema._schema.type_map["DateTime"]
    assert datetime_type.coerce_output_value is scalars.isoformat  # type: ignore[attr-defined]
    assert datetime_type.description == "Date with time (isoformat)"
