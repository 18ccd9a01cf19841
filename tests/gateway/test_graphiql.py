"""GraphiQL is served by the gateway with its own assets: nothing from a CDN."""

from __future__ import annotations

import json
import re

import pytest

from gateway.graphiql import ASSET_PREFIX
from gateway.settings import Settings
from tests.conftest import Gateway

HTML = {"Accept": "text/html"}


async def page(gateway: Gateway) -> str:
    response = await gateway.client.get("/graphql", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def test_the_page_loads_only_same_origin_assets(gateway: Gateway) -> None:
    response = await gateway.client.get("/graphql", headers=HTML)
    text = response.text
    urls = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert urls
    assert all(url.startswith(f"{ASSET_PREFIX}/") for url in urls), urls
    assert "unpkg" not in text
    assert "jsdelivr" not in text
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy
    for url in urls:
        asset = await gateway.client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url
        kind = "text/css" if url.endswith(".css") else "text/javascript"
        assert asset.headers["content-type"].startswith(kind)


async def test_the_page_opens_with_the_example_operations(gateway: Gateway) -> None:
    text = await page(gateway)
    config_text = re.search(
        r'<script type="application/json" id="graphiql-config">(.*?)</script>',
        text,
        re.S,
    )
    assert config_text is not None
    config = json.loads(config_text.group(1))
    assert config["endpoint"] == "/graphql"
    examples = {e["name"]: e for e in config["examples"]}
    assert examples["ListApplications"]["query"].lstrip().startswith("#")
    assert json.loads(examples["ApplicationDetail"]["variables"])["id"]
    assert examples["UploadDocument"]["runnable"] is False
    assert config["examples"][0]["name"] == "ListApplications"


async def test_unknown_asset_names_are_not_served(gateway: Gateway) -> None:
    for name in ("../settings.py", "views.py", "nothing.js"):
        response = await gateway.client.get(f"{ASSET_PREFIX}/{name}")
        assert response.status_code == 404, name


@pytest.mark.parametrize("settings", [Settings(graphiql=False)])
async def test_without_graphiql_there_is_no_page_and_no_assets(
    gateway: Gateway,
) -> None:
    response = await gateway.client.get("/graphql", headers=HTML)
    assert response.status_code == 404
    assets = await gateway.client.get(f"{ASSET_PREFIX}/graphiql.min.js")
    assert assets.status_code == 404


@pytest.mark.parametrize("settings", [Settings(graphiql_headers={"X-Team": "web"})])
async def test_the_default_headers_go_into_every_tab(gateway: Gateway) -> None:
    text = await page(gateway)
    assert '\\"X-Team\\": \\"web\\"' in text
