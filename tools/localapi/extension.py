"""The AWS Parameters and Secrets Lambda Extension's secrets interface, served locally so that
`make bench` can measure what reading a secret through it would cost a function.

The extension is a process beside the function: the function asks
`GET http://localhost:2773/secretsmanager/get?secretId=<id>` with the header
`X-Aws-Parameters-Secrets-Token` set to its session token, and gets GetSecretValue's answer as
JSON, from the extension's cache when it holds the secret (`SECRETS_MANAGER_TTL`, 300 s by
default), else from Secrets Manager, which it asks and then caches. This serves the same path,
header and answer, with the same cache, in front of the local backend's Secrets Manager (moto).

Run as `python -m localapi.extension ENDPOINT TTL`: it prints its port, then serves until killed.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PATH = "/secretsmanager/get"
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"


def serve(endpoint: str, ttl: float) -> ThreadingHTTPServer:
    """A server on a free loopback port, in front of Secrets Manager at `endpoint`."""
    import botocore.session

    client: Any = botocore.session.get_session().create_client(
        "secretsmanager", endpoint_url=endpoint, region_name=os.environ.get("AWS_REGION", "us-east-1")
    )
    cache: dict[str, tuple[float, bytes]] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            """Nothing logged: the answers hold secrets."""

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlsplit(self.path)
            secret_id = parse_qs(url.query).get("secretId", [""])[0]
            if url.path != PATH or not secret_id:
                self._reply(400, b'{"message": "GET /secretsmanager/get?secretId=<id>"}')
                return
            if self.headers.get(TOKEN_HEADER) != os.environ.get("AWS_SESSION_TOKEN", ""):
                self._reply(401, b'{"message": "X-Aws-Parameters-Secrets-Token must be the session token"}')
                return
            with lock:
                held = cache.get(secret_id)
            if held is None or time.monotonic() - held[0] >= ttl:
                reply = client.get_secret_value(SecretId=secret_id)
                reply.pop("ResponseMetadata", None)
                held = (time.monotonic(), json.dumps(reply, default=str).encode())
                with lock:
                    cache[secret_id] = held
            self._reply(200, held[1])

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


def main() -> None:
    endpoint, ttl = sys.argv[1], float(sys.argv[2])
    server = serve(endpoint, ttl)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
