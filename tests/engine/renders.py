"""Counting the objects the fast path reads, on either road: a plan compiled
(``engine.compiled``, every plan kept across requests) or interpreted
(``engine.plans.run_plan``, a plan made for one request)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine import context, plans

Seen = Callable[[tuple[plans.Step, ...], Any], None]


def count_renders(monkeypatch: pytest.MonkeyPatch, seen: Seen) -> None:
    """Call ``seen(steps, source)`` for every object a plan is run on, from
    now on; plans made before are forgotten, so that every plan is made (and
    compiled) again, counting."""
    real_run = plans.run_plan
    real_compiled = context.compiled

    def run_plan(steps: tuple[plans.Step, ...], source: Any) -> dict[str, Any]:
        seen(steps, source)
        return real_run(steps, source)

    def compiled(steps: tuple[plans.Step, ...]) -> Callable[[Any], dict[str, Any]]:
        render = real_compiled(steps)

        def counted(source: Any) -> dict[str, Any]:
            seen(steps, source)
            return render(source)

        return counted

    monkeypatch.setattr(plans, "run_plan", run_plan)
    monkeypatch.setattr(context, "compiled", compiled)
    context._PLANS.clear()
    plans._RENDERED.clear()
