"""Counting the objects the fast path reads, on either road: a plan compiled
(``engine.compiled``, every plan kept across requests) or interpreted
(``engine.plans.run_plan``, a plan made for one request)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine import compiled as compiled_module
from engine import context, plans

Seen = Callable[[tuple[plans.Step, ...], Any], None]


def count_renders(monkeypatch: pytest.MonkeyPatch, seen: Seen) -> None:
    """Call ``seen(steps, source)`` for every object a plan is run on, from
    now on; plans made before are forgotten, so that every plan is made (and
    compiled) again, counting."""
    real_run = plans.run_plan
    real_steps = compiled_module._steps

    def run_plan(steps: tuple[plans.Step, ...], source: Any) -> dict[str, Any]:
        seen(steps, source)
        return real_run(steps, source)

    def steps_seen(
        w: compiled_module._Writer,
        steps: tuple[plans.Step, ...],
        source: str,
        indent: int,
    ) -> str:
        # Every object's steps compiled, its own function's or written inline
        # inside another's, first call ``seen``.
        hook, named = w.name(seen, "seen"), w.name(steps, "steps")
        w.add(indent, f"{hook}({named}, {source})")
        return real_steps(w, steps, source, indent)

    monkeypatch.setattr(plans, "run_plan", run_plan)
    monkeypatch.setattr(compiled_module, "_steps", steps_seen)
    context._PLANS.clear()
    plans._RENDERED.clear()
