"""The facts the one admission rule (logic/admission.py) needs, gathered from the store, and its
verdict: every enforcement point (hooks, playback, CloudFront, validate-token, renew, push
enforcement) judges a credential through `Judge`, so no caller restates any part of the rule.

Reads: the stream's state (the caller's own fresh read, else the bounded-staleness cache), the
subscriber (only for a stored subscriber's credential) and the issuing service account's
standing (only for a token an account issued; fresh whenever the state is).
"""

from __future__ import annotations

from streamauth.logic.admission import Facts, Reason, Rules, renew_verdict, verdict
from streamauth.models.common import Action
from streamauth.models.sessions import CredentialRef
from streamauth.models.streams import StreamState
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
        self, credential: CredentialRef, stream_id: str, now: float, state: StreamState | None = None, *, stored: bool
    ) -> Facts:
        fresh = state is not None
        if credential.kind == "subscriber":
            found = self._subscribers.get(stream_id, credential.subscriber_id or "") if stored else None
            return Facts(StreamState(), found[0] if found else None, subscriber_stored=stored)
        state = state or self._streams.state(stream_id, now)
        stands = credential.account is None or self._issuers.stands(credential.account, now, fresh=fresh)
        return Facts(state, account_stands=stands)

    def admit(
        self, credential: CredentialRef, stream_id: str, action: Action, now: float, state: StreamState | None = None
    ) -> Reason:
        """At admission: the credential was verified (signature, stream, type, exp with leeway)."""
        return verdict(credential, action, self.facts(credential, stream_id, now, state, stored=False), self.rules, now)

    def renew(
        self,
        credential: CredentialRef,
        stream_id: str,
        action: Action,
        now: float,
        state: StreamState | None = None,
        *,
        stored_subscriber: bool = False,
    ) -> Reason:
        """A session already admitted: the same rule, against what changed since."""
        facts = self.facts(credential, stream_id, now, state, stored=stored_subscriber)
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
