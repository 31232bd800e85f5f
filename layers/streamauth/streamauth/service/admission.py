"""The facts the one admission rule (logic/admission.py) needs, gathered from the store, and its
verdict: every enforcement point (hooks, playback, CloudFront, validate-token, renew, push
enforcement) judges a credential through `Judge`, so no caller restates any part of the rule.

Reads: the stream's state with its access policy (the caller's own fresh read, else the
bounded-staleness cache), the subscriber (only for a stored subscriber's credential, unless the
caller just read it) and the issuing service account's standing (only for a token an account
issued; fresh whenever the state is).
"""

from __future__ import annotations

from streamauth.logic.admission import Facts, Reason, Rules, renew_verdict, verdict
from streamauth.models.common import Action
from streamauth.models.policies import Client, Policy
from streamauth.models.sessions import CredentialRef
from streamauth.models.streams import StreamState
from streamauth.models.subscribers import Subscriber
from streamauth.service.issuers import Issuers, issuers
from streamauth.service.streams import StreamService, stream_service
from streamauth.store import SubscriberStore, subscriber_store


class Judge:
    def __init__(self, streams: StreamService, subscribers: SubscriberStore, issuers: Issuers, rules: Rules) -> None:
        self._streams = streams
        self._subscribers = subscribers
        self._issuers = issuers
        self.rules = rules

    def facts(
        self,
        credential: CredentialRef,
        stream_id: str,
        now: float,
        state: StreamState | None = None,
        *,
        stored: bool,
        client: Client | None = None,
        subscriber: Subscriber | None = None,
        started_at_ms: int | None = None,
    ) -> Facts:
        """`subscriber`: a stored subscriber the caller already read (no read again)."""
        fresh = state is not None
        state = state or self._streams.state(stream_id, now)  # its policy applies to every credential
        if credential.kind == "subscriber":
            if stored and subscriber is None:
                found = self._subscribers.get(stream_id, credential.subscriber_id or "")
                subscriber = found[0] if found else None
            return Facts(state, subscriber, stored, client=client, started_at_ms=started_at_ms)
        stands = credential.account is None or self._issuers.stands(credential.account, now, fresh=fresh)
        return Facts(state, account_stands=stands, client=client, started_at_ms=started_at_ms)

    def policies(
        self,
        credential: CredentialRef,
        stream_id: str,
        now: float,
        state: StreamState | None = None,
        subscriber: Subscriber | None = None,
    ) -> tuple[Policy | None, ...]:
        """Every policy that applies to the credential: its stream's (`state` when the caller read
        it, else the cache the verdict just used: no request), its own, its subscriber's."""
        state = state or self._streams.state(stream_id, now)
        return state.policy, credential.policy, None if subscriber is None else subscriber.policy

    def admit(
        self,
        credential: CredentialRef,
        stream_id: str,
        action: Action,
        now: float,
        state: StreamState | None = None,
        client: Client | None = None,
        subscriber: Subscriber | None = None,
    ) -> Reason:
        """At admission: the credential was verified (signature, stream, type, exp with leeway).
        `client`: who asks (None: no client, e.g. validate-token); `subscriber`: a stored
        subscriber's profile as just read (its code's check)."""
        facts = self.facts(
            credential, stream_id, now, state, stored=subscriber is not None, client=client, subscriber=subscriber
        )
        return verdict(credential, action, facts, self.rules, now)

    def renew(
        self,
        credential: CredentialRef,
        stream_id: str,
        action: Action,
        now: float,
        state: StreamState | None = None,
        *,
        stored_subscriber: bool = False,
        client: Client | None = None,
        started_at_ms: int | None = None,
    ) -> Reason:
        """A session already admitted: the same rule, against what changed since (and the
        session's age, for a policy's maxSessionSeconds)."""
        facts = self.facts(
            credential, stream_id, now, state, stored=stored_subscriber, client=client, started_at_ms=started_at_ms
        )
        return renew_verdict(credential, action, facts, self.rules, now)


def rules() -> Rules:
    from streamauth.settings import get_settings

    settings = get_settings()
    return Rules(
        settings.public_viewers_default,
        int(settings.revocation_cache_seconds * 1000),
        settings.jwt_expiry_ends_sessions,
    )


def judge() -> Judge:
    return Judge(stream_service(), subscriber_store(), issuers(), rules())
