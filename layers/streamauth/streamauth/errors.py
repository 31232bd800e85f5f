"""Domain errors and the ONE table that maps them to HTTP statuses.

Handlers and the layer raise these; `streamauth.http` turns them into Result replies.
Messages are written for the API caller: they name the field and the reason, never a
secret, token or code.
"""

from __future__ import annotations


class StreamAuthError(Exception):
    """Base of every error the API answers with a 4xx/5xx Result."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadRequest(StreamAuthError):
    """A parameter, header or body is missing or malformed."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field)


class Unauthorized(StreamAuthError):
    """No credentials, or credentials that do not verify. `reason` says which, for the caller:
    `missing`, `malformed`, `expired` or `not_accepted` (never which key, never more)."""

    REASONS = ("missing", "malformed", "expired", "not_accepted")

    def __init__(self, message: str, reason: str = "not_accepted") -> None:
        super().__init__(message)
        self.reason = reason if reason in self.REASONS else "not_accepted"


class Forbidden(StreamAuthError):
    """Valid credentials without the right to this operation."""


class NotFound(StreamAuthError):
    """The addressed item does not exist."""


class Conflict(StreamAuthError):
    """The item exists in a state that forbids the operation."""


class UnsupportedMediaType(StreamAuthError):
    """A JSON route was sent a body that is not `application/json`."""


class RateLimited(StreamAuthError):
    """Too many requests for this caller or stream."""


class StoreUnavailable(StreamAuthError):
    """DynamoDB (or Secrets Manager) throttled or could not be reached after retries."""

    def __init__(self, message: str = "the store is unavailable, retry later") -> None:
        super().__init__(message)


class ConfigurationError(StreamAuthError):
    """A setting the operation needs is missing; reported, never crashes."""


HTTP_STATUS: dict[type[StreamAuthError], int] = {
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    UnsupportedMediaType: 415,
    RateLimited: 429,
    ConfigurationError: 500,
    StoreUnavailable: 503,
}


def http_status(error: StreamAuthError) -> int:
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]  # type: ignore[index]
    return 500
