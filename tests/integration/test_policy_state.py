"""Access policies' stateful half through the real handlers and services: maxSessions (live
sessions of one credential), bindOnFirstUse (the first N client addresses) and sharing detection
(distinct addresses within a window → CredentialSharingSuspected and the stream's action).

Adversarial: 50 concurrent admissions of one JWT, 50 concurrent first uses from 50 addresses,
DynamoDB failures injected at the botocore level (tests/faults.py), the clock controlled."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import Aws, FakeClock, call, event
from tests.faults import Faults
from tests.integration.test_cloudfront import cdn, keys  # noqa: F401  (the CloudFront deployment's fixtures)
from tests.integration.test_hooks import code, create_subscriber, hook
from tests.integration.test_policies import issue, nginx, put_policy

RACERS = 50


def sessions(stream: str = "cam1") -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = call(
        "ListSessionsFunction", event("list_sessions", pathParameters={"id": stream})
    ).body
    return listed


def jwt(**policy: str) -> str:
    return issue("IssueJwtTokenFunction", "issue_jwt_token", **policy)


def decide_all(bodies: list[str], clock: FakeClock) -> list[Any]:
    """Every nginx-rtmp admission at once (threads released together), through the one decision."""
    from streamauth.models.hooks import parse_nginx
    from streamauth.service.access import access_service

    barrier = threading.Barrier(len(bodies))

    def one(body: str) -> Any:
        request = parse_nginx(body)
        assert request is not None
        service = access_service()
        barrier.wait()
        return service.decide(request, clock())

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(one, bodies))


def nginx_body(token: str, client: int, addr: str = "127.0.0.1", call_: str = "publish") -> str:
    return f"app=live&addr={addr}&clientid={client}&call={call_}&name=cam1&type=live&token={token}"


def requests(aws: Aws) -> list[str]:
    """Every DynamoDB operation the layer's client sends from now on."""
    from streamauth.aws import dynamodb_client

    seen: list[str] = []
    dynamodb_client().meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
    return seen


WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


def writes(seen: list[str]) -> int:
    return sum(seen.count(name) for name in WRITES)


@pytest.fixture
def faults(aws: Aws, clock: FakeClock) -> Iterator[Faults]:
    from streamauth.aws import dynamodb_client

    yield Faults(dynamodb_client())


# -- maxSessions ---------------------------------------------------------------------------------
def test_a_jwts_max_sessions_refuses_past_n_and_each_way_a_session_ends_frees_a_slot(
    aws: Aws, clock: FakeClock
) -> None:
    token = jwt(maxSessions="2")
    assert nginx(token, client=1).status == 200
    assert nginx(token, client=2).status == 200
    third = nginx(token, client=3)
    assert third.status == 403 and third.body["reason"] == "too_many_sessions"
    ids = sorted(s["sessionId"] for s in sessions())
    assert len(ids) == 2 and all(i.startswith("!") for i in ids)  # the credential's own slots
    # a renew finds its session in the credential's partition and keeps it
    assert nginx(token, client=1, call_="update_publish").status == 200
    # 1. the done hook frees its slot
    assert nginx(token, client=1, call_="publish_done").body["reason"] == "ended"
    assert nginx(token, client=3).status == 200
    assert nginx(token, client=4).body["reason"] == "too_many_sessions"
    # 2. the operator's end frees a slot (and the ended identity is never admitted again)
    ended = next(s for s in sessions() if s["serverSessionId"] and s["serverSessionId"].endswith("3"))
    reply = call(
        "EndSessionFunction", event("end_session", pathParameters={"id": "cam1", "sessionId": ended["sessionId"]})
    )
    assert reply.status == 200 and reply.body["success"] is True
    assert nginx(token, client=3).body["reason"] == "session_ended"
    assert nginx(token, client=4).status == 200
    # 3. a lease that lapses (no renew) frees its slot
    clock.advance(91)
    assert nginx(token, client=5).status == 200
    assert nginx(token, client=6).status == 200
    assert nginx(token, client=7).body["reason"] == "too_many_sessions"


@pytest.mark.parametrize("cap", [3, 10])
def test_fifty_concurrent_admissions_of_one_jwt_admit_exactly_max_sessions(
    aws: Aws, clock: FakeClock, cap: int
) -> None:
    token = jwt(maxSessions=str(cap))
    decisions = decide_all([nginx_body(token, n, f"10.0.0.{n}") for n in range(RACERS)], clock)
    assert [d.allow for d in decisions].count(True) == cap
    assert {d.reason for d in decisions if not d.allow} == {"too_many_sessions"}
    assert len(sessions()) == cap


def test_fifty_concurrent_admissions_with_max_sessions_one_admit_one(aws: Aws, clock: FakeClock) -> None:
    token = jwt(maxSessions="1")
    decisions = decide_all([nginx_body(token, n) for n in range(RACERS)], clock)
    assert [d.allow for d in decisions].count(True) == 1
    assert len(sessions()) == 1


def test_the_stream_policys_max_sessions_counts_each_jwt_apart(aws: Aws, clock: FakeClock) -> None:
    put_policy("cam1", {"maxSessions": 1})
    first, second = jwt(), jwt(maxSessions="5")  # a credential's own cap cannot widen its stream's
    assert nginx(first, client=1).status == 200
    assert nginx(first, client=2).body["reason"] == "too_many_sessions"
    assert nginx(second, client=3).status == 200
    assert nginx(second, client=4).body["reason"] == "too_many_sessions"


def test_max_sessions_costs_no_extra_write_and_one_read_above_one(aws: Aws, clock: FakeClock) -> None:
    plain, capped_one, capped = jwt(), jwt(maxSessions="1"), jwt(maxSessions="4")
    seen = requests(aws)
    assert nginx(plain, client=1).status == 200
    baseline = list(seen)
    seen.clear()
    assert nginx(capped_one, client=2).status == 200
    assert writes(seen) == writes(baseline) == 1 and seen.count("Query") == baseline.count("Query")
    seen.clear()
    assert nginx(capped, client=3).status == 200
    assert writes(seen) == 1 and seen.count("Query") == baseline.count("Query") + 1  # which slot is free


def test_a_subscriber_is_capped_by_the_lower_of_its_limit_and_max_sessions(aws: Aws, clock: FakeClock) -> None:
    from tests.integration.test_hooks import nginx_subscriber

    create_subscriber(limit=5)
    put_policy("cam1", {"maxSessions": 1})
    assert nginx_subscriber(clock, client=1).status == 200
    clock.advance(60)  # a fresh code
    assert nginx_subscriber(clock, client=2).body["reason"] == "too_many_sessions"
    put_policy("cam1", {"maxSessions": 9})
    create_subscriber("bobby", limit=1)
    assert nginx_subscriber(clock, client=3, sid="bobby").status == 200
    clock.advance(60)
    assert nginx_subscriber(clock, client=4, sid="bobby").body["reason"] == "connection_limit"


def test_a_session_write_that_fails_is_503_and_holds_no_slot(aws: Aws, clock: FakeClock, faults: Faults) -> None:
    token = jwt(maxSessions="1")
    faults.fail("PutItem", "throttle", times=4)
    failed = nginx(token, client=1)
    assert failed.status == 503
    assert sessions() == []
    assert nginx(token, client=2).status == 200  # the slot was never taken


def test_a_session_write_applied_but_its_answer_lost_is_one_session(aws: Aws, clock: FakeClock, faults: Faults) -> None:
    token = jwt(maxSessions="1")
    faults.fail("PutItem", "applied")
    assert nginx(token, client=1).status == 200  # the SDK's retry meets its own record
    assert len(sessions()) == 1


def test_a_forged_partition_owner_is_no_session_id_and_no_hook_subscriber(aws: Aws, clock: FakeClock) -> None:
    """A counted JWT's sessions are `!<ref>~<slot>`: `!` is no character of a subscriber id the
    hooks take, so no subscriber (stored or derived) can hold a JWT's slots."""
    token = jwt(maxSessions="1")
    assert nginx(token, client=1).status == 200
    owner = sessions()[0]["sessionId"].split("~")[0]
    forged = nginx_body("", 2).replace("&token=", f"&subscriberId={owner}&subscriberCode=123456")
    reply = hook("NginxHookFunction", "hook_nginx", forged)
    assert reply.status in (400, 403)
    assert len(sessions()) == 1
    bad = call("EndSessionFunction", event("end_session", pathParameters={"id": "cam1", "sessionId": "!xyz~0"}))
    assert bad.status == 400


_ = code  # the subscriber helpers' TOTP, used through nginx_subscriber


# -- bindOnFirstUse ------------------------------------------------------------------------------
def uses_item(aws: Aws) -> dict[str, Any]:
    items = aws.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    found: list[dict[str, Any]] = [i for i in items if i["pk"]["S"].startswith("USES#")]
    assert len(found) == 1, found
    return found[0]


def test_bind_on_first_use_admits_the_first_n_addresses_only(aws: Aws, clock: FakeClock) -> None:
    token = jwt(bindOnFirstUse="2", type="play")
    play = "play"
    assert nginx(token, addr="127.0.0.1", client=1, call_=play).status == 200
    assert nginx(token, addr="::ffff:127.0.0.2", client=2, call_=play).status == 200  # 127.0.0.2, as IPv6 sees it
    third = nginx(token, addr="127.0.0.3", client=3, call_=play)
    assert third.status == 403 and third.body["reason"] == "bound_elsewhere"
    seen = requests(aws)
    assert nginx(token, addr="127.0.0.2", client=4, call_=play).status == 200  # a bound address returns
    assert writes(seen) == 1 and seen.count("GetItem") == 1  # the session's write; the uses item read, not written
    item = uses_item(aws)
    assert set(item["bound"]["SS"]) == {"127.0.0.1", "127.0.0.2"}
    from streamauth.logic.signing import LEEWAY

    assert int(item["expiresAt"]["N"]) == int(clock()) + 3600 + LEEWAY  # gone with the JWT
    assert token not in str(item)  # its reference, never the token


def test_fifty_concurrent_first_uses_from_fifty_addresses_bind_exactly_n(aws: Aws, clock: FakeClock) -> None:
    token = jwt(bindOnFirstUse="3")
    decisions = decide_all([nginx_body(token, n, f"10.0.1.{n}") for n in range(RACERS)], clock)
    assert [d.allow for d in decisions].count(True) == 3
    assert {d.reason for d in decisions if not d.allow} == {"bound_elsewhere"}
    assert len(uses_item(aws)["bound"]["SS"]) == 3


def test_bind_on_first_use_with_no_address_known_is_refused(aws: Aws, clock: FakeClock) -> None:
    from streamauth.models.hooks import parse_antmedia
    from streamauth.service.access import access_service
    from tests.unit.test_hook_parsers import ANTMEDIA_PUBLISH

    put_policy("cam1", {"bindOnFirstUse": 1})
    token = jwt()
    request = parse_antmedia(ANTMEDIA_PUBLISH.replace("abc123", token).replace(", subscriberId=bob", ""))
    assert request is not None and request.client_ip is None
    assert access_service().decide(request, clock()).reason == "address_not_bindable"


def test_a_subscriber_is_bound_and_a_subscriber_created_anew_is_not(aws: Aws, clock: FakeClock) -> None:
    from tests.integration.test_hooks import nginx_subscriber

    create_subscriber(limit=5)
    put_policy("cam1", {"bindOnFirstUse": 1})
    assert nginx_subscriber(clock, client=1, addr="127.0.0.1").status == 200
    clock.advance(60)
    refused = nginx_subscriber(clock, client=2, addr="127.0.0.2")
    assert refused.body["reason"] == "bound_elsewhere"
    clock.advance(60)
    assert nginx_subscriber(clock, client=3, addr="127.0.0.2").body["reason"] == "bound_elsewhere"  # no guess spent
    deleted = call(
        "DeleteSubscriberFunction", event("delete_subscriber", pathParameters={"id": "cam1", "sid": "alice"})
    )
    assert deleted.status == 200
    clock.advance(1)
    create_subscriber(limit=5)
    clock.advance(60)
    assert nginx_subscriber(clock, client=4, addr="127.0.0.2").status == 200  # another subscriber, its own binding


def test_a_bind_write_that_fails_is_503_binds_nothing_and_admits_nothing(
    aws: Aws, clock: FakeClock, faults: Faults
) -> None:
    token = jwt(bindOnFirstUse="1")
    faults.fail("UpdateItem", "throttle", times=4)
    assert nginx(token, addr="127.0.0.1", client=1).status == 503
    assert sessions() == []
    assert nginx(token, addr="127.0.0.2", client=2).status == 200  # nothing was bound
    assert nginx(token, addr="127.0.0.1", client=3).body["reason"] == "bound_elsewhere"


def test_a_bind_write_applied_but_its_answer_lost_binds_once(aws: Aws, clock: FakeClock, faults: Faults) -> None:
    token = jwt(bindOnFirstUse="1")
    faults.fail("UpdateItem", "applied")
    assert nginx(token, addr="127.0.0.1", client=1).status == 200  # its retry meets its own address
    assert uses_item(aws)["bound"]["SS"] == ["127.0.0.1"]


# -- sharing detection ---------------------------------------------------------------------------
def stream_records(aws: Aws) -> list[dict[str, Any]]:
    """moto's own table stream, from its start, as a Lambda event source hands it over."""
    import json

    import boto3

    streams = boto3.client(
        "dynamodbstreams", region_name="us-east-1", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com"
    )
    arn = aws.client("dynamodb").describe_table(TableName=aws.table_name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
    return [json.loads(json.dumps(r, default=str)) for r in records]


def stream_changes(aws: Aws) -> list[Any]:
    """The events the change publisher makes of the table's stream."""
    from streamauth.store.changes import changes

    return [c for r in stream_records(aws) for c in changes(r)]


def suspicions(aws: Aws) -> list[dict[str, Any]]:
    return [c.detail for c in stream_changes(aws) if c.detail_type == "CredentialSharingSuspected"]


def sharing(action: str, **more: Any) -> None:
    reply = put_policy("cam1", {"sharing": {"addresses": 2, "windowSeconds": 600, "action": action, **more}})
    assert reply.status == 200, reply.body


def test_sharing_past_the_threshold_raises_one_event_with_the_evidence_and_action_none_admits(
    aws: Aws, clock: FakeClock
) -> None:
    from streamauth.logic.sessions import token_ref

    sharing("none")
    token = jwt(type="play")
    for n in (1, 2, 3, 4):  # the third address is past 2; the fourth within the hold raises nothing more
        assert nginx(token, addr=f"127.0.0.{n}", client=n, call_="play").status == 200
    raised = suspicions(aws)
    assert len(raised) == 1
    detail = raised[0]
    assert detail["credentialKind"] == "jwt" and detail["credentialRef"] == token_ref(token)
    assert detail["addresses"] == ["127.0.0.1", "127.0.0.2", "127.0.0.3"] and detail["addressCount"] == 3
    assert detail["windowSeconds"] == 600 and detail["action"] == "none"
    assert token not in str(raised)


def test_addresses_outside_the_window_do_not_count(aws: Aws, clock: FakeClock) -> None:
    sharing("refuse")
    token = jwt(type="play")
    assert nginx(token, addr="127.0.0.1", client=1, call_="play").status == 200
    assert nginx(token, addr="127.0.0.2", client=2, call_="play").status == 200
    clock.advance(601)  # both out of the window
    assert nginx(token, addr="127.0.0.3", client=3, call_="play").status == 200
    assert nginx(token, addr="127.0.0.4", client=4, call_="play").status == 200
    assert suspicions(aws) == []


def test_sharing_refuse_refuses_new_sessions_for_the_window_and_lets_running_ones_be(
    aws: Aws, clock: FakeClock
) -> None:
    sharing("refuse")
    token = jwt()
    assert nginx(token, addr="127.0.0.1", client=1).status == 200
    assert nginx(token, addr="127.0.0.2", client=2).status == 200
    third = nginx(token, addr="127.0.0.3", client=3)
    assert third.status == 403 and third.body["reason"] == "sharing_suspected"
    assert nginx(token, addr="127.0.0.1", client=4).body["reason"] == "sharing_suspected"  # a known address too
    assert nginx(token, addr="127.0.0.1", client=1, call_="update_publish").status == 200  # running: not ended
    other = jwt(maxSessionSeconds="86400")  # another credential of the stream is not suspected
    assert nginx(other, addr="127.0.0.9", client=9).status == 200
    clock.advance(601)
    assert nginx(token, addr="127.0.0.1", client=5).status == 200


def test_sharing_end_ends_the_credentials_sessions_for_the_enforcer(aws: Aws, clock: FakeClock) -> None:
    sharing("end")
    token = jwt()
    assert nginx(token, addr="127.0.0.1", client=1).status == 200
    assert nginx(token, addr="127.0.0.2", client=2).status == 200
    assert nginx(token, addr="127.0.0.3", client=3).body["reason"] == "sharing_suspected"
    assert sessions() == []  # both ended, as the operator's DELETE ends them
    items = aws.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    ended = [i for i in items if i.get("kind", {}).get("S") == "session"]
    assert len(ended) == 2 and {i["endedBy"]["S"] for i in ended} == {"sharing"}  # what the enforcer kicks
    assert nginx(token, addr="127.0.0.1", client=1, call_="update_publish").body["reason"] == "session_ended"
    assert [d["action"] for d in suspicions(aws)] == ["end"]
    # the session enforcer (its template's filters) is handed both ends, to kick push servers' clients
    from tests.integration.test_enforcement import matches, template_filters

    handed = [r for r in stream_records(aws) if any(matches(f, r) for f in template_filters())]
    kicks = [r for r in handed if r["dynamodb"]["NewImage"].get("kind", {}).get("S") == "session"]
    assert len(kicks) == 2 and {r["dynamodb"]["NewImage"]["endedBy"]["S"] for r in kicks} == {"sharing"}


def test_an_end_cut_short_by_the_store_is_finished_by_the_next_refusal(
    aws: Aws, clock: FakeClock, faults: Faults
) -> None:
    sharing("end")
    token = jwt()
    assert nginx(token, addr="127.0.0.1", client=1).status == 200
    assert nginx(token, addr="127.0.0.2", client=2).status == 200
    ending = faults.fail("UpdateItem", "throttle", times=4, when=lambda body: "endedBy" in body["UpdateExpression"])
    assert nginx(token, addr="127.0.0.3", client=3).status == 503  # suspicion recorded, sessions not ended
    assert ending.hits == 4 and len(sessions()) == 2
    again = nginx(token, addr="127.0.0.1", client=4)
    assert again.body["reason"] == "sharing_suspected" and sessions() == []
    assert len(suspicions(aws)) == 1  # raised once


def test_a_use_read_that_fails_is_503_and_spends_no_subscriber_guess(
    aws: Aws, clock: FakeClock, faults: Faults
) -> None:
    from tests.integration.test_hooks import nginx_subscriber

    create_subscriber(limit=5)
    put_policy("cam1", {"bindOnFirstUse": 1})
    faults.fail("GetItem", "throttle", times=4, when=lambda body: body["Key"]["pk"]["S"].startswith("USES#"))
    assert nginx_subscriber(clock, client=1).status == 503
    assert nginx_subscriber(clock, client=1).status == 200  # the same code: it was neither used nor a guess


def test_sharing_block_blocks_a_subscriber_for_block_seconds(aws: Aws, clock: FakeClock) -> None:
    from tests.integration.test_hooks import nginx_subscriber

    create_subscriber(limit=5)
    sharing("block", blockSeconds=120)
    assert nginx_subscriber(clock, client=1, addr="127.0.0.1").status == 200
    clock.advance(60)
    assert nginx_subscriber(clock, client=2, addr="127.0.0.2").status == 200
    clock.advance(60)
    assert nginx_subscriber(clock, client=3, addr="127.0.0.3").body["reason"] == "sharing_suspected"
    got = call("GetSubscriberFunction", event("get_subscriber", pathParameters={"id": "cam1", "sid": "alice"}))
    assert got.body["blockedType"] == "publish_play"
    assert sessions() == []
    assert nginx_subscriber(clock, client=1, addr="127.0.0.1", call_="update_publish").status == 403
    clock.advance(121)
    assert nginx_subscriber(clock, client=4, addr="127.0.0.1").status == 200
    detail = suspicions(aws)[0]
    assert detail["credentialKind"] == "subscriber" and detail["subscriberId"] == "alice"


def test_countries_past_the_threshold_are_sharing(aws: Aws, clock: FakeClock) -> None:
    from dataclasses import replace

    from streamauth.models.hooks import parse_nginx
    from streamauth.service.access import access_service

    put_policy("cam1", {"sharing": {"countries": 1, "action": "refuse"}})
    token = jwt()

    def decide(n: int, country: str) -> Any:
        request = parse_nginx(nginx_body(token, n, f"127.0.0.{n}"))
        assert request is not None
        return access_service().decide(replace(request, country=country), clock())

    assert decide(1, "DE").allow
    assert decide(2, "DE").allow
    refused = decide(3, "FR")
    assert not refused.allow and refused.reason == "sharing_suspected"
    assert suspicions(aws)[0]["countries"] == ["DE", "FR"]


def test_a_known_address_costs_no_write_and_a_new_one_one(aws: Aws, clock: FakeClock) -> None:
    sharing("none")
    token = jwt()
    seen = requests(aws)
    assert nginx(token, addr="127.0.0.1", client=1).status == 200
    assert writes(seen) == 2  # the session, the address
    seen.clear()
    assert nginx(token, addr="127.0.0.1", client=2).status == 200
    assert writes(seen) == 1  # the session only
    seen.clear()
    clock.advance(301)  # past half the window: seen again, stamped again
    assert nginx(token, addr="127.0.0.1", client=3).status == 200
    assert writes(seen) == 2


def test_a_sharing_policy_belongs_to_a_stream_only(aws: Aws, clock: FakeClock) -> None:
    body = {
        "subscriberId": "carol",
        "type": "play",
        "policy": {"sharing": {"addresses": 1}},
    }
    created = call("CreateSubscriberFunction", event("create_subscriber", pathParameters={"id": "cam1"}, body=body))
    assert created.body["success"] is False and created.body["field"] == "policy.sharing"  # Ant Media's shape
    for bad, field in (
        ({"sharing": {"addresses": 0}}, "sharing.addresses"),
        ({"sharing": {"windowSeconds": 60}}, "sharing.addresses"),
        ({"sharing": {"addresses": 2, "action": "kick"}}, "sharing.action"),
        ({"sharing": {"addresses": 2, "every": 1}}, "sharing.every"),
        ({"maxSessions": 0}, "maxSessions"),
        ({"bindOnFirstUse": 51}, "bindOnFirstUse"),
    ):
        reply = put_policy("cam1", bad)
        assert reply.status == 400 and field in reply.body["message"], (bad, reply.body)


# -- other enforcement points --------------------------------------------------------------------
def test_hls_playback_counts_a_jwts_sessions_and_its_cookie_finds_the_slot(aws: Aws, clock: FakeClock) -> None:
    from tests.integration.test_playback import PLAYLIST, SEGMENT, check, cookie_of

    token = jwt(maxSessions="1", type="play")
    first = check(f"{PLAYLIST}?token={token}", ip="203.0.113.10")
    assert first.status == 200, first.body
    cookie = cookie_of(first)
    second = check(f"{PLAYLIST}?token={token}", ip="203.0.113.11")
    assert second.status == 403 and second.body["reason"] == "too_many_sessions"
    assert check(SEGMENT, cookie, ip="203.0.113.10").status == 200  # the session, by its `!` id
    clock.advance(3600)  # the playback session lapsed: its slot is free
    assert check(f"{PLAYLIST}?token={token}", ip="203.0.113.11").body["reason"] != "too_many_sessions"


@pytest.mark.usefixtures("cdn")
def test_cloudfront_renewing_from_the_same_address_keeps_its_slot(clock: FakeClock) -> None:
    from tests.integration.test_policies import cloudfront

    token = jwt(maxSessions="1", bindOnFirstUse="1", type="play")
    assert cloudfront("203.0.113.5", {}, token)[0] == 200
    assert cloudfront("203.0.113.5", {}, token)[0] == 200  # the same viewer renewing its cookies
    status, body = cloudfront("203.0.113.6", {}, token)
    assert status == 403 and body["reason"] == "bound_elsewhere"


def test_a_viewer_jwt_is_capped_and_bound_by_its_streams_policy(aws: Aws, clock: FakeClock) -> None:
    from streamauth.keys import get_keys
    from streamauth.logic import signing
    from streamauth.logic.viewers import viewer_claims
    from streamauth.models.hooks import parse_nginx
    from streamauth.models.viewers import ViewerTokenRequest
    from streamauth.service.access import access_service
    from streamauth.service.viewers import viewer_service

    assert viewer_service().set_public("cam1", True, clock() - 10)
    put_policy("cam1", {"maxSessions": 1, "bindOnFirstUse": 1})
    viewer = signing.encode(viewer_claims(ViewerTokenRequest("cam1", "u1"), clock(), 600), get_keys().viewer_jwt_key)

    def play(client: int, addr: str) -> Any:
        request = parse_nginx(nginx_body(viewer, client, addr, call_="play"))
        assert request is not None
        return access_service().decide(request, clock())

    assert play(1, "127.0.0.1").allow
    assert play(2, "127.0.0.1").reason == "too_many_sessions"
    assert play(3, "127.0.0.2").reason == "bound_elsewhere"


def test_fifty_concurrent_first_uses_cannot_slip_past_the_sharing_threshold_together(
    aws: Aws, clock: FakeClock
) -> None:
    """Each use's write returns the item as it left it (racers' addresses in it): the use that
    finds itself past the threshold raises the suspicion, so with `refuse` exactly `addresses`
    are admitted and one event is raised, however the 50 interleave."""
    sharing("refuse")
    token = jwt()
    decisions = decide_all([nginx_body(token, n, f"10.0.2.{n}") for n in range(RACERS)], clock)
    assert [d.allow for d in decisions].count(True) == 2
    assert {d.reason for d in decisions if not d.allow} == {"sharing_suspected"}
    raised = suspicions(aws)
    assert len(raised) == 1 and raised[0]["addressCount"] >= 3


def test_a_jwt_with_the_stateful_fields_and_its_length(aws: Aws, clock: FakeClock) -> None:
    """The note's numbers: maxSessions and bindOnFirstUse as a JWT carries them (`pol`: mx, b)."""
    plain = jwt()
    stateful = jwt(maxSessions="2", bindOnFirstUse="1")
    typical = jwt(allowCidrs="203.0.113.0/24", protocols="rtmp", maxSessionSeconds="3600", maxSessions="2")
    print(
        f"\nJWT: {len(plain)} bytes; maxSessions+bindOnFirstUse: {len(stateful)}; typical+maxSessions: {len(typical)}"
    )
    assert len(stateful) < 255 - len("token=")  # inside nginx-rtmp's args
    assert nginx(stateful, client=1).status == 200
