"""Stream token use cases: orchestrate pure logic and the store; time comes in as `now`."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, replace

from streamauth.errors import StoreUnavailable
from streamauth.logic import signing
from streamauth.logic.admission import POLICY_REASONS, Reason
from streamauth.logic.sessions import credential_ref, token_ref
from streamauth.logic.tokens import (
    check_stream_jwt,
    claimed_policy,
    jwt_issued_at_ms,
    mediamtx_claims,
    new_token_id,
    stream_jwt_claims,
    token_created_at_ms,
)
from streamauth.models.common import STREAM_ID, Action
from streamauth.models.policies import Client, Policy, policy_text
from streamauth.models.sessions import CredentialRef, Session
from streamauth.models.tokens import MediaMtxTokenRequest, Token, TokenRequest, ValidateRequest
from streamauth.service.admission import Judge, judge
from streamauth.service.jwt_codecs import JwtCodec, mediamtx_codec, stream_codec
from streamauth.service.streams import StreamService, stream_service
from streamauth.settings import get_settings
from streamauth.store import TokenStore, token_store
from streamauth.store.tokens import Use


@dataclass(frozen=True)
class Used:
    reason: Reason
    account: str | None = None  # the service account that issued the token
    policy: Policy | None = None  # the token's own access policy
    stream_policy: Policy | None = None  # its stream's, as the admission read it (an admitted use's)


class TokenService:
    def __init__(self, store: TokenStore, streams: StreamService, codec: JwtCodec, judge: Judge) -> None:
        self._store = store
        self._streams = streams
        self._codec = codec  # keys read on use: a function holds only the keys it needs
        self._judge = judge

    def issue_one_time(self, request: TokenRequest, now: float) -> Token:
        created_at_ms = int(now * 1000)
        token = Token(
            new_token_id(created_at_ms), request.stream_id, request.expire_date, request.type, request.room_id
        )
        self._store.put(token, created_at_ms, request.issued_by, policy_text(request.policy))
        return token

    def issue_jwt(self, request: TokenRequest, now: float) -> Token:
        jwt = self._codec.sign(stream_jwt_claims(request, now), now)
        return Token(jwt, request.stream_id, request.expire_date, request.type, request.room_id)

    def validate(self, request: ValidateRequest, now: float) -> bool:
        """Ant Media's validate-token; JWT stream tokens are accepted too (not consumed)."""
        return self.validate_reason(request, now) is Reason.ALLOWED

    def validate_reason(self, request: ValidateRequest, now: float) -> Reason:
        """validate-token's verdict: ALLOWED, or why not (the decision log's reason)."""
        if signing.looks_like_jwt(request.token_id):
            credential = self.stream_jwt(request.token_id, request.stream_id, request.type, now)
            if credential is None:
                return Reason.INVALID_TOKEN
            return self._judge.admit(credential, request.stream_id, request.type, now)
        if request.room_id is None:
            return self.consume(request.stream_id, request.token_id, request.type, now).reason
        # Ant Media keeps conference-room tokens: check, do not consume. A room's members validate
        # with their own stream ids (DBStoresUnitTest.testTokenOperations): the token is found under
        # the stream named, else under the room's own stream (the roomId), and must be of that room.
        reference = self.one_time_ref(request.token_id)
        if reference is None:
            return Reason.INVALID_TOKEN
        for stream_id in dict.fromkeys((request.stream_id, request.room_id)):
            if not STREAM_ID.fullmatch(stream_id) or stream_id in (".", ".."):
                continue
            found = self._store.get(stream_id, request.token_id)
            if found is None:
                continue
            token, created_at_ms, consumed, account = found
            if consumed or token.type != request.type or token.room_id != request.room_id:
                return Reason.INVALID_TOKEN
            if token.expire_date <= now:
                return Reason.EXPIRED
            credential = replace(reference, issued_at_ms=created_at_ms, expires_at=token.expire_date, account=account)
            return self._judge.admit(credential, stream_id, request.type, now)
        return Reason.INVALID_TOKEN

    @staticmethod
    def one_time_ref(token_id: str) -> CredentialRef | None:
        """A one-time token's reference (its hash and creation time), or None for an id
        streamauth never made."""
        created_at_ms = token_created_at_ms(token_id)
        if created_at_ms is None:
            return None
        return CredentialRef("token", credential_ref(token_id), issued_at_ms=created_at_ms)

    def consume(
        self,
        stream_id: str,
        token_id: str,
        action: Action,
        now: float,
        session: Session | None = None,
        client: str | None = None,
        asker: Client | None = None,
    ) -> Used:
        """Use a one-time token, for exactly one caller however many race (with `session` recorded
        in the same transaction). With `client` (a media server's identity of one client that it
        authenticates twice: MediaMTX's RTSP DESCRIBE and SETUP), that client asking once more
        within seconds is the same use. The verdict (ALLOWED, or why not) and the service account
        that issued the token (None: an operator).

        The stream's revocation is judged AFTER the token is used: a revocation that lands before
        the confirming read refuses the admission (and withdraws the session), one that lands after
        it finds the session already written, for the enforcer to end. So no revocation is missed,
        and the stream's META item is only read — in no transaction, where a crowd's concurrent
        admissions would conflict on it. A revocation the cache already knows refuses without a
        request. Two requests: the write, and one strongly consistent BatchGetItem of the stream's
        state (which warms the cache) and the token (its issuing service account, if any: a
        deleted one refuses, with one more read).

        `asker`: the client, for the access policies (the stream's and the token's own). A client
        the cached stream policy refuses does not use the token; one refused by a policy learnt
        only on the confirming read gets it back (a client at a wrong address cannot burn it)."""
        reference = self.one_time_ref(token_id)
        if reference is None or reference.issued_at_ms is None:
            return Used(Reason.INVALID_TOKEN)  # not an id streamauth made: nothing to look up
        cached = self._streams.cached_state(stream_id, now)
        if cached is not None:
            early = self._judge.admit(reference, stream_id, action, now, cached, asker)
            if early is Reason.REVOKED or early in POLICY_REASONS:
                return Used(early)  # revocations only grow: a cached one stands
        use = Use(uuid.uuid4().hex, credential_ref(client) if client else None)
        if not self._store.consume(stream_id, token_id, reference.issued_at_ms, action, now, use, session):
            return Used(Reason.INVALID_TOKEN)
        try:
            state, account, policy = self._store.confirm(stream_id, token_id)
            self._streams.remember(stream_id, state, now)
            credential = replace(reference, account=account, policy=policy)
            reason = self._judge.admit(credential, stream_id, action, now, state, asker)
            if reason in POLICY_REASONS:  # this client may not use it: it stays for one who may
                self._store.withdraw(session)
                self._store.unconsume(stream_id, token_id, use)
                return Used(reason, account, policy)
        except StoreUnavailable:
            # refused for the store's fault, not the client's: give the token back (best effort)
            with contextlib.suppress(StoreUnavailable):
                self._store.withdraw(session)
                self._store.unconsume(stream_id, token_id, use)
            raise
        if reason is not Reason.ALLOWED:
            self._store.withdraw(session)
        return Used(reason, account, policy, state.policy)

    def stream_jwt(self, token: str, stream_id: str, action: Action, now: float) -> CredentialRef | None:
        """A JWT stream token verified for this stream and action (signature, exp with the one
        leeway), as a reference for the admission rule to judge; None otherwise."""
        try:
            claims = check_stream_jwt(token, self._codec, stream_id, action, now)
            policy = claimed_policy(claims)
        except signing.InvalidJwt:
            return None
        account = claims.get("sa") if isinstance(claims.get("sa"), str) else None
        return CredentialRef(
            "jwt",
            token_ref(token),
            issued_at_ms=jwt_issued_at_ms(claims),
            expires_at=int(claims["exp"]),
            account=account,
            policy=policy,
        )

    def list(self, stream_id: str, offset: int, size: int, now: float) -> list[Token]:
        """Live tokens; a revocation shows at once (a fresh read, not the cache)."""
        revoked_at = self._streams.fresh_state(stream_id, now).revoked_at_ms
        return self._store.list_live(stream_id, now, revoked_at, offset, size)

    def revoke_all(self, stream_id: str, now: float) -> bool:
        """Kill every token of the stream issued up to now (stored and JWT; viewer JWTs too)."""
        return self._streams.revoke(stream_id, int(now * 1000))


def token_service() -> TokenService:
    """Built on first use, from cached settings, keys (rotation-aware) and client."""
    return TokenService(token_store(), stream_service(), stream_codec(), judge())


def issue_mediamtx_token(request: MediaMtxTokenRequest, now: float) -> str:
    """A MediaMTX JWT-mode token (ES256, verified by MediaMTX against the JWKS) for one action
    on one stream."""
    settings = get_settings()
    claims = mediamtx_claims(
        request.stream_id,
        request.action,
        request.expire_date,
        now,
        settings.jwt_issuer,
        settings.mediamtx_jwt_audience,
    )
    return mediamtx_codec().sign(claims, now)
