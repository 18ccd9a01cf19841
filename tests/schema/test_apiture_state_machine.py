"""The Apiture state machine through GraphQL: every action from every state."""

from __future__ import annotations

import pytest

from tests.conftest import Gateway
from tests.schema.apiture_helpers import action_links, app_id, raw

STATES = (
    "pending",
    "running",
    "blocked",
    "canceled",
    "expired",
    "rejected",
    "approved",
)
TARGET = {
    "approve": "approved",
    "reject": "rejected",
    "cancel": "canceled",
    "expire": "expired",
    "start": "running",
}


def expected(state: str, action: str) -> str | None:
    """The state after ``action``, or None when the provider refuses it (409)."""
    target = TARGET[action]
    if target == state:
        return state  # "does nothing if the state is already …"
    if state == "blocked" or (state == "running" and action != "start"):
        return target
    return None


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", sorted(TARGET))
async def test_every_action_from_every_state(
    gateway: Gateway, state: str, action: str
) -> None:
    key = gateway.apiture.store.ids_in_state(state)[0]
    query = f"""
      mutation Act($id: ID!) {{
        {action}Application(id: $id) {{
          __typename
          ... on Application {{ state providerState }}
          ... on UserError {{ code message }}
        }}
      }}"""
    data = await gateway.data(query, {"id": app_id(key)})
    result = data[f"{action}Application"]
    after = expected(state, action)
    if after is None:
        assert result["__typename"] == "InvalidStateTransition"
        assert result["code"] == "INVALID_STATE_TRANSITION"
        assert gateway.apiture.store.application(key)["state"] == state
    else:
        assert result["__typename"] == "Application"
        assert result["providerState"] == after
        assert result["state"] == after.upper()


@pytest.mark.parametrize("state", STATES)
async def test_available_actions_are_the_providers_action_links(
    gateway: Gateway, state: str
) -> None:
    key = gateway.apiture.store.ids_in_state(state)[0]
    query = "query A($id: ID!) { application(id: $id) { availableActions } }"
    data = await gateway.data(query, {"id": app_id(key)})
    links = action_links(await raw(gateway.apiture, f"applications/{key}"))
    assert set(data["application"]["availableActions"]) == links
    allowed = {a.upper() for a in TARGET if expected(state, a) not in (None, state)}
    assert links == allowed


async def test_a_stale_if_match_is_a_version_conflict(gateway: Gateway) -> None:
    store = gateway.apiture.store
    key = store.ids_in_state("running")[0]
    stale = store.application_etag(key)
    store.set_application_state(key, "blocked")  # someone else changed it
    query = """
      mutation Approve($id: ID!, $ifMatch: String) {
        approveApplication(id: $id, ifMatch: $ifMatch) {
          __typename ... on UserError { code message }
        }
      }"""
    data = await gateway.data(query, {"id": app_id(key), "ifMatch": stale})
    assert data["approveApplication"]["__typename"] == "VersionConflict"
    assert data["approveApplication"]["code"] == "VERSION_CONFLICT"
    assert store.application(key)["state"] == "blocked"


async def test_a_stale_if_match_on_update_is_a_version_conflict(
    gateway: Gateway,
) -> None:
    store = gateway.apiture.store
    key = store.ids_in_state("running")[0]
    stale = store.application_etag(key)
    store.set_application_state(key, "blocked")
    query = """
      mutation U($id: ID!, $ifMatch: String) {
        updateApplication(id: $id, input: {accountName: "x"}, ifMatch: $ifMatch) {
          __typename
        }
      }"""
    data = await gateway.data(query, {"id": app_id(key), "ifMatch": stale})
    assert data["updateApplication"]["__typename"] == "VersionConflict"


async def test_approving_an_unverified_enrollment_is_refused(gateway: Gateway) -> None:
    from tests.schema.apiture_helpers import enrollment_id

    store = gateway.apiture.store
    key = store.ids_in_state("running", enrollments=True)[0]
    store.set_enrollment_verified(key, False)
    query = """
      mutation A($id: ID!) {
        approveEnrollment(id: $id) { __typename }
      }"""
    data = await gateway.data(query, {"id": enrollment_id(key)})
    assert data["approveEnrollment"]["__typename"] == "InvalidStateTransition"
    detail = await gateway.data(
        "query E($id: ID!) { enrollment(id: $id) { availableActions } }",
        {"id": enrollment_id(key)},
    )
    assert detail["enrollment"]["availableActions"] == ["REJECT"]


async def test_an_action_on_a_connectfi_application_is_refused_without_a_call(
    gateway: Gateway,
) -> None:
    from adapters.model import Provider
    from schema import ids

    gid = ids.encode("Application", Provider.CONNECTFI, "cstap_x:iapp_y")
    data = await gateway.data(
        "mutation A($id: ID!) { approveApplication(id: $id) { __typename } }",
        {"id": gid},
    )
    assert data["approveApplication"]["__typename"] == "InvalidStateTransition"
    assert gateway.upstream_calls() == 0
