import tracemalloc
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.model import Provider
from caching import bounds
from schema import ids


def test_a_global_id_round_trips() -> None:
    raw = ids.encode("Application", Provider.CONNECTFI, "cstap_1:iapp_2")
    assert ids.decode(raw) == ids.GlobalId(
        "Application", Provider.CONNECTFI, "cstap_1:iapp_2"
    )


def test_anything_else_is_not_an_id() -> None:
    for raw in ["", "x", "!!!", ids.encode("Query", Provider.MAMBU, "k")]:
        assert ids.decode(raw) is None


@settings(max_examples=200, derandomize=True)
@given(
    typename=st.sampled_from(sorted(ids.TYPENAMES)),
    provider=st.sampled_from(Provider),
    key=st.text(max_size=40),
)
def test_an_id_is_what_a_global_id_encodes(
    typename: str, provider: Provider, key: str
) -> None:
    assert ids.encode(typename, provider, key) == (
        ids.GlobalId(typename, provider, key).encode()
    )


def test_the_ids_remembered_stay_within_their_bound() -> None:
    """3 x as many distinct records as the bound: the count stops at the bound,
    and what the ids held take (tracemalloc: the id, its key made as an answer
    makes it, the cache's node) is within the ~365 B each caching.bounds says."""
    ids.encode_by_name.cache_clear()
    most = bounds.ENCODED_IDS
    full = highest = 0
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for n in range(3 * most):
            ids.encode("Application", Provider.APITURE, str(uuid.UUID(int=n)))
            assert ids.encode_by_name.cache_info().currsize == min(n + 1, most)
            if n % 512 == 511:
                held = tracemalloc.get_traced_memory()[0] - start
                highest = max(highest, held)
                if n == most - 1:
                    full = held
    finally:
        tracemalloc.stop()
        ids.encode_by_name.cache_clear()
    assert most == 8_192
    assert 300 * most <= full <= highest <= 400 * most
