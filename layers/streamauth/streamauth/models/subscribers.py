"""Ant Media's Subscriber model (seed 001), with `b32Secret` write-only."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from streamauth.errors import BadRequest
from streamauth.models.common import Action, parse_action, parse_int, parse_json_int, parse_text

BlockType = Literal["play", "publish", "publish_play"]
BLOCK_TYPES: tuple[BlockType, ...] = ("play", "publish", "publish_play")
SUBSCRIBER_ID = re.compile(r"[A-Za-z0-9_.@:+\-]{3,128}")
BASE32 = re.compile(r"[A-Z2-7]+=*")
MAX_PERIOD = 86_400
MAX_BLOCK_SECONDS = 10 * 365 * 86_400
MAX_CONNECTIONS = 10_000
MAX_BITRATE = 10**12


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
        }


def parse_subscriber_id(value: object, field: str = "subscriberId") -> str:
    if value is None or value == "":
        raise BadRequest(field, "is required")
    if not isinstance(value, str):
        raise BadRequest(field, "must be a string")
    if not SUBSCRIBER_ID.fullmatch(value):
        raise BadRequest(field, "must be 3-128 characters of letters, digits and _ . @ : + -")
    return value


def parse_subscriber_path(stream_id: str, subscriber_id: str) -> tuple[str, str]:
    """(streamId, subscriberId) from `/v2/broadcasts/{id}/subscribers/{sid}/...`."""
    from streamauth.models.common import parse_stream_id

    return parse_stream_id(stream_id), parse_subscriber_id(subscriber_id, "sid")


def parse_b32_secret(value: object) -> str | None:
    """Base32 (A-Z, 2-7, '=' padding), length a multiple of 8, at least 16 characters."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest("b32Secret", "must be a string")
    if not BASE32.fullmatch(value):
        raise BadRequest("b32Secret", "must be base32: letters A-Z and digits 2-7")
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


@dataclass(frozen=True)
class CreateSubscriberRequest:
    subscriber: Subscriber
    b32_secret: str | None  # None: generate one

    @classmethod
    def parse(cls, stream_id: str, body: dict[str, Any]) -> CreateSubscriberRequest:
        body_stream = body.get("streamId")
        if body_stream not in (None, "", stream_id):
            raise BadRequest("streamId", "must match the stream in the path (or be left out)")
        subscriber = Subscriber(
            subscriber_id=parse_subscriber_id(body.get("subscriberId")),
            stream_id=stream_id,
            type=parse_action("play" if body.get("type") in (None, "") else body.get("type")),
            subscriber_name=parse_text(body.get("subscriberName"), "subscriberName"),
            concurrent_connections_limit=_optional_int(body, "concurrentConnectionsLimit", 1, 1, MAX_CONNECTIONS) or 1,
            current_concurrent_connections=0,  # whatever the body says
            registered_node_ip=parse_text(body.get("registeredNodeIp"), "registeredNodeIp", max_length=64),
            avg_video_bitrate=_optional_int(body, "avgVideoBitrate", 0, 0, MAX_BITRATE) or 0,
            avg_audio_bitrate=_optional_int(body, "avgAudioBitrate", 0, 0, MAX_BITRATE) or 0,
            totp_expiry_period_seconds=_optional_int(body, "totpExpiryPeriodSeconds", None, 10, MAX_PERIOD),
        )
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
        return cls(blocked_type, parse_json_int(body.get("seconds"), "seconds", minimum=1, maximum=MAX_BLOCK_SECONDS))

    @classmethod
    def from_path(cls, seconds: object, blocked_type: object) -> BlockRequest:
        """Ant Media's path form `.../block/{seconds}/{type}`."""
        blocked_type = cls._type(blocked_type)
        return cls(blocked_type, parse_int(seconds, "seconds", minimum=1, maximum=MAX_BLOCK_SECONDS))


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
