"""An ASGI simulator of Auco's document API v1.5 (seed 003, reference §3).

See :mod:`.app` for the routes and the choices made where the sources disagree,
:mod:`.rules` for the upload validations and :mod:`.store` for the state tests arrange.
"""

from adapters.auco.sandbox.app import BASE_PATH, create_app
from adapters.auco.sandbox.store import Store, StoredDocument, StoredSigner

__all__ = ["BASE_PATH", "Store", "StoredDocument", "StoredSigner", "create_app"]
