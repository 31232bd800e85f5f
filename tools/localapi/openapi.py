"""openapi.yaml, the HTTP contract: loaded for the local API's /openapi.json and /docs.

/docs is Swagger UI (swagger-ui-dist, pinned in the Makefile, installed by `make docs-ui` into
.build/docs-ui: nothing is fetched from a CDN) over the served /openapi.json; without those
files (no npm), a plain table of the operations."""

from __future__ import annotations

import html
import time
from functools import cache
from typing import Any

import yaml

from localapi.template import ROOT, parameter_defaults
from streamauth import contract

SPEC = ROOT / "openapi.yaml"
SWAGGER_UI = ROOT / ".build" / "docs-ui" / "node_modules" / "swagger-ui-dist"
METHODS = ("get", "put", "post", "delete", "patch")
NOW, NOW_MARGIN_SECONDS, SIGNED_TOKEN_MAX = contract.NOW, contract.NOW_MARGIN_SECONDS, contract.SIGNED_TOKEN_MAX


@cache
def _document() -> dict[str, Any]:
    with open(SPEC, encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


def spec(now: float | None = None, server: str | None = None) -> dict[str, Any]:
    """The contract as served: openapi.yaml with every `x-minimum: now` given a `minimum` of
    `now` (the current time by default) plus NOW_MARGIN_SECONDS, and every `x-maximum:
    signed-token-max` a `maximum` of `now` plus SignedTokenMaxSeconds; `servers` is the URL it
    is served from (`server`: the local API as the client reached it, whatever its port)."""
    longest = int(parameter_defaults()["SignedTokenMaxSeconds"])
    return contract.served(_document(), int(time.time() if now is None else now), longest, server)


def operations() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in spec()["paths"].items() for method in item if method in METHODS}


def docs_page() -> str:
    """Swagger UI over /openapi.json when its files are installed (`make docs-ui`), else a
    readable self-contained table of the operations. Either way, nothing from a CDN."""
    if (SWAGGER_UI / "swagger-ui-bundle.js").is_file():
        return swagger_page()
    return table_page()


def swagger_page() -> str:
    return contract.PAGE


def docs_asset(name: str) -> tuple[bytes, str] | None:
    """One of the page's files (bytes, content type), or None: only the names the page uses."""
    if name == "init.js":
        return contract.INIT_JS.encode(), "text/javascript; charset=utf-8"
    if name not in contract.ASSETS:
        return None
    path = SWAGGER_UI / name
    if not path.is_file():
        return None
    return path.read_bytes(), contract.ASSETS[name]


def _parameter_name(parameter: dict[str, Any], components: dict[str, Any]) -> str:
    """A parameter's real name (`sid`, `expireDate`), through its $ref when it has one."""
    ref = str(parameter.get("$ref", ""))
    if ref.startswith("#/components/parameters/"):
        parameter = components.get(ref.rsplit("/", 1)[-1], {})
    return f"{parameter.get('name', '?')} ({parameter.get('in', '?')})"


def table_page() -> str:
    """Every operation, its parameters (real names) and body, without Swagger UI's files."""
    data = spec()
    components = data.get("components", {}).get("parameters", {})
    rows = []
    for path, item in data["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            params = ", ".join(_parameter_name(p, components) for p in op.get("parameters", []))
            content: dict[str, Any] = op.get("requestBody", {}).get("content", {})
            media: dict[str, Any] = next(iter(content.values())) if content else {}
            body_ref = str(media.get("schema", {}).get("$ref", ""))
            auth = "public" if op.get("security") == [] else "Bearer JWT or Token key"
            rows.append(
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                    method.upper(),
                    html.escape(path),
                    html.escape(op.get("summary", "")),
                    html.escape(params),
                    html.escape(body_ref.rsplit("/", 1)[-1]),
                    auth,
                )
            )
    info = data["info"]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>streamauth API</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{border-bottom:1px solid #ddd;padding:4px 8px;"
        "text-align:left;vertical-align:top}table{border-collapse:collapse}</style></head><body>"
        f"<h1>{html.escape(info['title'])} {html.escape(info['version'])}</h1><p>{html.escape(info['description'])}</p>"
        "<p>The machine-readable contract: <a href='openapi.json'>openapi.json</a> (OpenAPI 3.1). "
        "For the interactive page (Swagger UI), <code>make docs-ui</code> (needs npm) and restart.</p>"
        "<table><tr><th>method</th><th>path</th><th>does</th><th>parameters</th><th>body</th><th>auth</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )
