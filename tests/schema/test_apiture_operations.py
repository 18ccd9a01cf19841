"""Each of the 21 Apiture operations, reached through GraphQL, with the request the
gateway sent upstream asserted."""

from __future__ import annotations

import json

import pytest

from gateway.settings import Settings
from tests.conftest import Gateway
from tests.schema.apiture_helpers import app_id, enrollment_id

HAL = "application/hal+json"
PREFIX = "/accountApplications"


@pytest.fixture
def settings() -> Settings:
    return Settings(apiture_api_key="key-123", apiture_access_token="token-456")


def only_request(gateway: Gateway, method: str, path: str):  # type: ignore[no-untyped-def]
    calls = gateway.apiture.control.matching(method, PREFIX + path)
    assert len(calls) == 1, [
        (r.method, r.path) for r in gateway.apiture.control.requests
    ]
    call = calls[0]
    assert call.headers["accept"] == HAL
    assert call.headers["api-key"] == "key-123"
    assert call.headers["authorization"] == "Bearer token-456"
    return call


LIST = """
query List($filter: ApplicationFilter, $first: Int) {
  applications(filter: $filter, first: $first) {
    totalCount edges { node { id providerId state name } }
  }
}"""


async def test_listing_applications_is_getApplications(gateway: Gateway) -> None:
    data = await gateway.data(LIST, {"first": 5})
    call = only_request(gateway, "GET", "/applications")
    assert "start=0" in call.query and "limit=5" in call.query
    assert "sortBy=-createdAt" in call.query
    assert len(data["applications"]["edges"]) == 5
    assert data["applications"]["totalCount"] == len(
        gateway.apiture.store.application_ids
    )


async def test_running_applications_come_from_the_running_view(
    gateway: Gateway,
) -> None:
    data = await gateway.data(LIST, {"filter": {"states": ["RUNNING"]}, "first": 50})
    only_request(gateway, "GET", "/runningApplications")
    states = {e["node"]["state"] for e in data["applications"]["edges"]}
    assert states == {"RUNNING"}
    expected = gateway.apiture.store.ids_in_state("running")
    assert len(data["applications"]["edges"]) == len(expected)


async def test_blocked_applications_come_from_the_blocked_view(
    gateway: Gateway,
) -> None:
    data = await gateway.data(LIST, {"filter": {"states": ["BLOCKED"]}, "first": 50})
    only_request(gateway, "GET", "/blockedApplications")
    assert {e["node"]["state"] for e in data["applications"]["edges"]} == {"BLOCKED"}


DETAIL = """
query Detail($id: ID!) {
  application(id: $id) {
    id providerId state providerState name productName applicantName createdAt
    fundingAmount { value currency }
    fundingAccount { institutionName maskedAccountNumber }
    applicants { name email } availableActions version
  }
}"""


async def test_one_application_is_getApplication_and_revalidates_by_etag(
    gateway: Gateway,
) -> None:
    key = gateway.apiture.store.application_ids[0]
    first = await gateway.data(DETAIL, {"id": app_id(key)})
    call = only_request(gateway, "GET", f"/applications/{key}")
    assert "if-none-match" not in call.headers
    assert first["application"]["providerId"] == key
    assert first["application"]["version"] == gateway.apiture.store.application_etag(
        key
    )

    gateway.forget_requests()
    again = await gateway.data(DETAIL, {"id": app_id(key)})
    call = only_request(gateway, "GET", f"/applications/{key}")
    assert call.headers["if-none-match"] == first["application"]["version"]
    assert again == first  # served from the gateway's copy after the 304


RESULT = """
  __typename
  ... on Application { id providerId state providerState name version availableActions }
  ... on UserError { code message }
"""

CREATE = f"""
mutation Create($input: ApplicationInput!) {{
  createApplication(input: $input) {{ {RESULT} }}
}}"""


async def test_creating_an_application_posts_the_seed_shaped_body(
    gateway: Gateway,
) -> None:
    product = "https://www.example.com/products/products/51df9a81"
    data = await gateway.data(
        CREATE,
        {
            "input": {
                "productUri": product,
                "accountName": "My checking account",
                "productName": "Personal Savings",
                "applicants": [
                    {"firstName": "Elsa", "lastName": "Snowqueen", "username": "elsa9"}
                ],
            }
        },
    )
    call = only_request(gateway, "POST", "/applications")
    assert call.headers["content-type"].startswith(HAL)
    body = json.loads(call.body)
    assert body["_links"]["apiture:product"]["href"] == product
    assert body["accountName"] == "My checking account"
    assert body["applicants"][0]["contact"]["firstName"] == "Elsa"
    created = data["createApplication"]
    assert created["__typename"] == "Application"
    assert created["state"] == "RUNNING"
    assert created["version"]
    assert created["providerId"] in gateway.apiture.store.application_ids


async def test_creating_without_a_product_is_validation_failed(
    gateway: Gateway,
) -> None:
    data = await gateway.data(CREATE, {"input": {"productUri": ""}})
    assert data["createApplication"]["__typename"] == "ValidationFailed"


UPDATE = f"""
mutation Update($id: ID!, $input: ApplicationChangesInput!, $ifMatch: String) {{
  updateApplication(id: $id, input: $input, ifMatch: $ifMatch) {{ {RESULT} }}
}}"""


async def test_updating_an_application_is_a_patch_with_if_match(
    gateway: Gateway,
) -> None:
    key = gateway.apiture.store.ids_in_state("running")[0]
    etag = gateway.apiture.store.application_etag(key)
    data = await gateway.data(
        UPDATE,
        {"id": app_id(key), "input": {"accountName": "Renamed"}, "ifMatch": etag},
    )
    call = only_request(gateway, "PATCH", f"/applications/{key}")
    assert call.headers["if-match"] == etag
    assert json.loads(call.body) == {"accountName": "Renamed"}
    assert data["updateApplication"]["name"] == "Renamed"
    assert data["updateApplication"]["version"] != etag


REPLACE = f"""
mutation Replace($id: ID!, $input: ApplicationInput!, $ifMatch: String) {{
  replaceApplication(id: $id, input: $input, ifMatch: $ifMatch) {{ {RESULT} }}
}}"""


async def test_replacing_an_application_is_a_put_with_if_match(
    gateway: Gateway,
) -> None:
    key = gateway.apiture.store.ids_in_state("running")[0]
    etag = gateway.apiture.store.application_etag(key)
    data = await gateway.data(
        REPLACE,
        {
            "id": app_id(key),
            "input": {"productUri": "/products/products/p1", "accountName": "Whole"},
            "ifMatch": etag,
        },
    )
    call = only_request(gateway, "PUT", f"/applications/{key}")
    assert call.headers["if-match"] == etag
    assert json.loads(call.body)["accountName"] == "Whole"
    assert data["replaceApplication"]["__typename"] == "Application"
    assert data["replaceApplication"]["name"] == "Whole"


DELETE = """
mutation Delete($id: ID!, $ifMatch: String) {
  deleteApplication(id: $id, ifMatch: $ifMatch) {
    __typename ... on Deleted { id } ... on UserError { code message }
  }
}"""


async def test_deleting_an_expired_application_sends_if_match(gateway: Gateway) -> None:
    key = gateway.apiture.store.ids_in_state("expired")[0]
    etag = gateway.apiture.store.application_etag(key)
    data = await gateway.data(DELETE, {"id": app_id(key), "ifMatch": etag})
    call = only_request(gateway, "DELETE", f"/applications/{key}")
    assert call.headers["if-match"] == etag
    assert data["deleteApplication"] == {"__typename": "Deleted", "id": app_id(key)}
    assert key not in gateway.apiture.store.application_ids


async def test_deleting_a_running_application_is_refused(gateway: Gateway) -> None:
    key = gateway.apiture.store.ids_in_state("running")[0]
    etag = gateway.apiture.store.application_etag(key)
    data = await gateway.data(DELETE, {"id": app_id(key), "ifMatch": etag})
    assert data["deleteApplication"]["__typename"] == "InvalidStateTransition"


@pytest.mark.parametrize(
    ("mutation", "state_set", "source", "target"),
    [
        ("approveApplication", "approvedApplications", "running", "APPROVED"),
        ("rejectApplication", "rejectedApplications", "running", "REJECTED"),
        ("cancelApplication", "canceledApplications", "running", "CANCELED"),
        ("expireApplication", "expiredApplications", "blocked", "EXPIRED"),
        ("startApplication", "runningApplications", "blocked", "RUNNING"),
    ],
)
async def test_each_state_action_posts_to_its_state_set(
    gateway: Gateway, mutation: str, state_set: str, source: str, target: str
) -> None:
    key = gateway.apiture.store.ids_in_state(source)[0]
    etag = gateway.apiture.store.application_etag(key)
    query = f"""
      mutation Act($id: ID!, $ifMatch: String) {{
        {mutation}(id: $id, ifMatch: $ifMatch) {{ {RESULT} }}
      }}"""
    data = await gateway.data(query, {"id": app_id(key), "ifMatch": etag})
    call = only_request(gateway, "POST", f"/{state_set}")
    assert call.query == f"application={key}"
    assert call.headers["if-match"] == etag
    assert call.body == b""
    assert data[mutation]["state"] == target


ENROLLMENTS = """
query Enrollments($first: Int) {
  enrollments(first: $first) { totalCount edges { node { id providerId state } } }
}"""


async def test_listing_enrollments_is_getEnrollments(gateway: Gateway) -> None:
    data = await gateway.data(ENROLLMENTS, {"first": 4})
    call = only_request(gateway, "GET", "/enrollments")
    assert "start=0" in call.query and "limit=4" in call.query
    assert len(data["enrollments"]["edges"]) == 4
    assert data["enrollments"]["totalCount"] == len(
        gateway.apiture.store.enrollment_ids
    )


ENROLLMENT = """
query Enrollment($id: ID!) {
  enrollment(id: $id) {
    providerId state applicantName applicant { firstName lastName email verified }
    requiredDocuments { type category } documents { name contentType }
    flaggedForReview availableActions version
  }
}"""


async def test_one_enrollment_is_getEnrollment(gateway: Gateway) -> None:
    key = gateway.apiture.store.enrollment_ids[0]
    data = await gateway.data(ENROLLMENT, {"id": enrollment_id(key)})
    only_request(gateway, "GET", f"/enrollments/{key}")
    enrollment = data["enrollment"]
    assert enrollment["providerId"] == key
    assert enrollment["applicant"]["lastName"]
    assert enrollment["version"] == gateway.apiture.store.enrollment_etag(key)


ENROLLMENT_RESULT = """
  __typename
  ... on Enrollment { id providerId state version availableActions
                      applicant { firstName lastName } }
  ... on UserError { code message }
"""


async def test_creating_an_enrollment_posts_it(gateway: Gateway) -> None:
    query = f"""
      mutation Create($input: EnrollmentInput!) {{
        createEnrollment(input: $input) {{ {ENROLLMENT_RESULT} }}
      }}"""
    data = await gateway.data(
        query,
        {
            "input": {
                "applicant": {
                    "firstName": "Nina",
                    "lastName": "Okoro",
                    "username": "nina.okoro.new",
                    "email": "nina@example.com",
                }
            }
        },
    )
    call = only_request(gateway, "POST", "/enrollments")
    body = json.loads(call.body)
    assert body["applicant"]["contact"]["firstName"] == "Nina"
    assert data["createEnrollment"]["__typename"] == "Enrollment"
    assert data["createEnrollment"]["state"] == "RUNNING"


@pytest.mark.parametrize(
    ("mutation", "method"), [("update", "PATCH"), ("replace", "PUT")]
)
async def test_changing_an_enrollment_sends_if_match(
    gateway: Gateway, mutation: str, method: str
) -> None:
    key = gateway.apiture.store.enrollment_ids[0]
    etag = gateway.apiture.store.enrollment_etag(key)
    query = f"""
      mutation Change($id: ID!, $input: EnrollmentInput!, $ifMatch: String) {{
        {mutation}Enrollment(id: $id, input: $input, ifMatch: $ifMatch) {{
          {ENROLLMENT_RESULT}
        }}
      }}"""
    data = await gateway.data(
        query,
        {
            "id": enrollment_id(key),
            "input": {"applicant": {"firstName": "Changed", "lastName": "Person"}},
            "ifMatch": etag,
        },
    )
    call = only_request(gateway, method, f"/enrollments/{key}")
    assert call.headers["if-match"] == etag
    assert json.loads(call.body)["applicant"]["contact"]["firstName"] == "Changed"
    result = data[f"{mutation}Enrollment"]
    assert result["__typename"] == "Enrollment"
    assert result["applicant"]["firstName"] == "Changed"


async def test_deleting_an_enrollment_sends_no_if_match(gateway: Gateway) -> None:
    key = gateway.apiture.store.enrollment_ids[0]
    query = """
      mutation Delete($id: ID!) {
        deleteEnrollment(id: $id) { __typename ... on Deleted { id } }
      }"""
    data = await gateway.data(query, {"id": enrollment_id(key)})
    call = only_request(gateway, "DELETE", f"/enrollments/{key}")
    assert "if-match" not in call.headers
    assert data["deleteEnrollment"]["__typename"] == "Deleted"


@pytest.mark.parametrize(
    ("mutation", "state_set", "target"),
    [
        ("approveEnrollment", "approvedEnrollments", "APPROVED"),
        ("rejectEnrollment", "rejectedEnrollments", "REJECTED"),
    ],
)
async def test_enrollment_actions_post_to_their_state_set(
    gateway: Gateway, mutation: str, state_set: str, target: str
) -> None:
    store = gateway.apiture.store
    key = store.ids_in_state("running", enrollments=True)[0]
    store.set_enrollment_verified(key, True)
    etag = store.enrollment_etag(key)
    query = f"""
      mutation Act($id: ID!, $ifMatch: String) {{
        {mutation}(id: $id, ifMatch: $ifMatch) {{ {ENROLLMENT_RESULT} }}
      }}"""
    data = await gateway.data(query, {"id": enrollment_id(key), "ifMatch": etag})
    call = only_request(gateway, "POST", f"/{state_set}")
    assert call.query == f"enrollment={key}"
    assert call.headers["if-match"] == etag
    assert data[mutation]["state"] == target
