"""The schema's idempotency tests again, with the store in Redis: the same
behaviour through ``RedisIdempotencyStore`` and the result codec (approvals,
uploads with their file digests, typed failures and their waiters)."""

from __future__ import annotations

import pytest

from gateway.settings import Settings
from gateway.state.idempotency import RedisIdempotencyStore
from tests.conftest import Gateway, serve
from tests.schema.apiture_helpers import app_id
from tests.schema.test_idempotency import (
    APPROVE,
    test_a_different_file_under_the_same_key_is_refused,
    test_an_approval_retried_with_its_key_calls_apiture_once,
    test_an_upload_retried_with_its_key_uploads_once,
    test_concurrent_repeats_wait_for_the_first,
    test_the_same_key_with_other_input_is_refused,
    test_without_a_key_every_call_goes_upstream,
)
from tests.schema.test_mutation_failures import (
    test_a_keyed_mutation_retried_after_a_failure_reaches_the_provider,
    test_repeats_waiting_on_a_failed_first_get_its_typed_failure,
)

__all__ = [
    "test_a_different_file_under_the_same_key_is_refused",
    "test_a_keyed_mutation_retried_after_a_failure_reaches_the_provider",
    "test_an_approval_retried_with_its_key_calls_apiture_once",
    "test_an_upload_retried_with_its_key_uploads_once",
    "test_concurrent_repeats_wait_for_the_first",
    "test_repeats_waiting_on_a_failed_first_get_its_typed_failure",
    "test_the_same_key_with_other_input_is_refused",
    "test_without_a_key_every_call_goes_upstream",
]


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return Settings(redis_url=redis_url)


async def test_these_tests_use_the_redis_store(settings: Settings) -> None:
    async with serve(settings) as gateway:
        store = gateway_store(gateway)
        key = gateway.apiture.store.ids_in_state("running")[0]
        variables = {"id": app_id(key), "key": "the-key"}
        first = await gateway.data(APPROVE, variables)
        assert first["approveApplication"]["state"] == "APPROVED"
        assert len(await store.redis.keys("gw:idem:*")) == 1


def gateway_store(gateway: Gateway) -> RedisIdempotencyStore:
    transport = gateway.client._transport
    store = transport.app.state.fleet.idempotency  # type: ignore[attr-defined]
    assert isinstance(store, RedisIdempotencyStore)
    return store
