"""A stream's state: when its tokens were last revoked, and whether public viewers may join."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from streamauth.models.policies import Policy

Viewers = Literal["open", "closed"]


def issued_before(issued_at_ms: int | None, cutoff_ms: int | None) -> bool:
    """A credential issued at or before `cutoff_ms` is dead. One without an issue time (a JWT
    a client made without `iat`) cannot prove it is newer, so any cutoff kills it."""
    if cutoff_ms is None:
        return False
    if issued_at_ms is None:
        return True
    return issued_at_ms <= cutoff_ms


@dataclass(frozen=True)
class StreamState:
    revoked_at_ms: int | None = None  # every credential issued at or before it is dead; only grows
    viewers: Viewers | None = None  # None: the deployment's default (PublicViewersDefault)
    viewers_closed_at_ms: int | None = None  # viewer JWTs issued at or before the last close are dead
    policy: Policy | None = None  # the stream's access policy (PUT /v2/broadcasts/{id}/policy)

    def open_to_viewers(self, default: Viewers) -> bool:
        return (self.viewers or default) == "open"

    def revoked(self, issued_at_ms: int | None) -> bool:
        return issued_before(issued_at_ms, self.revoked_at_ms)
