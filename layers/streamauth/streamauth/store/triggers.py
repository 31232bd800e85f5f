"""DynamoDB Stream records -> what may have ended sessions on servers without a renew hook.
Pure.

Only the change is read here; which sessions it ends is decided by the session rules
(service/sessions.py `recheck`) against the store as it is when the enforcer runs. The
template's FilterCriteria pass the enforcer only these item kinds; the old and new images are
compared here, which a filter cannot do, and TTL removals are told from deletions here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from streamauth.store.changes import DYNAMODB_SERVICE

TriggerKind = Literal["stream", "subscriber", "session", "removed"]
REVOKED, VIEWERS_CLOSED, BLOCKED, DELETED, ENDED = "revoked", "viewers_closed", "blocked", "deleted", "ended"
REMOVED = "removed"
PUSH_SERVERS = ("srs", "mediamtx", "antmedia")  # models/media_servers.py PUSH_KINDS


@dataclass(frozen=True)
class Trigger:
    kind: TriggerKind
    why: str
    stream_id: str
    subscriber_id: str | None = None  # kind "subscriber"
    session_id: str | None = None  # kinds "session" and "removed"
    item: dict[str, Any] | None = None  # kind "removed": the session as it was (the record is gone)


def _value(image: dict[str, Any], name: str) -> str | None:
    """An attribute's S or N value, as its string."""
    value = image.get(name)
    if isinstance(value, dict):
        for kind in ("S", "N"):
            if isinstance(value.get(kind), str):
                return str(value[kind])
    return None


def _changed(new: dict[str, Any], old: dict[str, Any], *names: str) -> bool:
    return tuple(_value(new, n) for n in names) != tuple(_value(old, n) for n in names)


def trigger(record: dict[str, Any]) -> Trigger | None:
    """What one stream record means for live sessions; None for everything else."""
    name = record.get("eventName")
    data = record.get("dynamodb") or {}
    new: dict[str, Any] = data.get("NewImage") or {}
    old: dict[str, Any] = data.get("OldImage") or {}
    item = new or old
    kind = _value(item, "kind")
    if kind == "stream" and name in ("INSERT", "MODIFY"):
        stream_id = (_value(new, "pk") or "").removeprefix("STREAM#")
        if not stream_id or _value(new, "sk") != "META":
            return None
        if _value(new, "revokedAtMs") is not None and _changed(new, old, "revokedAtMs"):
            return Trigger("stream", REVOKED, stream_id)
        if _value(new, "viewersClosedAtMs") is not None and _changed(new, old, "viewersClosedAtMs"):
            return Trigger("stream", VIEWERS_CLOSED, stream_id)
        return None
    if kind == "subscriber":
        owner, subscriber_id = _value(item, "streamId"), _value(item, "subscriberId")
        if not owner or not subscriber_id:
            return None
        if name == "REMOVE":
            return Trigger("subscriber", DELETED, owner, subscriber_id=subscriber_id)
        if _value(new, "blockedType") and _changed(new, old, "blockedType", "blockedUntilMs"):
            return Trigger("subscriber", BLOCKED, owner, subscriber_id=subscriber_id)
        return None
    if kind == "session" and name == "MODIFY" and _value(new, "endedBy") and not _value(old, "endedBy"):
        of_stream, session_id = _value(new, "streamId"), _value(new, "sk")
        if of_stream and session_id:
            return Trigger("session", ENDED, of_stream, session_id=session_id)
    if kind == "session" and name == "REMOVE" and _value(old, "server") in PUSH_SERVERS and not _by_ttl(record):
        # deleted by a stop hook, or by StreamEnded right after its revocation (before the
        # revocation's record reached the enforcer): the old image is all that is left of it
        of_stream, session_id = _value(old, "streamId"), _value(old, "sk")
        if of_stream and session_id:
            return Trigger("removed", REMOVED, of_stream, session_id=session_id, item=old)
    return None


def _by_ttl(record: dict[str, Any]) -> bool:
    """Removed by DynamoDB's TTL: a lease that ran out long ago, nothing changed."""
    identity = record.get("userIdentity") or {}
    return identity.get("type") == "Service" and identity.get("principalId") == DYNAMODB_SERVICE
