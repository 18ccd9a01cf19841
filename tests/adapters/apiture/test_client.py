"""ApitureClient against the sandbox: the domain result and the request sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Literal
from urllib.parse import parse_qs

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.apiture.client import ApitureClient
from adapters.apiture.errors import domain_error
from adapters.apiture.sandbox import DEMO_ACCESS_TOKEN, DEMO_API_KEY
from adapters.errors import (
    InvalidStateTransition,
    NotFound,
    ProviderRejected,
    ProviderUnavailable,
    ValidationFailed,
    VersionConflict,
)
from adapters.model import (
    Action,
    ApplicantInput,
    ApplicationInput,
    ApplicationQuery,
    DocumentStatus,
    EnrollmentInput,
    Money,
    OwnerKind,
    Provider,
    RequiredDocument,
    State,
)
from adapters.sandbox_kit import Controlled, Fault, RecordedRequest
from adapters.transport import keys

ROOT = "/accountApplications"
HAL = "application/hal+json"
PRODUCT = (
    "https://www.example.com/products/products/51df9a81-2cb8-4515-aad1-9543b3c4fc18"
)


@pytest.fixture
async def client(app: Controlled) -> AsyncIterator[ApitureClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app),
        base_url=f"http://apiture.test{ROOT}",
    ) as http:
        yield ApitureClient(http, api_key=DEMO_API_KEY, access_token=DEMO_ACCESS_TOKEN)


def last(app: Controlled) -> RecordedRequest:
    return app.control.requests[-1]


def query_of(request: RecordedRequest) -> dict[str, list[str]]:
    return parse_qs(request.query)


def assert_headers(request: RecordedRequest, *, body: bool = False) -> None:
    assert request.headers["accept"] == HAL
    assert request.headers["api-key"] == DEMO_API_KEY
    assert request.headers["authorization"] == f"Bearer {DEMO_ACCESS_TOKEN}"
    if body:
        assert request.headers["content-type"] == HAL
    else:
        assert "content-type" not in request.headers


def first_in(app: Controlled, state: str, *, enrollments: bool = False) -> str:
    ids: list[str] = app.store.ids_in_state(state, enrollments=enrollments)
    return ids[0]


ELSA = ApplicantInput(
    first_name="Elsa",
    last_name="Snowqueen",
    username="Snowqueen123",
    role="primaryUser",
    email="elsa@example.com",
)


# collections -------------------------------------------------------------------------


async def test_list_applications_sends_paging_sort_and_search(
    app: Controlled, client: ApitureClient
) -> None:
    query = ApplicationQuery(search="checking", sort=("-createdAt", "applicant_name"))
    page = await client.list_applications(query, 5, 10)
    request = last(app)
    assert (request.method, request.path) == ("GET", f"{ROOT}/applications")
    assert query_of(request) == {
        "start": ["5"],
        "limit": ["10"],
        "q": ["checking"],
        "sortBy": ["-createdAt,applicantName"],
    }
    assert_headers(request)
    assert page.offset == 5 and page.total is not None
    assert page.has_more == (page.total > 5 + 10)
    assert all("checking" in (a.product_name or "").lower() for a in page.items)
    created = [a.created_at for a in page.items]
    assert created == sorted(created, reverse=True)
    summary = page.items[0]
    assert summary.provider is Provider.APITURE and summary.key == summary.provider_id
    assert summary.version is None and summary.applicants == ()
    assert "available_actions" not in summary.fields
    assert {"name", "state", "product_name", "created_at"} <= summary.fields


@pytest.mark.parametrize(
    ("states", "path", "params"),
    [
        ({State.RUNNING}, "runningApplications", {}),
        ({State.BLOCKED}, "blockedApplications", {}),
        (
            {State.RUNNING, State.BLOCKED},
            "applications",
            {"filter": ["in(state,blocked|running)"]},
        ),
    ],
)
async def test_state_filters_use_the_views_or_filter(
    app: Controlled,
    client: ApitureClient,
    states: set[State],
    path: str,
    params: dict[str, list[str]],
) -> None:
    page = await client.list_applications(
        ApplicationQuery(states=frozenset(states)), 0, 100
    )
    request = last(app)
    assert request.path == f"{ROOT}/{path}"
    assert query_of(request) == {"start": ["0"], "limit": ["100"], **params}
    assert {a.state for a in page.items} == states
    assert page.total == sum(len(app.store.ids_in_state(s.value)) for s in states)


async def test_a_page_is_read_and_mapped_every_time(
    app: Controlled, client: ApitureClient
) -> None:
    query = ApplicationQuery()
    first = await client.list_applications(query, 0, 10)
    again = await client.list_applications(query, 0, 10)
    assert len(app.control.requests) == 2  # the provider is asked every time
    assert again.items == first.items
    # No memo of pages by their bytes: each answer is mapped to its own records.
    assert all(a is not b for a, b in zip(again.items, first.items, strict=True))
    # Another page, and the same page once one of its items has changed.
    other = await client.list_applications(query, 10, 10)
    assert {a.provider_id for a in other.items}.isdisjoint(
        a.provider_id for a in first.items
    )
    running = next(a for a in first.items if a.provider_state == "running")
    await client.act_on_application(running.provider_id, Action.APPROVE, None)
    changed = await client.list_applications(query, 0, 10)
    after = next(a for a in changed.items if a.provider_id == running.provider_id)
    assert after.state is State.APPROVED
    assert after is not running


async def test_running_view_with_states_uses_the_state_parameter(
    app: Controlled, client: ApitureClient
) -> None:
    query = ApplicationQuery(states=frozenset({State.RUNNING, State.CANCELED}))
    page = await client.list_applications(query, 0, 100, view="running")
    request = last(app)
    assert request.path == f"{ROOT}/runningApplications"
    assert query_of(request)["state"] == ["canceled|running"]
    assert {a.state for a in page.items} == {State.RUNNING}


async def test_applicant_filter_and_dates(
    app: Controlled, client: ApitureClient
) -> None:
    joint = next(
        app.store.application(i)
        for i in app.store.application_ids
        if len(app.store.application(i)["applicants"]) == 2
    )
    contact = f"/contacts/contacts/{joint['applicants'][1]['contact']['_id']}"
    page = await client.list_applications(ApplicationQuery(), 0, 10, applicant=contact)
    assert query_of(last(app))["applicant"] == [contact]
    assert len(page.items) == 2 and page.total == 2 and not page.has_more

    from datetime import UTC, datetime

    query = ApplicationQuery(
        created_from=datetime(2019, 3, 1, tzinfo=UTC),
        created_to=datetime(2019, 4, 1, tzinfo=UTC),
    )
    dated = await client.list_applications(query, 0, 100)
    assert query_of(last(app))["filter"] == [
        "and(ge(createdAt,2019-03-01T00:00:00.000Z),"
        "le(createdAt,2019-04-01T00:00:00.000Z))"
    ]
    assert dated.items and all(
        a.created_at and datetime(2019, 3, 1, tzinfo=UTC) <= a.created_at
        for a in dated.items
    )


async def test_paging_to_the_end_returns_every_application_once(
    app: Controlled, client: ApitureClient
) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        page = await client.list_applications(ApplicationQuery(), offset, 9)
        seen += [a.key for a in page.items]
        if not page.has_more:
            break
        offset += len(page.items)
    assert sorted(seen) == sorted(app.store.application_ids)
    assert len(seen) == len(set(seen)) == page.total


async def test_iterate_applications_follows_next_links(
    app: Controlled, client: ApitureClient
) -> None:
    keys = [
        a.key
        async for a in client.iterate_applications(
            ApplicationQuery(sort=("name",)), page_size=20
        )
    ]
    assert sorted(keys) == sorted(app.store.application_ids)
    lists = app.control.matching("GET", f"{ROOT}/applications")
    assert [query_of(r)["start"] for r in lists] == [["0"], ["20"], ["40"], ["60"]]
    assert all(query_of(r)["sortBy"] == ["accountName"] for r in lists)


async def test_unsupported_queries_fail_before_any_call(
    app: Controlled, client: ApitureClient
) -> None:
    with pytest.raises(ValidationFailed) as sort:
        await client.list_applications(ApplicationQuery(sort=("balance",)), 0, 10)
    assert sort.value.violations[0].path == ("sort",)
    with pytest.raises(ValidationFailed):
        await client.list_applications(ApplicationQuery(customer_id="c1"), 0, 10)
    assert app.control.requests == []


async def test_an_enrollment_sort_the_contract_lacks_fails_before_any_call(
    app: Controlled, client: ApitureClient
) -> None:
    # Enrollments sort by applicantName, state, createdAt, completedAt only
    # (contracts/apiture.yaml enrollmentSortBy): productName would be refused.
    with pytest.raises(ValidationFailed) as refused:
        await client.list_enrollments(ApplicationQuery(sort=("productName",)), 0, 10)
    assert refused.value.violations[0].path == ("sort",)
    assert app.control.requests == []
    await client.list_enrollments(ApplicationQuery(sort=("-applicant_name",)), 0, 1)
    assert query_of(last(app))["sortBy"] == ["-applicantName"]


@pytest.mark.parametrize(
    ("applicant", "extra", "path"),
    [
        ("", {}, ("filter", "applicantContact")),
        (None, {"filter": ""}, ("filter", "filter")),
        (None, {"q": ""}, ("filter", "q")),
    ],
)
async def test_an_empty_query_value_fails_before_any_call(
    app: Controlled,
    client: ApitureClient,
    applicant: str | None,
    extra: dict[str, str],
    path: tuple[str, ...],
) -> None:
    # The contract allows no empty query value: "applicant=" is never sent.
    with pytest.raises(ValidationFailed) as refused:
        await client.list_applications(
            ApplicationQuery(extra=extra), 0, 10, applicant=applicant
        )
    assert refused.value.violations[0].path == path
    assert app.control.requests == []


async def test_a_refused_query_is_validation_failed(
    app: Controlled, client: ApitureClient
) -> None:
    # Apiture refusing a query the gateway thought fine (its answer injected: the
    # gateway itself sends no query outside the contract).
    refusal = {
        "_profile": "https://api.apiture.com/schemas/common/errorResponse/v2.0.0/"
        "profile.json",
        "_error": {
            "_id": "e-1",
            "message": "sortBy is not well formed.",
            "statusCode": 400,
            "type": "malformedQueryParameter",
            "attributes": {"parameter": "sortBy", "value": "createdAt"},
        },
    }
    app.control.inject(
        "/enrollments$",
        Fault(status=400, body=json.dumps(refusal).encode(), content_type=HAL),
    )
    with pytest.raises(ValidationFailed) as refused:
        await client.list_enrollments(ApplicationQuery(sort=("createdAt",)), 0, 10)
    assert refused.value.violations[0].path == ("sort",)
    assert refused.value.provider_code == "malformedQueryParameter"
    assert refused.value.request_id == "e-1"
    assert "accountApplications" not in refused.value.message


async def test_list_enrollments(app: Controlled, client: ApitureClient) -> None:
    query = ApplicationQuery(states=frozenset({State.RUNNING}), sort=("createdAt",))
    page = await client.list_enrollments(query, 0, 4)
    request = last(app)
    assert (request.method, request.path) == ("GET", f"{ROOT}/enrollments")
    assert query_of(request) == {
        "start": ["0"],
        "limit": ["4"],
        "sortBy": ["createdAt"],
        "filter": ["in(state,running)"],
    }
    assert_headers(request)
    assert len(page.items) == 4 and page.has_more
    assert page.total == len(app.store.ids_in_state("running", enrollments=True))
    item = page.items[0]
    assert item.state is State.RUNNING and item.applicant_name and item.name
    assert "applicant" not in item.fields and "applicant_name" in item.fields


# application items -------------------------------------------------------------------


async def test_get_applications_maps_full_representations_and_not_found(
    app: Controlled, client: ApitureClient
) -> None:
    with_docs = next(
        i
        for i in app.store.ids_in_state("blocked")
        if app.store.application(i)["documents"]
    )
    result = await client.get_applications([with_docs, "nope", with_docs])
    assert isinstance(result["nope"], NotFound)
    assert result["nope"].provider is Provider.APITURE
    found = result[with_docs]
    assert not isinstance(found, Exception)
    raw = app.store.application(with_docs)
    assert found.state is State.BLOCKED and found.provider_state == "blocked"
    assert found.version == app.store.application_etag(with_docs)
    assert found.available_actions == set(Action)
    assert found.funding_amount == Money(**raw["fundingAmount"])
    assert found.funding_account is not None
    assert (
        found.funding_account.masked_account_number
        == (raw["fundingAccount"]["accountNumbers"]["masked"])
    )
    primary = found.applicants[0]
    contact = raw["applicants"][0]["contact"]
    assert primary.contact_id == contact["_id"]
    assert primary.email == contact["emailAddresses"][0]["value"]
    assert primary.role == "primaryUser" and primary.verified is True
    document = found.documents[0]
    assert document.key == raw["documents"][0]["uri"]
    assert document.status is DocumentStatus.UPLOADED
    assert document.content_type == raw["documents"][0]["contentType"]
    assert document.owner is not None
    assert document.owner.kind is OwnerKind.APITURE_APPLICATION
    assert document.owner.id == with_docs
    assert "available_actions" in found.fields and "applicants" in found.fields
    gets = app.control.matching("GET", f"{ROOT}/applications/.*")
    assert len(gets) == 2  # de-duplicated
    assert_headers(gets[0])


async def test_get_applications_revalidates_with_if_none_match(
    app: Controlled, client: ApitureClient
) -> None:
    id_ = first_in(app, "running")
    first = (await client.get_applications([id_]))[id_]
    again = (await client.get_applications([id_]))[id_]
    assert again is first
    revalidation = last(app)
    assert revalidation.headers["if-none-match"] == app.store.application_etag(id_)
    app.store.set_application_state(id_, "blocked")
    changed = (await client.get_applications([id_]))[id_]
    assert not isinstance(changed, Exception) and changed.state is State.BLOCKED


async def test_get_applications_runs_concurrently(
    app: Controlled, client: ApitureClient
) -> None:
    ids = app.store.application_ids[:50]
    app.control.latency = 0.02
    result = await client.get_applications(ids)
    assert len(result) == 50
    assert not [v for v in result.values() if isinstance(v, Exception)]
    calls = app.control.matching("GET", f"{ROOT}/applications/.*")
    assert len(calls) == 50
    # Calls overlap, at most 16 at a time (the client's semaphore): the peak of
    # calls in flight, from their start and end marks (no timing threshold).
    marks = sorted(
        [(c.started, 1) for c in calls] + [(c.ended, -1) for c in calls],
        key=lambda mark: (mark[0], mark[1]),
    )
    in_flight = peak = 0
    for _, step in marks:
        in_flight += step
        peak = max(peak, in_flight)
    assert 1 < peak <= 16


async def test_a_failing_upstream_fills_only_its_own_keys(
    app: Controlled, client: ApitureClient
) -> None:
    ok, broken = app.store.application_ids[:2]
    app.control.inject(f"/applications/{broken}$", Fault(status=503))
    result = await client.get_applications([ok, broken])
    assert isinstance(result[broken], ProviderUnavailable)
    assert not isinstance(result[ok], Exception)


async def test_create_application_sends_the_seed_shape(
    app: Controlled, client: ApitureClient
) -> None:
    data = ApplicationInput(
        product_uri=PRODUCT,
        account_name="My checking account",
        product_name="Personal Savings",
        applicants=(ELSA,),
        funding_amount=Money("1500.00", "USD"),
    )
    created = await client.create_application(data)
    request = last(app)
    assert (request.method, request.path, request.query) == (
        "POST",
        f"{ROOT}/applications",
        "",
    )
    assert_headers(request, body=True)
    body = json.loads(request.body)
    assert body["_links"] == {"apiture:product": {"href": PRODUCT}}
    assert body["accountName"] == "My checking account"
    assert body["products"] == [{"name": "Personal Savings"}]
    assert body["fundingAmount"] == {"value": "1500.00", "currency": "USD"}
    applicant = body["applicants"][0]
    assert applicant["username"] == "Snowqueen123"
    assert applicant["role"] == {"name": "primaryUser"}
    assert applicant["contact"]["firstName"] == "Elsa"
    assert applicant["contact"]["emailAddresses"][0]["value"] == "elsa@example.com"
    assert created.state is State.RUNNING
    assert created.name == "My checking account"
    assert created.product_name == "Personal Savings"
    assert created.applicant_name == "Elsa Snowqueen"
    assert created.version == app.store.application_etag(created.key)
    assert Action.START not in created.available_actions


async def test_create_without_product_fails_before_any_call(
    app: Controlled, client: ApitureClient
) -> None:
    with pytest.raises(ValidationFailed) as error:
        await client.create_application(ApplicationInput(account_name="x"))
    assert error.value.violations[0].path == ("input", "productUri")
    assert app.control.requests == []


async def test_update_application_patches_with_if_match(
    app: Controlled, client: ApitureClient
) -> None:
    id_ = first_in(app, "running")
    etag = app.store.application_etag(id_)
    updated = await client.update_application(
        id_, ApplicationInput(account_name="Rainy Day Fund"), etag
    )
    request = last(app)
    assert (request.method, request.path) == ("PATCH", f"{ROOT}/applications/{id_}")
    assert_headers(request, body=True)
    assert request.headers["if-match"] == etag
    assert json.loads(request.body) == {"accountName": "Rainy Day Fund"}
    assert updated.name == "Rainy Day Fund" and updated.version != etag
    with pytest.raises(VersionConflict) as stale:
        await client.update_application(id_, ApplicationInput(account_name="x"), etag)
    assert stale.value.request_id


async def test_update_without_if_match_gets_the_etag_first(
    app: Controlled, client: ApitureClient
) -> None:
    id_ = first_in(app, "running")
    etag = app.store.application_etag(id_)
    await client.update_application(id_, ApplicationInput(account_name="Y"), None)
    get, patch = app.control.requests[-2:]
    assert (get.method, patch.method) == ("GET", "PATCH")
    assert patch.headers["if-match"] == etag


@pytest.mark.parametrize(
    ("money", "paths"),
    [
        (Money("-1.00", "USD"), [("input", "fundingAmount", "value")]),
        (Money("1,500", "usd"), [("input", "fundingAmount", "value"),
                                 ("input", "fundingAmount", "currency")]),
        (Money("\u0661\u0665", "USD"), [("input", "fundingAmount", "value")]),
    ],
)  # fmt: skip
async def test_a_funding_amount_outside_the_contract_fails_before_any_call(
    app: Controlled, client: ApitureClient, money: Money, paths: list[Any]
) -> None:
    id_ = first_in(app, "running")
    etag = app.store.application_etag(id_)
    for call in (
        client.update_application(id_, ApplicationInput(funding_amount=money), etag),
        client.create_application(
            ApplicationInput(product_uri=PRODUCT, funding_amount=money)
        ),
        client.replace_application(
            id_, ApplicationInput(product_uri=PRODUCT, funding_amount=money), etag
        ),
    ):
        with pytest.raises(ValidationFailed) as error:
            await call
        assert [v.path for v in error.value.violations] == paths
    assert app.control.requests == []


@given(version=st.one_of(st.just(""), st.text(max_size=6)))
@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
async def test_a_version_that_cannot_be_an_if_match_fails_before_any_call(
    app: Controlled, client: ApitureClient, version: str
) -> None:
    id_ = first_in(app, "running")
    app.control.reset()
    changes = ApplicationInput(account_name="Renamed")
    try:
        await client.update_application(id_, changes, version)
    except ValidationFailed as refused:
        assert refused.violations[0].path == ("ifMatch",)
        assert app.control.requests == []
    except VersionConflict:
        # A well-formed but stale version: sent as given, refused by Apiture.
        (patch,) = app.control.requests
        assert patch.headers["if-match"] == version
    else:
        assert version == "*", f"{version!r} changed the application"  # any version


async def test_invalid_input_maps_to_a_violation_path(
    app: Controlled, client: ApitureClient
) -> None:
    # Apiture refusing a field (its answer injected: the gateway sends no body
    # outside the contract).
    id_ = first_in(app, "running")
    refusal = {
        "_profile": "https://api.apiture.com/schemas/common/errorResponse/v2.0.0/"
        "profile.json",
        "_error": {
            "_id": "e-2",
            "message": "fundingAmount.value: is out of range.",
            "statusCode": 400,
            "type": "invalidField",
            "attributes": {"field": "fundingAmount.value"},
        },
    }
    app.control.inject(
        f"/applications/{id_}$",
        Fault(status=400, body=json.dumps(refusal).encode(), content_type=HAL),
        method="PATCH",
    )
    with pytest.raises(ValidationFailed) as error:
        await client.update_application(
            id_, ApplicationInput(funding_amount=Money("1.00", "USD")), None
        )
    assert error.value.violations[0].path == ("input", "fundingAmount", "value")
    assert error.value.provider_code == "invalidField"


async def test_replace_application_puts_the_whole_representation(
    app: Controlled, client: ApitureClient
) -> None:
    id_ = next(
        i
        for i in app.store.ids_in_state("running")
        if app.store.application(i)["documents"]
    )
    before = app.store.application(id_)
    etag = app.store.application_etag(id_)
    data = ApplicationInput(
        product_uri=PRODUCT, account_name="Replaced", product_name="Money Market"
    )
    replaced = await client.replace_application(id_, data, etag)
    get, put = app.control.requests[-2:]
    assert (get.method, get.path) == ("GET", f"{ROOT}/applications/{id_}")
    assert (put.method, put.path) == ("PUT", f"{ROOT}/applications/{id_}")
    assert put.headers["if-match"] == etag
    assert_headers(put, body=True)
    body = json.loads(put.body)
    assert body["accountName"] == "Replaced" and body["productName"] == "Money Market"
    assert body["_links"] == {"apiture:product": {"href": PRODUCT}}
    assert "applicants" not in body and "fundingAmount" not in body
    assert body["documents"] == before["documents"]  # kept: the domain can't say
    assert replaced.name == "Replaced" and replaced.applicants == ()
    assert len(replaced.documents) == len(before["documents"])


async def test_delete_application(app: Controlled, client: ApitureClient) -> None:
    expired = first_in(app, "expired")
    etag = app.store.application_etag(expired)
    await client.delete_application(expired, etag)
    request = last(app)
    assert (request.method, request.path) == (
        "DELETE",
        f"{ROOT}/applications/{expired}",
    )
    assert request.headers["if-match"] == etag
    assert_headers(request)
    assert expired not in app.store.application_ids
    running = first_in(app, "running")
    with pytest.raises(InvalidStateTransition):
        await client.delete_application(running, None)
    assert [r.method for r in app.control.requests[-2:]] == ["GET", "DELETE"]
    with pytest.raises(NotFound):
        await client.delete_application("nope", None)


@pytest.mark.parametrize(
    ("action", "set_name", "state", "after"),
    [
        (Action.APPROVE, "approvedApplications", "running", State.APPROVED),
        (Action.REJECT, "rejectedApplications", "blocked", State.REJECTED),
        (Action.CANCEL, "canceledApplications", "running", State.CANCELED),
        (Action.EXPIRE, "expiredApplications", "blocked", State.EXPIRED),
        (Action.START, "runningApplications", "blocked", State.RUNNING),
    ],
)
async def test_act_on_application(
    app: Controlled,
    client: ApitureClient,
    action: Action,
    set_name: str,
    state: str,
    after: State,
) -> None:
    id_ = first_in(app, state)
    etag = app.store.application_etag(id_)
    result = await client.act_on_application(id_, action, etag)
    request = last(app)
    assert (request.method, request.path) == ("POST", f"{ROOT}/{set_name}")
    assert query_of(request) == {"application": [id_]}
    assert request.body == b""
    assert request.headers["if-match"] == etag
    assert_headers(request)
    assert result.state is after and result.key == id_
    assert result.version == app.store.application_etag(id_)
    assert action not in result.available_actions


@pytest.mark.parametrize(
    ("action", "set_name", "state"),
    [
        (Action.APPROVE, "approvedApplications", "running"),
        (Action.REJECT, "rejectedApplications", "running"),
        (Action.CANCEL, "canceledApplications", "blocked"),
        (Action.EXPIRE, "expiredApplications", "running"),
        (Action.START, "runningApplications", "blocked"),
    ],
)
async def test_an_action_without_if_match_fetches_the_etag_then_sends_it(
    app: Controlled, client: ApitureClient, action: Action, set_name: str, state: str
) -> None:
    id_ = first_in(app, state)
    etag = app.store.application_etag(id_)
    app.control.reset()
    await client.act_on_application(id_, action, None)
    get, post = app.control.requests
    assert (get.method, get.path) == ("GET", f"{ROOT}/applications/{id_}")
    assert "if-none-match" not in get.headers  # a fresh ETag, not the cache's
    assert (post.method, post.path) == ("POST", f"{ROOT}/{set_name}")
    assert post.headers["if-match"] == etag
    assert_headers(post)


async def test_a_caller_if_match_is_sent_as_is_with_no_extra_call(
    app: Controlled, client: ApitureClient
) -> None:
    running = first_in(app, "running")
    app.control.reset()
    with pytest.raises(VersionConflict):
        await client.act_on_application(running, Action.APPROVE, '"stale"')
    [post] = app.control.requests
    assert post.method == "POST" and post.headers["if-match"] == '"stale"'
    assert app.store.application(running)["state"] == "running"


async def test_action_errors(app: Controlled, client: ApitureClient) -> None:
    approved = first_in(app, "approved")
    with pytest.raises(InvalidStateTransition) as conflict:
        await client.act_on_application(approved, Action.CANCEL, None)
    assert last(app).headers["if-match"] == app.store.application_etag(approved)
    assert conflict.value.provider_code == "invalidApplicationState"
    app.control.reset()
    with pytest.raises(NotFound):  # the ETag GET's 404; no action is sent
        await client.act_on_application("nope", Action.APPROVE, None)
    assert [r.method for r in app.control.requests] == ["GET"]
    running = first_in(app, "running")
    noop = await client.act_on_application(running, Action.START, None)
    assert noop.state is State.RUNNING


async def test_a_400_on_an_action_is_a_validation_failure_never_not_found(
    app: Controlled, client: ApitureClient
) -> None:
    # Apiture's 400 on an action: "malformed or does not refer to an existing or
    # accessible application" (L2248). With the caller's ifMatch no GET comes first.
    with pytest.raises(ValidationFailed) as refused:
        await client.act_on_application("nope", Action.APPROVE, '"1"')
    assert not isinstance(refused.value, NotFound)
    assert refused.value.violations[0].path == ("id",)
    assert refused.value.provider_code == "invalidApplication"
    assert refused.value.request_id


async def test_a_400_naming_if_match_is_a_violation_at_if_match(
    app: Controlled, client: ApitureClient
) -> None:
    app.control.inject(
        "/approvedApplications",
        Fault(
            status=400,
            body=b'{"_error": {"_id": "e2", "type": "ifMatchRequired", '
            b'"attributes": {"header": "If-Match"}}}',
        ),
    )
    with pytest.raises(ValidationFailed) as refused:
        await client.act_on_application(first_in(app, "running"), Action.APPROVE, "x")
    assert refused.value.violations[0].path == ("ifMatch",)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, NotFound),
        (409, InvalidStateTransition),
        (412, VersionConflict),
        (422, ValidationFailed),
        (418, ProviderRejected),
    ],
)
async def test_other_action_statuses_keep_their_mapping(
    app: Controlled, client: ApitureClient, status: int, error: type[Exception]
) -> None:
    app.control.inject(
        "/rejectedEnrollments", Fault(status=status, body=b'{"_error": {}}')
    )
    with pytest.raises(error):
        await client.act_on_enrollment("any", Action.REJECT, '"1"')


# enrollments -------------------------------------------------------------------------


async def test_get_enrollments(app: Controlled, client: ApitureClient) -> None:
    id_ = next(
        i
        for i in app.store.enrollment_ids
        if app.store.enrollment(i)["documents"]
        and app.store.enrollment(i)["requiredDocuments"]
    )
    raw = app.store.enrollment(id_)
    result = await client.get_enrollments([id_, "nope"])
    assert isinstance(result["nope"], NotFound)
    found = result[id_]
    assert not isinstance(found, Exception)
    assert found.key == id_ and found.version == app.store.enrollment_etag(id_)
    assert found.applicant is not None
    assert found.applicant.first_name == raw["applicant"]["contact"]["firstName"]
    assert found.applicant.verified == raw["applicant"]["verified"]
    assert found.required_documents[0].category == "driversLicense"
    assert found.documents[0].owner is not None
    assert found.documents[0].owner.kind is OwnerKind.APITURE_ENROLLMENT
    assert found.flagged_for_review is raw["flaggedForReview"]
    request = app.control.matching("GET", f"{ROOT}/enrollments/{id_}")[0]
    assert_headers(request)
    await client.get_enrollments([id_])
    assert last(app).headers["if-none-match"] == found.version


async def test_create_enrollment(app: Controlled, client: ApitureClient) -> None:
    data = EnrollmentInput(
        applicant=ApplicantInput(
            first_name="John",
            last_name="Smith",
            username="jsmith",
            tax_id="111-11-1111",
        ),
        required_documents=(
            RequiredDocument(type="governmentId", category="driversLicense"),
        ),
    )
    created = await client.create_enrollment(data)
    request = last(app)
    assert (request.method, request.path) == ("POST", f"{ROOT}/enrollments")
    assert_headers(request, body=True)
    body = json.loads(request.body)
    assert body["applicant"] == body["applicants"][0]
    assert body["applicant"]["contact"]["identification"] == [
        {"type": "taxId", "value": "111-11-1111"}
    ]
    assert body["requiredDocuments"] == [
        {"type": "governmentId", "category": "driversLicense"}
    ]
    assert created.state is State.RUNNING and created.applicant_name == "John Smith"
    assert created.available_actions == {Action.REJECT}  # not verified yet
    assert created.version == app.store.enrollment_etag(created.key)


async def test_update_and_replace_enrollment(
    app: Controlled, client: ApitureClient
) -> None:
    id_ = first_in(app, "running", enrollments=True)
    etag = app.store.enrollment_etag(id_)
    changes = EnrollmentInput(
        applicant=ApplicantInput(first_name="Ann", last_name="Lee")
    )
    updated = await client.update_enrollment(id_, changes, etag)
    patch = last(app)
    assert (patch.method, patch.path) == ("PATCH", f"{ROOT}/enrollments/{id_}")
    assert patch.headers["if-match"] == etag
    assert set(json.loads(patch.body)) == {"applicant", "applicants"}
    assert updated.applicant_name == "Ann Lee"
    replaced = await client.replace_enrollment(
        id_,
        EnrollmentInput(applicant=ApplicantInput(first_name="Bo", last_name="Ek")),
        None,
    )
    get, put = app.control.requests[-2:]
    assert (get.method, put.method) == ("GET", "PUT")
    assert put.headers["if-match"] == updated.version
    assert "requiredDocuments" not in json.loads(put.body)  # a PUT clears it
    assert replaced.applicant_name == "Bo Ek" and replaced.required_documents == ()


async def test_delete_enrollment_sends_no_if_match(
    app: Controlled, client: ApitureClient
) -> None:
    id_ = app.store.enrollment_ids[0]
    await client.delete_enrollment(id_)
    request = last(app)
    assert (request.method, request.path) == ("DELETE", f"{ROOT}/enrollments/{id_}")
    assert "if-match" not in request.headers
    assert_headers(request)
    assert id_ not in app.store.enrollment_ids


@pytest.mark.parametrize(
    ("action", "set_name", "after"),
    [
        (Action.APPROVE, "approvedEnrollments", State.APPROVED),
        (Action.REJECT, "rejectedEnrollments", State.REJECTED),
    ],
)
async def test_act_on_enrollment(
    app: Controlled, client: ApitureClient, action: Action, set_name: str, after: State
) -> None:
    id_ = first_in(app, "running", enrollments=True)
    app.store.set_enrollment_verified(id_, True)
    etag = app.store.enrollment_etag(id_)
    result = await client.act_on_enrollment(id_, action, etag)
    request = last(app)
    assert (request.method, request.path) == ("POST", f"{ROOT}/{set_name}")
    assert query_of(request) == {"enrollment": [id_]}
    assert request.headers["if-match"] == etag and request.body == b""
    assert_headers(request)
    assert result.state is after and result.available_actions == frozenset()


async def test_enrollment_action_errors(app: Controlled, client: ApitureClient) -> None:
    id_ = first_in(app, "running", enrollments=True)
    app.store.set_enrollment_verified(id_, False)
    app.control.reset()
    with pytest.raises(InvalidStateTransition):
        await client.act_on_enrollment(id_, Action.APPROVE, None)
    get, post = app.control.requests
    assert (get.method, get.path) == ("GET", f"{ROOT}/enrollments/{id_}")
    assert post.headers["if-match"] == app.store.enrollment_etag(id_)
    with pytest.raises(NotFound):
        await client.act_on_enrollment("nope", Action.REJECT, None)
    with pytest.raises(ValidationFailed) as refused:
        await client.act_on_enrollment("nope", Action.REJECT, '"1"')
    assert refused.value.violations[0].path == ("id",)
    before = len(app.control.requests)
    with pytest.raises(ValidationFailed):
        await client.act_on_enrollment(id_, Action.CANCEL, None)
    assert len(app.control.requests) == before


async def test_error_messages_leak_nothing_upstream(
    app: Controlled, client: ApitureClient
) -> None:
    app.control.inject(
        "/applications/",
        Fault(status=409, body=b'{"_error": {"_id": "e1", "message": "secret"}}'),
    )
    with pytest.raises(InvalidStateTransition) as error:
        await client.update_application("x", ApplicationInput(account_name="a"), '"1"')
    assert "secret" not in str(error.value) and "http" not in str(error.value)
    assert error.value.request_id == "e1"


async def test_reads_leave_one_by_one_while_the_next_are_built(
    app: Controlled,
) -> None:
    # As production stacks it, coalescing in front: each read is built and
    # sent by its own task's first step (adapters.batches.each).
    from adapters.transport.singleflight import Coalescing

    events: list[str] = []

    class Recording(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.ASGITransport(app)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            events.append("sent")
            return await self.inner.handle_async_request(request)

    async with httpx.AsyncClient(
        transport=Coalescing(Recording(), total_timeout=5.0),
        base_url=f"http://apiture.test{ROOT}",
    ) as http:
        client = ApitureClient(
            http, api_key=DEMO_API_KEY, access_token=DEMO_ACCESS_TOKEN
        )
        real_build = client._build

        def build(method: str, path: str, **kwargs: Any) -> httpx.Request:
            events.append("built")
            return real_build(method, path, **kwargs)

        client._build = build  # type: ignore[method-assign]
        ids = app.store.application_ids[:5]
        found = await client.get_applications(ids)
    assert [found[i].provider_id for i in ids] == ids  # type: ignore[union-attr]
    assert events.count("built") == events.count("sent") == 5
    # The first read left before the last was built.
    assert events.index("sent") < len(events) - 1 - events[::-1].index("built")


async def test_reads_cancelled_while_starting_are_all_cancelled(
    app: Controlled, client: ApitureClient
) -> None:
    import asyncio

    app.control.latency = 5.0  # nothing answers during the test
    before = asyncio.all_tasks()
    reading = asyncio.ensure_future(
        client.get_applications(app.store.application_ids[:5])
    )
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # some started, some not yet
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading
    for _ in range(5):
        await asyncio.sleep(0)
    assert asyncio.all_tasks() - before == set()


# Apiture's error bodies cross a trust boundary: whatever a 400 on an action holds,
# the client answers a ValidationFailed at id or ifMatch and quotes nothing of it.
ERROR_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)
ERROR_BODIES = st.one_of(
    ERROR_VALUES,
    st.fixed_dictionaries(
        {"_error": st.fixed_dictionaries(
            {},
            optional={
                "_id": ERROR_VALUES,
                "type": st.sampled_from(["ifMatchRequired", "invalidApplication"])
                | ERROR_VALUES,
                "message": st.just("SECRET upstream text"),
                "attributes": st.dictionaries(
                    st.sampled_from(["header", "parameter", "field", "value"]),
                    st.sampled_from(["If-Match", "application", "x"]) | ERROR_VALUES,
                    max_size=3,
                ),
            },
        )}
    ),
)  # fmt: skip


@given(body=ERROR_BODIES, kind=st.sampled_from(["application", "enrollment"]))
@settings(max_examples=150, derandomize=True, deadline=None)
def test_any_400_body_on_an_action_is_a_validation_failure_at_id_or_if_match(
    body: Any, kind: Literal["application", "enrollment"]
) -> None:
    response = httpx.Response(400, content=json.dumps(body).encode())
    error = domain_error(response, kind, action=True)
    assert isinstance(error, ValidationFailed)
    assert not isinstance(error, NotFound)
    [violation] = error.violations
    assert violation.path in (("id",), ("ifMatch",))
    assert "SECRET" not in error.message + violation.message
    detail = body.get("_error") if isinstance(body, dict) else None
    attributes = detail.get("attributes") if isinstance(detail, dict) else None
    if isinstance(attributes, dict) and "If-Match" in (
        attributes.get(k) for k in ("header", "parameter", "field")
    ):
        assert violation.path == ("ifMatch",)


@given(
    id_=st.text(min_size=1, max_size=40)
    | st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True)
)
@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
async def test_any_id_reaches_the_action_query_exactly_and_is_refused_typed(
    app: Controlled, client: ApitureClient, id_: str
) -> None:
    app.control.reset()
    if not keys.apiture_id(id_):
        # Outside Apiture's id grammar: no such record, and nothing is sent.
        with pytest.raises(NotFound):
            await client.act_on_application(id_, Action.APPROVE, '"1"')
        assert app.control.requests == []
        return
    with pytest.raises(ValidationFailed) as refused:
        await client.act_on_application(id_, Action.APPROVE, '"1"')
    [post] = app.control.requests
    assert post.path == f"{ROOT}/approvedApplications"
    assert parse_qs(post.query, keep_blank_values=True) == {"application": [id_]}
    assert refused.value.violations[0].path == ("id",)
