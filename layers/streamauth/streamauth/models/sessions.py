"""Sessions: every admitted publish or play, as the media server sees it.

A session is identified by the server's own identity for it (nginx-rtmp's app, client address
and client id; SRS's server and client ids; MediaMTX's id) together with the stream, the
action and the credential it was admitted with (README, "Sessions and live revocation"). The
credential itself is never stored: a reference (a hash, a subscriber id) and what its
re-check needs (its kind, when it was issued, when it expires).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from streamauth.errors import BadRequest
from streamauth.models.common import Action
from streamauth.models.policies import Policy

CredentialKind = Literal["token", "jwt", "viewer", "subscriber"]
SESSION_ID_MAX = 200


@dataclass(frozen=True)
class CredentialRef:
    kind: CredentialKind
    ref: str  # a hash of the token, or the subscriber id: never the credential
    issued_at_ms: int | None = None  # for revocation checks; None: a JWT without iat
    expires_at: int | None = None  # a JWT's exp (unix s)
    subscriber_id: str | None = None
    account: str | None = None  # the service account that issued the token: its deletion ends it
    policy: Policy | None = None  # the credential's own access policy (narrows its stream's)


@dataclass(frozen=True)
class Session:
    session_id: str  # the API's id for it (also its sort key)
    session_key: str  # the identity hash (server identity + stream + action + credential)
    stream_id: str
    action: Action
    server: str
    server_session: str | None
    client_ip: str | None
    credential: CredentialRef
    started_at_ms: int
    last_seen_at_ms: int
    expires_at: int  # the lease: unix seconds, renewed by the server's update hook
    protocol: str | None = None  # MediaMTX's protocol (which of its APIs ends the session)
    kick_id: str | None = None  # the id the server's own API ends the session by
    server_id: str | None = None  # the registered media server that admitted it
    ended_by: str | None = None  # "operator": ended over the API; its server is told to drop it
    kick_status: str | None = None  # the enforcer's last kick (logic/kicks.py): kicked, gone, failed:...
    country: str | None = None  # the client's country when the enforcement point knew it (its policies' renews)
    origin: str | None = None  # the browser's origin at admission (HTTP players)

    def live(self, now: float) -> bool:
        return self.expires_at > now

    def to_dict(self) -> dict[str, Any]:
        return {
            "sessionId": self.session_id,
            "streamId": self.stream_id,
            "action": self.action,
            "server": self.server,
            "serverSessionId": self.server_session,
            "clientIp": self.client_ip,
            "credential": {"kind": self.credential.kind, "ref": self.credential.ref},
            "subscriberId": self.credential.subscriber_id,
            "startedAtMs": self.started_at_ms,
            "lastSeenAtMs": self.last_seen_at_ms,
            "expiresAt": self.expires_at,
            "serverId": self.server_id,
            "protocol": self.protocol,
        }


def parse_session_id(value: object, field: str = "sessionId") -> str:
    """A session id as the API hands them out: a 32-hex identity, `<subscriberId>~<slot>`, or a
    counted JWT's `!<ref>~<slot or identity>` (logic/sessions.py credential_owner)."""
    import re

    if value is None or value == "":
        raise BadRequest(field, "is required")
    if not isinstance(value, str) or len(value) > SESSION_ID_MAX:
        raise BadRequest(field, f"must be a string of at most {SESSION_ID_MAX} characters")
    if not re.fullmatch(
        r"(?:[A-Za-z0-9_.@:+\-]{3,128}~)?[0-9a-f]{32}|[A-Za-z0-9_.@:+\-]{3,128}~[0-9]{1,5}"
        r"|![0-9a-f]{16}~(?:[0-9]{1,5}|[0-9a-f]{32})",
        value,
    ):
        raise BadRequest(field, "is not a session id")
    return value
