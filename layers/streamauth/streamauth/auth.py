"""Who is calling: the operator authorizer's logic and the principal handed to functions.

The authorizer authenticates (bad credentials → 401); functions authorize by scope
(valid credentials without the right → 403). Each scheme is one entry in `_SCHEMES`, so a
new credential kind (service-account keys, viewer JWTs) plugs in without touching callers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streamauth.errors import Forbidden, Unauthorized
from streamauth.logic import signing

OPERATOR = "operator"
ALL_SCOPES = "*"
# Scopes an endpoint may require; an operator JWT holds them all.
SCOPE_TOKENS_WRITE = "tokens:write"
SCOPE_SUBSCRIBERS_WRITE = "subscribers:write"
SCOPE_READ = "read"
SCOPE_ACCOUNTS_WRITE = "service-accounts:write"
SERVICE_ACCOUNT = "serviceAccount"
VIEWER = "viewer"


@dataclass(frozen=True)
class Principal:
    kind: str  # "operator" | "serviceAccount" | "viewer"
    id: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    attributes: dict[str, str | int] = field(default_factory=dict)

    def has_scope(self, scope: str) -> bool:
        return ALL_SCOPES in self.scopes or scope in self.scopes

    def describe(self) -> dict[str, Any]:
        """GET /api/v1/users/me: service account id/name/scopes; viewer sub/stream_id/exp."""
        if self.kind == VIEWER:
            exp = self.attributes.get("exp")  # API Gateway may hand context numbers over as strings
            exp = int(exp) if isinstance(exp, str) and exp.isdigit() else exp
            return {"type": VIEWER, "sub": self.id, "stream_id": self.attributes.get("stream_id"), "exp": exp}
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


@dataclass(frozen=True)
class Credentials:
    """What the authenticators need: keys, and a lookup of service accounts by key hash."""

    rest_jwt_secret: str
    viewer_jwt_key: str
    service_account_pepper: str
    find_account: Callable[[str, float], Principal | None]


def credentials() -> Credentials:
    from streamauth.service.accounts import find_by_key_hash
    from streamauth.settings import get_keys

    keys = get_keys()
    return Credentials(
        rest_jwt_secret=keys.rest_jwt_secret,
        viewer_jwt_key=keys.viewer_jwt_key,
        service_account_pepper=keys.service_account_pepper,
        find_account=find_by_key_hash,
    )


Authenticator = Callable[[str, Credentials, float], Principal]


def _bearer(token: str, credentials: Credentials, now: float) -> Principal:
    """An operator JWT (REST JWT secret), else a public viewer JWT (its own key and audience)."""
    from streamauth.logic.viewers import check_viewer_jwt

    try:
        claims = signing.decode(token, credentials.rest_jwt_secret, now)
    except signing.InvalidJwt:
        pass
    else:
        subject = claims.get("sub")
        name = subject if isinstance(subject, str) and subject else OPERATOR
        return Principal(OPERATOR, name, frozenset({ALL_SCOPES}))
    try:
        viewer = check_viewer_jwt(token, credentials.viewer_jwt_key, now)
    except signing.InvalidJwt as exc:
        raise Unauthorized("invalid bearer token") from exc
    return Principal(
        VIEWER,
        viewer["sub"],
        frozenset(),
        {"stream_id": viewer["stream_id"], "exp": int(viewer["exp"])},
    )


def _service_account_key(key: str, credentials: Credentials, now: float) -> Principal:
    from streamauth.logic.accounts import is_key, key_hash

    if not is_key(key):
        raise Unauthorized("a service-account key is 40 lowercase hex characters")
    principal = credentials.find_account(key_hash(credentials.service_account_pepper, key), now)
    if principal is None:
        raise Unauthorized("unknown or revoked service-account key")
    return principal


_SCHEMES: dict[str, Authenticator] = {"bearer": _bearer, "token": _service_account_key}
MAX_CREDENTIAL_LENGTH = 8192


def authenticate(header: str | None, credentials: Credentials, now: float) -> Principal:
    """The principal behind an Authorization header value, or Unauthorized."""
    if not header:
        raise Unauthorized("missing Authorization header")
    if len(header) > MAX_CREDENTIAL_LENGTH:
        raise Unauthorized("credential too long")
    scheme, _, value = header.strip().partition(" ")
    authenticator = _SCHEMES.get(scheme.lower())
    if authenticator is None or not value.strip():
        raise Unauthorized("expected 'Bearer <jwt>' or 'Token <key>'")
    return authenticator(value.strip(), credentials, now)


def allow_policy(principal: Principal, method_arn: str) -> dict[str, Any]:
    """IAM policy for the whole API stage: the authorizer's cached answer then serves every
    route, and per-route rights are checked by scope in the functions."""
    parts = method_arn.split("/")
    resource = "/".join(parts[:2]) + "/*/*" if len(parts) >= 2 else method_arn
    return {
        "principalId": principal.id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}],
        },
        "context": principal.to_context(),
    }
