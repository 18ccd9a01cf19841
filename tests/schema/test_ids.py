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
