"""Every write operation under DynamoDB's real failures (tests/faults.py): the caller is told
the truth, and nothing is half-written. Transaction conflicts are tried again; throttling and
timeouts past the SDK's retries are a 503 JSON with nothing applied; a write the SDK retries
after it was applied reports success once and is applied once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import T0, Aws, FakeClock, call, event
from tests.faults import Faults
from tests.integration.test_hooks import SECRET, code, connections, create_subscriber, hook
from tests.integration.test_tokens import FUTURE, issue, revoke, validate
from tests.unit.test_hook_parsers import NGINX_PUBLISH

SDK_ATTEMPTS = 4  # the layer's client: standard retry mode, max_attempts 3 retries after the first


@pytest.fixture
def faults(aws: Aws, clock: FakeClock) -> Iterator[Faults]:
    from streamauth.aws import dynamodb_client

    yield Faults(dynamodb_client())


def items(aws: Aws, prefix: str) -> list[dict[str, Any]]:
    scanned = aws.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    return [i for i in scanned if i["sk"]["S"].startswith(prefix) or i["pk"]["S"].startswith(prefix)]


def is_503(reply: Any) -> bool:
    return bool(reply.status == 503 and reply.body["success"] is False and reply.body["errorId"] == 503)


def issue_reply() -> Any:
    query = {"expireDate": str(FUTURE), "type": "publish"}
    return call(
        "IssueTokenFunction", event("issue_token", pathParameters={"id": "stream1"}, queryStringParameters=query)
    )


# -- one-time tokens -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["throttle", "timeout"])
def test_issue_past_the_sdk_retries_is_503_and_writes_nothing(aws: Aws, faults: Faults, kind: str) -> None:
    faults.fail("PutItem", kind, times=SDK_ATTEMPTS)
    assert is_503(issue_reply())
    assert items(aws, "TOKEN#") == []


def test_issue_within_the_sdk_retries_succeeds(aws: Aws, faults: Faults) -> None:
    faults.fail("PutItem", "throttle", times=SDK_ATTEMPTS - 1)
    assert issue_reply().status == 200
    assert faults.sent.count("PutItem") == SDK_ATTEMPTS


def test_issue_retried_after_it_was_applied_is_one_token(aws: Aws, faults: Faults) -> None:
    faults.fail("PutItem", "applied")
    reply = issue_reply()
    assert reply.status == 200, reply.body
    assert len(items(aws, "TOKEN#")) == 1
    assert validate(reply.body["tokenId"]) is True


def test_validate_conflict_is_tried_again(aws: Aws, faults: Faults) -> None:
    """Validate-token writes the token alone (an UpdateItem): meeting an ongoing transaction on
    it (a hook using the same token) is tried again."""
    token = issue()["tokenId"]
    faults.fail("UpdateItem", "conflict", times=SDK_ATTEMPTS - 1)
    assert validate(token) is True
    assert validate(token) is False


def test_validate_that_keeps_conflicting_is_503_and_consumes_nothing(aws: Aws, faults: Faults) -> None:
    token = issue()["tokenId"]
    faults.fail("UpdateItem", "conflict", times=5)
    body = {"tokenId": token, "streamId": "stream1", "type": "publish"}
    assert is_503(call("ValidateTokenFunction", event("validate_token", body=body)))
    assert validate(token) is True  # still unused


@pytest.mark.parametrize("kind", ["throttle", "timeout"])
def test_validate_past_the_sdk_retries_is_503_and_consumes_nothing(aws: Aws, faults: Faults, kind: str) -> None:
    token = issue()["tokenId"]
    faults.fail("UpdateItem", kind, times=SDK_ATTEMPTS)
    body = {"tokenId": token, "streamId": "stream1", "type": "publish"}
    assert is_503(call("ValidateTokenFunction", event("validate_token", body=body)))
    assert validate(token) is True


def test_validate_retried_after_it_was_applied_reports_the_success_once(aws: Aws, faults: Faults) -> None:
    token = issue()["tokenId"]
    faults.fail("UpdateItem", "applied")
    assert validate(token) is True
    assert validate(token) is False


@pytest.mark.parametrize("kind", ["throttle", "timeout"])
def test_confirming_read_that_fails_is_503_and_gives_the_token_back(aws: Aws, faults: Faults, kind: str) -> None:
    """The revocation is read after the token is used: if that read fails, the client is told
    503 and the token is unused again (nothing half-written)."""
    token = issue()["tokenId"]
    validate(issue()["tokenId"])  # the stream's state is cached: the next use reads it fresh
    faults.fail("BatchGetItem", kind, times=SDK_ATTEMPTS)
    body = {"tokenId": token, "streamId": "stream1", "type": "publish"}
    assert is_503(call("ValidateTokenFunction", event("validate_token", body=body)))
    assert validate(token) is True
    assert validate(token) is False


def test_revoke_retried_after_it_was_applied_stands(aws: Aws, faults: Faults, clock: FakeClock) -> None:
    token = issue()["tokenId"]
    clock.advance(1)
    faults.fail("UpdateItem", "applied")
    assert revoke().body["success"] is True
    assert validate(token) is False


def test_revoke_past_the_sdk_retries_is_503_and_revokes_nothing(aws: Aws, faults: Faults, clock: FakeClock) -> None:
    token = issue()["tokenId"]
    clock.advance(1)
    faults.fail("UpdateItem", "throttle", times=SDK_ATTEMPTS)
    assert is_503(revoke())
    assert validate(token) is True


# -- subscribers ---------------------------------------------------------------------------


def create_reply() -> Any:
    body = {"subscriberId": "alice", "type": "publish", "b32Secret": SECRET}
    return call("CreateSubscriberFunction", event("create_subscriber", pathParameters={"id": "cam1"}, body=body))


def subscriber_path(name: str, **changes: Any) -> dict[str, Any]:
    return event(name, pathParameters={"id": "cam1", "sid": "alice"}, **changes)


def test_create_subscriber_faults(aws: Aws, faults: Faults) -> None:
    faults.fail("TransactWriteItems", "throttle", times=SDK_ATTEMPTS)
    assert is_503(create_reply())
    assert items(aws, "SUB#") == []
    faults.fail("TransactWriteItems", "applied")
    assert create_reply().body["success"] is True
    assert len(items(aws, "SUB#")) == 1


def test_delete_subscriber_retried_after_it_was_applied_reports_success(aws: Aws, faults: Faults) -> None:
    assert create_reply().body["success"] is True
    faults.fail("TransactWriteItems", "throttle", times=SDK_ATTEMPTS)
    assert is_503(call("DeleteSubscriberFunction", subscriber_path("delete_subscriber")))
    assert len(items(aws, "SUB#")) == 1
    faults.fail("TransactWriteItems", "applied")
    assert call("DeleteSubscriberFunction", subscriber_path("delete_subscriber")).body["success"] is True
    assert items(aws, "SUB#") == []


def test_block_faults(aws: Aws, faults: Faults) -> None:
    assert create_reply().body["success"] is True
    body = {"blockedType": "publish", "seconds": 600}
    faults.fail("UpdateItem", "throttle", times=SDK_ATTEMPTS)
    assert is_503(call("BlockSubscriberFunction", subscriber_path("block_subscriber", body=body)))
    got = call("GetSubscriberFunction", subscriber_path("get_subscriber")).body
    assert got["blockedType"] is None
    faults.fail("UpdateItem", "applied")
    assert call("BlockSubscriberFunction", subscriber_path("block_subscriber", body=body)).body["success"] is True
    assert call("GetSubscriberFunction", subscriber_path("get_subscriber")).body["blockedType"] == "publish"


def verify_reply(clock: FakeClock, good: bool = True) -> Any:
    body = {"code": code(clock) if good else "000000", "type": "publish"}
    return call("VerifySubscriberCodeFunction", subscriber_path("verify_subscriber_code", body=body))


def counter(aws: Aws) -> int:
    profile = items(aws, "SUB#")[0]
    return int(profile.get("failures", {"N": "0"})["N"])


def test_verify_whose_reservation_was_applied_and_retried_counts_one_guess(
    aws: Aws, faults: Faults, clock: FakeClock
) -> None:
    assert create_reply().body["success"] is True
    faults.fail("UpdateItem", "applied")
    assert verify_reply(clock, good=False).body["success"] is False
    assert counter(aws) == 1  # not 2: the retried reservation was recognised as ours


def test_verify_whose_acceptance_was_applied_and_retried_reports_the_success(
    aws: Aws, faults: Faults, clock: FakeClock
) -> None:
    assert create_reply().body["success"] is True
    faults.fail("TransactWriteItems", "applied")
    assert verify_reply(clock).body["success"] is True
    assert counter(aws) == 0
    assert verify_reply(clock).body["message"] == "the code was already used"


def test_verify_when_the_store_fails_is_503_and_costs_no_guess(aws: Aws, faults: Faults, clock: FakeClock) -> None:
    assert create_reply().body["success"] is True
    faults.fail("UpdateItem", "throttle", times=SDK_ATTEMPTS)
    assert is_503(verify_reply(clock))
    assert counter(aws) == 0
    faults.fail("TransactWriteItems", "timeout", times=SDK_ATTEMPTS)
    assert is_503(verify_reply(clock))
    assert counter(aws) == 0  # the reservation was given back
    assert verify_reply(clock).body["success"] is True  # and the code was not used


# -- hooks and sessions --------------------------------------------------------------------


def test_hook_admission_under_faults(aws: Aws, faults: Faults, clock: FakeClock) -> None:
    from tests.integration.test_hooks import one_time

    token = one_time()
    body = NGINX_PUBLISH.replace("token=abc123", f"token={token}")
    faults.fail("TransactWriteItems", "throttle", times=SDK_ATTEMPTS)
    assert is_503(hook("NginxHookFunction", "hook_nginx", body))
    assert items(aws, "SESSIONS#") == []
    faults.fail("TransactWriteItems", "conflict")
    faults.fail("TransactWriteItems", "applied")
    assert hook("NginxHookFunction", "hook_nginx", body).status == 200
    assert len(items(aws, "SESSIONS#")) == 1
    assert hook("NginxHookFunction", "hook_nginx", body).status == 403  # consumed once


def test_hook_admission_whose_confirming_read_fails_leaves_no_session(
    aws: Aws, faults: Faults, clock: FakeClock
) -> None:
    from tests.integration.test_hooks import one_time

    token = one_time()
    body = NGINX_PUBLISH.replace("token=abc123", f"token={token}")
    from streamauth.service.streams import stream_service

    stream_service().state("cam1", clock())  # cached: the hook's one read is the confirming one
    faults.fail("BatchGetItem", "throttle", times=SDK_ATTEMPTS)
    assert is_503(hook("NginxHookFunction", "hook_nginx", body))
    assert items(aws, "SESSIONS#") == []
    assert hook("NginxHookFunction", "hook_nginx", body).status == 200  # the token was given back


def test_subscriber_admission_under_faults(aws: Aws, faults: Faults, clock: FakeClock) -> None:
    create_subscriber(limit=1)
    body = f"app=live&addr=10.0.0.1&clientid=1&call=publish&name=cam1&subscriberId=alice&subscriberCode={code(clock)}"
    faults.fail("TransactWriteItems", "throttle", times=SDK_ATTEMPTS)
    assert is_503(hook("NginxHookFunction", "hook_nginx", body))
    assert connections() == 0
    faults.fail("TransactWriteItems", "applied")
    assert hook("NginxHookFunction", "hook_nginx", body).status == 200
    assert connections() == 1
    renew = body.replace("call=publish", "call=update_publish")
    faults.fail("UpdateItem", "applied")
    assert hook("NginxHookFunction", "hook_nginx", renew).status == 200
    done = body.replace("call=publish", "call=publish_done")
    faults.fail("DeleteItem", "throttle", times=SDK_ATTEMPTS)
    assert is_503(hook("NginxHookFunction", "hook_nginx", done))
    assert connections() == 1  # nothing freed by the failed done: nginx-rtmp ignores its answer; the lease expires
    assert hook("NginxHookFunction", "hook_nginx", done).status == 200
    assert connections() == 0


def test_public_viewers_switch_retried_after_it_was_applied(aws: Aws, faults: Faults) -> None:
    faults.fail("UpdateItem", "applied")
    evt = event("set_public_viewers", pathParameters={"id": "s1"}, body={"enabled": True})
    assert call("SetPublicViewersFunction", evt).body["success"] is True


# -- service accounts and events ----------------------------------------------------------


def test_service_account_writes_retried_after_they_were_applied(aws: Aws, faults: Faults) -> None:
    faults.fail("TransactWriteItems", "applied")
    created = call("CreateServiceAccountFunction", event("create_service_account", body={"name": "ci"}))
    assert created.status == 201
    assert len(items(aws, "SA#")) == 1 and len(items(aws, "SAKEY#")) == 1
    account = created.body["id"]
    faults.fail("TransactWriteItems", "applied")
    rotated = call("RotateServiceAccountFunction", event("rotate_service_account", pathParameters={"id": account}))
    assert rotated.status == 200 and len(items(aws, "SAKEY#")) == 1
    faults.fail("TransactWriteItems", "applied")
    deleted = call("DeleteServiceAccountFunction", event("delete_service_account", pathParameters={"id": account}))
    assert deleted.body["success"] is True
    assert items(aws, "SA") == []


def test_an_event_whose_marker_write_was_applied_and_retried_is_applied_once(
    aws: Aws, faults: Faults, clock: FakeClock
) -> None:
    from tests.integration.test_events import EVENT_TIME, consume, sample

    clock.now = EVENT_TIME + 10
    faults.fail("PutItem", "applied", when=lambda body: body["Item"]["sk"]["S"] == "EVENT")
    assert consume(sample("revoke_stream_tokens.json")) == {"outcome": "applied"}
    assert consume(sample("revoke_stream_tokens.json")) == {"outcome": "duplicate"}


def test_the_injector_is_itself_honest(aws: Aws, faults: Faults) -> None:
    """A fault armed for one operation does not touch another, and is used up."""
    fault = faults.fail("DeleteItem", "throttle", times=SDK_ATTEMPTS)
    assert issue_reply().status == 200
    assert fault.hits == 0
    assert json.dumps(faults.sent) == '["PutItem"]'
    assert T0 > 0


def test_a_placeholder_no_expression_uses_is_refused_as_dynamodb_refuses_it(aws: Aws) -> None:
    """The tests' and the local API's DynamoDB (moto) is strict where DynamoDB is and moto is not
    (localapi/atomic.py): a request naming an ExpressionAttributeValue or Name no expression
    uses is a ValidationException, in a transaction's part too."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as refused:
        aws.client("dynamodb").update_item(
            TableName=aws.table_name,
            Key={"pk": {"S": "p"}, "sk": {"S": "s"}},
            UpdateExpression="SET a = :a",
            ExpressionAttributeValues={":a": {"N": "1"}, ":unused": {"N": "2"}},
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as refused_part:
        aws.client("dynamodb").transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": aws.table_name,
                        "Key": {"pk": {"S": "p"}, "sk": {"S": "s"}},
                        "UpdateExpression": "SET a = :a",
                        "ExpressionAttributeNames": {"#unused": "b"},
                        "ExpressionAttributeValues": {":a": {"N": "1"}},
                    }
                }
            ]
        )
    assert refused_part.value.response["Error"]["Code"] == "ValidationException"
    assert "a" not in aws.client("dynamodb").get_item(
        TableName=aws.table_name, Key={"pk": {"S": "p"}, "sk": {"S": "s"}}
    ).get("Item", {})
    aws.client("dynamodb").update_item(  # the same request without it is taken
        TableName=aws.table_name,
        Key={"pk": {"S": "p"}, "sk": {"S": "s"}},
        UpdateExpression="SET a = :a",
        ExpressionAttributeValues={":a": {"N": "1"}},
    )
