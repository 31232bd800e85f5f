"""Events in and out of streamauth (EventBridge), validated like HTTP input.

Inbound commands (on the `streamauth` bus, from the sources the deployment allows) are parsed
into typed models; a malformed one raises BadEvent with the reason, and goes to the
dead-letter queue. An event's `time` is the time of its intent, by which it is ordered
against other changes: one dated more than MAX_FUTURE_SECONDS ahead is
refused, as a JWT's `iat` is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from streamauth.errors import BadRequest
from streamauth.models.accounts import parse_account_id
from streamauth.models.common import parse_stream_id
from streamauth.models.subscribers import BlockRequest, parse_subscriber_id

SOURCE = "streamauth"  # the source of every event streamauth emits (never accepted as a command)
MAX_FUTURE_SECONDS = 60


class BadEvent(Exception):
    """An inbound event that can never succeed: dead-letter it, do not retry."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Envelope:
    id: str
    source: str
    detail_type: str
    time: float  # the event's own time (its intent): effects derived from it repeat identically
    detail: dict[str, Any]


@dataclass(frozen=True)
class RevokeStreamTokens:
    stream_id: str


@dataclass(frozen=True)
class BlockSubscriber:
    stream_id: str
    subscriber_id: str
    block: BlockRequest


@dataclass(frozen=True)
class UnblockSubscriber:
    stream_id: str
    subscriber_id: str


@dataclass(frozen=True)
class DeleteSubscriber:
    stream_id: str
    subscriber_id: str


@dataclass(frozen=True)
class RevokeServiceAccount:
    id: str


@dataclass(frozen=True)
class StreamEnded:
    stream_id: str


Command = (
    RevokeStreamTokens | BlockSubscriber | UnblockSubscriber | DeleteSubscriber | RevokeServiceAccount | StreamEnded
)


def envelope(event: dict[str, Any], now: float, allowed_sources: frozenset[str]) -> Envelope:
    """The validated envelope of an inbound event: its id, an allowed source, a known time."""
    if not isinstance(event, dict):
        raise BadEvent("the event is not a JSON object")
    event_id, source, detail_type, detail, when = (
        event.get("id"),
        event.get("source"),
        event.get("detail-type"),
        event.get("detail"),
        event.get("time"),
    )
    if not isinstance(event_id, str) or not event_id or len(event_id) > 256:
        raise BadEvent("id: missing or not a string")
    if not isinstance(source, str) or source == SOURCE or source not in allowed_sources:
        raise BadEvent(f"source: {str(source)[:64]!r} may not send commands (AllowedEventSources)")
    if not isinstance(detail_type, str) or not detail_type:
        raise BadEvent("detail-type: missing")
    if not isinstance(detail, dict):
        raise BadEvent("detail: must be a JSON object")
    try:
        moment = datetime.fromisoformat(str(when).replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadEvent("time: must be an ISO 8601 timestamp") from exc
    timestamp = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    if timestamp > now + MAX_FUTURE_SECONDS:
        raise BadEvent(f"time: more than {MAX_FUTURE_SECONDS} s in the future")
    return Envelope(event_id, source, detail_type, timestamp, detail)


def _stream_and_subscriber(detail: dict[str, Any]) -> tuple[str, str]:
    return parse_stream_id(detail.get("streamId"), "streamId"), parse_subscriber_id(detail.get("subscriberId"))


def command(envelope: Envelope) -> Command:
    """The typed command of an inbound event, or BadEvent naming the field and reason."""
    detail = envelope.detail
    try:
        match envelope.detail_type:
            case "RevokeStreamTokens":
                return RevokeStreamTokens(parse_stream_id(detail.get("streamId"), "streamId"))
            case "StreamEnded":
                return StreamEnded(parse_stream_id(detail.get("streamId"), "streamId"))
            case "BlockSubscriber":
                stream_id, subscriber_id = _stream_and_subscriber(detail)
                return BlockSubscriber(stream_id, subscriber_id, BlockRequest.from_json(detail))
            case "UnblockSubscriber":
                return UnblockSubscriber(*_stream_and_subscriber(detail))
            case "DeleteSubscriber":
                return DeleteSubscriber(*_stream_and_subscriber(detail))
            case "RevokeServiceAccount":
                return RevokeServiceAccount(parse_account_id(detail.get("id")))
    except BadRequest as exc:
        raise BadEvent(f"detail.{exc.message}") from exc
    raise BadEvent(f"detail-type: unknown command {envelope.detail_type[:64]!r}")
