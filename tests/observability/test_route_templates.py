"""A call's route label comes from the template its path was built with: the
contract's template, whatever the id (a key crosses a trust boundary). Matching
the path instead mislabels a key whose encoded ``/`` the URL decodes."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.transport.observe import routes_for
from adapters.transport.paths import ROUTE, UnsafeSegment, route, template_of

# (provider, the adapter's template, the contract's template)
BUILT = [
    ("apiture", "/applications/{id}", "/applications/{applicationId}"),
    ("apiture", "/enrollments/{id}", "/enrollments/{enrollmentId}"),
    (
        "connectfi",
        "/akepa/document/upload/{documentId}",
        "/akepa/document/upload/{documentId}",
    ),
    ("mambu", "/api/documents/{key}", "/api/documents/{document}"),
    (
        "mambu",
        "/api/clients/{holder}/documents",
        "/api/{collection}/{holder}/documents",
    ),
]


def _request(provider: str, template: str, key: str) -> tuple[httpx.Request, str]:
    name = template[template.index("{") + 1 : template.index("}")]
    built = route(template, **{name: key})
    request = httpx.Request("GET", f"http://{provider}.test/base{built}")
    request.extensions[ROUTE] = template_of(built)
    return request, built


@settings(
    derandomize=True,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.sampled_from(BUILT), st.text(min_size=1, max_size=40))
def test_the_label_is_the_contracts_template_whatever_the_key(
    call: tuple[str, str, str], key: str
) -> None:
    provider, template, contract = call
    try:
        request, _ = _request(provider, template, key)
    except UnsafeSegment:
        return  # no request is made for such a key
    routes = routes_for(provider)
    assert routes.of(request) == contract


def test_a_providers_link_is_matched_by_its_path() -> None:
    routes = routes_for("apiture")
    request = httpx.Request("GET", "http://apiture.test/base/applications?start=x")
    request.extensions[ROUTE] = "{next link}"
    assert routes.of(request) == "/applications"
