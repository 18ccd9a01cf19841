"""An in-process simulator of Apiture Account Applications v0.18.3.

Seed: ``shared/seeds/001_1434ba7a5e588ce0.txt`` (digest:
``shared/reference/apiture.md``). All 21 operations under ``/accountApplications``:

    GET  /runningApplications  /blockedApplications  /applications  /enrollments
    POST /applications  /enrollments
    GET|PUT|PATCH|DELETE  /applications/{applicationId}  /enrollments/{enrollmentId}
    POST /{expired|rejected|approved|canceled|running}Applications?application=
    POST /{rejected|approved}Enrollments?enrollment=

Every request first meets :class:`~adapters.apiture.sandbox.guard.Guard`, which
enforces ``contracts/apiture.yaml`` (credentials, method with ``Allow`` on 405,
parameters, headers, body: 401/405/400/422 in Apiture's ``errorResponse``), so the
endpoints only see requests that fit the contract. ``create_app()`` returns the app
wrapped in ``Controlled`` (request log, latency and faults, see
:mod:`adapters.sandbox_kit`); ``app.store`` is the :class:`Store`, for tests that
arrange a state. Each module's docstring lists the choices it makes where the seed
is silent or contradicts itself.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.apiture.sandbox import contract
from adapters.apiture.sandbox.demo import populate
from adapters.apiture.sandbox.guard import DEMO_ACCESS_TOKEN, DEMO_API_KEY, Guard
from adapters.apiture.sandbox.hal import BASE_PATH
from adapters.apiture.sandbox.routes import Endpoints
from adapters.apiture.sandbox.store import ApiError, Store
from adapters.sandbox_kit import Controlled

__all__ = [
    "BASE_PATH",
    "DEMO_ACCESS_TOKEN",
    "DEMO_API_KEY",
    "ApiError",
    "Store",
    "create_app",
]


def create_app(
    *,
    seed: int = 0,
    api_key: str = DEMO_API_KEY,
    access_token: str = DEMO_ACCESS_TOKEN,
) -> Controlled:
    """The sandbox; it accepts exactly ``api_key`` with ``access_token``."""
    store = Store(seed=seed)
    populate(store)
    api = Endpoints(store)
    app_actions = ("expired", "rejected", "approved", "canceled")
    routes = [
        Route(f"{BASE_PATH}/applications", api.applications, methods=["GET", "POST"]),
        Route(
            f"{BASE_PATH}/applications/{{applicationId}}",
            api.application,
            methods=["GET", "PUT", "PATCH", "DELETE"],
        ),
        Route(
            f"{BASE_PATH}/runningApplications",
            api.running_applications,
            methods=["GET", "POST"],
        ),
        Route(
            f"{BASE_PATH}/blockedApplications",
            api.blocked_applications,
            methods=["GET"],
        ),
        *(
            Route(
                f"{BASE_PATH}/{name}Applications",
                api.act_on_application,
                methods=["POST"],
            )
            for name in app_actions
        ),
        Route(f"{BASE_PATH}/enrollments", api.enrollments, methods=["GET", "POST"]),
        Route(
            f"{BASE_PATH}/enrollments/{{enrollmentId}}",
            api.enrollment,
            methods=["GET", "PUT", "PATCH", "DELETE"],
        ),
        *(
            Route(
                f"{BASE_PATH}/{name}Enrollments",
                api.act_on_enrollment,
                methods=["POST"],
            )
            for name in ("rejected", "approved")
        ),
    ]

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return api.error(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        kind = "notFound" if exc.status_code == 404 else "badRequest"
        response = api.error(ApiError(exc.status_code, kind, str(exc.detail)))
        response.headers.update(exc.headers or {})  # Allow on a 405
        return response

    app = Starlette(
        routes=routes,
        exception_handlers={ApiError: on_api_error, HTTPException: on_http_error},
    )
    guarded = Guard(
        app, contract.load(), store, api_key=api_key, access_token=access_token
    )
    return Controlled(guarded, store=store)
