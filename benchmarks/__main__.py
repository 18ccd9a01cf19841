"""``make bench`` runs ``python -m benchmarks [options]``; ``--help`` lists them.

- by default, our gateway against Mesh on Hive Gateway (:mod:`benchmarks.run`);
- ``--live``: live status, subscriptions and polling (:mod:`benchmarks.live`);
- ``--replicas 1,2,4``: our gateway as a fleet of each size (:mod:`benchmarks.fleet`).
"""

from __future__ import annotations

import sys

from benchmarks import fleet, run
from benchmarks.load import wrk_path


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if "--live" in given or not run.parse_args(given).replicas:
        return run.main(given)
    if wrk_path() is None:
        print("wrk is not installed: `apt-get install wrk` (make bench does)")
        return 2
    return fleet.main(run.parse_args(given))


if __name__ == "__main__":
    sys.exit(main())
