"""A crowd on one stream: its items spread over SHARDS partition keys, the stream's META item is
in no transaction (where concurrent admissions would conflict on it), and a revocation landing
while a one-time token is being used is never missed."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from streamauth.logic.sessions import credential_ref
from streamauth.logic.shards import SHARDS
from tests.conftest import Aws, FakeClock, call, event
from tests.integration.test_hooks import create_subscriber, hook, one_time
from tests.integration.test_tokens import issue, listing, validate
from tests.unit.test_hook_parsers import NGINX_PUBLISH


def partition_keys(aws: Aws) -> Counter[str]:
    items = aws.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    return Counter(item["pk"]["S"] for item in items)


def nginx_publish(token: str, client: int = 7, stream: str = "cam1") -> Any:
    body = NGINX_PUBLISH.replace("token=abc123", f"token={token}").replace("clientid=7", f"clientid={client}")
    return hook("NginxHookFunction", "hook_nginx", body.replace("name=cam1", f"name={stream}"))


def sessions(aws: Aws) -> list[dict[str, Any]]:
    items = aws.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    return [item for item in items if item["pk"]["S"].startswith("SESSIONS#")]


def revoke_on_first_read(aws: Aws, clock: FakeClock, stream: str) -> list[str]:
    """Between the token's use and the confirming read, the stream's tokens are revoked (by
    another client, as an operator's revocation would land)."""
    from streamauth.aws import dynamodb_client

    landed: list[str] = []

    def revoke(**_: Any) -> None:
        if landed:
            return
        aws.client("dynamodb").update_item(
            TableName=aws.table_name,
            Key={"pk": {"S": f"STREAM#{stream}"}, "sk": {"S": "META"}},
            UpdateExpression="SET revokedAtMs = :at, kind = :kind",
            ExpressionAttributeValues={":at": {"N": str(int(clock() * 1000))}, ":kind": {"S": "stream"}},
        )
        landed.append("revoked")

    dynamodb_client().meta.events.register("before-call.dynamodb.BatchGetItem", revoke)
    return landed


def test_a_crowds_tokens_and_subscribers_spread_over_the_shards(aws: Aws, clock: FakeClock) -> None:
    for _ in range(320):
        issue()
    for number in range(64):
        create_subscriber(f"viewer-{number:03d}", stream="stream1")
    keys = partition_keys(aws)
    tokens = {pk: count for pk, count in keys.items() if pk.startswith("TOKENS#stream1#")}
    subscribers = {pk: count for pk, count in keys.items() if pk.startswith("SUBS#stream1#")}
    assert len(tokens) == SHARDS and sum(tokens.values()) == 320
    assert max(tokens.values()) <= 320 / SHARDS * 2  # no shard takes twice its share
    assert len(subscribers) >= SHARDS - 2 and sum(subscribers.values()) == 64
    assert not [pk for pk in keys if pk == "STREAM#stream1"]  # nothing of the crowd under the stream's key


def test_listings_merge_the_shards_in_id_order(aws: Aws, clock: FakeClock) -> None:
    ids = sorted(issue()["tokenId"] for _ in range(40))
    assert [t["tokenId"] for t in listing(size=50).body] == ids
    assert [t["tokenId"] for t in listing(offset=13, size=7).body] == ids[13:20]
    names = [f"sub{n:02d}" for n in range(30)]
    for name in reversed(names):
        create_subscriber(name, stream="stream1")
    page = call(
        "ListSubscribersFunction",
        event("list_subscribers", pathParameters={"id": "stream1", "offset": "5", "size": "10"}),
    )
    assert [s["subscriberId"] for s in page.body] == names[5:15]
    deleted = call("DeleteSubscribersFunction", event("delete_subscribers", pathParameters={"id": "stream1"}))
    assert deleted.status == 200
    assert not [pk for pk in partition_keys(aws) if pk.startswith("SUBS#stream1#")]


def test_no_admission_puts_the_streams_item_in_a_transaction(aws: Aws, clock: FakeClock) -> None:
    """DynamoDB cancels a transaction that meets another ongoing transaction on one of its items:
    with the stream's META in every admission, a crowd's admissions would conflict with each other."""
    from streamauth.aws import dynamodb_client

    transactions: list[dict[str, Any]] = []
    dynamodb_client().meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems", lambda params, **_: transactions.append(params)
    )
    for client in range(5):
        assert nginx_publish(one_time(), client).status == 200
    create_subscriber("alice", limit=2)
    assert validate(issue()["tokenId"]) is True
    touched = [next(iter(entry.values())) for t in transactions for entry in t["TransactItems"]]
    keys = [action.get("Key") or action["Item"] for action in touched]
    assert transactions and all(key["sk"]["S"] != "META" for key in keys)


def test_a_revocation_landing_between_use_and_confirmation_refuses_and_leaves_no_session(
    aws: Aws, clock: FakeClock
) -> None:
    token = one_time()
    clock.advance(1)
    landed = revoke_on_first_read(aws, clock, "cam1")
    refused = nginx_publish(token)
    assert landed and refused.status == 403 and refused.body["reason"] == "revoked"
    assert sessions(aws) == []  # the session written with the token's use was withdrawn


def test_validate_token_meets_the_same_revocation_the_same_way(aws: Aws, clock: FakeClock) -> None:
    token = issue()["tokenId"]
    clock.advance(1)
    landed = revoke_on_first_read(aws, clock, "stream1")
    assert validate(token) is False and landed


def test_fifty_concurrent_admissions_racing_a_revocation_miss_nothing(aws: Aws, clock: FakeClock) -> None:
    """Every admission answered 200 has its session recorded (so the revocation's enforcer finds
    and ends it), no refused one leaves a session behind, and after the revocation stands no
    token issued before it is admitted."""
    tokens = [one_time() for _ in range(50)]
    clock.advance(1)
    barrier = threading.Barrier(51)
    answers: dict[int, int] = {}
    lock = threading.Lock()

    def admit(number: int) -> None:
        barrier.wait()
        status = nginx_publish(tokens[number], client=1000 + number).status
        with lock:
            answers[number] = status

    def revoke() -> None:
        barrier.wait()
        call("RevokeTokensFunction", event("revoke_tokens", pathParameters={"id": "cam1"}))

    threads = [threading.Thread(target=admit, args=(n,)) for n in range(50)] + [threading.Thread(target=revoke)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    admitted = {credential_ref(tokens[n]) for n, status in answers.items() if status == 200}
    assert set(answers.values()) <= {200, 403} and len(answers) == 50
    recorded = [item["credentialRef"]["S"] for item in sessions(aws)]
    assert sorted(recorded) == sorted(admitted)  # every admission has its session, no refusal left one
    assert nginx_publish(tokens[-1], client=5000).status == 403  # the revocation stands
