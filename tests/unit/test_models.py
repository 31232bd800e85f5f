"""Input parsing: every bad value is a BadRequest naming its field."""

from __future__ import annotations

import pytest

from streamauth.errors import BadRequest, http_status
from streamauth.models.common import parse_action, parse_int, parse_page, parse_stream_id, parse_text
from streamauth.models.tokens import TokenRequest, ValidateRequest


@pytest.mark.parametrize("value", ["12", 12, 12.0, " 12 "])
def test_parse_int_accepts_integers(value: object) -> None:
    assert parse_int(value, "n") == 12


@pytest.mark.parametrize("value", [None, "", "1.5", 1.5, "abc", True, "1e3", [], {}, "0x10", "9" * 30])
def test_parse_int_refuses_non_integers(value: object) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_int(value, "n")
    assert caught.value.field == "n"


def test_parse_int_bounds() -> None:
    with pytest.raises(BadRequest, match="at least 0"):
        parse_int("-1", "offset", minimum=0)
    with pytest.raises(BadRequest, match="at most 5"):
        parse_int("6", "x", maximum=5)


@pytest.mark.parametrize("value", ["stream1", "a", "6935357a-8d71-45f2-9a0f-ddaed705b43a", "cam_1.main"])
def test_stream_ids_accepted(value: str) -> None:
    assert parse_stream_id(value) == value


@pytest.mark.parametrize("value", [None, "", "a b", "a/b", "x" * 129, 5, "é", "a\nb"])
def test_stream_ids_refused(value: object) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_stream_id(value)
    assert caught.value.field == "id"


def test_parse_action() -> None:
    assert parse_action("play") == "play"
    for bad in (None, "", "Play", "publish_play", 1):
        with pytest.raises(BadRequest):
            parse_action(bad)


def test_parse_text_limits() -> None:
    assert parse_text(None, "roomId") is None
    with pytest.raises(BadRequest, match="control"):
        parse_text("a\x00b", "roomId")
    with pytest.raises(BadRequest, match="at most"):
        parse_text("x" * 300, "roomId")


def test_page_is_capped_not_refused() -> None:
    assert parse_page("0", "500") == (0, 50)
    assert parse_page("3", "7") == (3, 7)


def test_token_request_needs_future_expiry() -> None:
    now = 1_000.0
    assert TokenRequest.parse("s", {"expireDate": "1001", "type": "play"}, now).expire_date == 1001
    with pytest.raises(BadRequest) as caught:
        TokenRequest.parse("s", {"expireDate": "1000", "type": "play"}, now)
    assert caught.value.field == "expireDate"


def test_validate_request_fields() -> None:
    parsed = ValidateRequest.parse({"tokenId": "t", "streamId": "s", "type": "publish", "expireDate": 5, "extra": 1})
    assert (parsed.token_id, parsed.stream_id, parsed.type, parsed.room_id) == ("t", "s", "publish", None)


def test_error_statuses_are_mapped_in_one_table() -> None:
    assert http_status(BadRequest("x", "y")) == 400
    from streamauth.errors import Forbidden, NotFound, StoreUnavailable, Unauthorized

    assert [http_status(e) for e in (Unauthorized("a"), Forbidden("b"), NotFound("c"), StoreUnavailable())] == [
        401,
        403,
        404,
        503,
    ]
