"""Stream tokens through the real handlers, on moto's DynamoDB built from template.yaml."""

from __future__ import annotations

import threading
from typing import Any

import jwt
import pytest

from streamauth.store.tokens import token_key
from tests.conftest import T0, Aws, FakeClock, call, event

FUTURE = int(T0) + 3600


def issue(
    stream_id: str = "stream1", action: str = "publish", expire: int = FUTURE, kind: str = "token", **query: str
) -> dict[str, Any]:
    function = "IssueTokenFunction" if kind == "token" else "IssueJwtTokenFunction"
    name = "issue_token" if kind == "token" else "issue_jwt_token"
    reply = call(
        function,
        event(
            name,
            path=f"/v2/broadcasts/{stream_id}/{kind}",
            pathParameters={"id": stream_id},
            queryStringParameters={"expireDate": str(expire), "type": action, **query},
        ),
    )
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.body
    return body


def validate(token_id: str, stream_id: str = "stream1", action: str = "publish", **extra: Any) -> bool:
    reply = call(
        "ValidateTokenFunction",
        event("validate_token", body={"tokenId": token_id, "streamId": stream_id, "type": action, **extra}),
    )
    assert reply.status == 200, reply.body
    assert set(reply.body) >= {"success", "message", "dataId", "errorId"}
    success: bool = reply.body["success"]
    return success


def listing(stream_id: str = "stream1", offset: int | str = 0, size: int | str = 50) -> Any:
    return call(
        "ListTokensFunction",
        event(
            "list_tokens",
            path=f"/v2/broadcasts/{stream_id}/tokens/list/{offset}/{size}",
            pathParameters={"id": stream_id, "offset": str(offset), "size": str(size)},
        ),
    )


def revoke(stream_id: str = "stream1") -> Any:
    return call(
        "RevokeTokensFunction",
        event("revoke_tokens", path=f"/v2/broadcasts/{stream_id}/tokens", pathParameters={"id": stream_id}),
    )


def test_one_time_token_has_contract_shape_and_is_stored(aws: Aws, clock: FakeClock) -> None:
    token = issue(roomId="room7")
    assert set(token) == {"tokenId", "streamId", "expireDate", "type", "roomId"}
    assert token["streamId"] == "stream1" and token["expireDate"] == FUTURE and token["type"] == "publish"
    assert token["roomId"] == "room7"
    assert len(token["tokenId"]) >= 32
    item = aws.client("dynamodb").get_item(TableName=aws.table_name, Key=token_key("stream1", token["tokenId"]))["Item"]
    assert item["expiresAt"] == {"N": str(FUTURE)}  # the TTL attribute


def test_one_time_token_validates_once(aws: Aws, clock: FakeClock) -> None:
    token = issue()
    assert validate(token["tokenId"]) is True
    assert validate(token["tokenId"]) is False


def test_fifty_concurrent_validations_one_success(aws: Aws, clock: FakeClock) -> None:
    from streamauth.models.tokens import ValidateRequest
    from streamauth.service.tokens import token_service

    token = issue()
    request = ValidateRequest(token["tokenId"], "stream1", "publish", None)
    service = token_service()
    barrier = threading.Barrier(50)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        outcome = service.validate(request, clock())
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 50
    assert results.count(True) == 1


def test_expired_token_is_invalid_and_unlisted_before_ttl_removes_it(aws: Aws, clock: FakeClock) -> None:
    token = issue(expire=int(T0) + 60)
    clock.advance(61)
    assert listing().body == []
    assert validate(token["tokenId"]) is False
    # DynamoDB TTL has not deleted it: the item is still there, and still refused.
    item = aws.client("dynamodb").get_item(TableName=aws.table_name, Key=token_key("stream1", token["tokenId"]))
    assert "Item" in item


def test_token_of_one_stream_never_validates_for_another(aws: Aws, clock: FakeClock) -> None:
    token = issue("streamA")
    assert validate(token["tokenId"], stream_id="streamB") is False
    assert validate(token["tokenId"], stream_id="streamA") is True


def test_play_token_never_validates_for_publish(aws: Aws, clock: FakeClock) -> None:
    token = issue(action="play")
    assert validate(token["tokenId"], action="publish") is False
    assert validate(token["tokenId"], action="play") is True


def test_jwt_stream_token_is_signed_with_stream_key_and_validates(aws: Aws, clock: FakeClock) -> None:
    from streamauth.keys import get_keys

    token = issue(kind="jwt-token", action="play", roomId="r1")
    claims = jwt.decode(
        token["tokenId"],
        get_keys().jwt_stream_key,
        algorithms=["HS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["streamId"] == "stream1" and claims["type"] == "play" and claims["exp"] == FUTURE
    assert claims["roomId"] == "r1"
    assert validate(token["tokenId"], action="play") is True
    assert validate(token["tokenId"], action="play") is True  # JWTs are not one-time
    assert validate(token["tokenId"], action="publish") is False
    assert validate(token["tokenId"], stream_id="other", action="play") is False
    clock.now = FUTURE + 29  # exp has a leeway of 30 s for clocks that disagree
    assert validate(token["tokenId"], action="play") is True
    clock.now = FUTURE + 30
    assert validate(token["tokenId"], action="play") is False


def test_jwt_signed_with_another_key_or_alg_none_is_refused(aws: Aws, clock: FakeClock) -> None:
    claims = {"streamId": "stream1", "type": "play", "exp": FUTURE}
    forged = jwt.encode(claims, "x" * 32, algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    assert validate(forged, action="play") is False
    assert validate(unsigned, action="play") is False


def test_revoke_kills_stored_tokens_at_once(aws: Aws, clock: FakeClock) -> None:
    old = [issue()["tokenId"] for _ in range(3)]
    clock.advance(1)
    assert revoke().body["success"] is True
    assert listing().body == []
    assert all(validate(token_id) is False for token_id in old)
    clock.advance(1)
    fresh = issue()
    assert [t["tokenId"] for t in listing().body] == [fresh["tokenId"]]
    assert validate(fresh["tokenId"]) is True


def test_revoke_kills_earlier_jwt_stream_tokens_within_cache_window(aws: Aws, clock: FakeClock) -> None:
    from streamauth.keys import get_keys

    earlier = issue(kind="jwt-token", action="play")["tokenId"]
    # A client-made JWT (no iat) like Ant Media users sign themselves.
    client_made = jwt.encode(
        {"streamId": "stream1", "type": "play", "exp": FUTURE}, get_keys().jwt_stream_key, algorithm="HS256"
    )
    assert validate(earlier, action="play") is True  # caches "never revoked"
    clock.advance(1)
    revoke()
    clock.advance(5)  # the contract's bound: a cached revocation time is at most 5 s old
    assert validate(earlier, action="play") is False
    assert validate(client_made, action="play") is False
    later = issue(kind="jwt-token", action="play")["tokenId"]
    assert validate(later, action="play") is True


def test_revoke_is_visible_at_once_in_the_revoking_environment(aws: Aws, clock: FakeClock) -> None:
    earlier = issue(kind="jwt-token", action="play")["tokenId"]
    assert validate(earlier, action="play") is True
    clock.advance(0.01)
    revoke()
    assert validate(earlier, action="play") is False


def _count_requests(client: Any) -> list[str]:
    seen: list[str] = []
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
    return seen


def test_revoke_costs_one_request_however_many_tokens(aws: Aws, clock: FakeClock) -> None:
    from streamauth.aws import dynamodb_client

    issue("few")
    for _ in range(120):
        issue("many")
    seen = _count_requests(dynamodb_client())
    revoke("few")
    few = len(seen)
    seen.clear()
    revoke("many")
    assert few == len(seen) == 1


def test_validate_costs_two_requests_and_a_cached_revocation_none(aws: Aws, clock: FakeClock) -> None:
    """The token is used (one UpdateItem), then read back with the stream's revocation (one
    strongly consistent BatchGetItem): two requests, cold or warm. A revocation this environment has already
    read refuses with no request at all."""
    from streamauth.aws import dynamodb_client

    first, second, third = issue(), issue(), issue()
    seen = _count_requests(dynamodb_client())
    assert validate(first["tokenId"]) is True
    assert seen == ["UpdateItem", "BatchGetItem"]
    seen.clear()
    assert validate(second["tokenId"]) is True
    assert seen == ["UpdateItem", "BatchGetItem"]
    clock.advance(1)
    revoke()
    validate(issue()["tokenId"])  # a later token: the revocation is now in this environment's cache
    seen.clear()
    assert validate(third["tokenId"]) is False
    assert seen == []


def test_list_caps_size_at_50_pages_stably_and_hides_consumed(aws: Aws, clock: FakeClock) -> None:
    ids = sorted(issue()["tokenId"] for _ in range(60))
    first = listing(size=100).body
    assert len(first) == 50
    assert [t["tokenId"] for t in first] == ids[:50]
    assert [t["tokenId"] for t in listing(offset=50, size=50).body] == ids[50:]
    assert listing(offset=1000, size=10).body == []
    assert listing(size=0).body == []
    assert validate(ids[0]) is True
    assert ids[0] not in [t["tokenId"] for t in listing(size=50).body]


def test_room_token_validation_keeps_the_token(aws: Aws, clock: FakeClock) -> None:
    token = issue(action="play", roomId="room1")
    assert validate(token["tokenId"], action="play", roomId="room1") is True
    assert validate(token["tokenId"], action="play", roomId="room1") is True
    assert validate(token["tokenId"], action="play", roomId="other") is False
    assert validate(token["tokenId"], action="play") is True  # without roomId: consumed
    assert validate(token["tokenId"], action="play", roomId="room1") is False


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"type": "publish"}, "expireDate"),
        ({"expireDate": "", "type": "publish"}, "expireDate"),
        ({"expireDate": "soon", "type": "publish"}, "expireDate"),
        ({"expireDate": "1.5", "type": "publish"}, "expireDate"),
        ({"expireDate": str(int(T0) - 1), "type": "publish"}, "expireDate"),
        ({"expireDate": str(int(T0)), "type": "publish"}, "expireDate"),
        ({"expireDate": "99999999999999999999999", "type": "publish"}, "expireDate"),
        ({"expireDate": str(FUTURE)}, "type"),
        ({"expireDate": str(FUTURE), "type": "record"}, "type"),
        ({"expireDate": str(FUTURE), "type": "PLAY"}, "type"),
        ({"expireDate": str(FUTURE), "type": "play", "roomId": "x" * 300}, "roomId"),
    ],
)
@pytest.mark.parametrize("function", ["IssueTokenFunction", "IssueJwtTokenFunction"])
def test_bad_token_requests_are_400_naming_the_parameter(
    aws: Aws, clock: FakeClock, function: str, query: dict[str, str], field: str
) -> None:
    sample = "issue_token" if function == "IssueTokenFunction" else "issue_jwt_token"
    reply = call(function, event(sample, queryStringParameters=query))
    assert reply.status == 400
    assert reply.body["success"] is False and reply.body["field"] == field
    assert field in reply.body["message"]
    assert reply.headers["Content-Type"] == "application/json"


def test_bad_stream_id_is_400(aws: Aws, clock: FakeClock) -> None:
    reply = call(
        "IssueTokenFunction", event("issue_token", pathParameters={"id": "a b/c"}, path="/v2/broadcasts/a%20b/token")
    )
    assert reply.status in (400, 404)
    assert reply.body["success"] is False


@pytest.mark.parametrize(
    ("offset", "size", "field"), [("x", "10", "offset"), ("0", "ten", "size"), ("1e3", "1", "offset")]
)
def test_bad_paging_is_400_naming_the_parameter(aws: Aws, clock: FakeClock, offset: str, size: str, field: str) -> None:
    reply = listing(offset=offset, size=size)
    assert reply.status == 400
    assert reply.body["field"] == field


def test_negative_paging_is_read_as_ant_media_does(aws: Aws, clock: FakeClock) -> None:
    """DataStore.listAllTokens: a negative offset is 0, a negative size an empty page."""
    assert listing(offset="-1", size="10").status == 200
    empty = listing(offset="0", size="-5")
    assert empty.status == 200 and empty.body == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (None, "body"),
        ("not json", "body"),
        ("[1, 2]", "body"),
        ({"streamId": "stream1", "type": "play"}, "tokenId"),
        ({"tokenId": 5, "streamId": "stream1", "type": "play"}, "tokenId"),
        ({"tokenId": "abc", "type": "play"}, "streamId"),
        ({"tokenId": "abc", "streamId": "stream1"}, "type"),
        ({"tokenId": "abc", "streamId": "stream1", "type": "both"}, "type"),
        ({"tokenId": "abc", "streamId": "stream1", "type": "play", "expireDate": "tomorrow"}, "expireDate"),
    ],
)
def test_bad_validate_bodies_are_refused_naming_the_field(aws: Aws, clock: FakeClock, body: Any, field: str) -> None:
    """A body that is not a JSON object is a 400 (as JAX-RS answers); a field Ant Media would not
    validate is its 200 `success: false`, the field named."""
    reply = call("ValidateTokenFunction", event("validate_token", body=body))
    assert reply.status == (400 if field == "body" else 200)
    assert reply.body["success"] is False and reply.body["field"] == field


def test_non_utf8_base64_body_is_400(aws: Aws, clock: FakeClock) -> None:
    reply = call("ValidateTokenFunction", event("validate_token", body="//79/A==", isBase64Encoded=True))
    assert reply.status == 400 and reply.body["field"] == "body"


def test_store_throttling_is_503_json_and_consumes_nothing(aws: Aws, clock: FakeClock) -> None:
    from botocore.exceptions import ClientError

    from streamauth.aws import dynamodb_client

    token = issue()
    client = dynamodb_client()

    def throttle(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "UpdateItem")

    client.meta.events.register("before-call.dynamodb.UpdateItem", throttle)
    reply = call(
        "ValidateTokenFunction",
        event("validate_token", body={"tokenId": token["tokenId"], "streamId": "stream1", "type": "publish"}),
    )
    assert reply.status == 503
    assert reply.body["success"] is False
    client.meta.events.unregister("before-call.dynamodb.UpdateItem", throttle)
    assert validate(token["tokenId"]) is True  # the failed attempt consumed nothing


def test_principal_without_scope_is_403(aws: Aws, clock: FakeClock) -> None:
    evt = event("issue_token")
    evt["requestContext"]["authorizer"] = {"principalType": "serviceAccount", "principalId": "sa1", "scopes": "read"}
    reply = call("IssueTokenFunction", evt)
    assert reply.status == 403
    evt["requestContext"]["authorizer"]["scopes"] = "read tokens:write"
    assert call("IssueTokenFunction", evt).status == 200


def test_list_reads_with_the_read_scope(aws: Aws, clock: FakeClock) -> None:
    issue()
    evt = event("list_tokens")
    evt["requestContext"]["authorizer"] = {"principalType": "serviceAccount", "principalId": "sa1", "scopes": "read"}
    assert call("ListTokensFunction", evt).status == 200
