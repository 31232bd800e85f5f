"""Stream tokens: Ant Media's one-time tokens and JWT stream tokens, as its REST API takes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamauth.errors import BadRequest
from streamauth.models.common import (
    MAX_UNIX_SECONDS,
    Action,
    parse_action,
    parse_int,
    parse_json_int,
    parse_stream_id,
    parse_text,
)
from streamauth.models.policies import Policy, parse_policy_query


@dataclass(frozen=True)
class Token:
    token_id: str
    stream_id: str
    expire_date: int
    type: Action
    room_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokenId": self.token_id,
            "streamId": self.stream_id,
            "expireDate": self.expire_date,
            "type": self.type,
            "roomId": self.room_id,
        }


@dataclass(frozen=True)
class TokenRequest:
    """GET /v2/broadcasts/{id}/token and /jwt-token."""

    stream_id: str
    expire_date: int
    type: Action
    room_id: str | None
    issued_by: str | None = None  # the service account asking (None: an operator JWT)
    policy: Policy | None = None  # the token's own access policy: query parameters Ant Media never sends

    @classmethod
    def parse(cls, stream_id: object, query: dict[str, str], now: float, issued_by: str | None = None) -> TokenRequest:
        expire_date = parse_int(query.get("expireDate"), "expireDate", maximum=MAX_UNIX_SECONDS)
        if expire_date <= now:
            raise BadRequest("expireDate", "must be in the future (unix seconds)")
        return cls(
            stream_id=parse_stream_id(stream_id),
            expire_date=expire_date,
            type=parse_action(query.get("type")),
            room_id=parse_text(query.get("roomId"), "roomId"),
            issued_by=issued_by,
            policy=parse_policy_query(query),
        )


@dataclass(frozen=True)
class ValidateRequest:
    """POST /v2/broadcasts/validate-token body."""

    token_id: str
    stream_id: str
    type: Action
    room_id: str | None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> ValidateRequest:
        if "expireDate" in body and body["expireDate"] is not None:
            # Accepted for Ant Media compatibility; the stored expiry is what counts.
            parse_json_int(body["expireDate"], "expireDate")
        token_id = parse_text(body.get("tokenId"), "tokenId", required=True, max_length=4096)
        return cls(
            token_id=str(token_id),
            stream_id=parse_stream_id(body.get("streamId"), "streamId"),
            type=parse_action(body.get("type")),
            room_id=parse_text(body.get("roomId"), "roomId"),
        )


MEDIAMTX_ACTIONS = ("publish", "read", "playback")  # MediaMTX's path-scoped actions (internal/conf/auth_action.go)
MEDIAMTX_DEFAULT_SECONDS = 3600


@dataclass(frozen=True)
class MediaMtxTokenRequest:
    """GET /v2/broadcasts/{id}/mediamtx-token?action=publish|read|playback[&expireDate=unix s]."""

    stream_id: str
    action: str
    expire_date: int

    @classmethod
    def parse(cls, stream_id: object, query: dict[str, str], now: float) -> MediaMtxTokenRequest:
        action = query.get("action")
        if action is None or action == "":
            raise BadRequest("action", "is required")
        if action not in MEDIAMTX_ACTIONS:
            raise BadRequest("action", "must be 'publish', 'read' or 'playback'")
        raw = query.get("expireDate")
        if raw is None or raw == "":
            expire_date = int(now) + MEDIAMTX_DEFAULT_SECONDS
        else:
            expire_date = parse_int(raw, "expireDate", maximum=MAX_UNIX_SECONDS)
            if expire_date <= now:
                raise BadRequest("expireDate", "must be in the future (unix seconds)")
        return cls(parse_stream_id(stream_id), action, expire_date)
