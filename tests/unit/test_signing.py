"""JWT checks against a controlled clock, alg pinned, time claims, and revocation arithmetic."""

from __future__ import annotations

import jwt
import pytest

from streamauth.logic import signing
from streamauth.logic.tokens import check_stream_jwt, jwt_issued_at_ms, new_token_id, token_created_at_ms
from streamauth.models.common import Action
from streamauth.models.streams import issued_before

KEY = "k" * 48


def test_decode_enforces_exp_and_nbf_with_the_documented_leeway() -> None:
    token = signing.encode({"exp": 100, "nbf": 50}, KEY)
    assert signing.decode(token, KEY, 60)["exp"] == 100
    assert signing.decode(token, KEY, 100 + signing.LEEWAY - 1)["exp"] == 100
    with pytest.raises(signing.InvalidJwt, match="expired"):
        signing.decode(token, KEY, 100 + signing.LEEWAY)
    assert signing.decode(token, KEY, 50 - signing.LEEWAY)["nbf"] == 50
    with pytest.raises(signing.InvalidJwt, match="not yet"):
        signing.decode(token, KEY, 50 - signing.LEEWAY - 1)
    assert signing.LEEWAY <= 30


def test_an_iat_more_than_60_s_ahead_is_refused() -> None:
    """A token dated in the future would outlive every revocation until that date."""
    assert signing.decode(signing.encode({"iat": 1060}, KEY), KEY, 1000)["iat"] == 1060
    with pytest.raises(signing.InvalidJwt, match="future"):
        signing.decode(signing.encode({"iat": 1061}, KEY), KEY, 1000)
    with pytest.raises(signing.InvalidJwt, match="future"):
        signing.decode(signing.encode({"iat": 4_102_444_800}, KEY), KEY, 1000)


def test_decode_refuses_other_algorithms_and_keys() -> None:
    with pytest.raises(signing.InvalidJwt):
        signing.decode(jwt.encode({"a": 1}, KEY, algorithm="HS384"), KEY, 0)
    with pytest.raises(signing.InvalidJwt):
        unsigned = jwt.encode({"a": 1}, None, algorithm="none")  # type: ignore[arg-type]
        signing.decode(unsigned, KEY, 0)
    with pytest.raises(signing.InvalidJwt):
        signing.decode(signing.encode({"a": 1}, "z" * 48), KEY, 0)


@pytest.mark.parametrize("claims", [{"exp": "soon"}, {"exp": True}, {"nbf": [1]}, {"iat": "now"}])
def test_decode_refuses_non_numeric_time_claims(claims: dict[str, object]) -> None:
    with pytest.raises(signing.InvalidJwt):
        signing.decode(jwt.encode(claims, KEY, algorithm="HS256"), KEY, 0)


def test_required_claims() -> None:
    with pytest.raises(signing.InvalidJwt):
        signing.decode(signing.encode({"streamId": "s"}, KEY), KEY, 0, require=("exp",))


def test_stream_jwt_binds_stream_and_type() -> None:
    token = signing.encode({"streamId": "a", "type": "play", "exp": 10}, KEY)
    assert check_stream_jwt(token, KEY, "a", "play", 5)["streamId"] == "a"
    cases: list[tuple[str, Action]] = [("b", "play"), ("a", "publish")]
    for stream, action in cases:
        with pytest.raises(signing.InvalidJwt):
            check_stream_jwt(token, KEY, stream, action, 5)


def test_revocation_compares_issue_time() -> None:
    assert issued_before(1000, None) is False
    assert issued_before(1000, 1000) is True
    assert issued_before(1001, 1000) is False
    assert issued_before(None, 1) is True  # no iat: cannot prove it is newer
    assert jwt_issued_at_ms({"iat": 1234}) == 1_234_000
    assert jwt_issued_at_ms({"iat": 1.9}) == 1000  # whole seconds, rounded down: never newer than it is
    assert jwt_issued_at_ms({"iat": "x"}) is None


def test_token_ids_are_unguessable_carry_their_creation_time_and_fit_nginx() -> None:
    ids = {new_token_id(1_800_000_000_123) for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 43 and "." not in i and token_created_at_ms(i) == 1_800_000_000_123 for i in ids)
    assert token_created_at_ms("abc") is None
    assert token_created_at_ms("x" * 32 + "zzzzzzzzzzz") is None
