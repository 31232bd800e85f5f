"""The ONE stream-access decision every enforcement point calls: the media-server hooks, HTTP/HLS
playback and CloudFront playback.

`decide` admits or refuses a publish/play with a reason (logic/admission.py `Reason`, the one
rule's verdict, access policies included: the client's address, country, origin and protocol
come from the request, models/hooks.py `HookRequest.client`) and records the admitted session in
the same DynamoDB request that uses the credential; `renew` re-decides a live session; `end` frees it.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, replace

from streamauth.errors import StoreUnavailable
from streamauth.logic.admission import HOOK_REASON, Reason, session_cap
from streamauth.logic.sessions import credential_owner, credential_ref
from streamauth.logic.signing import looks_like_jwt
from streamauth.models.hooks import HookRequest
from streamauth.models.policies import Policy
from streamauth.models.sessions import CredentialRef
from streamauth.models.subscribers import BlockRequest, Subscriber
from streamauth.service.admission import Judge, judge
from streamauth.service.sessions import SessionService, claim_attempts, session_service
from streamauth.service.streams import StreamService, stream_service
from streamauth.service.subscribers import CodeResult, SubscriberService, subscriber_service
from streamauth.service.tokens import TokenService, token_service
from streamauth.service.uses import UseService, use_service
from streamauth.service.viewers import ViewerService, viewer_service


@dataclass(frozen=True)
class Decision:
    allow: bool
    reason: Reason
    session_id: str | None = None
    # the access policies an admission applied (the stream's, the credential's, the subscriber's):
    # CloudFront compiles what it can enforce into its cookies (service/cloudfront.py)
    policies: tuple[Policy | None, ...] = ()


class AccessService:
    def __init__(
        self,
        tokens: TokenService,
        viewers: ViewerService,
        subscribers: SubscriberService,
        sessions: SessionService,
        streams: StreamService,
        judge: Judge,
        uses: UseService,
    ) -> None:
        self._uses = uses
        self._tokens = tokens
        self._viewers = viewers
        self._subscribers = subscribers
        self._sessions = sessions
        self._streams = streams
        self._judge = judge

    def decide(self, request: HookRequest, now: float, *, fresh: bool = False) -> Decision:
        """Admit or refuse. `fresh`: judge JWTs against the stream's state as stored now, not the
        bounded-staleness cache (CloudFront, which never asks again)."""
        credentials = request.credentials
        if credentials.token:
            return self._token(request, credentials.token, now, fresh)
        if credentials.subscriber_id and credentials.subscriber_code:
            return self._subscriber(request, credentials.subscriber_id, credentials.subscriber_code, now)
        return Decision(False, Reason.MISSING_CREDENTIALS)

    def _token(self, request: HookRequest, token: str, now: float, fresh: bool) -> Decision:
        if looks_like_jwt(token):
            credential: CredentialRef | None = self._tokens.stream_jwt(token, request.stream_id, request.action, now)
            if credential is None and request.action == "play":
                credential = self._viewers.check(token, request.stream_id, now)
            if credential is None:
                return Decision(False, Reason.INVALID_TOKEN)
            state = self._streams.fresh_state(request.stream_id, now) if fresh else None
            reason = self._judge.admit(credential, request.stream_id, request.action, now, state, request.client)
            if reason is not Reason.ALLOWED:
                return Decision(False, reason)
            policies = self._judge.policies(credential, request.stream_id, now, state)
            reason = self._stateful(credential, request, policies, now)
            if reason is not Reason.ALLOWED:
                return Decision(False, reason)
            cap, at_cap = session_cap(policies)
            if cap is None and not _ends_sessions(policies):  # uncounted: its identity is its record
                session = self._sessions.new(request, credential, None, now)
                if not self._sessions.record(session, now):
                    return Decision(False, Reason.SESSION_ENDED)
                return Decision(True, Reason.ALLOWED, session.session_id, policies)
            placed = self._sessions.place(request, credential, cap, now)
            if placed is None or isinstance(placed, Reason):
                return Decision(False, placed or at_cap)
            return Decision(True, Reason.ALLOWED, placed.session_id, policies)
        reference = self._tokens.one_time_ref(token)
        if reference is None:
            return Decision(False, Reason.INVALID_TOKEN)
        session = self._sessions.new(request, reference, None, now)
        used = self._tokens.consume(
            request.stream_id, token, request.action, now, session, self._twice(request), request.client
        )
        if used.reason is not Reason.ALLOWED:
            return Decision(False, used.reason)
        if used.account is not None or used.policy is not None:  # learnt from the token as it was used
            # if this write fails the admission still stands (the token, its account and its
            # policy were good); only this session's renews will not see the account's deletion
            # or judge the token's own policy again (its stream's they still do)
            with contextlib.suppress(StoreUnavailable):
                self._sessions.set_issued(session, used.account, used.policy)
        return Decision(True, Reason.ALLOWED, session.session_id, (used.stream_policy, used.policy, None))

    def _stateful(
        self,
        credential: CredentialRef,
        request: HookRequest,
        policies: tuple[Policy | None, ...],
        now: float,
        subscriber: Subscriber | None = None,
    ) -> Reason:
        """bindOnFirstUse and sharing detection (service/uses.py). Under a suspicion whose action
        ends or blocks, every refused admission ends the credential's sessions still live (one
        Query; none left after the first): a session a racer wrote after the first end, or an end
        cut short by a store failure, is ended by the next refusal. The subscriber is blocked once,
        by the admission that raised the suspicion (the uses item refuses it for the hold anyway)."""
        verdict = self._uses.check(credential, request.stream_id, request.client, policies, now, subscriber).verdict
        sharing = policies[0].sharing if policies[0] is not None else None
        if verdict.reason is Reason.SHARING_SUSPECTED and sharing is not None and sharing.action in ("end", "block"):
            if subscriber is not None:
                if sharing.action == "block" and verdict.suspected is not None:
                    block = BlockRequest("publish_play", sharing.block_seconds)
                    self._subscribers.block(request.stream_id, subscriber.subscriber_id, block, now)
                self._sessions.end_credential(request.stream_id, subscriber.subscriber_id, now)
            else:
                self._sessions.end_credential(request.stream_id, credential_owner(credential.ref), now)
        return verdict.reason

    @staticmethod
    def _twice(request: HookRequest) -> str | None:
        """The client a server that authenticates one client twice (MediaMTX over RTSP) names:
        its one-time token or its subscriber code is accepted once more for it, within 10 s."""
        if not (request.asks_twice and request.client_ip):
            return None
        return "\n".join((request.server, request.server_id or "", request.client_ip, request.stream_id))

    def _subscriber(self, request: HookRequest, subscriber_id: str, code: str, now: float) -> Decision:
        credential = CredentialRef("subscriber", subscriber_id, subscriber_id=subscriber_id)
        # the stream's policy first (its cached state): a client it refuses spends no guess
        reason = self._judge.admit(credential, request.stream_id, request.action, now, client=request.client)
        if reason is not Reason.ALLOWED:
            return Decision(False, reason)
        checked = self._subscribers.check(
            request.stream_id, subscriber_id, code, request.action, now, request.client_ip, self._twice(request)
        )
        if isinstance(checked, CodeResult):
            return Decision(False, HOOK_REASON.get(checked.reason, checked.reason))
        if checked.subscriber is not None and checked.subscriber.policy is not None:  # its own policy too
            reason = self._judge.admit(
                credential, request.stream_id, request.action, now, client=request.client, subscriber=checked.subscriber
            )
            if reason is not Reason.ALLOWED:
                self._subscribers.release(checked)  # a right code, refused by the policy: not a guess
                return Decision(False, reason)
        stored = checked.subscriber
        policies = self._judge.policies(credential, request.stream_id, now, subscriber=stored)
        try:
            reason = self._stateful(credential, request, policies, now, stored)
        except StoreUnavailable:
            with contextlib.suppress(StoreUnavailable):  # the store failed us, not the client: no guess
                self._subscribers.release(checked)
            raise
        if reason is not Reason.ALLOWED:
            self._subscribers.release(checked)  # a right code, refused by the policy: not a guess
            return Decision(False, reason)
        # a stored subscriber's cap: its connection limit and the policies' maxSessions (one rule)
        cap, at_cap = (
            (None, Reason.CONNECTION_LIMIT)
            if stored is None
            else session_cap(policies, stored.concurrent_connections_limit)
        )
        if request.server_session is None:
            # a server that names no session of its own (Ant Media): every admission is a session
            # of its own, so a fresh code never silently reuses a live session's slot
            request = replace(request, server_session="admission:" + credential_ref(uuid.uuid4().hex))
        for _ in range(claim_attempts(cap)):
            try:
                session = self._sessions.claim(request, subscriber_id, stored, cap, now)
                if session is None:
                    break
                result, slot_taken = self._subscribers.accept(checked, now, session)
            except StoreUnavailable:
                with contextlib.suppress(StoreUnavailable):  # the store failed us, not the client: no guess
                    self._subscribers.release(checked)
                raise
            if not slot_taken:
                if not result.success:
                    return Decision(False, result.reason)
                return Decision(True, result.reason, session.session_id, policies)
            if cap is None or cap == 1:
                break  # the one slot is held by a live (or ended) session: no other to try
        self._subscribers.release(checked)
        return Decision(False, at_cap)

    def renew(self, request: HookRequest, now: float) -> Decision:
        renewal = self._sessions.renew(request, now)
        return Decision(renewal.renewed, Reason.ALLOWED if renewal.renewed else renewal.reason, renewal.session_id)

    def end(self, request: HookRequest) -> bool:
        return self._sessions.end(request)


def access_service() -> AccessService:
    return AccessService(
        token_service(),
        viewer_service(),
        subscriber_service(),
        session_service(),
        stream_service(),
        judge(),
        use_service(),
    )


def _ends_sessions(policies: tuple[Policy | None, ...]) -> bool:
    """The stream's sharing action ends a credential's sessions: a JWT's are then kept in its
    own partition (counted), where one query finds them all."""
    sharing = policies[0].sharing if policies[0] is not None else None
    return sharing is not None and sharing.action in ("end", "block")
