"""Events both ways: commands from events/*.json change the store (idempotently, bad ones
dead-lettered), and hand-built DynamoDB Stream records become typed events on the bus."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.conftest import EVENTS, Aws, FakeClock, LambdaContext, call, event, load_function

EVENT_TIME = 1795420800.0  # the samples' "time": 2026-11-23T08:00:00Z


def sample(name: str, **detail: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    data = copy.deepcopy(data)
    data["detail"].update(detail)
    return data


def consume(evt: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = load_function("EventConsumerFunction").lambda_handler(evt, LambdaContext())
    return reply


def dead_letters(aws: Aws) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    messages = sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


@pytest.fixture
def at_event_time(clock: FakeClock) -> FakeClock:
    clock.now = EVENT_TIME + 10
    return clock


def subscriber(sid: str = "alice", stream: str = "stream1") -> Any:
    return call("GetSubscriberFunction", event("get_subscriber", pathParameters={"id": stream, "sid": sid}))


def create_subscriber(clock: FakeClock, sid: str = "alice") -> None:
    """Created (over HTTP) a minute before the sample events' time, so they are newer."""
    body = {"subscriberId": sid, "type": "publish", "b32Secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}
    now = clock.now
    clock.now = EVENT_TIME - 60
    assert call("CreateSubscriberFunction", event("create_subscriber", body=body)).body["success"] is True
    clock.now = now


def test_revoke_stream_tokens_event(aws: Aws, at_event_time: FakeClock) -> None:
    from streamauth.models.tokens import TokenRequest, ValidateRequest
    from streamauth.service.tokens import token_service

    token = token_service().issue_one_time(
        TokenRequest("stream1", int(EVENT_TIME) + 3600, "play", None), EVENT_TIME - 60
    )
    assert consume(sample("revoke_stream_tokens.json")) == {"outcome": "applied"}
    request = ValidateRequest(token.token_id, "stream1", "play", None)
    assert token_service().validate(request, at_event_time()) is False


def test_block_unblock_delete_subscriber_events(aws: Aws, at_event_time: FakeClock) -> None:
    create_subscriber(at_event_time)
    assert consume(sample("block_subscriber_event.json"))["outcome"] == "applied"
    body = subscriber().body
    assert body["blockedType"] == "publish"
    assert body["blockedUntilUnitTimeStampMs"] == int(EVENT_TIME * 1000) + 600_000  # from the event's own time
    unblock = sample("unblock_subscriber_event.json")
    unblock["time"] = "2026-11-23T08:00:01Z"  # a second after the block
    assert consume(unblock)["outcome"] == "applied"
    assert subscriber().body["blockedType"] is None
    delete = sample("delete_subscriber_event.json")
    delete["time"] = "2026-11-23T08:00:02Z"
    assert consume(delete)["outcome"] == "applied"
    assert subscriber().status == 404


def test_revoke_service_account_event(aws: Aws, at_event_time: FakeClock) -> None:
    from streamauth.models.accounts import CreateAccountRequest
    from streamauth.models.principals import operator
    from streamauth.service.accounts import account_service

    account, _ = account_service().create(CreateAccountRequest.parse({"name": "ci"}), at_event_time(), operator())
    assert consume(sample("revoke_service_account.json", id=account.id))["outcome"] == "applied"
    assert account_service().list() == []


def test_stream_ended_revokes_and_ends_its_sessions(aws: Aws, at_event_time: FakeClock) -> None:
    from streamauth.models.hooks import parse_nginx
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.access import access_service
    from streamauth.service.sessions import session_service
    from streamauth.service.tokens import token_service

    request = TokenRequest("stream1", int(EVENT_TIME) + 3600, "publish", None)
    jwt_token = token_service().issue_jwt(request, EVENT_TIME - 60)
    hook = parse_nginx(f"app=live&addr=10.0.0.1&clientid=1&call=publish&name=stream1&token={jwt_token.token_id}")
    assert hook is not None and access_service().decide(hook, at_event_time()).allow
    assert len(session_service().list("stream1", at_event_time())) == 1
    assert consume(sample("stream_ended.json"))["outcome"] == "applied"
    assert session_service().list("stream1", at_event_time()) == []  # its JWT was issued before the event
    access_service().end(hook)  # a late done hook is harmless: nothing comes back
    assert session_service().list("stream1", at_event_time()) == []
    assert access_service().renew(hook, at_event_time()).reason == "session_not_found"


def test_same_event_twice_has_the_effect_of_once(aws: Aws, at_event_time: FakeClock) -> None:
    create_subscriber(at_event_time)
    block = sample("block_subscriber_event.json")
    assert consume(block)["outcome"] == "applied"
    call("UnblockSubscriberFunction", event("unblock_subscriber"))  # an operator lifts the block
    assert consume(block)["outcome"] == "duplicate"  # redelivered: not applied again
    assert subscriber().body["blockedType"] is None


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.pop("detail"), "detail"),
        (lambda e: e.update({"detail-type": "FormatDisk"}), "detail-type"),
        (lambda e: e["detail"].update({"streamId": "a/b"}), "detail.streamId"),
        (lambda e: e["detail"].pop("streamId"), "detail.streamId"),
        (lambda e: e.update({"time": "yesterday"}), "time"),
        (lambda e: e.update({"time": "2026-11-23T08:01:11Z"}), "time"),  # more than 60 s in the future
        (lambda e: e.pop("id"), "id"),
        (lambda e: e.update({"source": "com.example.anyone"}), "source"),  # not in AllowedEventSources
        (lambda e: e.update({"source": "streamauth"}), "source"),  # our own announcements are never commands
        (lambda e: e.pop("source"), "source"),
    ],
)
def test_malformed_commands_are_dead_lettered_not_raised(
    aws: Aws, at_event_time: FakeClock, mutate: Any, reason: str
) -> None:
    evt = sample("revoke_stream_tokens.json")
    mutate(evt)
    reply = consume(evt)
    assert reply["outcome"] == "dead-lettered" and reply["reason"].startswith(reason)
    parked = dead_letters(aws)
    assert len(parked) == 1 and parked[0]["reason"] == reply["reason"]


@pytest.mark.parametrize(
    ("detail", "reason"),
    [
        ({"seconds": -1}, "detail.seconds"),
        ({"blockedType": "all"}, "detail.blockedType"),
        ({"subscriberId": "x"}, "detail.subscriberId"),
    ],
)
def test_malformed_block_commands(aws: Aws, at_event_time: FakeClock, detail: dict[str, Any], reason: str) -> None:
    reply = consume(sample("block_subscriber_event.json", **detail))
    assert reply["outcome"] == "dead-lettered" and reply["reason"].startswith(reason)


def test_store_outage_raises_so_lambda_retries(aws: Aws, at_event_time: FakeClock) -> None:
    from botocore.exceptions import ClientError

    from streamauth.aws import dynamodb_client
    from streamauth.errors import StoreUnavailable

    def throttle(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, "UpdateItem")

    dynamodb_client().meta.events.register("before-call.dynamodb.UpdateItem", throttle)
    with pytest.raises(StoreUnavailable):
        consume(sample("revoke_stream_tokens.json"))
    assert dead_letters(aws) == []


def test_a_stale_revocation_event_never_lowers_the_revocation_time(aws: Aws, at_event_time: FakeClock) -> None:
    """Finding 1: a RevokeStreamTokens delivered late (or put with an old Time) must not make
    tokens revoked over HTTP valid again."""
    from streamauth.models.tokens import TokenRequest, ValidateRequest
    from streamauth.service.tokens import token_service

    tokens = token_service()
    jwt_token = tokens.issue_jwt(TokenRequest("stream1", int(EVENT_TIME) + 3600, "play", None), EVENT_TIME + 5)
    assert call("RevokeTokensFunction", event("revoke_tokens", pathParameters={"id": "stream1"})).status == 200
    stale = sample("revoke_stream_tokens.json")  # dated EVENT_TIME: 10 s before the HTTP revocation
    assert consume(stale)["outcome"] == "stale"
    request = ValidateRequest(jwt_token.token_id, "stream1", "play", None)
    at_event_time.advance(6)  # past the revocation cache
    assert tokens.validate(request, at_event_time()) is False
    from streamauth.service.streams import stream_service

    assert stream_service().fresh_state("stream1", EVENT_TIME + 20).revoked_at_ms == int((EVENT_TIME + 10) * 1000)


@pytest.mark.parametrize(
    ("command", "after"),
    [("block_subscriber_event.json", "publish"), ("unblock_subscriber_event.json", None)],
)
def test_an_older_block_or_unblock_is_acknowledged_and_not_applied(
    aws: Aws, at_event_time: FakeClock, command: str, after: str | None
) -> None:
    """Finding 1: an old BlockSubscriber/UnblockSubscriber must not override a newer change."""
    create_subscriber(at_event_time)
    if after is None:  # the newer change (over HTTP, now): a block, which an old unblock must not lift
        body = {"blockedType": "publish", "seconds": 600}
        assert call("BlockSubscriberFunction", event("block_subscriber", body=body)).body["success"] is True
    else:  # the newer change: an unblock, which an old block must not undo
        assert call("UnblockSubscriberFunction", event("unblock_subscriber")).body["success"] is True
    before = subscriber().body
    assert consume(sample(command))["outcome"] == "stale"
    assert subscriber().body == before
    assert subscriber().body["blockedType"] == ("publish" if after is None else None)


def test_an_older_delete_event_does_not_delete_a_subscriber_created_since(aws: Aws, at_event_time: FakeClock) -> None:
    body = {"subscriberId": "alice", "type": "publish"}
    assert call("CreateSubscriberFunction", event("create_subscriber", body=body)).body["success"] is True
    assert consume(sample("delete_subscriber_event.json"))["outcome"] == "stale"
    assert subscriber().status == 200


def published(aws: Aws) -> list[dict[str, Any]]:
    from streamauth.aws import events_client

    entries: list[dict[str, Any]] = []
    events_client().meta.events.register(
        "provide-client-params.events.PutEvents", lambda params, **_: entries.extend(params["Entries"])
    )
    return entries


def publish(batch: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = load_function("ChangePublisherFunction").lambda_handler(batch, LambdaContext())
    return reply


def test_stream_records_become_typed_events_without_secrets(aws: Aws, clock: FakeClock) -> None:
    entries = published(aws)
    batch = json.loads((EVENTS / "change_publisher.json").read_text())
    assert publish(batch) == {"batchItemFailures": []}
    types = [e["DetailType"] for e in entries]
    assert types == [
        "TokenCreated",
        "TokenConsumed",
        "TokensRevoked",
        "TokenExpired",
        "SubscriberCreated",
        "SubscriberBlocked",
        "SubscriberDeleted",
        "SessionStarted",
        "SessionEnded",
    ]
    assert {e["Source"] for e in entries} == {"streamauth"} and {e["EventBusName"] for e in entries} == {aws.bus_name}
    details = [json.loads(e["Detail"]) for e in entries]
    assert details[0] == {
        "streamId": "stream1",
        "type": "publish",
        "tokenRef": details[0]["tokenRef"],
        "expireDate": 1795424400,
    }
    assert details[1]["tokenRef"] == details[0]["tokenRef"] == details[3]["tokenRef"]
    assert details[2] == {"streamId": "stream1", "revokedAtMs": 1795420900000}
    assert details[5]["blockedType"] == "publish" and details[5]["blockedUntilUnitTimeStampMs"] == 1795421400000
    assert details[8]["reason"] == "expired"
    everything = json.dumps(details)
    assert "tok-abc" not in everything and "v1.sealed" not in everything and "consumedBy" not in everything


def test_only_ttl_removal_of_a_token_is_token_expired(aws: Aws, clock: FakeClock) -> None:
    entries = published(aws)
    batch = json.loads((EVENTS / "change_publisher.json").read_text())
    ttl_removal = batch["Records"][3]
    manual = copy.deepcopy(ttl_removal)
    del manual["userIdentity"]
    publish({"Records": [manual]})
    assert entries == []
    publish({"Records": [ttl_removal]})
    assert [e["DetailType"] for e in entries] == ["TokenExpired"]


def test_one_failing_record_is_reported_alone(aws: Aws, clock: FakeClock) -> None:
    from streamauth.aws import events_client

    def refuse_subscriber_events(params: dict[str, Any], **_: Any) -> None:
        if any(e["DetailType"].startswith("Subscriber") for e in params["Entries"]):
            raise RuntimeError("EventBridge is down for subscribers")

    events_client().meta.events.register("provide-client-params.events.PutEvents", refuse_subscriber_events)
    batch = json.loads((EVENTS / "change_publisher.json").read_text())
    reply = publish(batch)
    failed = [f["itemIdentifier"] for f in reply["batchItemFailures"]]
    sequence = {r["dynamodb"]["SequenceNumber"]: r["eventName"] for r in batch["Records"]}
    assert failed and all(sequence[f] in ("INSERT", "MODIFY", "REMOVE") for f in failed)
    assert failed == [batch["Records"][i]["dynamodb"]["SequenceNumber"] for i in (4, 5, 6)]


def test_the_real_table_stream_carries_what_the_publisher_expects(aws: Aws, clock: FakeClock) -> None:
    """moto's own stream records of a real token lifecycle translate into the same events."""
    from streamauth.models.tokens import TokenRequest, ValidateRequest
    from streamauth.service.tokens import token_service
    from streamauth.store.changes import changes

    token = token_service().issue_one_time(TokenRequest("stream1", int(clock()) + 600, "publish", None), clock())
    token_service().validate(ValidateRequest(token.token_id, "stream1", "publish", None), clock())
    token_service().revoke_all("stream1", clock() + 1)
    import boto3

    # botocore's newer default host for this service is not one moto intercepts: name the classic one
    streams = boto3.client(
        "dynamodbstreams", region_name="us-east-1", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com"
    )
    arn = aws.client("dynamodb").describe_table(TableName=aws.table_name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    found = [c.detail_type for r in records for c in changes(json.loads(json.dumps(r, default=str)))]
    assert found == ["TokenCreated", "TokenConsumed", "TokensRevoked"]
