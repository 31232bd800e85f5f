"""Public viewer JWTs (Reactive's POST /api/v1/tokens)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamauth.errors import BadRequest
from streamauth.models.common import parse_stream_id, parse_text
from streamauth.models.policies import Policy, parse_policy


@dataclass(frozen=True)
class ViewerTokenRequest:
    stream_id: str
    unique_user_identifier: str
    # the viewer JWT's own access policy (README "Access policies"): set by the app's backend
    # that mints for its user; it only narrows the stream's, so a caller can restrict only itself
    policy: Policy | None = None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> ViewerTokenRequest:
        for name in ("stream_id", "unique_user_identifier"):
            if body.get(name) in (None, ""):
                raise BadRequest(name, "is required")
        user = parse_text(body.get("unique_user_identifier"), "unique_user_identifier", required=True, max_length=256)
        policy = parse_policy(body["policy"]) if body.get("policy") is not None else None
        return cls(
            stream_id=parse_stream_id(body.get("stream_id"), "stream_id"),
            unique_user_identifier=str(user),
            policy=policy,
        )


@dataclass(frozen=True)
class PublicAccessRequest:
    enabled: bool

    @classmethod
    def parse(cls, body: dict[str, Any]) -> PublicAccessRequest:
        enabled = body.get("enabled")
        if not isinstance(enabled, bool):
            raise BadRequest("enabled", "must be true or false")
        return cls(enabled=enabled)


@dataclass(frozen=True)
class PublicViewers:
    """Whether a stream is open to public viewers now (GET /api/v1/streams/{id}/public-viewers).
    `default`: no open/close was ever set for it, so `enabled` is the deployment's
    PublicViewersDefault."""

    stream_id: str
    enabled: bool
    default: bool

    def to_dict(self) -> dict[str, Any]:
        return {"streamId": self.stream_id, "enabled": self.enabled, "default": self.default}
