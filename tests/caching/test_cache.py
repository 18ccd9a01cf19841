"""The one cache type: least recently used out, bounded in bytes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from caching import Cache, per_entry


def test_least_recently_used_goes_first() -> None:
    cache: Cache[str, int] = Cache(30, per_entry(10))
    for key in "abc":
        cache.put(key, ord(key))
    assert cache.get("a") == ord("a")  # used: now the most recent
    cache.put("d", 4)
    assert "b" not in cache
    assert [cache.get(k) for k in "acd"] == [ord("a"), ord("c"), 4]
    assert cache.bytes == 30


def test_an_entry_too_heavy_is_not_kept_and_evicts_nothing() -> None:
    cache: Cache[str, bytes] = Cache(100, lambda k, v: len(v), max_entry_bytes=40)
    cache.put("small", b"x" * 40)
    cache.put("big", b"x" * 41)
    assert cache.get("big") is None
    assert cache.get("small") == b"x" * 40
    assert cache.bytes == 40


def test_replacing_a_key_counts_its_new_weight_only() -> None:
    cache: Cache[str, bytes] = Cache(100, lambda k, v: len(v))
    cache.put("a", b"1234")
    cache.put("a", b"12")
    assert (len(cache), cache.bytes) == (1, 2)
    assert cache.pop("a") == b"12" and cache.bytes == 0
    assert cache.pop("a") is None


Op = tuple[str, int, int]  # ("put" | "get", key, weight)
ops = st.lists(
    st.tuples(
        st.sampled_from(["put", "get"]),
        st.integers(0, 7),
        st.integers(0, 60),
    ),
    max_size=60,
)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(ops, st.integers(0, 120))
def test_it_behaves_as_a_plain_lru_model(sequence: list[Op], bound: int) -> None:
    """Against a list model: the bound in bytes always holds, what is kept is
    the most recently used suffix that fits, and a hit answers what was put."""
    cache: Cache[int, tuple[int, int]] = Cache(bound, lambda k, v: v[1])
    model: list[tuple[int, tuple[int, int]]] = []  # least recent first
    for step, (op, key, weight) in enumerate(sequence):
        if op == "put":
            value = (step, weight)
            cache.put(key, value)
            model = [(k, v) for k, v in model if k != key]
            if weight <= bound:
                model.append((key, value))
            while sum(v[1] for _, v in model) > bound:
                model.pop(0)
        else:
            found = dict(model).get(key)
            assert cache.get(key) == found
            if found is not None:
                model = [(k, v) for k, v in model if k != key] + [(key, found)]
        assert cache.bytes == sum(v[1] for _, v in model) <= bound
        assert len(cache) == len(model)
