"""Varied traffic: every request its own record, d's customers differ, the mix
keeps its weights, and the bodies file stands for whole GraphQL requests."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.apiture.sandbox.store import Store as ApitureStore
from adapters.model import Provider
from benchmarks import population, traffic
from benchmarks.operations import (
    MIX,
    OPERATIONS,
    Population,
    global_application_id,
    select,
)
from schema.pagination import decode_cursor

APPLICATIONS = [f"app-{n:05d}" for n in range(10_000)]
POPULATION = Population(APPLICATIONS, population.customers())


def _variables(body: str) -> dict[str, object]:
    values: dict[str, object] = json.loads(body)["variables"]
    return values


def _varied(key: str, count: int, seed: str = "t") -> list[traffic.Request]:
    op = select(key)[0]
    return traffic.requests([op] * count, random.Random(seed), POPULATION)


def test_each_detail_request_names_its_own_application() -> None:
    reqs = _varied("a", 2_000)

    ids = [_variables(traffic.body("hive", r))["id"] for r in reqs]
    ours = [_variables(traffic.body("ours", r))["id"] for r in reqs]

    assert len(set(ids)) > 1_600  # 2,000 draws of 10,000: ~1,810 distinct
    assert set(ids) <= set(APPLICATIONS)
    assert ours == [global_application_id(str(i)) for i in ids]


def test_pages_start_at_random_offsets_with_the_same_position_for_both() -> None:
    reqs = _varied("b", 1_000)

    starts = [_variables(traffic.body("hive", r))["start"] for r in reqs]
    afters = [_variables(traffic.body("ours", r)).get("after") for r in reqs]

    assert len(set(starts)) > 900
    assert all(isinstance(s, int) and 0 <= s <= 10_000 - 50 for s in starts)
    for start, after in zip(starts, afters, strict=True):
        expected = {Provider.APITURE: start} if start else {}
        assert decode_cursor(after if isinstance(after, str) else None) == expected


def test_d_asks_for_many_different_customers_each_a_mambu_client() -> None:
    reqs = _varied("d", 1_000)

    customers = Counter(
        str(_variables(traffic.body("ours", r))["customerId"]) for r in reqs
    )

    assert len(customers) >= 200
    assert max(customers.values()) < 20
    assert set(customers) <= set(population.customers())


def test_enrollments_are_a_population_of_distinct_people_in_assorted_states() -> None:
    store = ApitureStore()
    demo = len(store.enrollments)
    ids = population.seed_apiture_enrollments(store, 120)

    assert len(ids) == len(set(ids)) == demo + 120
    seeded = [store.enrollment(i) for i in ids[demo:]]
    people = {e["applicant"]["username"] for e in seeded}
    assert len(people) == 120  # each enrollment its own applicant
    states = Counter(e["state"] for e in seeded)
    assert {"running", "blocked", "approved", "rejected"} <= set(states)
    assert max(states.values()) <= 120 // 2
    verified = Counter(e["applicant"]["verified"] for e in seeded)
    assert verified[True] and verified[False]


def test_the_mix_keeps_its_weights_and_each_approval_its_own_application() -> None:
    rng = random.Random("mix")
    plan = traffic.mix_plan(10_000, rng)
    approvable = [(f"run-{n}", f'"etag{n}"') for n in range(traffic.fresh_needed(plan))]
    reqs = traffic.requests(
        plan, rng, Population(APPLICATIONS, population.customers(), approvable)
    )

    counts = Counter(op.key for op, _ in reqs)
    for key, weight in MIX:
        assert abs(counts[key] / 10_000 - weight / 100) < 0.02, (key, counts)
    approvals = [v for op, v in reqs if op.fresh]
    assert [(v["id"], v["ifMatch"]) for v in approvals] == approvable
    ids = [_variables(traffic.body("ours", r)).get("id") for r in reqs]
    assert len({i for i in ids if i}) > 0.8 * len([i for i in ids if i])


def test_the_hot_record_is_one_body() -> None:
    (request,) = traffic.hot(select("a")[0])

    assert _variables(traffic.body("hive", request)) == {
        "id": OPERATIONS[0].variables["id"]
    }


def test_the_file_stands_for_the_whole_bodies(tmp_path: Path) -> None:
    rng = random.Random("file")
    plan = traffic.mix_plan(300, rng)
    approvable = [(f"run-{n}", f'"e{n}"') for n in range(traffic.fresh_needed(plan))]
    reqs = traffic.requests(
        plan, rng, Population(APPLICATIONS, population.customers(), approvable)
    )
    path = tmp_path / "bodies.txt"

    traffic.write(path, "ours", reqs)

    lines = path.read_text().splitlines()
    assert sum(1 for line in lines if line.startswith("=")) == len(
        {o.key for o in plan}
    )
    assert traffic.read(path) == [traffic.body("ours", r) for r in reqs]
    for body, (op, _) in zip(traffic.read(path), reqs, strict=True):
        parsed = json.loads(body)
        assert parsed["operationName"] == op.name
        assert parsed["query"] == op.query("ours")
    assert traffic.expect("hive", reqs) == list(
        dict.fromkeys(op.expect["hive"] for op in plan)
    )


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_any_offset_is_a_cursor_our_gateway_reads_back(offset: int) -> None:
    op = select("c")[0]
    body = op.body("ours", {"first": 20, "offset": offset})

    after = _variables(body).get("after")

    assert decode_cursor(after if isinstance(after, str) else None) == (
        {Provider.APITURE: offset} if offset else {}
    )
    assert (
        _variables(op.body("hive", {"first": 20, "offset": offset}))["start"] == offset
    )
