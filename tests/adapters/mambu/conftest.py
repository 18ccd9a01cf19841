"""The Mambu sandbox in process, seeded with its demo data."""

from __future__ import annotations

import pytest

from adapters.mambu.sandbox import create_app
from adapters.sandbox_kit import Controlled

BASE_URL = "http://mambu.test"


@pytest.fixture
def app() -> Controlled:
    return create_app()
