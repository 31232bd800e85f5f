"""Stream token rules: ids, JWT stream tokens, revocation."""

from __future__ import annotations

import secrets
from typing import Any

from streamauth.logic import signing
from streamauth.models.common import Action
from streamauth.models.tokens import TokenRequest

TOKEN_ID_BYTES = 24  # 32 url-safe characters: unguessable, and short enough for nginx-rtmp's 255-byte limit


def new_token_id() -> str:
    return secrets.token_urlsafe(TOKEN_ID_BYTES)


def stream_jwt_claims(request: TokenRequest, now: float) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "streamId": request.stream_id,
        "type": request.type,
        "exp": request.expire_date,
        # Milliseconds so a token minted right after a revocation is not mistaken for an older one.
        "iat": round(now, 3),
    }
    if request.room_id is not None:
        claims["roomId"] = request.room_id
    return claims


def check_stream_jwt(token: str, key: str, stream_id: str, action: Action, now: float) -> dict[str, Any]:
    """Claims of a JWT stream token valid for this stream and action, else InvalidJwt."""
    claims = signing.decode(token, key, now, require=("exp",))
    if claims.get("streamId") != stream_id:
        raise signing.InvalidJwt("another stream")
    if claims.get("type") != action:
        raise signing.InvalidJwt("another type")
    return claims


def issued_before_revocation(issued_at_ms: int | None, revoked_at_ms: int | None) -> bool:
    """A token issued at or before the stream's last revocation is dead.

    A JWT without `iat` (made by a client) cannot prove it is newer, so any revocation kills it.
    """
    if revoked_at_ms is None:
        return False
    if issued_at_ms is None:
        return True
    return issued_at_ms <= revoked_at_ms


def jwt_issued_at_ms(claims: dict[str, Any]) -> int | None:
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        return None
    return int(iat * 1000)
