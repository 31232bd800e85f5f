"""ApiDocsFunction: the docs page deployed with the stack, as `make run` serves it locally."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Aws, LambdaContext, call, event, load_function

BASE = "https://abc123.execute-api.us-east-1.amazonaws.com/v1"  # events/api_docs.json's domain and stage


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """static/ as `make build` writes it: the contract as JSON and Swagger UI's two files."""
    from localapi.openapi import _document

    (tmp_path / "openapi.json").write_text(json.dumps(_document()))
    (tmp_path / "swagger-ui-bundle.js").write_text("window.SwaggerUIBundle = function () {};")
    (tmp_path / "swagger-ui.css").write_text("body {}")
    module = load_function("ApiDocsFunction")
    monkeypatch.setattr(module, "STATIC", tmp_path)
    module._document.cache_clear()
    yield tmp_path
    module._document.cache_clear()


def docs_call(path: str) -> tuple[int, str, dict[str, str]]:
    evt = event("api_docs", path=path, resource="/docs/{file}" if path.startswith("/docs/") else path)
    if path.startswith("/docs/"):
        evt["pathParameters"] = {"file": path.removeprefix("/docs/")}
    raw = load_function("ApiDocsFunction").lambda_handler(evt, LambdaContext(function_name="ApiDocsFunction"))
    headers = {k: v[-1] for k, v in (raw.get("multiValueHeaders") or {}).items()}
    headers.update(raw.get("headers") or {})
    return raw["statusCode"], raw["body"], headers


def test_page_contract_and_files_are_served_from_the_deployment(aws: Aws, built: Path) -> None:
    status, body, headers = docs_call("/docs")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "docs/swagger-ui-bundle.js" in body and "https://" not in body  # no CDN
    status, body, _ = docs_call("/openapi.json")
    served = json.loads(body)
    assert status == 200 and served["servers"] == [{"url": BASE, "description": "this API"}]
    assert served["components"]["parameters"]["ExpireDate"]["schema"]["minimum"] > 1_700_000_000  # resolved now
    status, body, headers = docs_call("/docs/swagger-ui.css")
    assert (status, body) == (200, "body {}") and headers["Content-Type"].startswith("text/css")
    assert docs_call("/docs/init.js")[0] == 200
    assert json.loads(docs_call("/")[1])["docs"] == f"{BASE}/docs"


@pytest.mark.parametrize("name", ["openapi.json", "..", "app.py", "swagger-ui-es-bundle.js"])
def test_nothing_else_is_served(aws: Aws, built: Path, name: str) -> None:
    status, body, _ = docs_call(f"/docs/{name}")
    assert status in (400, 404) and json.loads(body)["success"] is False


def test_not_built_is_a_503_that_says_so(aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_function("ApiDocsFunction")
    monkeypatch.setattr(module, "STATIC", tmp_path)
    module._document.cache_clear()
    reply = call("ApiDocsFunction", event("api_docs"))
    module._document.cache_clear()
    assert reply.status == 503 and "make build" in reply.body["message"]
