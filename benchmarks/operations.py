"""The five measured operations, each ours paired with the Mesh query for the same data.

Ours are the front end's operations where one fits (``operations/``) and otherwise
live in ``benchmarks/operations/``; Mesh's are in ``benchmarks/mesh/queries/``,
written against the supergraph that ``benchmarks/mesh/mesh.config.ts`` composes.
``critical_path`` lists the upstream round trips that must follow one another (the
list, then the per-item reads), each as the number of calls it makes at once: the
benchmark times each such round trip directly against a sandbox (20 reads at once
take longer than one: the sandbox answers them one after another), and their sum
is the floor of the operation's latency.

Traffic (``Traffic``): every request its own variables, drawn from the sandboxes'
population (:mod:`benchmarks.population`): a random application for a, a page at a
random offset for b and c (our cursor, Mesh's ``start``), a random bench customer for
d. ``MIX`` weighs the five as the headline row (a 40 %, b 20 %, c 10 %, d 25 %, e 5 %).
The "hot record" scenario sends every request the same variables (``variables``).

A ``fresh`` operation changes its record for good, so every request gets an
application of its own: the Apiture sandbox seeds running ones with their ETags
(``POST /_sandbox/seed/approvable``), and each request body names one and sends its
ETag as ``ifMatch``: the version a front end read with the detail. Both gateways
then make the one state-action call (ours with no ``ifMatch`` would read the ETag
first: two calls).

Bodies are written for ``benchmarks/wrk/graphql.lua``: a template line per operation
(``=`` then the body up to its variables) and a line per request (the template's
number, a space, the variables as JSON).
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
OURS_DIR = ROOT / "benchmarks" / "operations"
FRONT_END_DIR = ROOT / "operations"
MESH_DIR = ROOT / "benchmarks" / "mesh" / "queries"

# With ``--observability``, our gateway twice more, to see what observability
# costs: "bare" with metrics off and no tracing, "observed" with metrics on and
# every request traced (to an exporter that drops the spans). "ours" is as it
# ships: metrics on, tracing off.
# With ``--before-tree DIR``, "before": our gateway as another checkout has it
# (an earlier commit's worktree), measured beside ours in the same run.
Gateway = Literal["ours", "before", "bare", "observed", "hive"]
GATEWAYS: tuple[Gateway, ...] = ("ours", "before", "bare", "observed", "hive")
OBSERVED: Gateway = "observed"
BARE: Gateway = "bare"
BEFORE: Gateway = "before"


def flavour(gateway: Gateway) -> Literal["ours", "hive"]:
    """Which gateway's queries and answers: ours also when before, bare or
    observed."""
    return "hive" if gateway == "hive" else "ours"


SEED_CUSTOMER = "cstap_5mBHiIx3QbkvEpjGfKsI9k"  # connectFi customer = Mambu client
DETAIL_ID = "21ee302e-974d-4d49-9bc6-98825a7c831a"  # an Apiture demo application


@dataclass(frozen=True)
class Population:
    """What varied traffic draws from: the sandboxes' records (their ids)."""

    applications: Sequence[str]  # Apiture application ids
    customers: Sequence[str]  # connectFi customers who are Mambu clients
    # (id, ETag) of running applications, one per approval; consumed in order
    approvable: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class Operation:
    key: str
    name: str
    title: str
    ours: Path
    mesh: Path
    critical_path: tuple[int, ...]
    # The hot record's variables, as neutral names (see ``gateway_variables``).
    variables: dict[str, Any] = field(default_factory=dict)
    # Text every good answer holds, per gateway.
    expect: dict[str, str] = field(default_factory=dict)
    fresh: bool = False

    def query(self, gateway: Gateway) -> str:
        path = self.ours if flavour(gateway) == "ours" else self.mesh
        return path.read_text("utf-8")

    def marker(self, gateway: Gateway) -> str:
        """Text every good answer of ``gateway`` holds."""
        return self.expect[flavour(gateway)]

    def template(self, gateway: Gateway) -> str:
        """The request body up to its variables' value (the body ends with ``}``)."""
        head = json.dumps(
            {"query": self.query(gateway), "operationName": self.name},
            separators=(",", ":"),
        )
        return head[:-1] + ',"variables":'

    def body(self, gateway: Gateway, variables: dict[str, Any] | None = None) -> str:
        """One request body, as a single line of JSON (the hot record's variables
        unless given)."""
        if variables is None:
            assert not self.fresh, "a fresh operation needs its own record"
            variables = self.variables
        return (
            self.template(gateway)
            + json.dumps(gateway_variables(gateway, variables), separators=(",", ":"))
            + "}"
        )

    def draw(self, rng: random.Random, population: Population) -> dict[str, Any]:
        """Variables for one request of varied traffic (neutral names)."""
        variables = dict(self.variables)
        if "id" in variables:
            variables["id"] = rng.choice(population.applications)
        if "offset" in variables:
            last = max(0, len(population.applications) - variables["first"])
            variables["offset"] = rng.randint(0, last)
        if "customerId" in variables:
            variables["customerId"] = rng.choice(population.customers)
        return variables


def gateway_variables(gateway: Gateway, variables: dict[str, Any]) -> dict[str, Any]:
    """Neutral variables as each gateway's query takes them: ours names an
    application by its global id and a page by a cursor (``after``), Mesh by the
    Apiture id and ``start``."""
    out = dict(variables)
    if "id" in out and flavour(gateway) == "ours":
        out["id"] = global_application_id(out["id"])
    if "offset" in out:
        offset = out.pop("offset")
        if gateway == "hive":
            out["start"] = offset
        elif offset:
            out["after"] = apiture_cursor(offset)
    return out


def global_application_id(apiture_id: str) -> str:
    """Our global id of an Apiture application (what ``schema.ids`` encodes)."""
    from adapters.model import Provider
    from schema.ids import encode

    return encode("Application", Provider.APITURE, apiture_id)


def apiture_cursor(offset: int) -> str:
    """Our cursor for the position ``offset`` into Apiture's applications."""
    from adapters.model import Provider
    from schema.pagination import encode_cursor

    return encode_cursor({Provider.APITURE: offset})


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        key="a",
        name="ApplicationDetail",
        title="one application by id",
        ours=FRONT_END_DIR / "applications" / "ApplicationDetail.graphql",
        mesh=MESH_DIR / "ApplicationDetail.graphql",
        critical_path=(1,),
        variables={"id": DETAIL_ID},
        expect={"ours": '"providerId"', "hive": '"_id"'},
    ),
    Operation(
        key="b",
        name="ApplicationsPage",
        title="a page of 50 applications, summary fields",
        ours=OURS_DIR / "ApplicationsPage.graphql",
        mesh=MESH_DIR / "ApplicationsPage.graphql",
        critical_path=(1,),
        variables={"first": 50, "offset": 0},
        expect={"ours": '"providerState"', "hive": '"applicantName"'},
    ),
    Operation(
        key="c",
        name="ApplicationsWithPeople",
        title="a page of 20 applications with applicants and documents",
        ours=OURS_DIR / "ApplicationsWithPeople.graphql",
        mesh=MESH_DIR / "ApplicationsWithPeople.graphql",
        critical_path=(1, 20),
        variables={"first": 20, "offset": 0},
        expect={"ours": '"applicants"', "hive": '"applicants"'},
    ),
    Operation(
        key="d",
        name="CustomerApplicationDocuments",
        title="a connectFi customer's applications with the Mambu documents",
        ours=OURS_DIR / "CustomerApplicationDocuments.graphql",
        mesh=MESH_DIR / "CustomerApplicationDocuments.graphql",
        # One round trip: the Mambu client is the filter's customer, known before
        # connectFi answers, so both are read at once (Mesh's per-item link
        # waits for the list: two round trips).
        critical_path=(2,),
        variables={"customerId": SEED_CUSTOMER},
        expect={"ours": '"documents":[{', "hive": '"documents":[{'},
    ),
    Operation(
        key="e",
        name="ApproveApplication",
        title="approve an application (fresh data each time)",
        ours=FRONT_END_DIR / "applications" / "ApproveApplication.graphql",
        mesh=MESH_DIR / "ApproveApplication.graphql",
        critical_path=(1,),
        variables={"id": "", "ifMatch": ""},
        expect={"ours": '"state":"APPROVED"', "hive": '"state":"approved"'},
        fresh=True,
    ),
)


MIX: tuple[tuple[str, int], ...] = (
    ("a", 40),
    ("b", 20),
    ("c", 10),
    ("d", 25),
    ("e", 5),
)


def select(keys: str) -> list[Operation]:
    """The operations named by ``keys`` (e.g. ``"abe"`` or ``"a,b,e"``), in order."""
    wanted = {k.strip() for k in keys.replace(",", "") if k.strip()}
    unknown = wanted - {o.key for o in OPERATIONS}
    if unknown:
        raise ValueError(f"unknown operations: {', '.join(sorted(unknown))}")
    return [o for o in OPERATIONS if o.key in wanted]
