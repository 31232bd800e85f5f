"""Playback sessions over HTTP: the short-lived token a viewer's player carries (as a cookie)
after its first, credentialed request. Pure: keys and time come in.

The token is a JWT (HS256, its own audience) naming the session, its stream, its expiry and,
when the deployment binds sessions to addresses, the client's address; its key is derived
from the hook secret for this one purpose, so only the hook function can make or check one.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from streamauth.logic import signing

AUDIENCE = "streamauth:playback"


def playback_key(hook_secret: str) -> str:
    return hmac.new(hook_secret.encode(), b"streamauth/playback", hashlib.sha256).hexdigest()


def playback_claims(session_id: str, stream_id: str, now: float, lifetime: int, ip: str | None) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sid": session_id,
        "stream_id": stream_id,
        "iat": int(now),
        "exp": int(now) + lifetime,
        "aud": AUDIENCE,
    }
    if ip is not None:
        claims["ip"] = ip
    return claims


def check_playback_token(token: str, key: str, stream_id: str, ip: str | None, now: float) -> dict[str, Any]:
    """Claims of a playback token for this stream (and address, when it is bound to one)."""
    claims = signing.decode(token, key, now, require=("exp", "sid", "stream_id"), audience=AUDIENCE)
    if claims.get("stream_id") != stream_id:
        raise signing.InvalidJwt("another stream")
    if "ip" in claims and claims["ip"] != ip:
        raise signing.InvalidJwt("another client address")
    if not isinstance(claims.get("sid"), str):
        raise signing.InvalidJwt("malformed")
    return claims


def cookie_header(name: str, token: str, path: str, max_age: int, secure: bool) -> str:
    """The Set-Cookie value nginx hands the player with the playlist."""
    flags = f"Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax"
    return f"{name}={token}; {flags}{'; Secure' if secure else ''}"
