"""An ASGI simulator of connectFi akepa (seeds 000 and 002).

See :mod:`.app` for the routes and the choices made where the sources disagree,
:mod:`.schema` for the request validation and :mod:`.store` for the state tests arrange.
"""

from adapters.connectfi.sandbox.app import BASE_PATH, create_app
from adapters.connectfi.sandbox.store import (
    BULK_APPLICATIONS,
    BULK_CUSTOMER_ID,
    BUSINESS_CUSTOMER_ID,
    JOURNEY_CUSTOMER_ID,
    JOURNEYS,
    SEED_CUSTOMER_ID,
    ConnectFiStore,
    StoredApplication,
    StoredDocument,
)

__all__ = [
    "BASE_PATH",
    "BULK_APPLICATIONS",
    "BULK_CUSTOMER_ID",
    "BUSINESS_CUSTOMER_ID",
    "JOURNEYS",
    "JOURNEY_CUSTOMER_ID",
    "SEED_CUSTOMER_ID",
    "ConnectFiStore",
    "StoredApplication",
    "StoredDocument",
    "create_app",
]
