"""Schema objects made from records by their declarations (schema.types.presenting)
hold what the hand-written copies they replaced held, for any record a provider
mapping could produce."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import model
from adapters.declaring import shown
from schema import ids
from schema.types import application, document
from schema.types.common import (
    Applicant,
    ApplicationAction,
    ApplicationEntity,
    ApplicationState,
    DocumentOwner,
    DocumentOwnerKind,
    DocumentStatus,
    FundingAccount,
    Money,
    Provider,
    Signer,
)
from schema.types.presenting import by_name, shows

text = st.text(max_size=8)


def _all(cls: type, **given: Any) -> st.SearchStrategy[Any]:
    """Records of ``cls`` with every field drawn (``...``: from its type)."""
    fields = {name: ... for name in cls.__dataclass_fields__}  # type: ignore[attr-defined]
    return st.builds(cls, **{**fields, **given})


def _some(cls: type) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(_all(cls), max_size=3).map(tuple)


records = _all(
    model.Application,
    key=text,
    provider_id=text,
    provider_state=text,
    documents=st.just(()),
    fields=st.just(frozenset()),
    funding_amount=st.none() | _all(model.Money),
    funding_account=st.none() | _all(model.FundingAccount),
    applicants=_some(model.Applicant),
    entities=_some(model.ApplicationEntity),
)
documents = _all(
    model.Document,
    key=text,
    provider_id=st.none() | text,
    owner=st.none() | _all(model.Owner),
    signers=_some(model.Signer),
)


def _plain(value: Any) -> Any:
    """A made object as plain data, to compare with the oracle's."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {
            k: _plain(getattr(value, k))
            for k in value.__dataclass_fields__
            if k not in ("domain", "listed_documents", "documents", "content")
        }
    return value


def _oracle_application(a: model.Application) -> dict[str, Any]:
    """The hand-written ``_made`` this module replaced."""
    return _plain(
        application.Application(
            id=ids.encode("Application", a.provider, a.key),  # type: ignore[arg-type]
            provider=by_name(Provider, a.provider),
            provider_id=a.provider_id,
            state=by_name(ApplicationState, a.state),
            provider_state=a.provider_state,
            name=a.name,
            product_name=a.product_name,
            applicant_name=a.applicant_name,
            customer_id=a.customer_id,
            reference=a.reference,
            outcome=a.outcome,
            created_at=a.created_at,
            completed_at=a.completed_at,
            funding_amount=Money(
                value=a.funding_amount.value, currency=a.funding_amount.currency
            )
            if a.funding_amount
            else None,
            funding_account=FundingAccount(**vars(a.funding_account))
            if a.funding_account
            else None,
            applicants=[Applicant(**vars(x)) for x in a.applicants],
            entities=[
                ApplicationEntity(
                    entity_id=e.entity_id,
                    is_customer=e.is_customer,
                    state=by_name(ApplicationState, e.state),
                    provider_state=e.provider_state,
                    outcome=e.outcome,
                )
                for e in a.entities
            ],
            available_actions=[
                by_name(ApplicationAction, x)
                for x in sorted(a.available_actions, key=lambda x: x.name)
            ],
            version=a.version,
            domain=a,
            listed_documents=None,
            kept=a.version is not None,
        )
    )


def _oracle_document(d: model.Document) -> dict[str, Any]:
    return _plain(
        document.Document(
            id=ids.encode("Document", d.provider, d.key),  # type: ignore[arg-type]
            provider=by_name(Provider, d.provider),
            provider_id=d.provider_id or d.key,
            name=d.name,
            kind=d.kind,
            file_extension=d.file_extension,
            content_type=d.content_type,
            size=d.size,
            status=by_name(DocumentStatus, d.status),
            provider_status=d.provider_status,
            created_at=d.created_at,
            owner=DocumentOwner(
                kind=by_name(DocumentOwnerKind, d.owner.kind),
                id=d.owner.id,
            )
            if d.owner
            else None,
            download_url=d.download_url,
            signers=[Signer(**vars(s)) for s in d.signers],
            domain=d,
        )
    )


@settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(records)
def test_an_application_is_what_the_hand_written_copy_made(
    record: model.Application,
) -> None:
    made = application.Application.from_domain(record)
    assert _plain(made) == _oracle_application(record)
    assert len(made.applicants) == len(record.applicants)
    assert made.domain is record
    # Made without its __init__ (presenting._assigns_only), as __init__ makes it.
    again = application.Application(**vars(made))
    assert list(vars(made).items()) == list(vars(again).items())
    assert made == again


def test_only_an_init_that_just_assigns_the_fields_is_skipped() -> None:
    import dataclasses

    from schema.types import presenting

    @dataclasses.dataclass(kw_only=True)
    class Plain:
        a: int
        b: str

    @dataclasses.dataclass(kw_only=True)
    class Checked(Plain):
        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(kw_only=True, frozen=True)
    class Frozen:
        a: int
        b: str

    @dataclasses.dataclass(kw_only=True)
    class Defaulted:
        a: int
        b: str
        c: list[int] = dataclasses.field(default_factory=list, init=False)

    assert presenting._assigns_only(Plain, ["a", "b"])
    assert not presenting._assigns_only(Plain, ["b", "a"])  # not its order
    assert not presenting._assigns_only(Plain, ["a"])
    assert not presenting._assigns_only(Checked, ["a", "b"])
    assert not presenting._assigns_only(Frozen, ["a", "b"])
    assert not presenting._assigns_only(Defaulted, ["a", "b"])
    # Either way, a maker makes what the class makes.
    for cls in (Plain, Checked, Frozen):
        made = presenting.maker(cls, "a", "b")(1, "x")
        assert type(made) is cls and made == cls(a=1, b="x")
        assert vars(made) == vars(cls(a=1, b="x"))


@settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(documents)
def test_a_document_is_what_the_hand_written_copy_made(record: model.Document) -> None:
    made = document.Document.from_domain(record)
    expected = _oracle_document(record)
    assert _plain(made) == expected
    assert made.provider_id == (record.provider_id or record.key)


def test_a_declaration_the_schema_cannot_show_is_refused_when_the_type_is_made() -> (
    None
):
    @dataclasses.dataclass(frozen=True)
    class Odd:
        when: Annotated[complex, shown("No GraphQL type for this.")]

    @dataclasses.dataclass(frozen=True)
    class Computed:
        rows: Annotated[tuple[str, ...], shown("Needs a resolver.", resolver=True)]

    with pytest.raises(TypeError, match="no GraphQL type"):
        shows(Odd, {})(type("OddType", (), {}))
    with pytest.raises(TypeError, match="has no resolver rows"):
        shows(Computed, {})(type("ComputedType", (), {}))
    with pytest.raises(TypeError, match="has no fields"):
        shows(Computed, {}, nothing=str)(type("ComputedType", (), {}))


@settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    _all(
        model.Application,
        key=text,
        provider_id=text,
        provider_state=text,
        customer_id=st.none() | text,
        documents=_some(model.Document),
        fields=st.sampled_from([frozenset(), frozenset({"documents"})]),
        available_actions=st.frozensets(st.sampled_from(list(model.Action))),
        funding_amount=st.none(),
        funding_account=st.none(),
        applicants=st.just(()),
        entities=st.just(()),
    )
)
def test_the_derived_expressions_answer_what_their_functions_do(
    record: model.Application,
) -> None:
    # listed_documents is written into the presenter for an Apiture summary
    # (no call): it answers what listed_documents does, for any provider.
    made = application.Application.from_domain(record)
    assert _plain(made.listed_documents) == _plain(document.listed_documents(record))
    assert made.kept is (record.version is not None)
    assert made.available_actions == [
        by_name(ApplicationAction, x)
        for x in sorted(record.available_actions, key=lambda x: x.name)
    ]


def test_an_expression_is_written_in_with_its_names_and_may_not_take_record() -> None:
    import strawberry

    from schema.types import presenting

    @strawberry.type
    class Pair:
        total: int
        label: str

    @dataclasses.dataclass(frozen=True)
    class Raw:
        x: int
        name: str

    make = presenting.presenter(
        Pair,
        # the same name in two expressions, two different objects
        total=presenting.expression("add(record.x, add2)", add=int.__add__, add2=1),
        label=presenting.expression("add or record.name", add=""),
    )
    assert make(Raw(4, "four")) == Pair(total=5, label="four")
    refused = presenting.presenter(
        Pair, total=presenting.expression("record", record=1), label=lambda r: ""
    )
    with pytest.raises(TypeError, match="cannot name"):
        refused(Raw(1, "one"))
