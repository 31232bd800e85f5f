"""A stream token issued by a service account dies with it (contract section 3: DELETE revokes):
deleting the account refuses its tokens at their next admission and ends the sessions they
opened at their next renew; an operator's tokens are untouched."""

from __future__ import annotations

from typing import Any

import jwt

from streamauth.store.tokens import token_key
from tests.conftest import Aws, FakeClock, call, event
from tests.integration.test_accounts_viewers import as_caller, authorize, create_account
from tests.integration.test_hooks import hook, one_time
from tests.integration.test_sharding import nginx_publish, sessions
from tests.integration.test_tokens import FUTURE, validate
from tests.unit.test_hook_parsers import NGINX_PUBLISH


def issue_as(context: dict[str, Any], kind: str = "token", stream: str = "cam1", action: str = "publish") -> str:
    function, sample = {
        "token": ("IssueTokenFunction", "issue_token"),
        "jwt": ("IssueJwtTokenFunction", "issue_jwt_token"),
    }[kind]
    query = {"expireDate": str(FUTURE), "type": action}
    reply = call(function, as_caller(sample, context, pathParameters={"id": stream}, queryStringParameters=query))
    assert reply.status == 200, reply.body
    return str(reply.body["tokenId"])


def renew(token: str, client: int) -> Any:
    body = NGINX_PUBLISH.replace("token=abc123", f"token={token}").replace("clientid=7", f"clientid={client}")
    return hook("NginxHookFunction", "hook_nginx", body.replace("call=publish", "call=update_publish"))


def delete_account(account_id: str) -> None:
    deleted = call("DeleteServiceAccountFunction", event("delete_service_account", pathParameters={"id": account_id}))
    assert deleted.status == 200, deleted.body


def test_the_issuer_is_recorded_on_the_token_and_never_shown(aws: Aws, clock: FakeClock) -> None:
    account = create_account(scopes=["tokens:write"])
    context = authorize(f"Token {account['key']}")
    token = issue_as(context)
    item = aws.client("dynamodb").get_item(TableName=aws.table_name, Key=token_key("cam1", token))["Item"]
    assert item["issuedBy"] == {"S": account["id"]}
    stream_jwt = issue_as(context, "jwt")
    assert jwt.decode(stream_jwt, options={"verify_signature": False})["sa"] == account["id"]
    operator = one_time()
    item = aws.client("dynamodb").get_item(TableName=aws.table_name, Key=token_key("cam1", operator))["Item"]
    assert "issuedBy" not in item


def test_deleting_a_service_account_kills_its_tokens_and_ends_their_sessions(aws: Aws, clock: FakeClock) -> None:
    account = create_account(scopes=["tokens:write"])
    context = authorize(f"Token {account['key']}")
    running_one_time, unused_one_time = issue_as(context), issue_as(context, stream="stream1")
    running_jwt, unused_jwt = issue_as(context, "jwt"), issue_as(context, "jwt", stream="stream1")
    operators = one_time()
    assert nginx_publish(running_one_time, client=1).status == 200
    assert nginx_publish(running_jwt, client=2).status == 200
    recorded = {item["credentialKind"]["S"]: item.get("account", {}).get("S") for item in sessions(aws)}
    assert recorded == {"token": account["id"], "jwt": account["id"]}  # renews will check it
    assert renew(running_one_time, 1).status == 200

    delete_account(account["id"])
    # a running session ends at its next renew, whatever its kind
    for token, client in ((running_one_time, 1), (running_jwt, 2)):
        refused = renew(token, client)
        assert refused.status == 403 and refused.body["reason"] == "account_deleted"
    # an unused one-time token is refused at once (its use is confirmed with a fresh read)
    assert validate(unused_one_time) is False
    # a JWT within the cache time (5 s, as for a stream's revocation), then refused
    clock.advance(6)
    assert validate(unused_jwt, stream="stream1") is False
    # the operator's tokens are the operator's
    assert nginx_publish(operators, client=3).status == 200


def test_a_deletion_landing_as_a_one_time_token_is_used_refuses_it(aws: Aws, clock: FakeClock) -> None:
    """The account is read after the token's use: a deletion landing between the two is seen,
    and the session written with the use is withdrawn."""
    from streamauth.aws import dynamodb_client

    account = create_account(scopes=["tokens:write"])
    token = issue_as(authorize(f"Token {account['key']}"))
    landed: list[bool] = []

    def delete_first(**_: Any) -> None:
        if not landed:
            landed.append(True)
            delete_account(account["id"])

    dynamodb_client().meta.events.register("before-call.dynamodb.BatchGetItem", delete_first)
    refused = nginx_publish(token, client=4)
    assert landed and refused.status == 403 and refused.body["reason"] == "account_deleted"
    assert sessions(aws) == []


def test_an_operators_one_time_token_still_costs_two_requests(aws: Aws, clock: FakeClock) -> None:
    from streamauth.aws import dynamodb_client

    token = one_time()
    seen: list[str] = []
    dynamodb_client().meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
    assert nginx_publish(token, client=5).status == 200
    assert seen == ["TransactWriteItems", "BatchGetItem"]


def test_a_room_token_of_a_deleted_account_no_longer_checks(aws: Aws, clock: FakeClock) -> None:
    account = create_account(scopes=["tokens:write"])
    context = authorize(f"Token {account['key']}")
    query = {"expireDate": str(FUTURE), "type": "publish", "roomId": "room1"}
    evt = as_caller("issue_token", context, pathParameters={"id": "stream1"}, queryStringParameters=query)
    room_token = call("IssueTokenFunction", evt).body["tokenId"]
    assert validate(room_token, roomId="room1") is True  # checked, not consumed
    delete_account(account["id"])
    clock.advance(6)
    assert validate(room_token, roomId="room1") is False


def test_an_admission_whose_issuer_record_fails_still_stands(aws: Aws, clock: FakeClock) -> None:
    """The account is written on the session after the admission: if that write fails, the
    client (whose token and account were good) is still admitted, once."""
    from streamauth.aws import dynamodb_client
    from tests.faults import Faults

    account = create_account(scopes=["tokens:write"])
    token = issue_as(authorize(f"Token {account['key']}"))
    Faults(dynamodb_client()).fail("UpdateItem", "throttle", times=4)
    assert nginx_publish(token, client=6).status == 200
    assert [item.get("account") for item in sessions(aws)] == [None]
    assert nginx_publish(token, client=6).status == 403
