"""localapi.extension, which `make bench` reads secrets through to measure AWS's Parameters and
Secrets extension: it answers the extension's request as the extension does (path, token
header, GetSecretValue's JSON), refuses a request without the session token, and caches for
its TTL and no longer."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import boto3
import pytest

from localapi import extension


@pytest.fixture
def secrets_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    from moto.server import ThreadedMotoServer  # its state is the process's: each test names its own secret

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
    arn = client.create_secret(Name=f"hook-{uuid.uuid4().hex}", SecretString='{"hookSecret": "one"}')["ARN"]
    try:
        yield endpoint, arn
    finally:
        server.stop()


def _serving(endpoint: str, ttl: float) -> tuple[str, ThreadingHTTPServer]:
    server = extension.serve(endpoint, ttl)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def _get(url: str, arn: str, token: str | None = "session-token") -> tuple[int, dict[str, object]]:
    headers = {} if token is None else {extension.TOKEN_HEADER: token}
    request = urllib.request.Request(f"{url}{extension.PATH}?secretId={urllib.parse.quote(arn)}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize("token", [None, "another-token"])
def test_a_request_without_the_session_token_is_refused(secrets_manager: tuple[str, str], token: str | None) -> None:
    endpoint, arn = secrets_manager
    url, server = _serving(endpoint, 300)
    try:
        status, body = _get(url, arn, token)
    finally:
        server.shutdown()
    assert status == 401 and "SecretString" not in body


def test_it_answers_as_get_secret_value_and_caches_for_its_ttl_only(secrets_manager: tuple[str, str]) -> None:
    endpoint, arn = secrets_manager
    client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
    held, held_server = _serving(endpoint, 300)
    fresh, fresh_server = _serving(endpoint, 0)
    try:
        first = _get(held, arn)
        assert first[0] == 200 and first[1]["SecretString"] == '{"hookSecret": "one"}' and first[1]["ARN"] == arn
        client.put_secret_value(SecretId=arn, SecretString='{"hookSecret": "two"}')
        assert _get(held, arn)[1]["SecretString"] == '{"hookSecret": "one"}'  # within its TTL: the cache
        assert _get(fresh, arn)[1]["SecretString"] == '{"hookSecret": "two"}'  # TTL 0: asks every time
    finally:
        held_server.shutdown()
        fresh_server.shutdown()
