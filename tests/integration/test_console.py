"""ConsoleFunction: the operator console's files, deployed with the stack as `make run` serves
them (its browser test: tests/e2e/test_console_browser.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import Aws, LambdaContext, event, load_function

STATIC = Path(load_function("ConsoleFunction").STATIC)


def console_call(path: str) -> tuple[int, str, dict[str, str]]:
    evt = event("console", path=path, resource="/console/{file}" if path.startswith("/console/") else path)
    if path.startswith("/console/"):
        evt["pathParameters"] = {"file": path.removeprefix("/console/")}
    raw = load_function("ConsoleFunction").lambda_handler(evt, LambdaContext(function_name="ConsoleFunction"))
    headers = {k: v[-1] for k, v in (raw.get("multiValueHeaders") or {}).items()}
    headers.update(raw.get("headers") or {})
    return raw["statusCode"], raw["body"], headers


def test_the_page_loads_only_its_own_files_under_a_policy_that_allows_nothing_else(aws: Aws) -> None:
    status, body, headers = console_call("/console")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    linked = re.findall(r"""(?:src|href)=["']([^"']+)["']""", body)
    assert [link for link in linked if not link.startswith(("console/", "#", "data:"))] == []  # no CDN
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "form-action 'none'" in policy  # no form ever submits: a credential never lands in a URL
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
    for link in linked:
        if link.startswith("console/"):
            assert console_call(f"/{link}")[0] == 200, link


def test_every_file_is_served_with_its_type(aws: Aws) -> None:
    module = load_function("ConsoleFunction")
    for name, content_type in module.FILES.items():
        if not (STATIC / name).is_file():
            assert name == "uqr.mjs"  # installed by make console-ui (npm); the page works without it
            continue
        status, body, headers = console_call(f"/console/{name}")
        assert (status, headers["Content-Type"]) == (200, content_type) and body == (STATIC / name).read_text()


@pytest.mark.parametrize("name", ["index.html", "..", "app.py", "..%2Fapp.py", "package.json", "uqr.js"])
def test_nothing_else_is_served(aws: Aws, name: str) -> None:
    status, body, _ = console_call(f"/console/{name}")
    assert status == 404 and json.loads(body)["success"] is False


def test_the_scripts_neither_log_nor_keep_the_credential_beyond_the_tab() -> None:
    """(No URL holds it either: the browser test watches every request the page makes.)"""
    scripts = {p.name: p.read_text() for p in STATIC.glob("*.js")}
    logs = re.compile(r"\bconsole\.(log|info|warn|error|debug|trace)\b")
    assert scripts and all(not logs.search(text) and "localStorage" not in text for text in scripts.values())
    assert "headers.Authorization = authorization(held)" in scripts["api.js"]  # its only way out
