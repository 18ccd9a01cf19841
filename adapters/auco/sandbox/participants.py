"""The Auco sandbox's participants, played by tests.

Sandbox-only routes, outside Auco's API (``/_sandbox/…``, not in the contract),
play the participants: ``POST /_sandbox/documents/{code}/{action}`` with
``{"email": <the signer's>}`` for ``sign``, ``reject`` and ``block``, and no body for
``expire``. They answer ``{"code", "status"}`` (the document's status after the
act), 404 for an unknown document or signer, 409 when the signer cannot act now
(not notified yet, already done, the document closed).
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.auco.sandbox.store import Store

_ACTIONS = ("sign", "reject", "block", "expire")


async def act(request: Request) -> Response:
    """``POST /_sandbox/documents/{code}/{action}``: a participant acts."""
    store: Store = request.app.state.store
    code, action = request.path_params["code"], request.path_params["action"]
    if action not in _ACTIONS:
        return JSONResponse({"message": "NOT_FOUND"}, 404)
    document = store.documents.get(code)
    if document is None:
        return JSONResponse({"message": "DOCUMENT_NOT_FOUND"}, 404)
    if action == "expire":
        store.expire(code)
        return JSONResponse({"code": code, "status": document.status})
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str):
        return JSONResponse({"message": "EMAIL_REQUIRED"}, 400)
    try:
        getattr(store, action)(code, email)
    except KeyError:
        return JSONResponse({"message": "SIGNER_NOT_FOUND"}, 404)
    except ValueError:
        return JSONResponse({"message": "SIGNER_CANNOT_ACT"}, 409)
    return JSONResponse({"code": code, "status": document.status})
