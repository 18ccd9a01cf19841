"""The Apiture sandbox on its own, against the seed's examples and rules.

Raw HTTP only (no adapter code), so that the sandbox is checked against the seed,
not against the client.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from adapters.apiture.sandbox import BASE_PATH
from adapters.sandbox_kit import Controlled

HAL = "application/hal+json"
APPS = f"{BASE_PATH}/applications"
ENROLLMENTS = f"{BASE_PATH}/enrollments"
ACTION_SETS = {
    "approve": "approvedApplications",
    "reject": "rejectedApplications",
    "cancel": "canceledApplications",
    "expire": "expiredApplications",
    "start": "runningApplications",
}
TARGET = {
    "approve": "approved",
    "reject": "rejected",
    "cancel": "canceled",
    "expire": "expired",
    "start": "running",
}
STATES = (
    "pending",
    "running",
    "blocked",
    "canceled",
    "expired",
    "rejected",
    "approved",
)


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith(HAL)
    body = response.json()
    assert body["_profile"].endswith("/common/errorResponse/v2.0.0/profile.json")
    error = body["_error"]
    assert {"_id", "message", "statusCode", "type", "occurredAt", "_links"} <= set(
        error
    )
    assert error["statusCode"] == status
    assert error["_links"]["describedby"]["href"].endswith(error["type"])
    assert error["occurredAt"].endswith("Z")
    return error


def first_in(app: Controlled, state: str, *, enrollments: bool = False) -> str:
    ids: list[str] = app.store.ids_in_state(state, enrollments=enrollments)
    assert ids, state
    return ids[0]


# demo data -------------------------------------------------------------------------


def test_demo_data_covers_every_state_and_enrollment_kind(app: Controlled) -> None:
    store = app.store
    assert len(store.application_ids) >= 60
    for state in STATES:
        assert store.ids_in_state(state), state
    with_documents = [
        i for i in store.application_ids if store.application(i)["documents"]
    ]
    assert len(with_documents) >= 5
    assert len(store.enrollment_ids) >= 15
    enrollments = [store.enrollment(i) for i in store.enrollment_ids]
    verified = [e["applicant"]["verified"] for e in enrollments]
    assert True in verified and False in verified
    assert any(e["documents"] for e in enrollments)
    assert any(e["requiredDocuments"] for e in enrollments)
    contact = enrollments[0]["applicant"]["contact"]
    assert {"firstName", "lastName", "emailAddresses", "phones", "birthdate"} <= set(
        contact
    )


def test_the_same_seed_gives_the_same_data() -> None:
    from adapters.apiture.sandbox import create_app

    assert create_app(seed=3).store.application_ids == (
        create_app(seed=3).store.application_ids
    )
    assert create_app(seed=3).store.application_ids != (
        create_app(seed=4).store.application_ids
    )


# create ----------------------------------------------------------------------------


async def test_the_seed_create_example_makes_a_running_application(
    http: httpx.AsyncClient, create_example: dict[str, Any]
) -> None:
    response = await http.post(
        APPS,
        json=create_example,
        headers={"Content-Type": HAL, "Accept": HAL},
    )
    assert response.status_code == 201
    assert response.headers["content-type"].startswith(HAL)
    body = response.json()
    location = response.headers["location"]
    assert location == f"{APPS}/{body['_id']}"
    assert response.headers["etag"]
    assert body["state"] == "running"
    assert body["accountName"] == "My checking account"
    assert body["productName"] == "Personal Savings"
    assert body["applicantName"] == "Elsa Snowqueen"
    assert body["_links"]["self"]["href"] == location
    assert body["_links"]["apiture:product"]["href"].endswith(
        "51df9a81-2cb8-4515-aad1-9543b3c4fc18"
    )
    actions = {k for k in body["_links"] if k in {f"apiture:{a}" for a in TARGET}}
    assert actions == {
        "apiture:approve",
        "apiture:reject",
        "apiture:cancel",
        "apiture:expire",
    }

    again = await http.get(location)
    assert again.status_code == 200
    assert again.headers["etag"] == response.headers["etag"]


@pytest.mark.sends_invalid_requests
async def test_create_without_a_product_is_a_400(
    http: httpx.AsyncClient, create_example: dict[str, Any]
) -> None:
    body = copy.deepcopy(create_example)
    del body["_links"]
    error = assert_error(await http.post(APPS, json=body), 400)
    assert error["attributes"]["field"] == "_links"
    body["_links"] = {"apiture:product": {"href": ""}}
    error = assert_error(await http.post(APPS, json=body), 400)
    assert error["attributes"]["field"] == "_links.apiture:product.href"


async def test_a_user_can_have_only_one_running_application(
    http: httpx.AsyncClient, create_example: dict[str, Any]
) -> None:
    assert (await http.post(APPS, json=create_example)).status_code == 201
    second = await http.post(APPS, json=create_example)
    assert assert_error(second, 409)["type"] == "onlyOneRunningApplication"


@pytest.mark.sends_invalid_requests
async def test_a_malformed_body_is_a_400(http: httpx.AsyncClient) -> None:
    response = await http.post(
        APPS, content=b"{not json", headers={"Content-Type": HAL}
    )
    assert_error(response, 400)


# collections -----------------------------------------------------------------------


async def test_the_collection_has_the_seed_shape(http: httpx.AsyncClient) -> None:
    response = await http.get(APPS, params={"start": 10, "limit": 10})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(HAL)
    assert "etag" not in response.headers
    body = response.json()
    assert body["_profile"].endswith(
        "/accountApplications/applications/v2.0.0/profile.json"
    )
    assert (body["start"], body["limit"], body["count"]) == (10, 10, 64)
    assert body["name"] == "account applications"
    links = body["_links"]
    assert links["self"]["href"] == f"{APPS}?start=10&limit=10"
    assert links["first"]["href"] == f"{APPS}?start=0&limit=10"
    assert links["next"]["href"] == f"{APPS}?start=20&limit=10"
    assert links["prev"]["href"] == f"{APPS}?start=0&limit=10"
    assert links["collection"]["href"] == APPS
    items = body["_embedded"]["items"]
    assert isinstance(items, list) and len(items) == 10
    allowed = {
        "_profile", "_links", "_id", "name", "state",
        "accountName", "applicantName", "productName", "createdAt", "completedAt",
    }  # fmt: skip
    for item in items:
        assert {"_profile", "_links", "_id", "name", "state"} <= set(item) <= allowed
        assert item["_links"]["self"]["href"] == f"{APPS}/{item['_id']}"
        assert item["name"] == item["accountName"]
        assert item["_profile"].endswith("/accountApplication/v1.0.0/profile.json")


async def test_a_list_item_follows_every_change_of_its_record(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    # Summaries are made once per revision of a record: each change is seen.
    id_ = first_in(app, "running")

    async def item() -> dict[str, Any]:
        page = (await http.get(APPS, params={"limit": "1000"})).json()
        found: dict[str, Any] = next(
            i for i in page["_embedded"]["items"] if i["_id"] == id_
        )
        return found

    first = await item()
    assert first["state"] == "running" and await item() == first
    etag = app.store.application_etag(id_)
    renamed = await http.patch(
        f"{APPS}/{id_}", json={"accountName": "Renamed"}, headers={"If-Match": etag}
    )
    assert renamed.status_code == 200, renamed.text
    assert (await item())["name"] == "Renamed"
    approved = await http.post(
        f"{BASE_PATH}/approvedApplications",
        params={"application": id_},
        headers={"If-Match": renamed.headers["etag"]},
    )
    assert approved.status_code == 200, approved.text
    after = await item()
    assert after["state"] == "approved" and after["name"] == "Renamed"
    assert "completedAt" in after and "completedAt" not in first
    app.store.set_application_state(id_, "running")
    assert (await item())["state"] == "running"


async def test_the_default_limit_is_100_and_the_last_page_has_no_next(
    http: httpx.AsyncClient,
) -> None:
    body = (await http.get(APPS)).json()
    assert (body["start"], body["limit"], body["count"]) == (0, 100, 64)
    assert len(body["_embedded"]["items"]) == 64
    assert "next" not in body["_links"] and "prev" not in body["_links"]
    last = (await http.get(APPS, params={"start": 60, "limit": 10})).json()
    assert len(last["_embedded"]["items"]) == 4
    assert "next" not in last["_links"]


async def test_following_next_links_visits_every_application_once(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    seen: list[str] = []
    href: str | None = f"{APPS}?limit=7&sortBy=-createdAt"
    while href:
        body = (await http.get(href)).json()
        seen += [item["_id"] for item in body["_embedded"]["items"]]
        href = body["_links"].get("next", {}).get("href")
    assert sorted(seen) == sorted(app.store.application_ids)
    assert len(seen) == len(set(seen))


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"start": "x"}, 400),
        ({"limit": "ten"}, 400),
        ({"start": -1}, 422),
        ({"limit": 0}, 422),
        ({"sortBy": "createdAt;drop"}, 400),
        ({"sortBy": "balance"}, 400),  # the contract lists the fields (L558-564)
        ({"filter": "eq(state,running"}, 400),
        ({"filter": "eq(balance,3)"}, 422),
        ({"filter": "eq(state,dormant)"}, 422),
    ],
)
async def test_bad_collection_queries_are_refused(
    http: httpx.AsyncClient, params: dict[str, Any], status: int
) -> None:
    assert_error(await http.get(APPS, params=params), status)


async def test_sorting_by_several_fields(http: httpx.AsyncClient) -> None:
    body = (await http.get(APPS, params={"sortBy": "productName,-createdAt"})).json()
    items = body["_embedded"]["items"]
    keys = [(i["productName"], i["createdAt"]) for i in items]
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)
    for a, b in itertools.pairwise(keys):
        if a[0] == b[0]:
            assert a[1] >= b[1]


async def test_sorting_puts_missing_values_last(http: httpx.AsyncClient) -> None:
    items = (await http.get(APPS, params={"sortBy": "completedAt"})).json()[
        "_embedded"
    ]["items"]
    done = [i.get("completedAt") for i in items]
    first_missing = done.index(None)
    assert all(d is None for d in done[first_missing:])
    assert done[:first_missing] == sorted(done[:first_missing])


async def test_q_searches_names_case_insensitively(http: httpx.AsyncClient) -> None:
    items = (await http.get(APPS, params={"q": "money MARKET"})).json()["_embedded"][
        "items"
    ]
    assert items and all(i["productName"] == "Money Market" for i in items)
    by_person = (await http.get(APPS, params={"q": "kwame"})).json()
    assert all("Kwame" in i["applicantName"] for i in by_person["_embedded"]["items"])


async def test_views_filter_by_state(http: httpx.AsyncClient, app: Controlled) -> None:
    running = (await http.get(f"{BASE_PATH}/runningApplications")).json()
    blocked = (await http.get(f"{BASE_PATH}/blockedApplications")).json()
    assert {i["state"] for i in running["_embedded"]["items"]} == {"running"}
    assert {i["state"] for i in blocked["_embedded"]["items"]} == {"blocked"}
    assert running["count"] == len(app.store.ids_in_state("running"))
    assert running["_links"]["collection"]["href"] == f"{BASE_PATH}/runningApplications"


@pytest.mark.sends_invalid_requests
async def test_running_view_state_and_name_filters_are_anded(
    http: httpx.AsyncClient,
) -> None:
    url = f"{BASE_PATH}/runningApplications"
    both = (await http.get(url, params={"state": "running|canceled"})).json()
    assert both["count"] == 13
    none = (await http.get(url, params={"state": "approved"})).json()
    assert none["count"] == 0
    names = [i["name"] for i in both["_embedded"]["items"]][:2]
    named = (await http.get(url, params={"name": "|".join(names)})).json()
    assert {i["name"] for i in named["_embedded"]["items"]} == set(names)
    assert_error(await http.get(url, params={"state": "dormant"}), 400)


async def test_filter_subset(http: httpx.AsyncClient) -> None:
    body = (await http.get(APPS, params={"filter": "in(state,running|blocked)"})).json()
    assert body["count"] == 26
    assert {i["state"] for i in body["_embedded"]["items"]} == {"running", "blocked"}
    expr = "and(eq(state,approved),ge(createdAt,2019-03-01))"
    body = (await http.get(APPS, params={"filter": expr})).json()
    items = body["_embedded"]["items"]
    assert items and all(
        i["state"] == "approved" and i["createdAt"] >= "2019-03-01" for i in items
    )


async def test_applicant_filter_takes_a_contact_uri(
    http: httpx.AsyncClient, app: Controlled
) -> None:
    joint = next(
        app.store.application(i)
        for i in app.store.application_ids
        if len(app.store.application(i)["applicants"]) == 2
    )
    contact_id = joint["applicants"][1]["contact"]["_id"]
    uri = f"https://www.example.com/contacts/contacts/{contact_id}"
    items = (await http.get(APPS, params={"applicant": uri})).json()["_embedded"][
        "items"
    ]
    assert len(items) == 2 and joint["_id"] in {i["_id"] for i in items}


async def test_enrollments_collection(http: httpx.AsyncClient) -> None:
    body = (await http.get(ENROLLMENTS, params={"limit": 5})).json()
    assert body["_profile"].endswith(
        "/accountApplications/enrollments/v2.0.0/profile.json"
    )
    assert (body["start"], body["limit"], body["count"]) == (0, 5, 18)
    assert "name" not in body
    assert body["_links"]["next"]["href"] == f"{ENROLLMENTS}?start=5&limit=5"
    for item in body["_embedded"]["items"]:
        assert item["_links"]["self"]["href"] == f"{ENROLLMENTS}/{item['_id']}"
        assert {"_id", "state", "applicantName"} <= set(item)


# application state machine --------------------------------------------------------


def expected(state: str, action: str) -> str:
    if state == TARGET[action]:
        return "noop"
    if action == "start":
        return "change" if state == "blocked" else "conflict"
    return "change" if state in ("running", "blocked") else "conflict"


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(TARGET))
async def test_each_action_in_each_state(
    app: Controlled, http: httpx.AsyncClient, state: str, action: str
) -> None:
    id_ = first_in(app, "running")
    app.store.set_application_state(id_, state)
    before = await http.get(f"{APPS}/{id_}")
    link = before.json()["_links"].get(f"apiture:{action}")
    outcome = expected(state, action)
    assert (link is not None) == (outcome == "change")
    if link:
        assert link["href"] == f"{BASE_PATH}/{ACTION_SETS[action]}?application={id_}"
    response = await http.post(
        f"{BASE_PATH}/{ACTION_SETS[action]}",
        params={"application": id_},
        headers={"If-Match": before.headers["etag"]},
    )
    if outcome == "conflict":
        assert assert_error(response, 409)["attributes"]["state"] == state
        return
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == (TARGET[action] if outcome == "change" else state)
    changed = response.headers["etag"] != before.headers["etag"]
    assert changed == (outcome == "change")
    if body["state"] in ("approved", "rejected", "canceled", "expired"):
        assert "completedAt" in body
        assert not [k for k in body["_links"] if k[8:] in TARGET]


async def test_an_action_takes_the_application_uri(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    id_ = first_in(app, "running")
    response = await http.post(
        f"{BASE_PATH}/canceledApplications",
        params={"application": f"https://www.example.com{APPS}/{id_}"},
        headers={"If-Match": app.store.application_etag(id_)},
    )
    assert response.status_code == 200
    assert response.json()["state"] == "canceled"
    assert response.json()["workflowState"] == "canceled"


@pytest.mark.sends_invalid_requests
async def test_an_action_on_an_unknown_application_is_a_400(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        f"{BASE_PATH}/approvedApplications",
        params={"application": "nope"},
        headers={"If-Match": "*"},
    )
    assert assert_error(response, 400)["type"] == "invalidApplication"
    missing = await http.post(
        f"{BASE_PATH}/approvedApplications", headers={"If-Match": "*"}
    )
    assert assert_error(missing, 400)["attributes"] == {"parameter": "application"}


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize("set_name", [*ACTION_SETS.values(), "approvedEnrollments"])
async def test_an_action_without_if_match_is_a_400_the_table_wins(
    app: Controlled, http: httpx.AsyncClient, set_name: str
) -> None:
    # The seven tables mark If-Match required (L2159...L13427); the prose says
    # "if passed". The contract follows the table.
    enrollment = set_name.endswith("Enrollments")
    id_ = first_in(app, "running", enrollments=enrollment)
    param = "enrollment" if enrollment else "application"
    response = await http.post(f"{BASE_PATH}/{set_name}", params={param: id_})
    assert assert_error(response, 400)["type"] == "ifMatchRequired"
    read = app.store.enrollment if enrollment else app.store.application
    assert read(id_)["state"] == "running"


async def test_an_action_with_a_stale_if_match_is_a_412(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    id_ = first_in(app, "running")
    response = await http.post(
        f"{BASE_PATH}/approvedApplications",
        params={"application": id_},
        headers={"If-Match": '"stale"'},
    )
    assert_error(response, 412)
    assert app.store.application(id_)["state"] == "running"


@pytest.mark.sends_invalid_requests
async def test_blocked_only_by_the_service_then_started(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    id_ = first_in(app, "running")
    app.store.set_application_state(id_, "blocked")
    response = await http.post(
        f"{BASE_PATH}/runningApplications",
        params={"application": id_},
        headers={"If-Match": app.store.application_etag(id_)},
    )
    assert response.json()["state"] == "running"
    assert "apiture:start" not in response.json()["_links"]
    assert (await http.post(f"{BASE_PATH}/blockedApplications")).status_code == 405


# ETags, update, delete ---------------------------------------------------------------


async def test_if_none_match_gives_304_until_the_resource_changes(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    id_ = first_in(app, "running")
    first = await http.get(f"{APPS}/{id_}")
    etag = first.headers["etag"]
    same = await http.get(f"{APPS}/{id_}", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    app.store.set_application_state(id_, "blocked")
    changed = await http.get(f"{APPS}/{id_}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


@pytest.mark.sends_invalid_requests
async def test_patch_merges_and_needs_a_current_if_match(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    id_ = first_in(app, "running")
    url = f"{APPS}/{id_}"
    before = await http.get(url)
    etag = before.headers["etag"]
    change = {"accountName": "Rainy Day Fund", "_links": {"self": {"href": "/x"}}}
    assert_error(await http.patch(url, json=change), 400)
    assert_error(await http.patch(url, json=change, headers={"If-Match": '"x"'}), 412)
    patched = await http.patch(url, json=change, headers={"If-Match": etag})
    assert patched.status_code == 200
    body = patched.json()
    assert body["accountName"] == "Rainy Day Fund"
    assert body["productName"] == before.json()["productName"]
    assert body["_links"]["self"]["href"] == url
    assert patched.headers["etag"] != etag
    assert_error(await http.patch(url, json=change, headers={"If-Match": etag}), 412)


@pytest.mark.sends_invalid_requests
async def test_put_replaces_and_state_is_read_only(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    id_ = first_in(app, "running")
    url = f"{APPS}/{id_}"
    before = await http.get(url)
    full = before.json()
    full["accountName"] = "Replaced"
    del full["fundingAccount"]
    put = await http.put(url, json=full, headers={"If-Match": before.headers["etag"]})
    assert put.status_code == 200
    assert put.json()["accountName"] == "Replaced"
    assert "fundingAccount" not in put.json()
    full["state"] = "approved"
    conflict = await http.put(url, json=full, headers={"If-Match": put.headers["etag"]})
    assert assert_error(conflict, 409)["type"] == "stateIsReadOnly"
    bad = await http.patch(
        url,
        json={"fundingAmount": {"value": "-125.50", "currency": "USD"}},
        headers={"If-Match": put.headers["etag"]},
    )
    assert assert_error(bad, 400)["attributes"]["field"] == "fundingAmount.value"


async def test_unknown_application_is_a_404(http: httpx.AsyncClient) -> None:
    assert_error(await http.get(f"{APPS}/nope"), 404)
    assert_error(
        await http.patch(f"{APPS}/nope", json={}, headers={"If-Match": "*"}), 404
    )


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize("state", STATES)
async def test_deleting_an_application(
    app: Controlled, http: httpx.AsyncClient, state: str
) -> None:
    id_ = first_in(app, "running")
    app.store.set_application_state(id_, state)
    url = f"{APPS}/{id_}"
    assert_error(await http.delete(url), 400)
    assert_error(await http.delete(url, headers={"If-Match": '"old"'}), 412)
    etag = app.store.application_etag(id_)
    response = await http.delete(url, headers={"If-Match": etag})
    if state in ("pending", "expired"):
        assert response.status_code == 204
        assert (await http.get(url)).status_code == 404
    else:
        assert assert_error(response, 409)["attributes"]["state"] == state


# enrollments --------------------------------------------------------------------------


async def test_the_seed_enrollment_example_creates_a_verified_enrollment(
    http: httpx.AsyncClient, seed_example: Callable[[int, int], Any]
) -> None:
    example = seed_example(4127, 4856)
    response = await http.post(ENROLLMENTS, json=example)
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"{ENROLLMENTS}/{body['_id']}"
    assert response.headers["etag"]
    assert body["state"] == "running"
    assert body["applicant"]["verified"] is True
    assert body["applicantName"] == "John Smith"
    assert body["requiredDocuments"] == example["requiredDocuments"]
    assert {"apiture:approve", "apiture:reject"} <= set(body["_links"])
    full = seed_example(4865, 5812)
    # _error is a schema artifact and completedAt a placeholder on a running
    # enrollment (digest §9.28): every other top-level field is there.
    assert set(full) - {"_error", "completedAt"} <= set(body)


async def test_approving_an_unverified_enrollment_is_refused(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    id_ = first_in(app, "running", enrollments=True)
    app.store.set_enrollment_verified(id_, False)
    body = (await http.get(f"{ENROLLMENTS}/{id_}")).json()
    assert "apiture:approve" not in body["_links"]
    assert body["_links"]["apiture:reject"]["href"] == (
        f"{BASE_PATH}/rejectedEnrollments?enrollment={id_}"
    )
    any_version = {"If-Match": "*"}
    refused = await http.post(
        f"{BASE_PATH}/approvedEnrollments",
        params={"enrollment": id_},
        headers=any_version,
    )
    assert assert_error(refused, 409)["type"] == "enrollmentRequirementsIncomplete"
    app.store.set_enrollment_verified(id_, True)
    approved = await http.post(
        f"{BASE_PATH}/approvedEnrollments",
        params={"enrollment": id_},
        headers=any_version,
    )
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    again = await http.post(
        f"{BASE_PATH}/approvedEnrollments",
        params={"enrollment": id_},
        headers=any_version,
    )
    assert again.status_code == 200
    rejected = await http.post(
        f"{BASE_PATH}/rejectedEnrollments",
        params={"enrollment": id_},
        headers=any_version,
    )
    assert_error(rejected, 409)


async def test_enrollment_actions_check_if_match_and_the_id(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    id_ = first_in(app, "running", enrollments=True)
    stale = await http.post(
        f"{BASE_PATH}/rejectedEnrollments",
        params={"enrollment": id_},
        headers={"If-Match": '"stale"'},
    )
    assert_error(stale, 412)
    unknown = await http.post(
        f"{BASE_PATH}/rejectedEnrollments",
        params={"enrollment": "nope"},
        headers={"If-Match": "*"},
    )
    assert assert_error(unknown, 400)["type"] == "invalidEnrollment"


@pytest.mark.sends_invalid_requests
async def test_enrollment_update_keeps_verification_and_etags(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    id_ = first_in(app, "running", enrollments=True)
    url = f"{ENROLLMENTS}/{id_}"
    got = await http.get(url)
    etag = got.headers["etag"]
    assert (await http.get(url, headers={"If-None-Match": etag})).status_code == 304
    applicant = got.json()["applicant"]
    applicant["contact"]["lastName"] = "Changed"
    applicant["verified"] = not applicant["verified"]
    assert_error(await http.patch(url, json={"applicant": applicant}), 400)
    patched = await http.patch(
        url, json={"applicant": applicant}, headers={"If-Match": etag}
    )
    assert patched.status_code == 200
    assert patched.json()["applicantName"].endswith("Changed")
    assert patched.json()["applicant"]["verified"] is not applicant["verified"]
    stale = await http.put(url, json=got.json(), headers={"If-Match": etag})
    assert_error(stale, 412)


async def test_deleting_an_enrollment_is_always_204(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    id_ = first_in(app, "approved", enrollments=True)
    assert (await http.delete(f"{ENROLLMENTS}/{id_}")).status_code == 204
    assert_error(await http.get(f"{ENROLLMENTS}/{id_}"), 404)
    assert (await http.delete(f"{ENROLLMENTS}/{id_}")).status_code == 204


async def test_the_sandbox_records_requests(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    await http.get(APPS, params={"limit": 1}, headers={"API-Key": "k"})
    recorded = app.control.requests[-1]
    assert (recorded.method, recorded.path, recorded.query) == ("GET", APPS, "limit=1")
    assert recorded.headers["api-key"] == "k"
