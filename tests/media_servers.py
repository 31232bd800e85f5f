"""Local fakes of the session-ending APIs of MediaMTX, SRS and Ant Media, answering as each
server's source does (the references are in streamauth/logic/kicks.py), and recording every
request byte for byte: request line, headers in the order sent, body.

- MediaMTX: `POST /v3/<kind>/kick/{id}` on the kinds its enabled servers register; 200
  `{"status":"ok"}`, 404 `{"status":"error","error":"session not found"}`, 400 for an id that is
  not a UUID; an unregistered route is gin's `404 page not found` (text/plain); with
  credentials, 401 `{"status":"error","error":"authentication error"}` and
  `WWW-Authenticate: Basic realm="mediamtx"`.
- SRS: `DELETE /api/v1/clients/{id}` is always HTTP 200 with a code: 0 and the server's ids when
  kicked, 2049 when no such client; `http_api.auth` answers 401 without Basic credentials.
- Ant Media: `POST /<app>/rest/v2/broadcasts/{id}/stop` (Jersey, @Consumes JSON: 415 otherwise)
  is 200 with a Result, success true when it was live; JWTFilter answers 403 without the JWT.

`fail_with` makes the next answers those statuses (a server restarting, 503).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from localapi.runtime import free_port


@dataclass(frozen=True)
class Seen:
    request_line: bytes  # b"POST /v3/rtspsessions/kick/<id> HTTP/1.1"
    headers: tuple[tuple[str, str], ...]  # as sent: names as written, in order
    body: bytes

    @property
    def method(self) -> str:
        return self.request_line.split(b" ")[0].decode()

    @property
    def path(self) -> str:
        return self.request_line.split(b" ")[1].decode()

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


Answer = tuple[int, str, bytes, dict[str, str]]  # status, content type, body, extra headers


def _json(status: int, data: Any, **headers: str) -> Answer:
    return status, "application/json; charset=utf-8", json.dumps(data, separators=(",", ":")).encode(), headers


@dataclass
class FakeServer:
    seen: list[Seen] = field(default_factory=list)
    fail_with: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                # the request line as received (http.server keeps it decoded as latin-1: a lossless round trip)
                seen = Seen(self.requestline.encode("iso-8859-1"), tuple(self.headers.items()), body)
                with fake._lock:
                    fake.seen.append(seen)
                    failing = fake.fail_with.pop(0) if fake.fail_with else None
                answer: Answer = (failing, "text/plain", b"unavailable", {}) if failing else fake.answer(seen)
                status, kind, payload, extra = answer
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle  # noqa: N815

            def log_message(self, *_: Any) -> None:
                pass

        self._lock = threading.Lock()
        self.port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, seen: Seen) -> Answer:
        raise NotImplementedError

    def requests(self) -> list[tuple[str, str]]:
        return [(s.method, s.path) for s in self.seen]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _basic(seen: Seen, username: str | None, password: str | None) -> bool:
    if username is None:
        return True
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    return seen.header("Authorization") == expected


MEDIAMTX_KINDS = (
    "rtspsessions",
    "rtspssessions",
    "rtmpconns",
    "rtmpsconns",
    "srtconns",
    "webrtcsessions",
    "hlssessions",
    "moqsessions",
)


@dataclass
class FakeMediaMtx(FakeServer):
    username: str | None = None
    password: str | None = None
    sessions: dict[str, set[str]] = field(default_factory=lambda: {kind: set() for kind in MEDIAMTX_KINDS})
    enabled: tuple[str, ...] = MEDIAMTX_KINDS  # the API registers a kind's routes only when its server runs
    jwks_refreshes: int = 0  # POST /v3/auth/jwks/refresh received (api/openapi.yaml authJwksRefresh)

    def answer(self, seen: Seen) -> Answer:
        if not _basic(seen, self.username, self.password):
            return _json(
                401,
                {"status": "error", "error": "authentication error"},
                **{"WWW-Authenticate": 'Basic realm="mediamtx"'},
            )
        if seen.method == "POST" and seen.path == "/v3/auth/jwks/refresh":
            self.jwks_refreshes += 1
            return _json(200, {"status": "ok"})
        match = re.fullmatch(r"/v3/(\w+)/kick/([^/]+)", seen.path)
        if seen.method != "POST" or match is None or match.group(1) not in self.enabled:
            return 404, "text/plain", b"404 page not found", {}
        kind, session_id = match.groups()
        try:
            uuid.UUID(session_id)
        except ValueError:
            return _json(400, {"status": "error", "error": "invalid UUID length"})
        if session_id not in self.sessions[kind]:
            return _json(404, {"status": "error", "error": "session not found"})
        self.sessions[kind].discard(session_id)
        return _json(200, {"status": "ok"})


@dataclass
class FakeSrs(FakeServer):
    username: str | None = None
    password: str | None = None
    clients: set[str] = field(default_factory=set)

    def answer(self, seen: Seen) -> Answer:
        if not _basic(seen, self.username, self.password):
            return 401, "text/plain", b"", {"WWW-Authenticate": 'Basic realm="SRS"'}
        match = re.fullmatch(r"/api/v1/clients/([^/]+)", seen.path)
        if match is None:
            return 404, "text/plain", b"Not Found", {}
        if seen.method != "DELETE":
            return 405, "text/plain", b"", {}
        client_id = match.group(1)
        if client_id not in self.clients:
            return 200, "application/json", b'{"code":2049}', {}
        self.clients.discard(client_id)
        return 200, "application/json", b'{"code":0,"server":"vid-0xk989d","service":"0n19d1c2","pid":"4242"}', {}


@dataclass
class FakeAntMedia(FakeServer):
    app: str = "LiveApp"
    jwt: str | None = None
    live: set[str] = field(default_factory=set)

    def answer(self, seen: Seen) -> Answer:
        match = re.fullmatch(rf"/{self.app}/rest/v2/broadcasts/([^/]+)/stop", seen.path)
        if match is None:
            return 404, "text/html", b"<html><body>Not Found</body></html>", {}
        if self.jwt is not None:
            given = (seen.header("Authorization") or "").removeprefix("Bearer").strip()
            if given != self.jwt:
                return 403, "text/html", b"Invalid App JWT Token", {}
        if seen.method != "POST":
            return 405, "text/html", b"", {}
        if (seen.header("Content-Type") or "").split(";")[0] != "application/json":
            return 415, "text/html", b"Unsupported Media Type", {}
        stream_id = match.group(1)
        stopped = stream_id in self.live
        self.live.discard(stream_id)
        return _json(200, {"success": stopped, "message": None, "dataId": None, "errorId": 0})
