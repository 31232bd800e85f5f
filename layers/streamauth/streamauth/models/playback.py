"""HLS and DASH playback behind nginx's `auth_request`: what one subrequest asks.

nginx sends the subrequest with the viewer's own headers (its Cookie among them) plus those the
location sets: the original URI (`X-Original-URI`), the client's address (`X-Real-IP`) and,
from the media location's regex, the stream (`X-Stream-Id`). Every field is validated before it
reaches a check: a bad one is a 400 naming it (nginx then refuses the request).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, urlsplit

from streamauth.errors import BadRequest
from streamauth.models.common import parse_stream_id
from streamauth.models.hooks import SERVER_FIELD, PresentedCredentials, credentials_of
from streamauth.models.policies import country_of, origin_of

COOKIE = "streamauth_playback"
MAX_URI = 4096
# /hls/<stream>/index.m3u8, /hls/<stream>/3.ts (nginx-rtmp `hls_nested on`), /hls/<stream>.m3u8,
# /hls/<stream>-3.ts (`hls_nested off`), and the same under /dash/ (.mpd, .m4s, .m4v, .m4a).
_MEDIA = re.compile(
    r"^/(?:[^/?#]+/)*?(?P<nested>[A-Za-z0-9_.\-]{1,128})/[^/]+\.(?:m3u8|ts|mpd|m4s|m4v|m4a|mp4)$"
    r"|^/(?:[^/?#]+/)*(?P<flat>[A-Za-z0-9_.\-]{1,128}?)(?:-[0-9]+|-init|-raw)?\.(?:m3u8|ts|mpd|m4s|m4v|m4a|mp4)$"
)
PLAYLISTS = (".m3u8", ".mpd")


_SEGMENT = re.compile(r"[A-Za-z0-9_.\-~]{1,128}")


@dataclass(frozen=True)
class PlaybackRequest:
    stream_id: str
    path: str  # the original URI's path (every directory validated: no dot segment, no ';')
    credentials: PresentedCredentials  # from the original URI's query (the first request)
    session_token: str | None  # the playback session cookie
    client_ip: str | None
    country: str | None = None  # CloudFront-Viewer-Country, as the nginx front passes it (README "Access policies")
    origin: str | None = None  # the player page's Origin (or Referer's origin)

    @property
    def is_playlist(self) -> bool:
        return self.path.endswith(PLAYLISTS)

    @property
    def cookie_path(self) -> str:
        """Where the session cookie applies: the stream's own directory (nginx-rtmp `hls_nested
        on`), else the directory its files share; from validated directories only."""
        head, _, _ = self.path.rpartition("/")
        return f"{head}/" if head else "/"


def stream_of(path: str) -> str | None:
    """The stream an HLS/DASH path belongs to (nested or flat layout), or None."""
    match = _MEDIA.match(path)
    if match is None:
        return None
    return match.group("nested") or match.group("flat")


def _cookie(header: str | None) -> str | None:
    if not header:
        return None
    if len(header) > 8192:
        raise BadRequest("Cookie", "must be at most 8192 characters")
    names = [part.split("=", 1)[0].strip() for part in header.split(";")]
    if names.count(COOKIE) > 1:  # nginx's $cookie_ takes the first, a parser the last: one only
        raise BadRequest("Cookie", f"must hold at most one {COOKIE} cookie")
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError as exc:
        raise BadRequest("Cookie", "is malformed") from exc
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def parse_playback(
    original_uri: str | None,
    stream: str | None,
    cookie: str | None,
    ip: str | None,
    country: str | None = None,
    origin: str | None = None,
    referer: str | None = None,
) -> PlaybackRequest:
    """The request nginx asks about, from the subrequest's headers (the viewer's own among them:
    `Origin`, `Referer`, and `CloudFront-Viewer-Country`, which only a front that sets it makes
    trustworthy: README "Access policies")."""
    if not original_uri:
        raise BadRequest("X-Original-URI", "is required (proxy_set_header X-Original-URI $request_uri)")
    if len(original_uri) > MAX_URI or any(ord(c) < 0x21 or ord(c) > 0x7E for c in original_uri):
        raise BadRequest("X-Original-URI", f"must be at most {MAX_URI} printable ASCII characters")
    parts = urlsplit(original_uri)
    directories = parts.path.split("/")[1:-1]
    if not parts.path.startswith("/") or not all(_SEGMENT.fullmatch(d) and d not in (".", "..") for d in directories):
        raise BadRequest(
            "X-Original-URI", "must be a path of letters, digits, '_', '-', '.' or '~' directories (no '.' or '..')"
        )
    stream_id = parse_stream_id(stream, "X-Stream-Id") if stream else stream_of(parts.path)
    if stream_id is None:
        raise BadRequest("X-Original-URI", "names no HLS or DASH stream (or send X-Stream-Id)")
    stream_id = parse_stream_id(stream_id, "X-Original-URI")
    if ip is not None and ip != "" and not SERVER_FIELD.fullmatch(ip):
        raise BadRequest("X-Real-IP", "must be printable ASCII")
    fields: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        fields.setdefault(name, value)
    return PlaybackRequest(
        stream_id,
        parts.path,
        credentials_of(fields),
        _cookie(cookie),
        ip or None,
        country_of(country),
        origin_of(origin, referer),
    )
