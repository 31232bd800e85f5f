"""JWT checks against a controlled clock, alg pinned, and revocation arithmetic."""

from __future__ import annotations

import jwt
import pytest

from streamauth.logic import signing
from streamauth.logic.tokens import check_stream_jwt, issued_before_revocation, jwt_issued_at_ms, new_token_id
from streamauth.models.common import Action

KEY = "k" * 40


def test_decode_enforces_exp_and_nbf_with_given_now() -> None:
    token = signing.encode({"exp": 100, "nbf": 50}, KEY)
    assert signing.decode(token, KEY, 60)["exp"] == 100
    with pytest.raises(signing.InvalidJwt, match="expired"):
        signing.decode(token, KEY, 100)
    with pytest.raises(signing.InvalidJwt, match="not yet"):
        signing.decode(token, KEY, 49)


def test_decode_refuses_other_algorithms_and_keys() -> None:
    with pytest.raises(signing.InvalidJwt):
        signing.decode(jwt.encode({"a": 1}, KEY, algorithm="HS384"), KEY, 0)
    with pytest.raises(signing.InvalidJwt):
        unsigned = jwt.encode({"a": 1}, None, algorithm="none")  # type: ignore[arg-type]
        signing.decode(unsigned, KEY, 0)
    with pytest.raises(signing.InvalidJwt):
        signing.decode(signing.encode({"a": 1}, "z" * 40), KEY, 0)


@pytest.mark.parametrize("claims", [{"exp": "soon"}, {"exp": True}, {"nbf": [1]}])
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
    assert issued_before_revocation(1000, None) is False
    assert issued_before_revocation(1000, 1000) is True
    assert issued_before_revocation(1001, 1000) is False
    assert issued_before_revocation(None, 1) is True  # no iat: cannot prove it is newer
    assert jwt_issued_at_ms({"iat": 1.2345}) == 1234
    assert jwt_issued_at_ms({"iat": "x"}) is None


def test_token_ids_are_unguessable_and_fit_nginx() -> None:
    ids = {new_token_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(16 <= len(i) <= 64 and "." not in i for i in ids)
