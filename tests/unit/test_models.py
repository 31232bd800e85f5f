"""Input parsing: every bad value is a BadRequest naming its field."""

from __future__ import annotations

import pytest

from streamauth.errors import BadRequest, http_status
from streamauth.models.common import (
    MAX_JSON_DEPTH,
    Action,
    parse_action,
    parse_int,
    parse_json_int,
    parse_json_object,
    parse_page,
    parse_stream_id,
    parse_text,
)
from streamauth.models.subscribers import BlockRequest, CreateSubscriberRequest
from streamauth.models.tokens import TokenRequest, ValidateRequest


@pytest.mark.parametrize("value", ["12", "012", "-0"])
def test_parse_int_accepts_integer_strings(value: str) -> None:
    """Query and path parameters are strings."""
    assert parse_int(value, "n") == int(value)


@pytest.mark.parametrize("value", [12, 12.0])
def test_parse_json_int_accepts_json_numbers(value: object) -> None:
    assert parse_json_int(value, "n") == 12


@pytest.mark.parametrize("value", ["12", "60", True, 1.5, None, [], {}, float("inf"), float("nan")])
def test_parse_json_int_refuses_strings_and_non_integers(value: object) -> None:
    """A number must be a JSON number: `"seconds": "60"` is a 400 (contract section 7)."""
    with pytest.raises(BadRequest) as caught:
        parse_json_int(value, "n")
    assert caught.value.field == "n"


def test_block_body_seconds_must_be_a_number_but_the_path_form_is_a_string() -> None:
    with pytest.raises(BadRequest) as caught:
        BlockRequest.from_json({"blockedType": "play", "seconds": "60"})
    assert caught.value.field == "seconds"
    assert BlockRequest.from_json({"blockedType": "play", "seconds": 60}).seconds == 60
    assert BlockRequest.from_path("60", "play").seconds == 60


def test_json_nested_deeper_than_32_is_a_400_before_the_parser_recurses() -> None:
    deep = '{"a":' * 10_000 + "1" + "}" * 10_000
    with pytest.raises(BadRequest, match="deeper than 32") as caught:
        parse_json_object(deep)
    assert caught.value.field == "body"
    at_limit = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    assert parse_json_object('{"a":' + at_limit + "}") == {"a": parse_json_object('{"b":' + at_limit + "}")["b"]}
    with pytest.raises(BadRequest, match="deeper"):
        parse_json_object('{"a":' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}")
    # brackets inside strings are text, not nesting
    assert parse_json_object('{"a": "' + "[" * 100 + '"}') == {"a": "[" * 100}


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', "{", '"x"'])
def test_json_that_is_not_json_or_not_an_object_is_a_400(text: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_json_object(text)
    assert caught.value.field == "body"


@pytest.mark.parametrize(
    "value",
    [None, "", "1.5", 1.5, 12, 12.0, "abc", True, "1e3", [], {}, "0x10", "9" * 30, " 12", "12 ", "\n12", "1_2", "+12"],
)
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


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "play"), ("", "play"), ("play", "play"), ("publish", "publish")]
)
def test_subscriber_type_defaults_to_play_only_when_left_out(value: object, expected: str) -> None:
    body = {"subscriberId": "alice"} if value is None else {"subscriberId": "alice", "type": value}
    assert CreateSubscriberRequest.parse("s", body).subscriber.type == expected


@pytest.mark.parametrize("value", [0, False, [], {}, "viewer", 1])
def test_subscriber_type_that_is_not_play_or_publish_is_a_400(value: object) -> None:
    """Any other `type` is refused (contract: `type` is play or publish), a falsy one too:
    `false` or `0` is not "left out"."""
    with pytest.raises(BadRequest) as caught:
        CreateSubscriberRequest.parse("s", {"subscriberId": "alice", "type": value})
    assert caught.value.field == "type"


@pytest.mark.parametrize(
    ("client", "reuse"),
    [(None, False), ("mediamtx\n\n10.0.0.5\ncam1", False), ("mediamtx\n\n10.0.0.5\ncam1", True)],
    ids=["one-ask", "asks-twice", "asked-again"],
)
@pytest.mark.parametrize("action", [None, "play"], ids=["derived", "stored"])
def test_a_code_acceptance_uses_every_value_it_names(client: str | None, reuse: bool, action: Action | None) -> None:
    """DynamoDB refuses an ExpressionAttributeValue or Name that no expression uses (moto does
    not): every placeholder the acceptance's writes send is used, in each of its forms."""
    import re

    from streamauth.store.subscribers import Counter, Reserved, SubscriberStore

    store = SubscriberStore(object(), "t")
    reserved = Reserved({"pk": {"S": "p"}, "sk": {"S": "s"}}, Counter())
    items = store._accept_items(
        "cam1", "alice", reserved, 7, "aid", 1_800_000_000.0, action=action, expires=1, client=client, reuse=reuse
    )
    for item in items:
        update = item["Update"]
        text = update["UpdateExpression"] + " " + update.get("ConditionExpression", "")
        assert set(update.get("ExpressionAttributeValues", {})) == set(re.findall(r":\w+", text)), text
        assert set(update.get("ExpressionAttributeNames", {})) == set(re.findall(r"#\w+", text)), text
