"""The sandbox is as strict as the contract (contracts/apiture.yaml): credentials,
methods, parameters and bodies are refused with Apiture's errorResponse, never a
500, and never accepted when they break the contract."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.apiture.sandbox import (
    BASE_PATH,
    DEMO_ACCESS_TOKEN,
    DEMO_API_KEY,
    create_app,
)
from adapters.sandbox_kit import Controlled

from .conftest import CREATE_APPLICATION_EXAMPLE, CREDENTIALS
from .test_sandbox import APPS, ENROLLMENTS, assert_error

DETERMINISTIC = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def first_running(app: Controlled) -> str:
    ids: list[str] = app.store.ids_in_state("running")
    return ids[0]


# credentials -------------------------------------------------------------------------


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({}, "apiKeyRequired"),
        ({"Authorization": f"Bearer {DEMO_ACCESS_TOKEN}"}, "apiKeyRequired"),
        ({"API-Key": DEMO_API_KEY}, "accessTokenRequired"),
        ({"API-Key": "other", "Authorization": f"Bearer {DEMO_ACCESS_TOKEN}"}, None),
        ({"API-Key": DEMO_API_KEY, "Authorization": "Bearer other"}, None),
        (
            {"API-Key": DEMO_API_KEY, "Authorization": f"Basic {DEMO_ACCESS_TOKEN}"},
            None,
        ),
        (
            {"API-Key": DEMO_ACCESS_TOKEN, "Authorization": f"Bearer {DEMO_API_KEY}"},
            None,
        ),
    ],
)
async def test_both_credentials_are_required_and_checked(
    app: Controlled, headers: dict[str, str], kind: str | None
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://apiture.test"
    ) as bare:
        response = await bare.get(APPS, headers=headers)
        error = assert_error(response, 401)
        if kind is not None:
            assert error["type"] == kind
        assert "other" not in response.text
        create = await bare.post(APPS, headers=headers, json=CREATE_APPLICATION_EXAMPLE)
        assert_error(create, 401)
    assert len(app.store.application_ids) == 64  # nothing was created


@pytest.mark.sends_invalid_requests
async def test_a_sandbox_accepts_the_credentials_it_is_given() -> None:
    app = create_app(api_key="k", access_token="t")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://apiture.test"
    ) as bare:
        ok = await bare.get(APPS, headers={"API-Key": "k", "Authorization": "Bearer t"})
        assert ok.status_code == 200
        assert_error(await bare.get(APPS, headers=CREDENTIALS), 401)


# methods -----------------------------------------------------------------------------


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", APPS, "GET, POST"),
        ("PUT", ENROLLMENTS, "GET, POST"),
        ("GET", f"{BASE_PATH}/approvedApplications", "POST"),
        ("POST", f"{BASE_PATH}/blockedApplications", "GET"),
        ("POST", f"{APPS}/some-id", "GET, PUT, PATCH, DELETE"),
        ("TRACE", f"{ENROLLMENTS}/some-id", "GET, PUT, PATCH, DELETE"),
    ],
)
async def test_a_405_carries_allow(
    http: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await http.request(method, path)
    assert assert_error(response, 405)["type"] == "methodNotAllowed"
    assert response.headers["allow"] == allow


@pytest.mark.sends_invalid_requests
async def test_a_405_comes_before_the_credentials(app: Controlled) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://apiture.test"
    ) as bare:
        response = await bare.delete(APPS)
        assert assert_error(response, 405)["type"] == "methodNotAllowed"
        assert response.headers["allow"] == "GET, POST"
        assert "www-authenticate" not in response.headers
        # A method the path takes still needs the credentials.
        assert_error(await bare.get(APPS), 401)


# parameters --------------------------------------------------------------------------


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"start": "9223372036854775808"}, 400),  # past int64
        ({"start": "1e3"}, 400),
        ({"start": ""}, 400),
        ({"start": "-1"}, 422),
        ({"limit": "2147483648"}, 400),  # past int32
        ({"limit": "0"}, 422),
        ({"limit": "ten"}, 400),
    ],
)
async def test_paging_parameters_follow_their_formats(
    http: httpx.AsyncClient, params: dict[str, str], status: int
) -> None:
    error = assert_error(await http.get(APPS, params=params), status)
    assert error["attributes"]["parameter"] == next(iter(params))


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize(
    ("path", "name"),
    [
        (APPS, "filter"),
        (APPS, "q"),
        (APPS, "applicant"),
        (APPS, "sortBy"),
        (f"{BASE_PATH}/runningApplications", "name"),
        (f"{BASE_PATH}/runningApplications", "state"),
        (f"{BASE_PATH}/blockedApplications", "q"),
        (ENROLLMENTS, "filter"),
        (ENROLLMENTS, "q"),
    ],
)
async def test_an_empty_query_value_is_a_400_naming_it(
    http: httpx.AsyncClient, path: str, name: str
) -> None:
    # No parameter of the contract sets allowEmptyValue (OpenAPI 3.0: not allowed).
    error = assert_error(await http.get(f"{path}?{name}="), 400)
    assert error["type"] == "malformedQueryParameter"
    assert error["attributes"]["parameter"] == name


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("start=0&start=x", 400),
        ("limit=5&limit=0", 422),
        ("state=running&state=x", 400),
    ],
)
async def test_every_value_of_a_repeated_parameter_must_fit(
    http: httpx.AsyncClient, query: str, status: int
) -> None:
    url = f"{BASE_PATH}/runningApplications?{query}"
    assert_error(await http.get(url), status)


async def test_the_largest_int64_start_is_an_empty_page(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get(APPS, params={"start": str(2**63 - 1), "limit": "5"})
    assert page.status_code == 200
    assert page.json()["_embedded"]["items"] == []


@pytest.mark.sends_invalid_requests
@given(value=st.text(max_size=30))
@DETERMINISTIC
async def test_any_paging_value_is_a_page_or_a_4xx(
    http: httpx.AsyncClient, value: str
) -> None:
    for name in ("start", "limit"):
        response = await http.get(APPS, params={name: value})
        assert response.status_code in (200, 400, 422)
        if response.status_code != 200:
            assert_error(response, response.status_code)


# bodies ------------------------------------------------------------------------------


def with_change(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(CREATE_APPLICATION_EXAMPLE)
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"_links": "AAA"}, "_links"),
        (with_change(("_links", "apiture:product"), "AAA"), "_links.apiture:product"),
        (with_change(("_links", "apiture:product", "href"), 7), None),
        (with_change(("applicants",), "AAA"), "applicants"),
        (with_change(("applicants", 0), "AAA"), "applicants.0"),
        (with_change(("applicants", 0, "contact"), []), "applicants.0.contact"),
        (with_change(("applicants", 0, "username"), 5), "applicants.0.username"),
        (with_change(("applicants", 0, "consents"), [1]), "applicants.0.consents.0"),
        (with_change(("consents",), {"a": 1}), "consents"),
        (with_change(("products", 0, "name"), None), "products.0.name"),
        (with_change(("fundingAmount",), {"value": 15, "currency": "USD"}), None),
        (with_change(("fundingAmount",), {"value": "1.5", "currency": "usd"}), None),
        (with_change(("accountName",), ["x"]), "accountName"),
    ],
)
async def test_a_wrongly_typed_application_field_is_a_400_naming_it(
    app: Controlled, http: httpx.AsyncClient, body: Any, field: str | None
) -> None:
    error = assert_error(await http.post(APPS, json=body), 400)
    assert error["type"] == "invalidField"
    if field is not None:
        assert error["attributes"]["field"] == field
    assert len(app.store.application_ids) == 64


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"applicant": {"contact": "AAA"}}, "applicant.contact"),
        ({"applicant": "AAA"}, "applicant"),
        ({"applicants": [{}]}, "applicant"),  # the enrolling applicant is required
        ({"applicant": {"contact": {"yearsAtAddress": "3"}}}, None),
        ({"applicant": {"contact": {"birthdate": "27/10/1974"}}}, None),
        ({"applicant": {}, "requiredDocuments": [{"requireIfVerified": "yes"}]}, None),
        ({"applicant": {}, "documents": "none"}, "documents"),
    ],
)
async def test_a_wrongly_typed_enrollment_field_is_a_400(
    app: Controlled, http: httpx.AsyncClient, body: Any, field: str | None
) -> None:
    before = len(app.store.enrollment_ids)
    error = assert_error(await http.post(ENROLLMENTS, json=body), 400)
    if field is not None:
        assert error["attributes"]["field"] == field
    assert len(app.store.enrollment_ids) == before


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize(
    "raw", [b"", b"[]", b"null", b"{", b'{"a": NaN}', b"\xff\xfe", b'"text"']
)
async def test_a_body_that_is_not_a_json_object_is_a_400(
    http: httpx.AsyncClient, raw: bytes
) -> None:
    response = await http.post(
        APPS, content=raw, headers={"Content-Type": "application/hal+json"}
    )
    assert assert_error(response, 400)["type"] == "malformedRequestBody"


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize(
    "content_type", [None, "application/json", "text/plain", "application/hal+xml"]
)
async def test_a_body_not_sent_as_hal_json_is_a_415_and_changes_nothing(
    app: Controlled, http: httpx.AsyncClient, content_type: str | None
) -> None:
    # Every body in the seed is sent as application/hal+json (L652-657, L1142).
    id_ = first_running(app)
    enrollment = app.store.enrollment_ids[0]
    before = app.store.application(id_)["accountName"], app.store.application_etag(id_)
    etag = {"If-Match": "*"}
    body = json.dumps({"accountName": "Changed", "applicant": {}}).encode()
    for method, url, headers in (
        ("POST", APPS, {}),
        ("POST", ENROLLMENTS, {}),
        ("PUT", f"{APPS}/{id_}", etag),
        ("PATCH", f"{APPS}/{id_}", etag),
        ("PUT", f"{ENROLLMENTS}/{enrollment}", etag),
        ("PATCH", f"{ENROLLMENTS}/{enrollment}", etag),
    ):
        request = http.build_request(method, url, content=body, headers=headers)
        del request.headers["content-type"]
        if content_type is not None:
            request.headers["content-type"] = content_type
        response = await http.send(request)
        error = assert_error(response, 415)
        assert error["type"] == "unsupportedMediaType", (method, url)
    assert len(app.store.application_ids) == 64
    assert len(app.store.enrollment_ids) == 18
    after = app.store.application(id_)["accountName"], app.store.application_etag(id_)
    assert after == before


async def test_hal_json_with_a_charset_is_hal_json(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    id_ = first_running(app)
    response = await http.patch(
        f"{APPS}/{id_}",
        content=json.dumps({"accountName": "Charset"}).encode(),
        headers={
            "If-Match": app.store.application_etag(id_),
            "Content-Type": "application/hal+json; charset=utf-8",
        },
    )
    assert response.status_code == 200
    assert app.store.application(id_)["accountName"] == "Charset"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["_links", "applicants", "applicant", "products", "consents", "fundingAmount",
     "documents", "requiredDocuments", "accountName", "state", "organization"]
)  # fmt: skip


@pytest.mark.sends_invalid_requests
@given(body=st.dictionaries(FIELDS, JSON_VALUES, max_size=4))
@DETERMINISTIC
async def test_any_body_is_answered_by_the_contract_never_a_500(
    app: Controlled, http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    id_ = first_running(app)
    etag = {"If-Match": "*"}
    for method, url, headers in (
        ("POST", APPS, {}),
        ("POST", ENROLLMENTS, {}),
        ("PATCH", f"{APPS}/{id_}", etag),
        ("PUT", f"{ENROLLMENTS}/{app.store.enrollment_ids[0]}", etag),
    ):
        response = await http.request(
            method, url, content=json.dumps(body), headers=headers
        )
        assert response.status_code in (200, 201, 400, 409), response.text
        if response.status_code >= 400:
            assert_error(response, response.status_code)


async def test_an_unnamed_applicant_leaves_applicant_name_out_never_null(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    created = await http.post(ENROLLMENTS, json={"applicant": {"contact": {}}})
    assert created.status_code == 201
    assert "applicantName" not in created.json()
    url = created.headers["location"]
    named = {"applicant": {"contact": {"firstName": "Ada"}}}
    patched = await http.patch(
        url, json=named, headers={"If-Match": created.headers["etag"]}
    )
    assert patched.json()["applicantName"] == "Ada"
    cleared = await http.patch(
        url,
        json={"applicant": {"contact": {}}},
        headers={"If-Match": patched.headers["etag"]},
    )
    assert "applicantName" not in cleared.json()
