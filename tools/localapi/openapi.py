"""openapi.yaml, the HTTP contract: loaded for the local API's /openapi.json and /docs."""

from __future__ import annotations

import copy
import html
import time
from functools import cache
from typing import Any

import yaml

from localapi.template import ROOT, parameter_defaults

SPEC = ROOT / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch")
# `x-minimum: now` on a schema: a number that must be in the future when the request arrives
# (a token's expireDate), which no static document can say. The served spec sets `minimum` to
# the time it is served plus this margin, so a value drawn from it is still in the future
# however long a client (`make fuzz` runs for minutes) holds on to the spec.
NOW = "now"
NOW_MARGIN_SECONDS = 3600
# `x-maximum: signed-token-max`: at most SignedTokenMaxSeconds ahead (ES256 tokens). The served
# `maximum` is the serving time plus that setting: the server measures from the (later) request
# time, so a value within it stays valid.
SIGNED_TOKEN_MAX = "signed-token-max"


@cache
def _document() -> dict[str, Any]:
    with open(SPEC, encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


def _resolve_now(node: Any, now: int, longest: int) -> None:
    if isinstance(node, dict):
        if node.get("x-minimum") == NOW:
            node["minimum"] = now + NOW_MARGIN_SECONDS
        if node.get("x-maximum") == SIGNED_TOKEN_MAX:
            node["maximum"] = now + longest
        for value in node.values():
            _resolve_now(value, now, longest)
    elif isinstance(node, list):
        for value in node:
            _resolve_now(value, now, longest)


def spec(now: float | None = None) -> dict[str, Any]:
    """The contract as served: openapi.yaml with every `x-minimum: now` given a `minimum` of
    `now` (the current time by default) plus NOW_MARGIN_SECONDS, and every `x-maximum:
    signed-token-max` a `maximum` of `now` plus SignedTokenMaxSeconds."""
    data = copy.deepcopy(_document())
    longest = int(parameter_defaults()["SignedTokenMaxSeconds"])
    _resolve_now(data, int(time.time() if now is None else now), longest)
    return data


def operations() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in spec()["paths"].items() for method in item if method in METHODS}


def docs_page() -> str:
    """A readable, self-contained page (no CDN): every operation, its parameters and replies."""
    data = spec()
    rows = []
    for path, item in data["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            params = ", ".join(p.get("name", p.get("$ref", "").rsplit("/", 1)[-1]) for p in op.get("parameters", []))
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
        "<p>The machine-readable contract: <a href='/openapi.json'>/openapi.json</a> (OpenAPI 3.1).</p>"
        "<table><tr><th>method</th><th>path</th><th>does</th><th>parameters</th><th>body</th><th>auth</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )
