"""HS256 JWTs with the algorithm pinned and time checked against the caller's clock.

PyJWT's own exp/nbf/iat checks read the wall clock, so they are turned off and done here
with the `now` the caller passes (tests control time; nothing sleeps).
"""

from __future__ import annotations

from typing import Any

ALGORITHM = "HS256"


class InvalidJwt(Exception):
    """The token is malformed, signed with another key or algorithm, expired or not yet valid."""


def encode(claims: dict[str, Any], key: str) -> str:
    import jwt

    return jwt.encode(claims, key, algorithm=ALGORITHM)


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def decode(
    token: str, key: str, now: float, *, require: tuple[str, ...] = (), audience: str | None = None
) -> dict[str, Any]:
    """Verified claims, or InvalidJwt. `exp` and `nbf` are enforced when present."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise InvalidJwt("unexpected algorithm")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": audience is not None,
                "require": list(require),
            },
        )
    except jwt.PyJWTError as exc:
        raise InvalidJwt(type(exc).__name__) from exc
    except (ValueError, TypeError) as exc:  # odd inputs PyJWT does not wrap
        raise InvalidJwt("malformed") from exc
    for name in ("exp", "nbf", "iat"):
        if name in claims and (isinstance(claims[name], bool) or not isinstance(claims[name], int | float)):
            raise InvalidJwt(f"{name} is not a number")
    if "exp" in claims and now >= claims["exp"]:
        raise InvalidJwt("expired")
    if "nbf" in claims and now < claims["nbf"]:
        raise InvalidJwt("not yet valid")
    return claims
