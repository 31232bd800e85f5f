"""The ONE admission rule: may this credential publish or play this stream now? Pure.

Every enforcement point asks it: the media-server hooks (admission and renew), HTTP/HLS playback,
CloudFront playback, validate-token (rooms), push enforcement. Callers gather the facts (the
credential as a reference, the stream's state, the subscriber as stored, the issuing service
account's standing, the session) and get back a `Reason`: ALLOWED, or why not. The store's
condition expressions state the parts a write must hold atomically (a token unused, of the
type, not expired; a slot free); tests/unit/test_admission.py checks them against this rule on
the same cases.

Reason codes are defined here and nowhere else: logged, counted as metrics, returned by the
hooks and listed in the README's troubleshooting table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from streamauth.logic.geo import client_country
from streamauth.logic.signing import LEEWAY  # the one JWT leeway: at admission (signing), renew and push
from streamauth.models.common import Action
from streamauth.models.policies import Client, Policy, Sharing, parse_address
from streamauth.models.sessions import CredentialRef, Session
from streamauth.models.streams import StreamState, Viewers, issued_before
from streamauth.models.subscribers import Subscriber
from streamauth.models.uses import Evidence, Uses


class Reason(StrEnum):
    ALLOWED = "allowed"
    RENEWED = "renewed"
    ENDED = "ended"  # a stop report freed the session
    IGNORED = "ignored"  # a call with nothing to decide, or a stop naming no session
    # what the client presented
    MISSING_CREDENTIALS = "missing_credentials"
    INVALID_TOKEN = "invalid_token"
    INVALID_CODE = "invalid_code"
    REPLAYED = "replayed"
    LOCKED_OUT = "locked_out"
    NOT_PERMITTED = "not_permitted"  # a play subscriber may not publish
    NOT_CONFIGURED = "not_configured"  # no TOTP secret for unregistered subscribers of this type
    # what changed since it was issued
    REVOKED = "revoked"
    EXPIRED = "expired"
    STREAM_CLOSED = "stream_closed"
    BLOCKED = "blocked"
    SUBSCRIBER_DELETED = "subscriber_deleted"
    ACCOUNT_DELETED = "account_deleted"
    # sessions
    CONNECTION_LIMIT = "connection_limit"
    SESSION_NOT_FOUND = "session_not_found"
    SESSION_ENDED = "session_ended"  # ended over the API or by StreamEnded: the same identity is not admitted again
    SESSION_REQUIRED = "session_required"  # an HLS/DASH segment without a playback session
    INVALID_SESSION = "invalid_session"
    ADDRESS_NOT_BINDABLE = "address_not_bindable"  # binding is on and the request has no usable address
    # access policies (models/policies.py): the stream's and the credential's
    ADDRESS_NOT_ALLOWED = "address_not_allowed"
    COUNTRY_NOT_ALLOWED = "country_not_allowed"
    ORIGIN_NOT_ALLOWED = "origin_not_allowed"
    PROTOCOL_NOT_ALLOWED = "protocol_not_allowed"
    NOT_YET_VALID = "not_yet_valid"
    SESSION_TOO_LONG = "session_too_long"  # at a renew: the session is older than maxSessionSeconds
    TOO_MANY_SESSIONS = "too_many_sessions"
    BOUND_ELSEWHERE = "bound_elsewhere"
    SHARING_SUSPECTED = "sharing_suspected"
    # the media server itself
    WRONG_HOOK_SECRET = "wrong_hook_secret"
    MALFORMED_REQUEST = "malformed_request"  # nginx's auth_request subrequest names a field no check can read


# What a hook answers for a refusal the client cannot act on differently (no secret configured).
HOOK_REASON = {Reason.NOT_CONFIGURED: Reason.INVALID_CODE}


@dataclass(frozen=True)
class Rules:
    """The deployment's settings the rule depends on."""

    viewers_default: Viewers = "closed"
    viewer_grace_ms: int = 0  # a viewer JWT minted within this much after a close is still dead
    jwt_expiry_ends_sessions: bool = True  # a JWT's exp ends the sessions it admitted (renew, push)


@dataclass(frozen=True)
class Facts:
    """What is known now about a credential, beyond the credential itself. `subscriber`: the
    stored subscriber for kind "subscriber" (None: deleted, or never stored when `stored` is
    False); `account_stands`: whether the issuing service account (if any) still exists;
    `client`: who asks (None: a check with no client, e.g. validate-token: the policies' client
    rules are not judged there, their times are); `started_at_ms`: the session's start, at a renew."""

    state: StreamState
    subscriber: Subscriber | None = None
    subscriber_stored: bool = False  # the credential names a stored subscriber (a limit, a block)
    account_stands: bool = True
    client: Client | None = None
    started_at_ms: int | None = None


def expired(expires_at: int | None, now: float) -> bool:
    """A JWT's `exp` has passed, with the one leeway."""
    return expires_at is not None and now >= expires_at + LEEWAY


def verdict(credential: CredentialRef, action: Action, facts: Facts, rules: Rules, now: float) -> Reason:
    """May `credential` (already verified: signature, stream, type) publish/play now? Its standing
    first, then every policy that applies: the stream's, the credential's, the subscriber's."""
    reason = _standing(credential, action, facts, rules, now)
    if reason is not Reason.ALLOWED:
        return reason
    subscriber_policy = facts.subscriber.policy if facts.subscriber is not None else None
    return policy_verdict(
        (facts.state.policy, credential.policy, subscriber_policy), facts.client, now, facts.started_at_ms
    )


def policy_verdict(
    policies: Iterable[Policy | None], client: Client | None, now: float, started_at_ms: int | None = None
) -> Reason:
    """The access policies' rule: every policy given applies (a credential's only narrows its
    stream's). Times always; the client's address, country, protocol and (for an HTTP player)
    origin when the enforcement point knows the client. Stateless: no request. The country is
    its header's, else its address's in the offline database (logic/geo.py), looked up only when
    a policy names countries."""
    address = parse_address(client.address) if client is not None else None
    country: str | None = None
    looked_up = False
    for policy in policies:
        if policy is None:
            continue
        if policy.not_before is not None and now < policy.not_before:
            return Reason.NOT_YET_VALID
        if (
            started_at_ms is not None
            and policy.max_session_seconds is not None
            and now * 1000 - started_at_ms > policy.max_session_seconds * 1000
        ):
            return Reason.SESSION_TOO_LONG
        if client is None:
            continue
        if not policy.address_allowed(address):
            return Reason.ADDRESS_NOT_ALLOWED
        if policy.allow_countries or policy.deny_countries:
            if not looked_up:
                country, looked_up = client_country(client, address), True
            if not policy.country_allowed(country):
                return Reason.COUNTRY_NOT_ALLOWED
        if client.browser and not policy.origin_allowed(client.origin):
            return Reason.ORIGIN_NOT_ALLOWED
        if not policy.protocol_allowed(client.protocol):
            return Reason.PROTOCOL_NOT_ALLOWED
    return Reason.ALLOWED


def session_cap(policies: Iterable[Policy | None], connection_limit: int | None = None) -> tuple[int | None, Reason]:
    """The most live sessions one credential may hold at once: the smallest of its subscriber's
    concurrentConnectionsLimit and every policy's maxSessions (None: no cap), and the reason a
    refusal at that cap names (the subscriber's limit when it is the one that binds)."""
    caps = [p.max_sessions for p in policies if p is not None and p.max_sessions is not None]
    cap = min(caps, default=None)
    if connection_limit is not None and (cap is None or connection_limit <= cap):
        return connection_limit, Reason.CONNECTION_LIMIT
    return cap, Reason.TOO_MANY_SESSIONS


def bind_limit(policies: Iterable[Policy | None]) -> int | None:
    """How many client addresses a credential is bound to on first use (None: not bound)."""
    limits = [p.bind_on_first_use for p in policies if p is not None and p.bind_on_first_use is not None]
    return min(limits, default=None)


MAX_SEEN = 100  # addresses kept per credential for sharing detection (past any threshold)


@dataclass(frozen=True)
class UseVerdict:
    """The stateful policies' verdict on one use, and the one write it needs (none when the
    address is known): `bind` the address, `stamp` it as seen now, raise `suspected`."""

    reason: Reason
    bind: bool = False
    stamp: bool = False
    suspected: Evidence | None = None
    suspected_until_ms: int = 0

    @property
    def writes(self) -> bool:
        return self.bind or self.stamp or self.suspected is not None


def use_verdict(
    uses: Uses, address: str | None, country: str | None, bound_to: int | None, sharing: Sharing | None, now: float
) -> UseVerdict:
    """bindOnFirstUse and sharing detection for one use of a credential by `address` (as
    parsed: one spelling per address). A suspicion with an action refuses the credential for
    its hold; the (N+1)-th address within the window raises one (once per hold)."""
    now_ms = int(now * 1000)
    if sharing is not None and sharing.action != "none" and uses.suspected_until_ms > now_ms:
        return UseVerdict(Reason.SHARING_SUSPECTED)
    bind = False
    if bound_to is not None:
        if address is None:
            return UseVerdict(Reason.ADDRESS_NOT_BINDABLE)
        if address not in uses.bound:
            if len(uses.bound) >= bound_to:
                return UseVerdict(Reason.BOUND_ELSEWHERE)
            bind = True
    if sharing is None or address is None:
        return UseVerdict(Reason.ALLOWED, bind)
    window_ms = sharing.window_seconds * 1000
    recent = {a: seen for a, seen in uses.seen.items() if seen[0] > now_ms - window_ms}
    last = recent.get(address)
    # a known address is stamped again only past half the window (or from another country)
    stamp = last is None or last[0] <= now_ms - window_ms // 2 or (country is not None and last[1] != country)
    if not stamp or (last is None and len(recent) >= MAX_SEEN):
        return UseVerdict(Reason.ALLOWED, bind)
    recent[address] = (now_ms, country or (last[1] if last else None))
    raised = suspicion(Uses(uses.bound, recent, uses.suspected_until_ms), sharing, now)
    if raised is None:
        return UseVerdict(Reason.ALLOWED, bind, True)
    return replace(raised, bind=bind, stamp=True)


def suspicion(uses: Uses, sharing: Sharing, now: float) -> UseVerdict | None:
    """The suspicion `uses` mean (more distinct addresses, or countries, within the window than
    the threshold, and none standing), as the verdict that raises it; None when they mean none.
    Judged on what a use read, and again on what its write left (the item after it: racers'
    addresses included), so concurrent first uses cannot slip past the threshold together."""
    now_ms = int(now * 1000)
    if uses.suspected_until_ms > now_ms:
        return None
    recent = {a: seen for a, seen in uses.seen.items() if seen[0] > now_ms - sharing.window_seconds * 1000}
    addresses = tuple(sorted(recent))
    countries = tuple(sorted({c for _, c in recent.values() if c}))
    over = (sharing.addresses is not None and len(addresses) > sharing.addresses) or (
        sharing.countries is not None and len(countries) > sharing.countries
    )
    if not over:
        return None
    evidence = Evidence(addresses, countries, sharing.window_seconds, sharing.action)
    reason = Reason.ALLOWED if sharing.action == "none" else Reason.SHARING_SUSPECTED
    return UseVerdict(reason, suspected=evidence, suspected_until_ms=now_ms + sharing.hold_ms)


POLICY_REASONS = frozenset(
    {
        Reason.ADDRESS_NOT_ALLOWED,
        Reason.COUNTRY_NOT_ALLOWED,
        Reason.ORIGIN_NOT_ALLOWED,
        Reason.PROTOCOL_NOT_ALLOWED,
        Reason.NOT_YET_VALID,
        Reason.SESSION_TOO_LONG,
    }
)


def _standing(credential: CredentialRef, action: Action, facts: Facts, rules: Rules, now: float) -> Reason:
    """The credential's own standing: what changed since it was issued."""
    state = facts.state
    if credential.kind == "subscriber":
        if not facts.subscriber_stored:
            return Reason.ALLOWED  # a derived-secret subscriber: nothing stored to revoke
        subscriber = facts.subscriber
        if subscriber is None:
            return Reason.SUBSCRIBER_DELETED
        if credential.issued_at_ms is not None and subscriber.created_at_ms > credential.issued_at_ms:
            return Reason.SUBSCRIBER_DELETED  # deleted and created anew since: another subscriber
        if not subscriber.may(action):
            return Reason.NOT_PERMITTED
        if subscriber.is_blocked(action, now):
            return Reason.BLOCKED
        return Reason.ALLOWED
    if credential.kind == "viewer":
        if state.revoked(credential.issued_at_ms):
            return Reason.REVOKED
        if not state.open_to_viewers(rules.viewers_default):
            return Reason.STREAM_CLOSED
        closed_until = (
            None if state.viewers_closed_at_ms is None else state.viewers_closed_at_ms + rules.viewer_grace_ms
        )
        if issued_before(credential.issued_at_ms, closed_until):
            return Reason.STREAM_CLOSED
    elif state.revoked(credential.issued_at_ms):
        return Reason.REVOKED
    if credential.account is not None and not facts.account_stands:
        return Reason.ACCOUNT_DELETED
    if credential.kind in ("jwt", "viewer") and expired(credential.expires_at, now):
        return Reason.EXPIRED
    return Reason.ALLOWED


def renew_verdict(credential: CredentialRef, action: Action, facts: Facts, rules: Rules, now: float) -> Reason:
    """The same rule for a session already admitted; a JWT's expiry ends it only where the
    deployment says so (JwtExpiryEndsSessions)."""
    if credential.kind in ("jwt", "viewer") and not rules.jwt_expiry_ends_sessions:
        credential = CredentialRef(
            credential.kind,
            credential.ref,
            credential.issued_at_ms,
            None,
            credential.subscriber_id,
            credential.account,
            credential.policy,
        )
    return verdict(credential, action, facts, rules, now)


def session_verdict(session: Session | None, now: float) -> Reason | None:
    """A session a renew or a playback request names: gone, ended or lapsed → refused; None while
    it stands (its credential is then judged by `verdict`)."""
    if session is None or not session.live(now):
        return Reason.SESSION_NOT_FOUND
    if session.ended_by is not None:
        return Reason.SESSION_ENDED
    return None
