"""Ending a session through its media server's own API: the request per server, and what the
server's reply means. Pure: no I/O (the sender is streamauth/media_api.py).

Verified against each server's source and documentation (snapshots read 2026-08):

- MediaMTX (bluenviron/mediamtx @3e09466): api/openapi.yaml lists `POST /v3/<kind>/kick/{id}`
  for rtspsessions, rtspssessions, rtmpconns, rtmpsconns, srtconns, webrtcsessions,
  hlssessions (since v1.18.0, "hls: track sessions" f87d9e6) and moqsessions (v1.19.0), each
  answering 200 `{"status":"ok"}` (defs.APIOK) or 404 "session not found" (internal/api/api_rtsp.go
  onRTSPSessionsKick: uuid.Parse(id), else 400). internal/api/api.go middlewareAuth asks for
  HTTP Basic credentials (`WWW-Authenticate: Basic realm="mediamtx"`). The auth hook's
  `protocol` is one of rtsp, rtmp, hls, webrtc, srt, moq (internal/auth/request.go): RTSPS and
  RTMPS sessions report "rtsp"/"rtmp", so their kick is tried on the plain server first and on
  the TLS one when the first says 404. Before v1.18 an HLS auth request carries no `id`: such
  sessions, and playback (no protocol, no id), cannot be kicked.
- SRS (ossrs/srs-docs doc/http-api.md "Kickoff Client"; ossrs/srs trunk/src/app/
  srs_app_http_api.cpp SrsGoApiClients::serve_http): `DELETE /api/v1/clients/{id}` always
  answers HTTP 200 with a JSON code: 0 (with server, service, pid) when kicked, 2049
  (ERROR_RTMP_CLIENT_NOT_FOUND) when no such client, 400 when the client has no connection.
  `http_api.auth` (SRS 5+) is HTTP Basic. An HTTP 404 is no answer of this API (its prefix
  route always matches), so it means a wrong apiUrl, not a gone client.
- Ant Media (ant-media/Ant-Media-Server @5130ad8): BroadcastRestService `@Path("/v2/broadcasts")`,
  `@POST @Consumes(APPLICATION_JSON) @Path("/{id}/stop")`, served under `<app>/rest`
  (webapps/root/WEB-INF/web.xml `/rest/*`), answers 200 with a Result: `success` true when the
  active stream was stopped, false when there is no such broadcast or it is not live
  (RestServiceBase.stopBroadcastInternal). Its own integration test (RestServiceV2Test
  callStopBroadcastService) posts it with `Content-Type: application/json` and no body.
  JWTFilter reads `Authorization` (a JWT, "Bearer " prefix optional) and answers 403 when
  invalid. The REST API has no call that ends one viewer: play sessions cannot be kicked.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from streamauth.models.media_servers import MediaServer
from streamauth.models.sessions import Session

USER_AGENT = "streamauth-enforcer/1"

# Kick statuses recorded on the session (kickStatus)
KICKED = "kicked"  # the server ended it
GONE = "gone"  # the server no longer had it
NOT_KICKABLE = "not_kickable"  # the server's API cannot end this session (MediaMTX HLS < 1.18, Ant Media play)
UNREGISTERED = "unregistered"  # no registered server to ask (registry, ?server=)
FAILED = "failed:"  # + why: an HTTP status, srs-<code>, unreachable, timeout, ...
FINAL = (KICKED, GONE, NOT_KICKABLE)  # a session with one of these is never kicked again

# MediaMTX: the session's protocol -> the API kinds that may hold it, tried in order
MEDIAMTX_KINDS: dict[str, tuple[str, ...]] = {
    "rtsp": ("rtspsessions", "rtspssessions"),
    "rtsps": ("rtspssessions",),
    "rtmp": ("rtmpconns", "rtmpsconns"),
    "rtmps": ("rtmpsconns",),
    "srt": ("srtconns",),
    "webrtc": ("webrtcsessions",),
    "hls": ("hlssessions",),
    "moq": ("moqsessions",),
}
SRS_CLIENT_NOT_FOUND = 2049


@dataclass(frozen=True)
class KickRequest:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        """Method and URL: never the headers (they hold the server's credentials)."""
        return f"{self.method} {self.url}"


@dataclass(frozen=True)
class Plan:
    """The requests that end a session, tried in order while each answers "not here"; or why
    the session cannot be ended this way."""

    requests: tuple[KickRequest, ...] = ()
    not_kickable: str | None = None


@dataclass(frozen=True)
class Verdict:
    status: str  # KICKED, GONE, or FAILED + why
    retry: bool = False  # worth another attempt: the server or the way to it failed, not the request


def _segment(value: str | None) -> str | None:
    """One path segment, percent-encoded; None for what cannot safely be one."""
    if not value or value in (".", ".."):
        return None
    return quote(value, safe="")


def _headers(server: MediaServer, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    headers = [("Accept", "application/json"), ("User-Agent", USER_AGENT), *extra]
    if server.username is not None and server.password is not None:
        basic = base64.b64encode(f"{server.username}:{server.password}".encode()).decode()
        headers.append(("Authorization", f"Basic {basic}"))
    elif server.authorization is not None:
        headers.append(("Authorization", server.authorization))
    return tuple(headers)


def plan(server: MediaServer, session: Session) -> Plan:
    """How `server` (the session's registered media server) is told to end `session`."""
    if server.kind == "mediamtx":
        kinds = MEDIAMTX_KINDS.get((session.protocol or "").lower())
        kick_id = _segment(session.kick_id)
        if not kinds or kick_id is None:
            return Plan(not_kickable=f"MediaMTX cannot kick a {session.protocol or 'playback'} session without an id")
        headers = _headers(server)
        return Plan(tuple(KickRequest("POST", f"{server.api_url}/v3/{kind}/kick/{kick_id}", headers) for kind in kinds))
    if server.kind == "srs":
        client_id = _segment(session.kick_id)
        if client_id is None:
            return Plan(not_kickable="SRS session without a client_id")
        return Plan((KickRequest("DELETE", f"{server.api_url}/api/v1/clients/{client_id}", _headers(server)),))
    if session.action != "publish":
        return Plan(not_kickable="Ant Media's REST API cannot end one viewer")
    stream = _segment(session.stream_id)
    if stream is None:
        return Plan(not_kickable="stream id is not a path segment")
    url = f"{server.api_url}/rest/v2/broadcasts/{stream}/stop"
    return Plan((KickRequest("POST", url, _headers(server, ("Content-Type", "application/json"))),))


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def verdict(kind: str, status: int, body: bytes) -> Verdict:
    """What a server's HTTP answer to a kick means."""
    if status >= 500 or status == 429:
        return Verdict(f"{FAILED}{status}", retry=True)
    if kind == "mediamtx":
        if status == 200:
            return Verdict(KICKED)
        return Verdict(GONE) if status == 404 else Verdict(f"{FAILED}{status}")
    if status != 200:
        return Verdict(f"{FAILED}{status}")
    data = _json(body)
    if kind == "srs":
        code = data.get("code") if isinstance(data, dict) else data
        if isinstance(code, int) and not isinstance(code, bool):
            return Verdict(KICKED if code == 0 else GONE if code == SRS_CLIENT_NOT_FOUND else f"{FAILED}srs-{code}")
        return Verdict(f"{FAILED}bad-reply")
    success = data.get("success") if isinstance(data, dict) else None
    if isinstance(success, bool):
        return Verdict(KICKED if success else GONE)
    return Verdict(f"{FAILED}bad-reply")


def jwks_refresh(server: MediaServer) -> KickRequest:
    """After a key rotation, a MediaMTX in JWT mode is told to pull the JWKS again (bluenviron/
    mediamtx api/openapi.yaml `POST /v3/auth/jwks/refresh`, 200 `{"status":"ok"}`; internal/auth/
    manager.go RefreshJWTJWKS: the next authentication fetches it, instead of within the hour)."""
    return KickRequest("POST", f"{server.api_url}/v3/auth/jwks/refresh", _headers(server))
