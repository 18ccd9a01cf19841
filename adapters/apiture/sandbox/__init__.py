"""An in-process simulator of Apiture Account Applications v0.18.3.

Seed: ``shared/seeds/001_1434ba7a5e588ce0.txt`` (digest:
``shared/reference/apiture.md``). All 21 operations under ``/accountApplications``:

    GET  /runningApplications  /blockedApplications  /applications  /enrollments
    POST /applications  /enrollments
    GET|PUT|PATCH|DELETE  /applications/{applicationId}  /enrollments/{enrollmentId}
    POST /{expired|rejected|approved|canceled|running}Applications?application=
    POST /{rejected|approved}Enrollments?enrollment=

``create_app()`` returns the app wrapped in ``Controlled`` (request log, latency and
faults, see :mod:`adapters.sandbox_kit`); ``app.store`` is the :class:`Store`, for
tests that arrange a state. Each module's docstring lists the choices it makes
where the seed is silent or contradicts itself.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.apiture.sandbox.demo import populate
from adapters.apiture.sandbox.hal import BASE_PATH
from adapters.apiture.sandbox.routes import Endpoints
from adapters.apiture.sandbox.store import ApiError, Store
from adapters.sandbox_kit import Controlled

__all__ = ["BASE_PATH", "ApiError", "Store", "create_app"]


def create_app(*, seed: int = 0) -> Controlled:
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
        return api.error(ApiError(exc.status_code, kind, str(exc.detail)))

    app = Starlette(
        routes=routes,
        exception_handlers={ApiError: on_api_error, HTTPException: on_http_error},
    )
    return Controlled(app, store=store)
