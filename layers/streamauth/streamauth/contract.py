"""The API's contract as served (GET /openapi.json) and its interactive docs page (GET /docs):
one implementation for the deployed stack (functions/api_docs) and the local API (localapi).

openapi.yaml marks values no static document can give: `x-minimum: now` (a number that must be
in the future when the request arrives: a token's expireDate) and `x-maximum: signed-token-max`
(at most SignedTokenMaxSeconds ahead). The served document turns them into a `minimum` of the
serving time plus NOW_MARGIN_SECONDS (a value drawn from it stays valid while a client holds it)
and a `maximum` of the serving time plus that setting, and gives such a parameter an `example`
within them (the docs page's "Try it out"). The page is Swagger UI (swagger-ui-dist, pinned in
the Makefile), its files served beside it: nothing from a CDN.
"""

from __future__ import annotations

from typing import Any

NOW = "now"
NOW_MARGIN_SECONDS = 3600
SIGNED_TOKEN_MAX = "signed-token-max"
EXAMPLE_AHEAD_SECONDS = NOW_MARGIN_SECONDS + 600

# The Swagger UI files the page loads, and their types: nothing else under /docs/ is served.
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
}

# Relative links (docs/..., openapi.json): the page works under an API stage's path (/v1/docs).
PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>streamauth API</title>"
    "<meta name='viewport' content='width=device-width, initial-scale=1'>"
    "<link rel='icon' href='data:,'>"  # no /favicon.ico request: the API has no such route
    "<link rel='stylesheet' href='docs/swagger-ui.css'></head><body>"
    "<div id='swagger-ui'></div>"
    "<script src='docs/swagger-ui-bundle.js'></script>"
    "<script src='docs/init.js'></script></body></html>"
)

INIT_JS = """window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", window.location.href).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  displayRequestDuration: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""


def resolve(node: Any, now: int, longest: int) -> None:
    """Give every `x-minimum: now` and `x-maximum: signed-token-max` its value (in place)."""
    if isinstance(node, dict):
        if node.get("x-minimum") == NOW:
            node["minimum"] = now + NOW_MARGIN_SECONDS
        if node.get("x-maximum") == SIGNED_TOKEN_MAX:
            node["maximum"] = now + longest
        schema = node.get("schema")
        if "in" in node and isinstance(schema, dict) and schema.get("x-minimum") == NOW and "example" not in node:
            node["example"] = now + EXAMPLE_AHEAD_SECONDS  # a parameter's: valid for a while yet
        for value in node.values():
            resolve(value, now, longest)
    elif isinstance(node, list):
        for value in node:
            resolve(value, now, longest)


def served(document: dict[str, Any], now: int, longest: int, server: str | None) -> dict[str, Any]:
    """`document` (a copy: openapi.yaml as loaded) as served at `now`, from `server`."""
    import copy

    data = copy.deepcopy(document)
    resolve(data, now, longest)
    if server:
        data["servers"] = [{"url": server, "description": "this API"}]
    return data
