"""/docs: Swagger UI over the served contract, in headless Chromium (as tests/e2e/test_hls.py
drives hls.js): every operation of openapi.yaml renders, nothing comes from another origin,
and "Try it out" with an operator token issues a token the local API then lists."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
import requests

from localapi.openapi import SWAGGER_UI, operations
from tests.conftest import ROOT
from tests.e2e.test_hls import BROWSER_READY, CHROMIUM, NODE, NPM_PREFIX

pytestmark = pytest.mark.e2e
SCREENSHOT = ROOT / ".build" / "docs-browser.png"


def test_docs_page_is_swagger_ui_with_its_files_served_locally(local_api: str) -> None:
    if not (SWAGGER_UI / "swagger-ui-bundle.js").is_file():
        pytest.skip("needs `make docs-ui` (npm)")
    page = requests.get(f"{local_api}/docs", timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "docs/swagger-ui-bundle.js" in page.text and "//" not in page.text.split("<body>", 1)[1]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js"):
        assert requests.get(f"{local_api}/docs/{asset}", timeout=30).status_code == 200, asset
    assert requests.get(f"{local_api}/docs/../Makefile", timeout=30).status_code in (400, 404)
    assert requests.get(f"{local_api}/docs/package.json", timeout=30).status_code == 404


def test_served_contract_names_its_own_url_and_gives_examples(local_api: str) -> None:
    served = requests.get(f"{local_api}/openapi.json", timeout=30).json()
    assert served["servers"][0]["url"] == local_api  # the port this API runs on, not 3000
    parameters = served["components"]["parameters"]
    assert parameters["SubscriberIdPath"]["name"] == "sid" and parameters["SubscriberIdPath"]["example"]
    assert parameters["ExpireDate"]["example"] >= parameters["ExpireDate"]["schema"]["minimum"]


def test_root_points_to_the_docs(local_api: str) -> None:
    reply = requests.get(f"{local_api}/", timeout=30)
    assert reply.status_code == 200
    assert reply.json()["docs"] == f"{local_api}/docs" and reply.json()["openapi"] == f"{local_api}/openapi.json"


@pytest.mark.skipif(not BROWSER_READY, reason="needs node, Debian's chromium and `make browser`")
def test_swagger_ui_renders_every_operation_and_try_it_out_issues_a_token(
    local_api: str, operator_header: dict[str, str]
) -> None:
    if not (SWAGGER_UI / "swagger-ui-bundle.js").is_file():
        pytest.skip("needs `make docs-ui` (npm)")
    assert NODE is not None
    token = operator_header["Authorization"].removeprefix("Bearer ")
    run = subprocess.run(
        [
            NODE,
            str(ROOT / "tests" / "e2e" / "browser" / "docs.mjs"),
            str(NPM_PREFIX),
            f"{local_api}/docs",
            token,
            str(SCREENSHOT),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "CHROMIUM": CHROMIUM or ""},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    rendered = {(op["method"], op["path"]) for op in result["operations"]}
    assert rendered == operations()  # every operation of the contract, nothing else
    assert result["foreign"] == []  # no CDN: every file from the local API
    assert result["consoleErrors"] == []
    assert result["status"] == 200
    issued = json.loads(result["body"])
    assert issued["streamId"] == "stream1" and issued["type"] == "play"
    listed = requests.get(
        f"{local_api}/v2/broadcasts/stream1/tokens/list/0/50", headers=operator_header, timeout=30
    ).json()
    assert issued["tokenId"] in {t["tokenId"] for t in listed}  # really issued, by the local API
    revoked = requests.delete(f"{local_api}/v2/broadcasts/stream1/tokens", headers=operator_header, timeout=30)
    assert revoked.status_code == 200  # the README tour counts stream1's tokens: leave none behind
    assert SCREENSHOT.stat().st_size > 10_000
