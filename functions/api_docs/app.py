"""GET /, /docs, /docs/{file} and /openapi.json (public): the API's interactive docs (Swagger UI)
over its contract, the same page `make run` serves locally. `make build` writes static/ beside
this file: openapi.json (openapi.yaml as JSON) and Swagger UI's two files (swagger-ui-dist,
pinned in the Makefile). Nothing from a CDN, no AWS call, no secret."""

import json
import os
import time
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response

from streamauth import contract
from streamauth.http import ApiResponse, api, handler, json_response

STATIC = Path(__file__).parent / "static"
PUBLIC = {"Cache-Control": "public, max-age=300"}

app = api()


@cache
def _document() -> dict[str, Any] | None:
    path = STATIC / "openapi.json"
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _base() -> str:
    """This API's URL as the caller reached it: the stage in the path on execute-api's own
    domain, none on a custom domain (its base path mapping)."""
    event = app.current_event
    context = event.request_context
    domain = context.domain_name or (event.headers or {}).get("Host", "")
    stage = context.stage if ".execute-api." in domain else ""
    return f"https://{domain}/{stage}".rstrip("/")


def _not_built() -> ApiResponse:
    body = {"success": False, "message": "the docs were not built with this deployment (make build)", "errorId": 503}
    return json_response(503, {**body, "dataId": None})


@app.get("/")
def root() -> ApiResponse:
    base = _base()
    body = {"service": "streamauth", "docs": f"{base}/docs", "openapi": f"{base}/openapi.json"}
    return json_response(200, body, headers=PUBLIC)


@app.get("/openapi.json")
def openapi() -> ApiResponse:
    document = _document()
    if document is None:
        return _not_built()
    longest = int(os.environ.get("SIGNED_TOKEN_MAX_SECONDS") or 86_400)
    served = contract.served(document, int(time.time()), longest, _base())
    return json_response(200, served, headers={"Cache-Control": "no-store"})  # its minimum is "now"


@app.get("/docs")
def page() -> ApiResponse:
    if _document() is None:
        return _not_built()
    return Response(200, "text/html; charset=utf-8", contract.PAGE, headers=PUBLIC)


@app.get("/docs/<file>")
def asset(file: str) -> ApiResponse:
    if file == "init.js":
        return Response(200, "text/javascript; charset=utf-8", contract.INIT_JS, headers=PUBLIC)
    path = STATIC / file
    if file not in contract.ASSETS or not path.is_file():
        body = {"success": False, "message": f"no such docs file: {file}", "dataId": None, "errorId": 404}
        return json_response(404, body)
    return Response(200, contract.ASSETS[file], path.read_text(encoding="utf-8"), headers=PUBLIC)


lambda_handler = handler(app)
