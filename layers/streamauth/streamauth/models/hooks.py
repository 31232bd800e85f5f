"""Media-server auth callbacks: each server's wire format translated into ONE request shape.

Facts per server are in the README ("Media servers"). The rules that matter for security:
nginx-rtmp appends the client's own query string after its fields, so server-set fields
(`call`, `name`, `app`, `clientid`, `addr`) are taken from their FIRST occurrence and a
client cannot redirect a token to another stream or action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from streamauth.errors import BadRequest
from streamauth.models.common import Action, parse_json_object, parse_stream_id

MAX_FIELD = 4096


@dataclass(frozen=True)
class Credentials:
    token: str | None = None
    subscriber_id: str | None = None
    subscriber_code: str | None = None


@dataclass(frozen=True)
class AccessRequest:
    """May this client publish/play this stream?"""

    server: str  # "nginx-rtmp" | "srs" | "mediamtx" | "antmedia"
    stream_id: str
    action: Action
    credentials: Credentials
    session_id: str | None  # the server's client/session id, for connection leases
    client_ip: str | None = None


@dataclass(frozen=True)
class SessionEvent:
    """A session ended (done/stop/unpublish) or is still alive (update)."""

    server: str
    session_id: str
    kind: str  # "end" | "renew"


Hook = AccessRequest | SessionEvent | None  # None: an event we acknowledge and ignore


def _first(pairs: list[tuple[str, str]]) -> dict[str, str]:
    first: dict[str, str] = {}
    for key, value in pairs:
        first.setdefault(key, value)
    return first


def _credentials(fields: dict[str, str]) -> Credentials:
    def text(name: str) -> str | None:
        value = fields.get(name)
        if value is None or value == "":
            return None
        if len(value) > MAX_FIELD:
            raise BadRequest(name, f"must be at most {MAX_FIELD} characters")
        return value

    return Credentials(text("token"), text("subscriberId"), text("subscriberCode"))


def _session(server: str, *parts: str | None) -> str | None:
    present = [p for p in parts if p]
    if not present:
        return None
    session = ":".join([server, *present])
    return session[:512]


def parse_nginx(body: str) -> Hook:
    """nginx-rtmp notify: form body (or query with notify_method get); client args appended last."""
    fields = _first(parse_qsl(body, keep_blank_values=True))
    call = fields.get("call", "")
    session = _session("nginx-rtmp", fields.get("addr"), fields.get("clientid"), fields.get("app"))
    if call in ("publish", "play"):
        action: Action = "publish" if call == "publish" else "play"
        return AccessRequest(
            "nginx-rtmp",
            parse_stream_id(fields.get("name"), "name"),
            action,
            _credentials(fields),
            session,
            fields.get("addr"),
        )
    if call in ("publish_done", "play_done", "done"):
        return SessionEvent("nginx-rtmp", session, "end") if session else None
    if call in ("update_publish", "update_play"):
        return SessionEvent("nginx-rtmp", session, "renew") if session else None
    if call == "connect":
        return None
    raise BadRequest("call", "must be a nginx-rtmp notify call (publish, play, *_done, update_*)")


def _str(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise BadRequest(name, "must be a string")
    return value


def parse_srs(body: str) -> Hook:
    """SRS http_hooks: JSON; `param` is the client's query WITH its leading '?'."""
    data = parse_json_object(body)
    action = _str(data, "action") or ""
    session = _session("srs", _str(data, "server_id"), _str(data, "client_id"))
    if action in ("on_publish", "on_play"):
        param = (_str(data, "param") or "").removeprefix("?")
        fields = _first(parse_qsl(param, keep_blank_values=True))
        verb: Action = "publish" if action == "on_publish" else "play"
        return AccessRequest(
            "srs",
            parse_stream_id(_str(data, "stream"), "stream"),
            verb,
            _credentials(fields),
            session,
            _str(data, "ip"),
        )
    if action in ("on_unpublish", "on_stop"):
        return SessionEvent("srs", session, "end") if session else None
    if action in ("on_connect", "on_close", "on_dvr", "on_hls", "on_hls_notify"):
        return None
    raise BadRequest("action", "must be an SRS http_hooks action")


def parse_mediamtx(body: str) -> Hook:
    """MediaMTX authMethod http: JSON {user, password, token, ip, action, path, protocol, id, query}."""
    data = parse_json_object(body)
    action = _str(data, "action") or ""
    if action not in ("publish", "read", "playback"):
        raise BadRequest("action", "only publish, read and playback are authorized by streamauth")
    path = (_str(data, "path") or "").strip("/")
    fields = _first(parse_qsl(_str(data, "query") or "", keep_blank_values=True))
    # MediaMTX puts a Bearer token or the password in its own fields; the query holds ours.
    for alternative in ("token", "password"):
        if not fields.get("token") and _str(data, alternative):
            fields["token"] = _str(data, alternative) or ""
    if not fields.get("subscriberId") and _str(data, "user"):
        fields.setdefault("subscriberId", _str(data, "user") or "")
    verb: Action = "publish" if action == "publish" else "play"
    stream = path.rsplit("/", 1)[-1]
    session = _session("mediamtx", _str(data, "id"))
    return AccessRequest(
        "mediamtx", parse_stream_id(stream, "path"), verb, _credentials(fields), session, _str(data, "ip")
    )


_JAVA_MAP = re.compile(r"\s*([^=,{}\s]+)\s*=\s*([^,{}]*)")


def _java_map(text: str) -> dict[str, str]:
    """Ant Media's `queryParams` is Java's Map.toString(): "{token=abc, subscriberId=x}"."""
    inner = text.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    return _first([(m.group(1), m.group(2).strip()) for m in _JAVA_MAP.finditer(inner)])


def parse_antmedia(body: str) -> Hook:
    """Ant Media webhookAuthenticateURL (publish) and play auth: JSON with `mode`."""
    data = parse_json_object(body)
    mode = _str(data, "mode") or "publish"
    fields: dict[str, str] = {}
    query = data.get("queryParams")
    if isinstance(query, str):
        fields.update(_java_map(query))
    elif isinstance(query, dict):
        fields.update({str(k): str(v) for k, v in query.items() if isinstance(v, str | int)})
    for name in ("token", "subscriberId", "subscriberCode"):
        value = _str(data, name)
        if value:
            fields[name] = value
    verb: Action = "play" if mode == "play" else "publish"
    stream = _str(data, "streamId") or _str(data, "name")
    return AccessRequest("antmedia", parse_stream_id(stream, "streamId"), verb, _credentials(fields), None, None)
