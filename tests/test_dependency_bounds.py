"""constraints-lowest.txt pins every direct dependency to its bound in pyproject.toml.

``make test-lowest`` installs those pins and runs the checks and the suite on
them; this keeps the two files from drifting apart, so a raised (or a newly
added) bound is always the version that run proves.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _bounds() -> dict[str, Version]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [
        Requirement(line)
        for line in (
            *project["dependencies"],
            *(r for group in project["optional-dependencies"].values() for r in group),
        )
    ]
    bounds: dict[str, Version] = {}
    for requirement in requirements:
        (specifier,) = requirement.specifier  # exactly one: the lower bound
        assert specifier.operator == ">=", requirement
        bounds[canonicalize_name(requirement.name)] = Version(specifier.version)
    return bounds


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for raw in (ROOT / "constraints-lowest.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, version = line.partition("==")
        assert version, f"not a pin: {raw!r}"
        pins[canonicalize_name(name)] = Version(version)
    return pins


def test_every_direct_dependency_is_pinned_to_its_lower_bound() -> None:
    bounds, pins = _bounds(), _pins()
    assert len(bounds) >= 20
    assert pins == bounds


def test_this_environment_meets_every_bound() -> None:
    # The environment the suite runs in satisfies every bound (a bound above
    # what is installed would be a typo).
    from importlib.metadata import version

    for name, bound in _bounds().items():
        assert Version(version(name)) >= bound, name
