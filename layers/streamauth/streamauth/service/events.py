"""Events in (commands from other systems) and out (every state change, announced).

Inbound: one consumer with a typed dispatch (`_HANDLERS`): six commands share the parsing,
the idempotency marker and the dead-letter path, and are rare enough that one warm function
serves them all better than six cold ones. Effects take their time from the event itself
(the time of the intent): a redelivery that slips past the marker repeats them identically,
and an event older than the last change it would make is acknowledged and ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from streamauth.models.events import (
    SOURCE,
    BadEvent,
    BlockSubscriber,
    Command,
    DeleteSubscriber,
    Envelope,
    RevokeServiceAccount,
    RevokeStreamTokens,
    StreamEnded,
    UnblockSubscriber,
    command,
    envelope,
)
from streamauth.settings import get_settings
from streamauth.store.changes import Change

MAX_ENTRIES_PER_PUT = 10  # EventBridge PutEvents limit
APPLIED, STALE, UNKNOWN, DUPLICATE = "applied", "stale", "unknown", "duplicate"


def _revoke(cmd: Command, when: float) -> str:
    from streamauth.service.streams import stream_service

    assert isinstance(cmd, RevokeStreamTokens | StreamEnded)
    # EventBridge times have whole seconds: revoke through the end of that second, so no
    # token issued before the event was put survives it (deterministic on redelivery too).
    return APPLIED if stream_service().revoke(cmd.stream_id, int(when) * 1000 + 999) else STALE


def _stream_ended(cmd: Command, when: float) -> str:
    from streamauth.service.sessions import session_service

    assert isinstance(cmd, StreamEnded)
    from streamauth import clock
    from streamauth.service.streams import stream_service

    outcome = _revoke(cmd, when)
    now = clock.now()
    # the sessions admitted up to the event's own time, or on what it revoked: a stale event
    # ends nothing newer
    state = stream_service().fresh_state(cmd.stream_id, now)
    session_service().end_stream(cmd.stream_id, int(when) + 0.999, now, state)
    return outcome


def _block(cmd: Command, when: float) -> str:
    from streamauth.service.subscribers import subscriber_service

    assert isinstance(cmd, BlockSubscriber)
    return subscriber_service().block(cmd.stream_id, cmd.subscriber_id, cmd.block, when)


def _unblock(cmd: Command, when: float) -> str:
    from streamauth.service.subscribers import subscriber_service

    assert isinstance(cmd, UnblockSubscriber)
    return subscriber_service().unblock(cmd.stream_id, cmd.subscriber_id, when)


def _delete_subscriber(cmd: Command, when: float) -> str:
    from streamauth.service.subscribers import subscriber_service

    assert isinstance(cmd, DeleteSubscriber)
    return subscriber_service().delete(cmd.stream_id, cmd.subscriber_id, when)


def _revoke_account(cmd: Command, when: float) -> str:
    from streamauth.service.accounts import account_service

    assert isinstance(cmd, RevokeServiceAccount)
    return APPLIED if account_service().delete(cmd.id) else UNKNOWN


_HANDLERS: dict[type, Callable[[Command, float], str]] = {
    RevokeStreamTokens: _revoke,
    StreamEnded: _stream_ended,
    BlockSubscriber: _block,
    UnblockSubscriber: _unblock,
    DeleteSubscriber: _delete_subscriber,
    RevokeServiceAccount: _revoke_account,
}


def handle_command(event: dict[str, Any], now: float) -> str:
    """'applied', 'stale' (older than the state it would change: acknowledged, ignored),
    'unknown' (no such subscriber or account), 'duplicate', or BadEvent (dead-letter it).
    Store failures raise (Lambda retries the event)."""
    from streamauth.store import event_store

    parsed: Envelope = envelope(event, now, get_settings().allowed_event_sources)
    cmd = command(parsed)
    markers = event_store()
    if markers.seen(parsed.id, now):
        return DUPLICATE
    outcome = _HANDLERS[type(cmd)](cmd, parsed.time)
    return outcome if markers.mark(parsed.id, parsed.detail_type, now) else DUPLICATE


def dead_letter(event: Any, reason: str) -> None:
    """Park a malformed event with its reason; it is never retried."""
    from streamauth.aws import sqs_client

    url = get_settings().dead_letter_queue_url
    if not url:
        raise BadEvent(f"no dead-letter queue configured: {reason}")
    body = json.dumps({"reason": reason, "event": event}, default=str)
    sqs_client().send_message(QueueUrl=url, MessageBody=body[:250_000])


def publish(changes: list[Change]) -> None:
    """Put events on the bus, 10 per request; any entry that failed raises (batch retry)."""
    from streamauth.aws import events_client

    bus = get_settings().event_bus_name
    for start in range(0, len(changes), MAX_ENTRIES_PER_PUT):
        entries = [
            {"Source": SOURCE, "DetailType": c.detail_type, "Detail": json.dumps(c.detail), "EventBusName": bus}
            for c in changes[start : start + MAX_ENTRIES_PER_PUT]
        ]
        reply = events_client().put_events(Entries=entries)
        if reply.get("FailedEntryCount"):
            raise RuntimeError(f"{reply['FailedEntryCount']} events were not accepted by EventBridge")


__all__ = ["BadEvent", "dead_letter", "handle_command", "publish"]
