"""The requests of one run, written for ``benchmarks/wrk/graphql.lua``.

Three scenarios (``SCENARIOS``):

- ``mix``: the headline row, the five operations weighed as :data:`MIX`, each
  request its own variables;
- ``varied``: one operation at a time, each request its own variables;
- ``hot``: one operation at a time, every request the same variables (the "hot
  record": what the gateways' de-duplication and caches of identical reads see
  at best). The fresh operation e has no hot record.

Varied variables are drawn with a seeded ``random.Random`` from the sandboxes'
population (:class:`~benchmarks.operations.Population`), so a run's bodies are the
same every time. The file holds a template per operation and a short line per
request (see :func:`write`), so 100,000 requests take a few megabytes, not the
query text 100,000 times.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.operations import (
    MIX,
    OPERATIONS,
    Gateway,
    Operation,
    Population,
    gateway_variables,
)

SCENARIOS = ("mix", "varied", "hot")
Request = tuple[Operation, dict[str, Any]]


def mix_plan(count: int, rng: random.Random) -> list[Operation]:
    """``count`` operations drawn with the weights of :data:`MIX`."""
    by_key = {o.key: o for o in OPERATIONS}
    ops = [by_key[k] for k, _ in MIX]
    return rng.choices(ops, weights=[w for _, w in MIX], k=count)


def fresh_needed(plan: Sequence[Operation]) -> int:
    return sum(1 for op in plan if op.fresh)


def requests(
    plan: Sequence[Operation], rng: random.Random, population: Population
) -> list[Request]:
    """Each planned request with its own variables; a fresh one takes the next
    approvable application (there must be one per fresh request)."""
    approvable = iter(population.approvable)
    out: list[Request] = []
    for op in plan:
        if op.fresh:
            id_, etag = next(approvable)
            out.append((op, {"id": id_, "ifMatch": etag}))
        else:
            out.append((op, op.draw(rng, population)))
    return out


def hot(op: Operation) -> list[Request]:
    return [(op, op.variables)]


def body(gateway: Gateway, request: Request) -> str:
    """A whole request body (what the lines of :func:`write` expand to)."""
    op, variables = request
    return op.body(gateway, variables)


def write(path: Path, gateway: Gateway, reqs: Sequence[Request]) -> None:
    """Template lines (``=`` and a body up to its variables), then one line per
    request: the template's number (from 1), a space, the variables as JSON."""
    templates: dict[str, int] = {}
    heads: list[str] = []
    lines: list[str] = []
    for op, variables in reqs:
        number = templates.get(op.key)
        if number is None:
            number = templates[op.key] = len(templates) + 1
            heads.append("=" + op.template(gateway))
        values = gateway_variables(gateway, variables)
        lines.append(f"{number} {json.dumps(values, separators=(',', ':'))}")
    path.write_text("\n".join([*heads, *lines]) + "\n", "utf-8")


def read(path: Path) -> list[str]:
    """The bodies a file of :func:`write` stands for, in order (for tests and for
    sending them without wrk)."""
    heads: list[str] = []
    bodies: list[str] = []
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("="):
            heads.append(line[1:])
        elif line:
            number, _, values = line.partition(" ")
            bodies.append(heads[int(number) - 1] + values + "}")
    return bodies


def expect(gateway: Gateway, reqs: Sequence[Request]) -> list[str]:
    """The markers of the operations in ``reqs``: a good answer holds one."""
    return list(dict.fromkeys(op.marker(gateway) for op, _ in reqs))
