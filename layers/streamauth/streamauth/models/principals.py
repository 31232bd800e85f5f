"""Who is calling: the principal an authorizer hands to functions, and the scopes that
endpoints require. A model, so `auth` (authentication), `models/accounts` and the services
all import it without importing each other."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from streamauth.errors import Forbidden, Unauthorized

OPERATOR = "operator"
SERVICE_ACCOUNT = "serviceAccount"
VIEWER = "viewer"
ALL_SCOPES = "*"
# Scopes an endpoint may require; an operator JWT holds them all.
SCOPE_TOKENS_WRITE = "tokens:write"
SCOPE_SUBSCRIBERS_WRITE = "subscribers:write"
SCOPE_READ = "read"
SCOPE_ACCOUNTS_WRITE = "service-accounts:write"
SCOPES = (SCOPE_TOKENS_WRITE, SCOPE_SUBSCRIBERS_WRITE, SCOPE_READ, SCOPE_ACCOUNTS_WRITE)


def _int_or_none(value: object) -> int | None:
    """API Gateway may hand authorizer-context numbers over as strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


@dataclass(frozen=True)
class Principal:
    kind: str  # OPERATOR | SERVICE_ACCOUNT | VIEWER
    id: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    attributes: dict[str, str | int] = field(default_factory=dict)

    def has_scope(self, scope: str) -> bool:
        return ALL_SCOPES in self.scopes or scope in self.scopes

    def may_grant(self, scopes: Collection[str]) -> bool:
        """Whether this caller may create or rotate an account holding `scopes`: only scopes it
        holds itself (no account grants itself, or takes over, more than it has)."""
        return all(self.has_scope(scope) for scope in scopes)

    @property
    def service_account(self) -> str | None:
        """The service account's id when the caller is one (the issuer its tokens record)."""
        return self.id if self.kind == SERVICE_ACCOUNT else None

    @property
    def stream_id(self) -> str | None:
        """A viewer's stream."""
        value = self.attributes.get("stream_id")
        return value if isinstance(value, str) else None

    @property
    def issued_at(self) -> int | None:
        """A viewer JWT's `iat` (unix seconds)."""
        return _int_or_none(self.attributes.get("iat"))

    def describe(self) -> dict[str, Any]:
        """GET /api/v1/users/me: service account id/name/scopes; viewer sub/stream_id/exp."""
        if self.kind == VIEWER:
            return {
                "type": VIEWER,
                "sub": self.id,
                "stream_id": self.stream_id,
                "exp": _int_or_none(self.attributes.get("exp")),
            }
        if self.kind == SERVICE_ACCOUNT:
            return {
                "type": SERVICE_ACCOUNT,
                "id": self.id,
                "name": self.attributes.get("name"),
                "scopes": sorted(self.scopes),
            }
        return {"type": self.kind, "sub": self.id, "scopes": sorted(self.scopes)}

    def to_context(self) -> dict[str, str | int]:
        """API Gateway authorizer context: flat string/number values only."""
        return {
            "principalType": self.kind,
            "principalId": self.id,
            "scopes": " ".join(sorted(self.scopes)),
            **self.attributes,
        }

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> Principal:
        kind = context.get("principalType")
        if not isinstance(kind, str) or not kind:
            # Only reachable when a function is invoked without its authorizer.
            raise Unauthorized("no principal: call through the API with credentials")
        scopes = context.get("scopes")
        reserved = {"principalType", "principalId", "scopes", "claims", "integrationLatency"}
        return cls(
            kind=kind,
            id=str(context.get("principalId", "")),
            scopes=frozenset(str(scopes).split()) if scopes else frozenset(),
            attributes={k: v for k, v in context.items() if k not in reserved and isinstance(v, str | int)},
        )


def require_scope(principal: Principal, scope: str) -> None:
    if not principal.has_scope(scope):
        raise Forbidden(f"this credential lacks the '{scope}' scope")


def operator(subject: str = "operator") -> Principal:
    """An operator (an operator JWT's holder): every scope."""
    return Principal(OPERATOR, subject, frozenset({ALL_SCOPES}))
