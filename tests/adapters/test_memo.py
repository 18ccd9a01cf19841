"""Answers as mapped, by what was asked and the answer's exact bytes."""

from __future__ import annotations

from adapters.transport.memo import MappedAnswers
from caching.bounds import ANSWER_BYTE_BYTES


def test_kept_by_what_was_asked_and_the_bytes() -> None:
    memo = MappedAnswers()
    memo.put("page 1", b'{"a": 1}', ("a",))
    assert memo.get("page 1", b'{"a": 1}') == ("a",)
    assert memo.get("page 1", b'{"a": 2}') is None  # other bytes
    assert memo.get("page 2", b'{"a": 1}') is None  # asked for something else


def test_bounded_in_bytes_least_recently_used_first() -> None:
    memo = MappedAnswers(max_bytes=2 * ANSWER_BYTE_BYTES)  # two 1-byte answers
    memo.put(1, b"x", "one")
    memo.put(2, b"x", "two")
    assert memo.get(1, b"x") == "one"  # used: now the most recent
    memo.put(3, b"x", "three")
    assert memo.get(2, b"x") is None
    assert (memo.get(1, b"x"), memo.get(3, b"x")) == ("one", "three")


def test_a_large_answer_is_not_kept() -> None:
    memo = MappedAnswers(max_entry_bytes=4 * ANSWER_BYTE_BYTES)
    memo.put("big", b"12345", "mapped")
    memo.put("small", b"1234", "mapped")
    assert memo.get("big", b"12345") is None
    assert memo.get("small", b"1234") == "mapped"
