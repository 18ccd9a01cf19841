"""GraphiQL served by the gateway itself: no CDN at run time.

Banks develop behind firewalls, so the explorer's assets (GraphiQL 2 and React
17) come from a declared dependency, the PyPI wheel
``graphene-django-graphiql-static``, which ships them as plain files. We read
those files where pip put them and never import the package's Python code (it is
written for Django, which we do not install). Our own script,
``gateway/graphiql.js``, mounts GraphiQL with the example operations of
``operations/`` as tabs and an "Examples" panel. Subscriptions run over
``graphql-transport-ws`` on the same endpoint with the graphql-ws client bundled
inside ``graphiql.min.js`` (the tab's headers become the ``connection_init``
payload); the page's ``connect-src 'self'`` covers the same-origin WebSocket.

The page refers to same-origin URLs only, and its Content-Security-Policy says so
to the browser: nothing is fetched from anywhere but the gateway.
"""

from __future__ import annotations

import html
import importlib.util
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from gateway.operations import Operation

ASSET_PACKAGE = "graphene_django_graphiql_static"
ASSET_PREFIX = "/_graphiql"
OWN_SCRIPT = Path(__file__).with_name("graphiql.js")
STYLES = ("graphiql.min.css",)
SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def asset_dir() -> Path:
    """Where the wheel's static files are, found without importing the package."""
    spec = importlib.util.find_spec(ASSET_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{ASSET_PACKAGE} is not installed (pip install -e .)")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / ASSET_PACKAGE


def assets() -> dict[str, Path]:
    """The files the page may load, by the name it loads them under."""
    folder = asset_dir()
    files = {name: folder / name for name in (*STYLES, *SCRIPTS)}
    missing = [name for name, path in files.items() if not path.is_file()]
    if missing:
        raise RuntimeError(f"{ASSET_PACKAGE} lacks {missing}")
    files["gateway-graphiql.js"] = OWN_SCRIPT
    return files


def page(
    operations: Sequence[Operation],
    headers: Mapping[str, str],
    endpoint: str = "/graphql",
) -> str:
    """The GraphiQL page: the examples as tabs, ``headers`` in each tab."""
    header_text = json.dumps(dict(headers), indent=2) if headers else ""
    examples = [
        {
            "name": o.name,
            "kind": o.kind,
            "path": o.path,
            "query": o.text,
            "variables": json.dumps(dict(o.variables), indent=2) if o.variables else "",
            "headers": header_text,
            # GraphiQL cannot send files: these run from a multipart client.
            "runnable": not o.uploads,
        }
        for o in operations
    ]
    config = {"endpoint": endpoint, "headers": header_text, "examples": examples}
    # In a <script> block only "</" could end it early; JSON allows "<\/".
    config_json = json.dumps(config).replace("</", "<\\/")
    links = "\n".join(
        f'  <link rel="stylesheet" href="{ASSET_PREFIX}/{name}">' for name in STYLES
    )
    scripts = "\n".join(
        f'  <script src="{ASSET_PREFIX}/{name}"></script>'
        for name in (*SCRIPTS, "gateway-graphiql.js")
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{html.escape("Onboarding gateway · GraphiQL")}</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
{links}
  <style>
    html, body, #graphiql {{ height: 100%; margin: 0; width: 100%; overflow: hidden; }}
    .gateway-examples {{ display: flex; flex-direction: column; gap: 4px; }}
    .gateway-examples button {{ text-align: left; }}
  </style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script type="application/json" id="graphiql-config">{config_json}</script>
{scripts}
</body>
</html>
"""


def asset_router() -> APIRouter:
    """``/_graphiql/<name>``: the page's scripts and styles, and nothing else."""
    files = assets()
    router = APIRouter(prefix=ASSET_PREFIX, include_in_schema=False)

    @router.get("/{name}")
    async def asset(name: str) -> FileResponse:
        path = files.get(name)
        if path is None:
            raise HTTPException(404, "Not Found")
        media_type = "text/css" if name.endswith(".css") else "text/javascript"
        return FileResponse(
            path,
            media_type=f"{media_type}; charset=utf-8",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    return router
