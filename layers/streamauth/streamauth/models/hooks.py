"""Media-server auth callbacks: each server's wire format translated into ONE request shape.

Facts per server are in the README ("Media servers"). The rules that matter for security:
nginx-rtmp appends the client's own query string after its fields, so server-set fields
(`call`, `name`, `app`, `clientid`, `addr`) are taken from their FIRST occurrence and a
client cannot redirect a token to another stream or action; and every field is validated
(charset and length) before it reaches crypto or the store: a malformed one is a 400 naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

from streamauth.errors import BadRequest
from streamauth.models.common import Action, parse_json_object, parse_stream_id
from streamauth.models.policies import Client, origin_of
from streamauth.models.subscribers import parse_code, parse_subscriber_id

MAX_TOKEN = 4096
# One-time tokens are url-safe base64 and hex; JWTs are three base64url parts with dots.
TOKEN = re.compile(rf"[A-Za-z0-9_\-.]{{1,{MAX_TOKEN}}}")
# Server-set identifiers (addresses, client and session ids, app names): printable ASCII.
SERVER_FIELD = re.compile(r"[\x21-\x7e]{1,128}")

Phase = Literal["admit", "renew", "end"]
SRS_LEASE_SECONDS = 12 * 3600  # a session SRS never reported ended (it crashed) frees its slot then
NGINX, SRS, MEDIAMTX, ANTMEDIA, HTTP = "nginx-rtmp", "srs", "mediamtx", "antmedia", "http"


@dataclass(frozen=True)
class PresentedCredentials:
    """What a client presented: a token (one-time, JWT stream token or viewer JWT), or a
    subscriber id with its time code."""

    token: str | None = None
    subscriber_id: str | None = None
    subscriber_code: str | None = None


@dataclass(frozen=True)
class HookRequest:
    """A media server asks to admit, renew or end a publish or play."""

    server: str
    phase: Phase
    stream_id: str
    actions: tuple[Action, ...]  # one; both for nginx-rtmp's on_done, which does not say
    credentials: PresentedCredentials
    server_session: str | None  # the server's own identity for the session
    client_ip: str | None = None
    protocol: str | None = None  # how the client came (MediaMTX: rtsp, rtmp, srt, webrtc, hls)
    kick_id: str | None = None  # the id the server's own API ends the session by (SRS client_id, MediaMTX id)
    server_id: str | None = None  # which registered media server asked (the hook URL's ?server=)
    lease_seconds: int | None = None  # how long an admitted session lives unrenewed (None: the default)
    asks_twice: bool = False  # the server authenticates one client more than once (MediaMTX's RTSP)
    country: str | None = None  # the client's country, from a CDN header the deployment trusts
    origin: str | None = None  # a browser's origin (HTTP players, Ant Media's WebRTC play)

    @property
    def action(self) -> Action:
        return self.actions[0]

    @property
    def client(self) -> Client:
        """Who asks, for the access policies (models/policies.py)."""
        return client_of(self.server, self.protocol, self.client_ip, self.country, self.origin, self.action)


CLOUDFRONT = "cloudfront"
_PROTOCOL_NAMES = {"rtmps": "rtmp", "rtsps": "rtsp", "rtc": "webrtc", "whip": "webrtc", "whep": "webrtc"}


def client_protocol(server: str, protocol: str | None) -> str | None:
    """The protocol a client came by (one of models/policies.py PROTOCOLS, or the server's own
    word), as each server says it: nginx-rtmp speaks RTMP; SRS's tcUrl scheme; MediaMTX's field;
    HTTP playback and CloudFront serve HLS/DASH; Ant Media's WebRTC play webhook is WebRTC, its
    publish webhook names none (None: unknown, and a policy listing protocols refuses it)."""
    if server == NGINX:
        return "rtmp"
    if server in (HTTP, CLOUDFRONT):
        return "hls"
    if protocol is None:
        return None
    word = protocol.lower()
    return _PROTOCOL_NAMES.get(word, word)


def client_of(
    server: str, protocol: str | None, address: str | None, country: str | None, origin: str | None, action: Action
) -> Client:
    browser = server in (HTTP, CLOUDFRONT) or (server == ANTMEDIA and action == "play")
    return Client(address, country, origin, client_protocol(server, protocol), browser)


Hook = HookRequest | None  # None: a callback we acknowledge and ignore


SERVER_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def parse_server_id(value: object) -> str:
    """A registered media server's id, as the hook URL's `?server=` names it."""
    if not isinstance(value, str) or not SERVER_ID.fullmatch(value):
        raise BadRequest("server", "must be 1-64 letters, digits, '_', '-' or '.'")
    return value


def _first(pairs: list[tuple[str, str]]) -> dict[str, str]:
    first: dict[str, str] = {}
    for key, value in pairs:
        first.setdefault(key, value)
    return first


def credentials_of(fields: dict[str, str]) -> PresentedCredentials:
    """The credential a client presented in its query, each field validated (400 naming it)."""
    token = fields.get("token") or None
    if token is not None and not TOKEN.fullmatch(token):
        raise BadRequest("token", f"must be 1-{MAX_TOKEN} characters of letters, digits, '_', '-' and '.'")
    subscriber_id = fields.get("subscriberId") or None
    code = fields.get("subscriberCode") or None
    return PresentedCredentials(
        token,
        parse_subscriber_id(subscriber_id) if subscriber_id is not None else None,
        parse_code(code, "subscriberCode") if code is not None else None,
    )


def _server_field(value: str | None, field: str) -> str | None:
    if value is None or value == "":
        return None
    if not SERVER_FIELD.fullmatch(value):
        raise BadRequest(field, "must be 1-128 printable ASCII characters")
    return value


def _identity(*parts: tuple[str | None, str]) -> str | None:
    """The server's identity for a session from its validated parts, or None when it sends none."""
    present = [_server_field(value, field) for value, field in parts]
    return "/".join(p or "" for p in present) if any(present) else None


_NGINX_CALLS: dict[str, tuple[Phase, tuple[Action, ...]]] = {
    "publish": ("admit", ("publish",)),
    "play": ("admit", ("play",)),
    "publish_done": ("end", ("publish",)),
    "play_done": ("end", ("play",)),
    "done": ("end", ("publish", "play")),
    "update_publish": ("renew", ("publish",)),
    "update_play": ("renew", ("play",)),
}


def parse_nginx(body: str) -> Hook:
    """nginx-rtmp notify: form body (or query with notify_method get); client args appended last.
    Every call carries the session's name and args, so done and update name the same session."""
    fields = _first(parse_qsl(body, keep_blank_values=True))
    call = fields.get("call", "")
    if call in ("connect", "disconnect", "record_done", "update"):
        return None  # connection-level and recorder calls: nothing to decide
    if call not in _NGINX_CALLS:
        raise BadRequest("call", "must be a nginx-rtmp notify call (publish, play, *_done, update_*)")
    phase, actions = _NGINX_CALLS[call]
    identity = _identity((fields.get("app"), "app"), (fields.get("addr"), "addr"), (fields.get("clientid"), "clientid"))
    return HookRequest(
        NGINX,
        phase,
        parse_stream_id(fields.get("name"), "name"),
        actions,
        credentials_of(fields),
        identity,
        _server_field(fields.get("addr"), "addr"),
    )


def _str(data: dict[str, Any], name: str) -> str | None:
    """A field read as text; a number as its decimal text (older SRS sends `client_id` as one)."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise BadRequest(name, "must be a string")
    return value


def _text(data: dict[str, Any], name: str) -> str | None:
    """A field that must be a string when present: a stream or a credential. No server sends a
    number there, and a number's text could still pass for an id, a token or a code."""
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    raise BadRequest(name, "must be a string")


_SRS_ACTIONS: dict[str, tuple[Phase, Action]] = {
    "on_publish": ("admit", "publish"),
    "on_play": ("admit", "play"),
    "on_unpublish": ("end", "publish"),
    "on_stop": ("end", "play"),
}


def parse_srs(body: str) -> Hook:
    """SRS http_hooks: JSON; `param` is the client's query WITH its leading '?' (on the stop and
    unpublish calls too, so they name the same session)."""
    data = parse_json_object(body)
    action = _str(data, "action") or ""
    if action in ("on_connect", "on_close", "on_dvr", "on_hls", "on_hls_notify", "on_forward"):
        return None
    if action not in _SRS_ACTIONS:
        raise BadRequest("action", "must be an SRS http_hooks action")
    phase, verb = _SRS_ACTIONS[action]
    param = (_str(data, "param") or "").removeprefix("?")
    return HookRequest(
        SRS,
        phase,
        parse_stream_id(_text(data, "stream"), "stream"),
        (verb,),
        credentials_of(_first(parse_qsl(param, keep_blank_values=True))),
        _identity((_str(data, "server_id"), "server_id"), (_str(data, "client_id"), "client_id")),
        _server_field(_str(data, "ip"), "ip"),
        protocol=_scheme(_str(data, "tcUrl")),
        kick_id=_server_field(_str(data, "client_id"), "client_id"),
        # SRS calls on_stop/on_unpublish for every session it admitted, so its sessions (and the
        # connection slots they hold) live until then, not for a lease nothing would renew.
        lease_seconds=SRS_LEASE_SECONDS,
    )


def _scheme(url: str | None) -> str | None:
    """The scheme of SRS's tcUrl (rtmp://host/app, webrtc://..., srt://...): how the client came."""
    scheme, found, _ = (url or "").partition("://")
    return scheme.lower() if found and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]{0,15}", scheme) else None


def parse_mediamtx(body: str) -> Hook:
    """MediaMTX authMethod http: JSON {user, password, token, ip, action, path, protocol, id, query}.
    MediaMTX asks once per session (and per HLS request): there is no done or update call."""
    data = parse_json_object(body)
    action = _str(data, "action") or ""
    if action not in ("publish", "read", "playback"):
        raise BadRequest("action", "only publish, read and playback are authorized by streamauth")
    path = (_text(data, "path") or "").strip("/")
    fields = _first(parse_qsl(_str(data, "query") or "", keep_blank_values=True))
    # MediaMTX puts a Bearer token, a user and a password in its own fields; the query holds
    # ours. A user with a 6-digit password is a subscriber and its code; else the password is a token.
    user, password = _text(data, "user") or "", _text(data, "password") or ""
    if user and not fields.get("subscriberId"):
        fields["subscriberId"] = user
        if password.isdigit() and len(password) == 6 and not fields.get("subscriberCode"):
            fields["subscriberCode"], password = password, ""
    for alternative in (_text(data, "token") or "", password):
        if not fields.get("token") and alternative:
            fields["token"] = alternative
    verb: Action = "publish" if action == "publish" else "play"
    credentials = credentials_of(fields)
    ip = _server_field(_str(data, "ip"), "ip")
    session_id = _identity((_str(data, "id"), "id"))
    # MediaMTX authenticates one RTSP client twice (DESCRIBE with its connection's id, SETUP or
    # ANNOUNCE with its session's: internal/servers/rtsp conn.go and session.go), so an RTSP
    # session (a token's or a subscriber's) is that client's (its address), and its kick id the
    # latest one MediaMTX gave.
    rtsp = (_str(data, "protocol") or "") == "rtsp"
    if rtsp and ip and (credentials.token or credentials.subscriber_id):
        session_id = "rtsp-client:" + ip
    return HookRequest(
        MEDIAMTX,
        "admit",
        parse_stream_id(path.rsplit("/", 1)[-1], "path"),
        (verb,),
        credentials,
        session_id,
        ip,
        protocol=_server_field(_str(data, "protocol"), "protocol"),
        kick_id=_server_field(_str(data, "id"), "id"),
        asks_twice=rtsp,
    )


_JAVA_MAP = re.compile(r"\s*([^=,{}\s]+)\s*=\s*([^,{}]*)")


def _java_map(text: str) -> dict[str, str]:
    """Ant Media's `queryParams` is Java's Map.toString(): "{token=abc, subscriberId=x}"."""
    inner = text.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    return _first([(m.group(1), m.group(2).strip()) for m in _JAVA_MAP.finditer(inner)])


_ANTMEDIA_ENDS: dict[str, Action] = {"playStopped": "play", "liveStreamEnded": "publish"}


def parse_antmedia(body: str) -> Hook:
    """Ant Media's webhookAuthenticateURL (publish) and play webhook: JSON with `mode`; and its
    listenerHookURL (JSON by default, `webhookContentType`), whose `playStopped` (with the
    player's stream parameters) and `liveStreamEnded` (with its subscriberId) end a session
    (AntMediaApplicationAdapter: streamPlayItemStop, closeBroadcast). Ant Media sends no
    session id: each subscriber admission is a session of its own, held until a stop report
    frees it (the oldest of that subscriber's) or SRS_LEASE_SECONDS pass."""
    data = parse_json_object(body)
    hook_action = _str(data, "action")
    if hook_action is not None and "mode" not in data:
        if hook_action not in _ANTMEDIA_ENDS:
            return None  # liveStreamStarted, playStarted, vodReady...: nothing to decide
        stream = _text(data, "id") or _text(data, "streamId")
        fields = {n: v for n in ("token", "subscriberId") if isinstance(v := data.get(n), str) and v}
        return HookRequest(
            ANTMEDIA,
            "end",
            parse_stream_id(stream, "id"),
            (_ANTMEDIA_ENDS[hook_action],),
            credentials_of(fields),
            None,
        )
    mode = _str(data, "mode") or "publish"
    fields = {}
    query = data.get("queryParams")
    if isinstance(query, str):
        fields.update(_java_map(query))
    elif isinstance(query, dict):
        fields.update({str(k): str(v) for k, v in query.items() if isinstance(v, str | int)})
    for name in ("token", "subscriberId", "subscriberCode"):
        value = _text(data, name)
        if value:
            fields[name] = value
    verb: Action = "play" if mode == "play" else "publish"
    stream = _text(data, "streamId") or _text(data, "name")
    credentials = credentials_of(fields)
    return HookRequest(
        ANTMEDIA,
        "admit",
        parse_stream_id(stream, "streamId"),
        (verb,),
        credentials,
        None,
        _server_field(_str(data, "clientIP") or _str(data, "ip"), "clientIP"),
        protocol="webrtc" if verb == "play" else None,  # its play webhook is its WebRTC play's
        origin=origin_of(_str(data, "origin")) if verb == "play" else None,
        # a subscriber's slot is held until Ant Media reports the stop (or 12 h at most)
        lease_seconds=SRS_LEASE_SECONDS if credentials.subscriber_id and not credentials.token else None,
    )
