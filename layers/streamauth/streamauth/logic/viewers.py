"""Viewer JWTs: HS256 with their own key and audience, so no other token kind passes as one."""

from __future__ import annotations

import secrets
from typing import Any

from streamauth.logic import signing
from streamauth.logic.tokens import with_policy
from streamauth.models.viewers import ViewerTokenRequest

AUDIENCE = "streamauth:viewer"


def viewer_claims(request: ViewerTokenRequest, now: float, lifetime: int) -> dict[str, Any]:
    claims = {
        "stream_id": request.stream_id,
        "sub": request.unique_user_identifier,
        "iat": int(now),
        "exp": int(now) + lifetime,
        "jti": secrets.token_hex(16),
        "aud": AUDIENCE,
    }
    return with_policy(claims, request.policy)


def check_viewer_jwt(token: str, key: str | signing.Decoder, now: float) -> dict[str, Any]:
    """Verified viewer claims, or signing.InvalidJwt. `key`: the HS256 key, or the kind's decoder."""
    claims = signing.decode_with(key, token, now, require=("exp", "iat", "sub", "stream_id"), audience=AUDIENCE)
    if not isinstance(claims.get("stream_id"), str) or not isinstance(claims.get("sub"), str):
        raise signing.InvalidJwt("malformed claims")
    return claims
