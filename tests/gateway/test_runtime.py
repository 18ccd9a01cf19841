"""The collector is tuned once the served application has started."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_the_first_started_app_freezes_the_heap_and_sets_the_thresholds() -> None:
    # In a fresh interpreter: this test process has started apps already.
    script = textwrap.dedent(
        """
        import asyncio, gc
        freezes = []
        real_freeze = gc.freeze
        gc.freeze = lambda: (freezes.append(1), real_freeze())[1]
        from gateway.app import create_app
        from gateway.runtime import GC_THRESHOLDS

        async def main():
            app = create_app()
            before = gc.get_freeze_count()
            async with app.router.lifespan_context(app):
                frozen = gc.get_freeze_count()
                assert gc.get_threshold() == GC_THRESHOLDS, gc.get_threshold()
            async with create_app().router.lifespan_context(app):
                pass
            print(before, frozen, len(freezes))

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    before, frozen, freezes = map(int, done.stdout.split())
    assert before == 0
    assert frozen > 10_000  # the schema, the sandboxes, the imported modules
    assert freezes == 1  # a second app in the same process does not freeze again
