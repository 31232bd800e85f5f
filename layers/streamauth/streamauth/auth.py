"""Who is calling: the operator authorizer's logic.

Header forms: `Bearer <jwt>` with the scheme in any case, the bare `<jwt>` (Ant Media's only form
before ams-v2.12.0), and `Token <key>`; nothing else. The API has no identity-source regex
(template.yaml, OperatorAuthorizer): any header present reaches the authorizer, whose Deny
says why it refused it (REFUSALS: malformed, expired, not_accepted); an absent one is API
Gateway's own 401 (missing).

The authorizer authenticates (bad credentials → 401); functions authorize by scope
(valid credentials without the right → 403, models/principals.py). Each scheme is one entry
in `_SCHEMES`, so a new credential kind plugs in without touching callers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streamauth.errors import Unauthorized
from streamauth.keys import Keys
from streamauth.logic import signing
from streamauth.models.principals import ALL_SCOPES, OPERATOR, VIEWER, Principal

# Claims that mark a JWT as another kind (stream, viewer, push): never an operator credential,
# even if an operator pinned two keys alike.
_OTHER_KINDS = ("streamId", "stream_id", "subscriberId", "aud")


@dataclass(frozen=True)
class AuthContext:
    """What the authenticators need: keys (read on use), the service-account lookup, the viewer
    liveness check, and whether legacy operator JWTs without `exp` are allowed."""

    keys: Keys
    find_account: Callable[[str, float], Principal | None]
    viewer_alive: Callable[[str, int | None, float], bool]
    allow_legacy_operator_jwt: bool = False
    viewer_jwt: signing.Decoder | None = None  # viewer JWTs, HS256 or ES256 (None: HS256 with keys.viewer_jwt_key)


def auth_context() -> AuthContext:
    from streamauth.keys import get_keys
    from streamauth.service.accounts import find_by_key_hash
    from streamauth.service.jwt_codecs import viewer_codec
    from streamauth.service.viewers import viewer_service
    from streamauth.settings import get_settings

    return AuthContext(
        keys=get_keys(),
        find_account=find_by_key_hash,
        viewer_alive=lambda stream_id, iat, now: viewer_service().alive(stream_id, iat, now),
        allow_legacy_operator_jwt=get_settings().allow_legacy_operator_jwt,
        viewer_jwt=viewer_codec(),
    )


Authenticator = Callable[[str, AuthContext, float], Principal]

# What a refused caller is told, by reason: enough to act on, never which key or check failed.
REFUSALS = {
    "missing": "no credentials: send the header Authorization: Bearer <jwt> (or Token <key>)",
    "malformed": "malformed credentials: expected Authorization: Bearer <jwt> or Token <40-hex key>",
    "expired": "expired credentials: the token's exp has passed, get a new one",
    "not_accepted": (
        "credentials not accepted: not signed by this deployment, lacking a claim it requires"
        " (an operator JWT's exp), unknown, or revoked"
    ),
}


def _jwt_reason(exc: signing.InvalidJwt) -> str:
    """A JWT's refusal, for the caller: expired (it verified, but its exp has passed), malformed
    (not a JWT at all), else not accepted (another key, algorithm, audience, a claim missing)."""
    detail = str(exc)
    if detail == "expired":
        return "expired"
    if detail in ("DecodeError", "malformed"):
        return "malformed"
    return "not_accepted"


def refusal(exc: Unauthorized) -> str:
    """The caller's message for a refused credential (REFUSALS by reason)."""
    return REFUSALS.get(exc.reason, REFUSALS["not_accepted"])


def _operator(token: str, context: AuthContext, now: float) -> Principal | signing.InvalidJwt | None:
    """An operator JWT (REST JWT secret; `exp` required unless legacy JWTs are allowed); the
    decoding error when it is not one; None when it verifies but is another kind's."""
    require = () if context.allow_legacy_operator_jwt else ("exp",)
    try:
        claims = signing.decode(token, context.keys.rest_jwt_secret, now, require=require)
    except signing.InvalidJwt as exc:
        return exc
    if any(name in claims for name in _OTHER_KINDS):
        return None
    subject = claims.get("sub")
    return Principal(OPERATOR, subject if isinstance(subject, str) and subject else OPERATOR, frozenset({ALL_SCOPES}))


def _bearer(token: str, context: AuthContext, now: float) -> Principal:
    """An operator JWT, else a public viewer JWT (its own key and audience) of a live stream."""
    from streamauth.logic.viewers import check_viewer_jwt

    operator = _operator(token, context, now)
    if isinstance(operator, Principal):
        return operator
    if isinstance(operator, signing.InvalidJwt) and _jwt_reason(operator) != "not_accepted":
        # not a JWT at all, or the operator key's own and expired: no viewer key changes that
        raise Unauthorized(f"operator JWT refused: {operator}", _jwt_reason(operator))
    try:
        viewer = check_viewer_jwt(token, context.viewer_jwt or context.keys.viewer_jwt_key, now)
    except signing.InvalidJwt as exc:
        raise Unauthorized(f"bearer JWT refused: {exc}", _jwt_reason(exc)) from exc
    issued_at = signing.issued_at(viewer)
    if not context.viewer_alive(viewer["stream_id"], issued_at, now):
        raise Unauthorized("this viewer token's stream was closed or its tokens revoked", "not_accepted")
    attributes: dict[str, str | int] = {"stream_id": viewer["stream_id"], "exp": int(viewer["exp"])}
    if issued_at is not None:
        attributes["iat"] = issued_at
    return Principal(VIEWER, viewer["sub"], frozenset(), attributes)


def _service_account_key(key: str, context: AuthContext, now: float) -> Principal:
    from streamauth.logic.accounts import is_key, key_hash

    if not is_key(key):
        raise Unauthorized("a service-account key is 40 lowercase hex characters", "malformed")
    principal = context.find_account(key_hash(context.keys.service_account_pepper, key), now)
    if principal is None:
        raise Unauthorized("unknown or revoked service-account key", "not_accepted")
    return principal


_SCHEMES: dict[str, Authenticator] = {"bearer": _bearer, "token": _service_account_key}
MAX_CREDENTIAL_LENGTH = 8192


def authenticate(header: str | None, context: AuthContext, now: float) -> Principal:
    """The principal behind an Authorization header value, or Unauthorized."""
    if not header:
        raise Unauthorized("missing Authorization header", "missing")
    if len(header) > MAX_CREDENTIAL_LENGTH:
        raise Unauthorized("credential too long", "malformed")
    text = header.strip()
    if " " not in text and signing.looks_like_jwt(text):
        return _bearer(text, context, now)  # Ant Media's bare form (`Authorization: <jwt>`, its JWTFilter)
    scheme, _, value = text.partition(" ")
    authenticator = _SCHEMES.get(scheme.lower())  # the scheme in any case, as Ant Media's JWTFilter
    if authenticator is None or not value.strip():
        raise Unauthorized("expected 'Bearer <jwt>', '<jwt>' or 'Token <key>'", "malformed")
    return authenticator(value.strip(), context, now)


def allow_policy(principal: Principal, method_arn: str) -> dict[str, Any]:
    """IAM policy for the whole API stage: the authorizer's cached answer then serves every
    route, and per-route rights are checked by scope in the functions."""
    from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
        APIGatewayAuthorizerResponse,
    )

    arn = method_arn.split(":")
    api_id, stage = (arn[5].split("/") + ["", ""])[:2] if len(arn) >= 6 else ("*", "*")
    response = APIGatewayAuthorizerResponse(
        principal_id=principal.id,
        region=arn[3] if len(arn) >= 6 else "*",
        aws_account_id=arn[4] if len(arn) >= 6 else "*",
        api_id=api_id or "*",
        stage=stage or "*",
        context=principal.to_context(),
    )
    response.allow_all_routes()
    return response.asdict()


def deny_policy(exc: Unauthorized, method_arn: str) -> dict[str, Any]:
    """A Deny for the whole stage with the refusal in its context: API Gateway answers its
    ACCESS_DENIED gateway response, whose template (template.yaml: a 401) shows
    `$context.authorizer.reason` and `.message`. A raised "Unauthorized" could say nothing."""
    arn = method_arn.split(":")
    api_id, stage = (arn[5].split("/") + ["", ""])[:2] if len(arn) >= 6 else ("*", "*")
    resource = f"arn:aws:execute-api:{arn[3]}:{arn[4]}:{api_id or '*'}/{stage or '*'}/*/*" if len(arn) >= 6 else "*"
    return {
        "principalId": "refused",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": resource}],
        },
        "context": {"reason": exc.reason, "message": refusal(exc)},
    }
