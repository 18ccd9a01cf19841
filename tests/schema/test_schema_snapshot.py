"""The committed SDL is the API's review copy: it must match the live schema."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema

from schema.api import schema

COMMITTED = Path(__file__).parents[2] / "schema.graphql"


def test_the_committed_schema_matches_the_live_one() -> None:
    live = schema.as_str() + "\n"
    assert COMMITTED.read_text() == live, (
        "schema.graphql is stale: run `make schema` and commit the result"
    )


def test_every_client_visible_type_and_field_has_a_description() -> None:
    sdl = build_schema(COMMITTED.read_text())
    missing = []
    for name, type_ in sdl.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not type_.description and name not in {"DateTime", "Upload", "JSON"}:
            missing.append(name)
        for field_name, field in getattr(type_, "fields", {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
    assert missing == []
