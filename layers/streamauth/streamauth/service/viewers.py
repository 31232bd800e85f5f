"""Public viewer JWTs: minted for anyone while a stream is open to public viewers (streams are
closed until an operator opens them, unless the deployment's default says otherwise), checked
per stream, and ended by a close or a revocation.

Minting writes nothing: the stream's state is read through the bounded-staleness cache, so a
crowd joining one stream costs no DynamoDB write (abuse control is API Gateway throttling
and the optional WAF rate rule per client address, in the template).
"""

from __future__ import annotations

from typing import Any

from streamauth.errors import Forbidden, Unauthorized
from streamauth.logic import signing
from streamauth.logic.admission import Reason
from streamauth.logic.sessions import token_ref
from streamauth.logic.tokens import claimed_policy, jwt_issued_at_ms
from streamauth.logic.viewers import check_viewer_jwt, viewer_claims
from streamauth.models.principals import VIEWER, Principal
from streamauth.models.sessions import CredentialRef
from streamauth.models.viewers import PublicViewers, ViewerTokenRequest
from streamauth.service.admission import Judge, judge, rules
from streamauth.service.jwt_codecs import JwtCodec, viewer_codec
from streamauth.service.streams import StreamService, stream_service
from streamauth.settings import get_settings


class ViewerService:
    def __init__(self, streams: StreamService, codec: JwtCodec, lifetime: int, judge: Judge) -> None:
        self._streams = streams
        self._codec = codec
        self._lifetime = lifetime
        self._judge = judge

    def mint(self, request: ViewerTokenRequest, now: float) -> str:
        if not self._streams.state(request.stream_id, now).open_to_viewers(self._judge.rules.viewers_default):
            raise Forbidden(f"stream {request.stream_id} is not open to public viewers")
        return self._codec.sign(viewer_claims(request, now, self._lifetime), now)

    def set_public(self, stream_id: str, enabled: bool, now: float) -> bool:
        return self._streams.set_viewers(stream_id, enabled, int(now * 1000))

    def alive(self, stream_id: str, issued_at: int | None, now: float) -> bool:
        """A viewer JWT issued at `issued_at` (unix s) still plays `stream_id` (the one admission
        rule: open, not revoked, not closed since)."""
        issued_at_ms = None if issued_at is None else issued_at * 1000
        return self.judge(CredentialRef("viewer", "", issued_at_ms), stream_id, now) is Reason.ALLOWED

    def judge(self, credential: CredentialRef, stream_id: str, now: float) -> Reason:
        return self._judge.admit(credential, stream_id, "play", now)

    def admits(self, token: str, stream_id: str, now: float) -> bool:
        """Would this viewer JWT be admitted to play `stream_id` now (the one admission rule)?"""
        credential = self.check(token, stream_id, now)
        return credential is not None and self.judge(credential, stream_id, now) is Reason.ALLOWED

    def check(self, token: str, stream_id: str, now: float) -> CredentialRef | None:
        """A viewer JWT verified for playing `stream_id` (signature, audience, stream), as a
        reference for the admission rule to judge; None otherwise."""
        try:
            claims = check_viewer_jwt(token, self._codec, now)
            policy = claimed_policy(claims)
        except signing.InvalidJwt:
            return None
        if claims["stream_id"] != stream_id:
            return None
        return CredentialRef(
            "viewer",
            token_ref(token),
            issued_at_ms=jwt_issued_at_ms(claims),
            expires_at=int(claims["exp"]),
            policy=policy,
        )


def describe_caller(principal: Principal, now: float) -> dict[str, Any]:
    """GET /api/v1/users/me. A viewer JWT of a stream since closed or revoked is refused here
    too (the authorizer's cached answer may be up to a minute old)."""
    if principal.kind == VIEWER and not viewer_service().alive(principal.stream_id or "", principal.issued_at, now):
        raise Unauthorized("this viewer token's stream was closed or its tokens revoked")
    return principal.describe()


def public_viewers(stream_id: str, now: float) -> PublicViewers:
    """GET /api/v1/streams/{id}/public-viewers: open or closed as stored now (one consistent
    read), by the rule the admission judges a viewer JWT with (StreamState.open_to_viewers)."""
    state = stream_service().fresh_state(stream_id, now)
    return PublicViewers(stream_id, state.open_to_viewers(rules().viewers_default), default=state.viewers is None)


def viewer_service() -> ViewerService:
    settings = get_settings()
    return ViewerService(stream_service(), viewer_codec(), settings.viewer_token_ttl, judge())
