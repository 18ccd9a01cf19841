"""The five measured operations, each ours paired with the Mesh query for the same data.

Ours are the front end's operations where one fits (``operations/``) and otherwise
live in ``benchmarks/operations/``; Mesh's are in ``benchmarks/mesh/queries/``,
written against the supergraph that ``benchmarks/mesh/mesh.config.ts`` composes.
``critical_path`` lists the upstream round trips that must follow one another (the
list, then the per-item reads), each as the number of calls it makes at once: the
benchmark times each such round trip directly against a sandbox (20 reads at once
take longer than one: the sandbox answers them one after another), and their sum
is the floor of the operation's latency.

A ``fresh`` operation changes its record for good, so every request gets an
application of its own: the Apiture sandbox seeds running ones, and each request
body names one (see ``bodies``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
OURS_DIR = ROOT / "benchmarks" / "operations"
FRONT_END_DIR = ROOT / "operations"
MESH_DIR = ROOT / "benchmarks" / "mesh" / "queries"

Gateway = Literal["ours", "hive"]
GATEWAYS: tuple[Gateway, ...] = ("ours", "hive")

SEED_CUSTOMER = "cstap_5mBHiIx3QbkvEpjGfKsI9k"  # connectFi customer = Mambu client
DETAIL_ID = "21ee302e-974d-4d49-9bc6-98825a7c831a"  # an Apiture demo application


@dataclass(frozen=True)
class Operation:
    key: str
    name: str
    title: str
    ours: Path
    mesh: Path
    critical_path: tuple[int, ...]
    variables: dict[str, Any] = field(default_factory=dict)
    # Text every good answer holds, per gateway.
    expect: dict[str, str] = field(default_factory=dict)
    fresh: bool = False

    def query(self, gateway: Gateway) -> str:
        return (self.ours if gateway == "ours" else self.mesh).read_text("utf-8")

    def body(self, gateway: Gateway, application_id: str | None = None) -> str:
        """One request body, as a single line of JSON."""
        variables = dict(self.variables)
        if self.fresh:
            assert application_id is not None, "a fresh operation needs an id"
            variables["id"] = application_id
        if "id" in variables and gateway == "ours":
            variables["id"] = global_application_id(variables["id"])
        return json.dumps(
            {
                "query": self.query(gateway),
                "variables": variables,
                "operationName": self.name,
            },
            separators=(",", ":"),
        )

    def bodies(self, gateway: Gateway, application_ids: Sequence[str]) -> list[str]:
        if not self.fresh:
            return [self.body(gateway)]
        return [self.body(gateway, i) for i in application_ids]


def global_application_id(apiture_id: str) -> str:
    """Our global id of an Apiture application (what ``schema.ids`` encodes)."""
    from adapters.model import Provider
    from schema.ids import encode

    return encode("Application", Provider.APITURE, apiture_id)


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
        variables={"first": 50},
        expect={"ours": '"providerState"', "hive": '"applicantName"'},
    ),
    Operation(
        key="c",
        name="ApplicationsWithPeople",
        title="a page of 20 applications with applicants and documents",
        ours=OURS_DIR / "ApplicationsWithPeople.graphql",
        mesh=MESH_DIR / "ApplicationsWithPeople.graphql",
        critical_path=(1, 20),
        variables={"first": 20},
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
        expect={"ours": '"state":"APPROVED"', "hive": '"state":"approved"'},
        fresh=True,
    ),
)


def select(keys: str) -> list[Operation]:
    """The operations named by ``keys`` (e.g. ``"abe"`` or ``"a,b,e"``), in order."""
    wanted = {k.strip() for k in keys.replace(",", "") if k.strip()}
    unknown = wanted - {o.key for o in OPERATIONS}
    if unknown:
        raise ValueError(f"unknown operations: {', '.join(sorted(unknown))}")
    return [o for o in OPERATIONS if o.key in wanted]
