"""The access policies' stateful checks on one use of a credential: `bindOnFirstUse` and sharing
detection (the rule: logic/admission.py `use_verdict`). One consistent read of the credential's
uses item when a policy asks for either; one conditional write only when the address is new to
it (or unseen for half the sharing window); none when a known address returns.

A one-time token is used once, by one client: it has no uses to keep. A subscriber that is not
stored names itself (its id is the client's choice): neither is judged here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from streamauth.logic.admission import Reason, UseVerdict, bind_limit, suspicion, use_verdict
from streamauth.logic.geo import client_country
from streamauth.logic.signing import LEEWAY
from streamauth.models.policies import Client, Policy, Sharing, parse_address
from streamauth.models.sessions import CredentialRef
from streamauth.models.subscribers import Subscriber
from streamauth.store import UseStore, use_store

ATTEMPTS = 3  # a write that lost a race (the bound set filled, a suspicion raised): read again


@dataclass(frozen=True)
class UseCheck:
    verdict: UseVerdict
    credential: str = ""  # the uses item's name for the credential (its sessions' owner too)


def uses_name(credential: CredentialRef, subscriber: Subscriber | None) -> str | None:
    """The credential's name on its uses item: a JWT's or viewer JWT's reference, a stored
    subscriber's id with its creation (a subscriber created anew is another one); None for a
    credential with no uses to keep."""
    if credential.kind in ("jwt", "viewer"):
        return f"{credential.kind}:{credential.ref}"
    if credential.kind == "subscriber" and subscriber is not None:
        return f"subscriber:{subscriber.subscriber_id}@{subscriber.created_at_ms}"
    return None


class UseService:
    def __init__(self, store: UseStore) -> None:
        self._store = store

    def check(
        self,
        credential: CredentialRef,
        stream_id: str,
        client: Client | None,
        policies: Sequence[Policy | None],
        now: float,
        subscriber: Subscriber | None = None,
    ) -> UseCheck:
        """The stateful policies' verdict on this use, its write made (ALLOWED with no request
        when no policy binds or detects sharing). The stream's policy alone holds `sharing`."""
        bound_to = bind_limit(policies)
        sharing: Sharing | None = policies[0].sharing if policies and policies[0] is not None else None
        name = uses_name(credential, subscriber)
        if name is None or (bound_to is None and sharing is None):
            return UseCheck(UseVerdict(Reason.ALLOWED))
        parsed = parse_address(client.address) if client is not None else None
        address = None if parsed is None else str(parsed)  # one spelling per address
        # the country each address is seen from (sharing.countries, the event's evidence): its
        # header's, else the offline database's (logic/geo.py), looked up only under sharing
        country = client_country(client, parsed) if client is not None and sharing is not None else None
        use_id = uuid.uuid4().hex
        for _ in range(ATTEMPTS):
            uses = self._store.get(stream_id, name)
            verdict = use_verdict(uses, address, country, bound_to, sharing, now)
            if not verdict.writes or address is None:
                return UseCheck(verdict, name)
            window_ms = (sharing.window_seconds if sharing is not None else 0) * 1000
            stale = [a for a, (ms, _) in uses.seen.items() if ms <= int(now * 1000) - window_ms]
            expires = _expires(credential, bound_to, sharing, now)
            after = self._store.record(
                stream_id, name, verdict, address, country, bound_to, stale, expires, now, use_id
            )
            if after is None:
                continue
            if sharing is None or verdict.suspected is not None:
                return UseCheck(verdict, name)
            if sharing.action != "none" and after.suspected_until_ms > int(now * 1000):  # a racer raised it
                return UseCheck(UseVerdict(Reason.SHARING_SUSPECTED, verdict.bind, True), name)
            raised = suspicion(after, sharing, now)
            if raised is None:
                return UseCheck(verdict, name)
            # racers' addresses landed with this one: past the threshold after all
            if self._store.suspect(stream_id, name, raised, now, use_id):
                return UseCheck(replace(raised, bind=verdict.bind, stamp=True), name)
            refused = Reason.ALLOWED if sharing.action == "none" else Reason.SHARING_SUSPECTED
            return UseCheck(UseVerdict(refused, verdict.bind, True), name)
        return UseCheck(UseVerdict(Reason.BOUND_ELSEWHERE if bound_to is not None else Reason.SHARING_SUSPECTED), name)


def _expires(credential: CredentialRef, bound_to: int | None, sharing: Sharing | None, now: float) -> int | None:
    """The uses item's TTL: the credential's expiry; a subscriber's (no expiry) lives while it is
    bound, else for its sharing window or hold."""
    if credential.expires_at is not None:
        return credential.expires_at + LEEWAY
    if bound_to is not None or sharing is None:
        return None
    return int(now) + max(sharing.window_seconds, sharing.hold_ms // 1000) + 60


def use_service() -> UseService:
    return UseService(use_store())
