"""An ASGI simulator of Mambu's Attachments API v1 (seed 004, reference §4).

See :mod:`.app` for the routes and the choices made where the sources disagree and
:mod:`.store` for the state tests arrange.
"""

from adapters.mambu.sandbox.app import BASE_PATH, MAX_UPLOAD_BYTES, create_app
from adapters.mambu.sandbox.store import DEMO_CLIENT_IDS, MambuStore, StoredDocument

__all__ = [
    "BASE_PATH",
    "DEMO_CLIENT_IDS",
    "MAX_UPLOAD_BYTES",
    "MambuStore",
    "StoredDocument",
    "create_app",
]
