"""Ant Media's Subscriber model (seed 001), with `b32Secret` write-only."""

from __future__ import annotations

import base64
import re
import string
from dataclasses import dataclass, replace
from typing import Any, Literal

from streamauth.errors import BadRequest
from streamauth.models.common import Action, parse_action, parse_int, parse_json_int, parse_text
from streamauth.models.policies import Policy, parse_policy

BlockType = Literal["play", "publish", "publish_play"]
BLOCK_TYPES: tuple[BlockType, ...] = ("play", "publish", "publish_play")
SUBSCRIBER_ID = re.compile(r"[A-Za-z0-9_.@:+\-]{3,128}")  # what the media-server hooks take
KEY_SAFE = frozenset(string.ascii_letters + string.digits + "_.@:+-")
MAX_SUBSCRIBER_ID = 128
MIN_CREATED_ID = 4  # Ant Media's addSubscriber: more than 3 characters
BASE32 = re.compile(r"[A-Za-z2-7]+=*")  # Ant Media decodes either case
MIN_PERIOD = 10
MAX_PERIOD = 2**31 - 1  # Ant Media's bound (Integer.MAX_VALUE)
MAX_BLOCK_SECONDS = 10 * 365 * 86_400
MAX_CONNECTIONS = 10_000
MAX_BITRATE = 10**12
MAX_UNTIL_MS = 253402300799999  # 9999-12-31T23:59:59.999Z


@dataclass(frozen=True)
class Subscriber:
    subscriber_id: str
    stream_id: str
    type: Action
    subscriber_name: str | None = None
    concurrent_connections_limit: int = 1
    current_concurrent_connections: int = 0
    blocked_type: BlockType | None = None
    blocked_until_ms: int = 0
    registered_node_ip: str | None = None
    avg_video_bitrate: int = 0
    avg_audio_bitrate: int = 0
    totp_expiry_period_seconds: int | None = None
    created_at_ms: int = 0  # when this subscriber was (re)created: sessions admitted before belong to another
    policy: Policy | None = None  # its own access policy (narrows its stream's)

    def is_blocked(self, action: Action, now: float) -> bool:
        """Blocked for `action` when blockedType is it or publish_play and the block has not ended."""
        if self.blocked_type not in (action, "publish_play"):
            return False
        return self.blocked_until_ms != 0 and self.blocked_until_ms > now * 1000

    def may(self, action: Action) -> bool:
        """A publish subscriber may also play (video conferencing)."""
        return action == "play" or self.type == "publish"

    def with_connections(self, count: int) -> Subscriber:
        return replace(self, current_concurrent_connections=count)

    def to_dict(self, now: float) -> dict[str, Any]:
        blocked = self.blocked_type is not None and self.blocked_until_ms > now * 1000
        return {
            "subscriberId": self.subscriber_id,
            "subscriberName": self.subscriber_name,
            "streamId": self.stream_id,
            "type": self.type,
            "connected": self.current_concurrent_connections > 0,
            "currentConcurrentConnections": self.current_concurrent_connections,
            "concurrentConnectionsLimit": self.concurrent_connections_limit,
            # An ended block reads as none, whatever is still stored.
            "blockedType": self.blocked_type if blocked else None,
            "blockedUntilUnitTimeStampMs": self.blocked_until_ms if blocked else 0,
            "registeredNodeIp": self.registered_node_ip,
            "avgVideoBitrate": self.avg_video_bitrate,
            "avgAudioBitrate": self.avg_audio_bitrate,
            "totpExpiryPeriodSeconds": self.totp_expiry_period_seconds,
            "policy": self.policy.to_dict() if self.policy is not None else None,
        }


def parse_subscriber_id(value: object, field: str = "subscriberId") -> str:
    """A subscriber id as the media-server hooks and events take it (it reaches their keys as is)."""
    if value is None or value == "":
        raise BadRequest(field, "is required")
    if not isinstance(value, str):
        raise BadRequest(field, "must be a string")
    if not SUBSCRIBER_ID.fullmatch(value):
        raise BadRequest(field, "must be 3-128 characters of letters, digits and _ . @ : + -")
    return value


def parse_rest_subscriber_id(value: object, field: str = "subscriberId", *, minimum: int = 1) -> str:
    """A subscriber id on the REST routes, as wide as Ant Media takes it: any text that is not
    blank (`minimum` characters or more: a created one MIN_CREATED_ID), at most MAX_SUBSCRIBER_ID
    characters, no control characters. It reaches keys only through `key_id`."""
    if value is None or (isinstance(value, str) and not value.strip(" ")):
        raise BadRequest(field, "is required")
    if not isinstance(value, str):
        raise BadRequest(field, "must be a string")
    if value in (".", ".."):
        raise BadRequest(field, "must not be '.' or '..'")
    if len(value) < minimum:
        raise BadRequest(field, f"must be at least {minimum} characters")
    if len(value) > MAX_SUBSCRIBER_ID:
        raise BadRequest(field, f"must be at most {MAX_SUBSCRIBER_ID} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise BadRequest(field, "must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from a JSON escape
        raise BadRequest(field, "is not valid Unicode") from exc
    return value


def key_id(subscriber_id: str) -> str:
    """The id as keys and stored attributes hold it: every character outside letters, digits and
    `_ . @ : + -` percent-encoded (UTF-8), `%` included, so distinct ids never share a key and an
    id the hooks take is its own key form."""
    return "".join(
        ch if ch in KEY_SAFE else "".join(f"%{byte:02X}" for byte in ch.encode("utf-8")) for ch in subscriber_id
    )


def id_of_key(stored: str) -> str:
    """The subscriber id back from its key form."""
    from urllib.parse import unquote

    return unquote(stored, errors="strict") if "%" in stored else stored


def parse_subscriber_path(stream_id: str, subscriber_id: str) -> tuple[str, str]:
    """(streamId, subscriberId) from `/v2/broadcasts/{id}/subscribers/{sid}/...`."""
    from streamauth.models.common import parse_stream_id

    return parse_stream_id(stream_id), parse_rest_subscriber_id(subscriber_id, "sid")


def parse_b32_secret(value: object) -> str | None:
    """Base32 (A-Z in either case, 2-7, '=' padding; returned upper-case), length a multiple of 8,
    at least 16 characters (80 bits: see the README's "Migrating from Ant Media")."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest("b32Secret", "must be a string")
    if not BASE32.fullmatch(value):
        raise BadRequest("b32Secret", "must be base32: letters A-Z (either case) and digits 2-7")
    value = value.upper()
    if len(value) % 8 != 0:
        raise BadRequest("b32Secret", "length must be a multiple of 8")
    if len(value.rstrip("=")) < 16:
        raise BadRequest("b32Secret", "must be at least 16 characters")
    if len(value) > 256:
        raise BadRequest("b32Secret", "must be at most 256 characters")
    try:
        key = base64.b32decode(value)
    except ValueError as exc:  # binascii.Error: e.g. padding that cannot end a base32 string
        raise BadRequest("b32Secret", "is not decodable base32 (check the '=' padding)") from exc
    if len(key) < 10:
        raise BadRequest("b32Secret", "must decode to at least 80 bits")
    return value


def _optional_int(body: dict[str, Any], name: str, default: int | None, minimum: int, maximum: int) -> int | None:
    value = body.get(name)
    if value is None:
        return default
    return parse_json_int(value, name, minimum=minimum, maximum=maximum)


def _period(value: object) -> int | None:
    """A subscriber's own TOTP period, Ant Media's bounds and words (BroadcastRestService.addSubscriber)."""
    if value is None:
        return None
    period = parse_json_int(value, "totpExpiryPeriodSeconds")
    if not MIN_PERIOD <= period <= MAX_PERIOD:
        raise BadRequest("totpExpiryPeriodSeconds", f"must be between {MIN_PERIOD} and {MAX_PERIOD}")
    return period


@dataclass(frozen=True)
class CreateSubscriberRequest:
    subscriber: Subscriber
    b32_secret: str | None  # None: its codes come from the app's TOTP secret, as Ant Media's

    @classmethod
    def parse(cls, stream_id: str, body: dict[str, Any]) -> CreateSubscriberRequest:
        """Ant Media's addSubscriber: the subscriber belongs to the stream in the path (a body's
        `streamId`, e.g. of a subscriber listed from another stream, is not read), and a body
        re-posted from a listing keeps its block (`blockedType`, `blockedUntilUnitTimeStampMs`)."""
        blocked = body.get("blockedType")
        if blocked not in (None, "") and blocked not in BLOCK_TYPES:
            raise BadRequest("blockedType", "must be 'play', 'publish' or 'publish_play'")
        subscriber = Subscriber(
            subscriber_id=parse_rest_subscriber_id(body.get("subscriberId"), minimum=MIN_CREATED_ID),
            stream_id=stream_id,
            type=parse_action("play" if body.get("type") in (None, "") else body.get("type")),
            subscriber_name=parse_text(body.get("subscriberName"), "subscriberName"),
            concurrent_connections_limit=_optional_int(body, "concurrentConnectionsLimit", 1, 1, MAX_CONNECTIONS) or 1,
            current_concurrent_connections=0,  # whatever the body says
            registered_node_ip=parse_text(body.get("registeredNodeIp"), "registeredNodeIp", max_length=64),
            avg_video_bitrate=_optional_int(body, "avgVideoBitrate", 0, 0, MAX_BITRATE) or 0,
            avg_audio_bitrate=_optional_int(body, "avgAudioBitrate", 0, 0, MAX_BITRATE) or 0,
            totp_expiry_period_seconds=_period(body.get("totpExpiryPeriodSeconds")),
            blocked_type=blocked or None,
            blocked_until_ms=_optional_int(body, "blockedUntilUnitTimeStampMs", 0, 0, MAX_UNTIL_MS) or 0,
            policy=None if body.get("policy") is None else parse_policy(body.get("policy")) or None,
        )
        if subscriber.policy is not None and subscriber.policy.empty:
            subscriber = replace(subscriber, policy=None)
        if subscriber.blocked_type is None:
            subscriber = replace(subscriber, blocked_until_ms=0)
        return cls(subscriber, parse_b32_secret(body.get("b32Secret")))


@dataclass(frozen=True)
class BlockRequest:
    blocked_type: BlockType
    seconds: int

    @staticmethod
    def _type(blocked_type: object) -> BlockType:
        if blocked_type in (None, ""):
            raise BadRequest("blockedType", "is required")
        if blocked_type not in BLOCK_TYPES:
            raise BadRequest("blockedType", "must be 'play', 'publish' or 'publish_play'")
        return blocked_type  # type: ignore[return-value]  # checked against BLOCK_TYPES

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> BlockRequest:
        """`{"blockedType", "seconds"}` (a body or an event's detail): seconds a JSON number."""
        blocked_type = cls._type(body.get("blockedType"))
        return cls(blocked_type, parse_json_int(body.get("seconds"), "seconds", minimum=0, maximum=MAX_BLOCK_SECONDS))

    @classmethod
    def from_path(cls, seconds: object, blocked_type: object) -> BlockRequest:
        """Ant Media's path form `.../block/{seconds}/{type}`. In both forms 0 seconds lifts a block
        (it ends now), Ant Media's way."""
        blocked_type = cls._type(blocked_type)
        return cls(blocked_type, parse_int(seconds, "seconds", minimum=0, maximum=MAX_BLOCK_SECONDS))


CODE = re.compile(r"[0-9]{6}")


def parse_code(value: object, field: str = "code") -> str:
    if value is None or value == "":
        raise BadRequest(field, "is required")
    if not isinstance(value, str) or not CODE.fullmatch(value):
        raise BadRequest(field, "must be a string of exactly 6 digits")
    return value


@dataclass(frozen=True)
class VerifyRequest:
    code: str
    type: Action

    @classmethod
    def parse(cls, body: dict[str, Any]) -> VerifyRequest:
        return cls(parse_code(body.get("code")), parse_action(body.get("type")))
