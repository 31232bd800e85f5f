"""Stream token rules: ids, JWT stream tokens, revocation."""

from __future__ import annotations

import re
import secrets
from typing import Any

from streamauth.errors import BadRequest
from streamauth.logic import signing
from streamauth.models.common import Action
from streamauth.models.policies import Policy, policy_from_compact
from streamauth.models.tokens import TokenRequest

RANDOM_BYTES = 24  # 32 url-safe characters: unguessable
# A one-time token id is its random part followed by its creation time (unix ms, hex): the
# validation then consumes it without reading it first, and checks the stream's revocation
# against its creation time. 43 characters: well inside nginx-rtmp's 255-byte name+args limit.
ONE_TIME_ID = re.compile(r"(?P<random>[A-Za-z0-9_\-]{32})(?P<created>[0-9a-f]{11,12})")


POLICY_CLAIM = "pol"  # a JWT's own access policy (compact form), signed with it: stream and viewer JWTs


def with_policy(claims: dict[str, Any], policy: Policy | None) -> dict[str, Any]:
    """`claims` carrying `policy` (none: as they were)."""
    if policy is not None and not policy.empty:
        claims[POLICY_CLAIM] = policy.compact()
    return claims


def claimed_policy(claims: dict[str, Any]) -> Policy | None:
    """The access policy a verified JWT carries; signing.InvalidJwt when it carries one that does
    not parse (such a token is refused: its issuer meant a restriction no one can read)."""
    if POLICY_CLAIM not in claims:
        return None
    try:
        return policy_from_compact(claims[POLICY_CLAIM])
    except BadRequest as exc:
        raise signing.InvalidJwt("malformed policy claim") from exc


def new_token_id(created_at_ms: int) -> str:
    return f"{secrets.token_urlsafe(RANDOM_BYTES)}{created_at_ms:011x}"


def token_created_at_ms(token_id: str) -> int | None:
    """The creation time a one-time token id carries, or None for an id streamauth never made."""
    match = ONE_TIME_ID.fullmatch(token_id)
    return int(match.group("created"), 16) if match else None


def stream_jwt_claims(request: TokenRequest, now: float) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "streamId": request.stream_id,
        "type": request.type,
        "exp": request.expire_date,
        "iat": int(now),
    }
    if request.room_id is not None:
        claims["roomId"] = request.room_id
    if request.issued_by is not None:
        claims["sa"] = request.issued_by  # the issuing service account: deleting it ends the token
    return with_policy(claims, request.policy)


def check_stream_jwt(
    token: str, key: str | signing.Decoder, stream_id: str, action: Action, now: float
) -> dict[str, Any]:
    """Claims of a JWT stream token valid for this stream and action, else InvalidJwt. `key`: the
    HS256 key, or the kind's decoder (HS256 or ES256 by the token's header)."""
    claims = signing.decode_with(key, token, now, require=("exp",))
    if claims.get("streamId") != stream_id:
        raise signing.InvalidJwt("another stream")
    if claims.get("type") != action:
        raise signing.InvalidJwt("another type")
    return claims


def mediamtx_claims(
    stream_id: str, action: str, expire_date: int, now: float, issuer: str, audience: str
) -> dict[str, Any]:
    """A MediaMTX JWT-mode token's claims (bluenviron/mediamtx internal/auth: the permissions
    claim, checked against the request's action and path; `iss` and `aud` when authJWTIssuer and
    authJWTAudience are set): one action on one path, the stream."""
    return {
        "mediamtx_permissions": [{"action": action, "path": stream_id}],
        "iss": issuer,
        "aud": audience,
        "iat": int(now),
        "exp": expire_date,
    }


def jwt_issued_at_ms(claims: dict[str, Any]) -> int | None:
    iat = signing.issued_at(claims)
    return None if iat is None else iat * 1000
