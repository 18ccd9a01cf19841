"""Domain records made with the quicker ``__init__`` (``adapters.model._quick_init``)
behave as the frozen dataclasses they are: same parameters and defaults, frozen,
equal and hashed by their fields."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import model
from adapters.records import positional_maker, quick_maker

QUICK = (
    model.Money,
    model.FundingAccount,
    model.Applicant,
    model.ApplicationEntity,
    model.RequiredDocument,
    model.Owner,
    model.Signer,
    model.Document,
    model.Application,
    model.Enrollment,
)


@pytest.mark.parametrize("cls", QUICK, ids=lambda c: c.__name__)
def test_parameters_and_defaults_are_the_fields(cls: type) -> None:
    params = list(inspect.signature(cls).parameters.values())
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields, strict=True):
        expected = (
            inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        )
        assert p.default == expected
    # the quick one: no object.__setattr__ per field, as dataclass's frozen one
    assert "__setattr__" not in cls.__init__.__code__.co_names  # type: ignore[misc]


def _application(**changes: object) -> model.Application:
    base: dict[str, object] = {
        "provider": model.Provider.APITURE,
        "key": "a1",
        "provider_id": "a1",
        "state": model.State.RUNNING,
        "provider_state": "running",
    }
    return model.Application(**{**base, **changes})  # type: ignore[arg-type]


@settings(max_examples=50, derandomize=True, deadline=None)
@given(
    name=st.none() | st.text(max_size=20),
    created=st.none() | st.datetimes(timezones=st.just(UTC)),
    version=st.none() | st.text(max_size=10),
)
def test_frozen_equal_and_hashed_by_fields(
    name: str | None, created: datetime | None, version: str | None
) -> None:
    record = _application(name=name, created_at=created, version=version)
    assert (record.name, record.created_at, record.version) == (name, created, version)
    assert record.applicants == () and record.fields == frozenset()
    copy = dataclasses.replace(record)
    assert copy == record and hash(copy) == hash(record) and copy is not record
    assert dataclasses.replace(record, state=model.State.APPROVED) != record
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.name = "changed"  # type: ignore[misc]
    assert record.name == name


def test_a_missing_or_unknown_argument_is_refused() -> None:
    with pytest.raises(TypeError, match="missing"):
        model.Application(provider=model.Provider.APITURE)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected"):
        _application(colour="blue")
    with pytest.raises(TypeError):
        model.Money("1.00", "USD", "extra")  # type: ignore[call-arg]
    assert model.Money("1.00", "USD") == model.Money(value="1.00", currency="USD")


@pytest.mark.parametrize("cls", QUICK, ids=lambda c: c.__name__)
def test_a_maker_takes_what_the_class_takes(cls: type) -> None:
    make = quick_maker(cls)
    assert list(inspect.signature(make).parameters.values()) == list(
        inspect.signature(cls).parameters.values()
    )


@settings(max_examples=50, derandomize=True, deadline=None)
@given(
    name=st.none() | st.text(max_size=20),
    created=st.none() | st.datetimes(timezones=st.just(UTC)),
    version=st.none() | st.text(max_size=10),
)
def test_a_maker_makes_what_the_class_makes(
    name: str | None, created: datetime | None, version: str | None
) -> None:
    given_ = {
        "provider": model.Provider.APITURE,
        "key": "a1",
        "provider_id": "a1",
        "state": model.State.RUNNING,
        "provider_state": "running",
        "name": name,
        "created_at": created,
        "version": version,
    }
    made = quick_maker(model.Application)(**given_)  # type: ignore[arg-type]
    _made_as_the_class_makes(made, model.Application(**given_))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected"):
        quick_maker(model.Application)(colour="blue", **given_)  # type: ignore[arg-type,call-arg]


@settings(max_examples=50, derandomize=True, deadline=None)
@given(
    name=st.none() | st.text(max_size=20),
    created=st.none() | st.datetimes(timezones=st.just(UTC)),
    fields=st.frozensets(st.text(max_size=5), max_size=3),
)
def test_a_positional_maker_makes_what_the_class_makes(
    name: str | None, created: datetime | None, fields: frozenset[str]
) -> None:
    given_ = {
        "provider": model.Provider.APITURE,
        "key": "a1",
        "provider_id": "a2",
        "state": model.State.RUNNING,
        "provider_state": "running",
        "created_at": created,
        "name": name,  # any order of the fields
        "fields": fields,
    }
    made = positional_maker(model.Application, *given_)(*given_.values())
    _made_as_the_class_makes(made, model.Application(**given_))  # type: ignore[arg-type]


def _made_as_the_class_makes(made: Any, expected: model.Application) -> None:
    """The same class, fields in the same order, equal and hashed alike, frozen."""
    assert type(made) is model.Application
    assert list(vars(made).items()) == list(vars(expected).items())
    assert made == expected and hash(made) == hash(expected)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.name = "changed"  # type: ignore[misc]


def test_a_positional_maker_takes_fields_once_and_every_field_without_default() -> None:
    with pytest.raises(TypeError, match="not its fields"):
        positional_maker(model.Money, "value", "colour")
    with pytest.raises(TypeError, match="not its fields"):
        positional_maker(model.Money, "value", "value")
    with pytest.raises(TypeError, match="no default"):
        positional_maker(model.Money, "value")
    with pytest.raises(TypeError, match="no quick_init"):
        positional_maker(dataclasses.make_dataclass("Bare", ["a"]), "a")
    assert positional_maker(model.Money, "currency", "value")("USD", "1") == (
        model.Money(value="1", currency="USD")
    )
