from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.model import Provider
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
