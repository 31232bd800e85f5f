"""The decision log under attack: it never holds a credential, a flood writes one item per
refusal spread over the shards, a throttled or failing write changes no answer and is tried
once, and 50 concurrent refusals are 50 records."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import pytest

from tests.conftest import Aws, FakeClock, call, event
from tests.faults import Faults
from tests.integration.test_decisions import admissions_logged, decisions  # noqa: F401 - a fixture
from tests.integration.test_hooks import hook, nginx, one_time, stream_jwt


def _decision_items(aws: Aws) -> list[dict[str, Any]]:
    client = aws.client("dynamodb")
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=aws.table_name):
        items += [i for i in page["Items"] if i["pk"]["S"].startswith("DECISIONS#")]
    return items


@pytest.mark.usefixtures("admissions_logged")
def test_no_credential_is_ever_in_a_decision(aws: Aws, clock: FakeClock) -> None:
    used = one_time()
    assert nginx(used).status == 200  # admitted (and logged)
    assert nginx(used).status == 403  # replayed
    jwt = stream_jwt(stream="cam1", action="play")
    assert nginx(jwt).status == 403  # a play JWT to publish
    code_play = "app=live&addr=10.0.0.5&clientid=9&call=play&name=cam1&subscriberId=alice&subscriberCode=424242"
    assert hook("NginxHookFunction", "hook_nginx", code_play).status == 403
    validate = event("validate_token", body={"tokenId": used, "streamId": "cam1", "type": "publish"})
    assert call("ValidateTokenFunction", validate).body["success"] is False
    stored = json.dumps(_decision_items(aws))
    listed = json.dumps(decisions().body)
    assert len(json.loads(listed)["decisions"]) == 5
    for secret in (used, jwt, jwt.split(".")[2], "424242"):
        assert secret not in stored and secret not in listed


def test_a_flood_writes_one_item_per_refusal_spread_over_the_shards(aws: Aws, clock: FakeClock) -> None:
    """One address, one stray token, 320 refusals in one second of the clock: 320 items, no
    partition key with more than a small share (at 100,000 a minute that share is ~104/s)."""
    for _ in range(320):
        assert nginx("A" * 43).body["reason"] == "invalid_token"
    items = _decision_items(aws)
    assert len(items) == 320
    per_key = Counter(i["pk"]["S"] for i in items)
    assert len(per_key) == 16 and max(per_key.values()) <= 45, per_key  # 20 expected per key
    assert all(i["expiresAt"]["N"] == str(int(clock()) + 7 * 86_400) for i in items)  # DecisionLogDays


@pytest.mark.usefixtures("admissions_logged")
def test_a_throttled_or_failing_log_write_changes_no_answer_and_is_tried_once(aws: Aws, clock: FakeClock) -> None:
    from streamauth.aws import dynamodb_once_client

    faults = Faults(dynamodb_once_client())
    faults.fail("PutItem", "throttle", times=100)
    assert nginx("A" * 43).body == {"code": 403, "allow": False, "reason": "invalid_token"}
    assert faults.sent.count("PutItem") == 1  # the SDK did not retry it
    faults.armed.clear()
    faults.fail("PutItem", "timeout", times=100)
    admitted = nginx(one_time())  # an admission (logged: admissions_logged) whose log write times out
    assert admitted.status == 200 and admitted.body["allow"] is True
    assert faults.sent.count("PutItem") == 2
    assert _decision_items(aws) == []


def test_fifty_concurrent_refusals_are_fifty_records(aws: Aws, clock: FakeClock) -> None:
    barrier = threading.Barrier(50)
    answers: list[int] = []
    lock = threading.Lock()

    def refuse() -> None:
        barrier.wait()
        status = nginx("A" * 43).status
        with lock:
            answers.append(status)

    threads = [threading.Thread(target=refuse) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [403] * 50
    assert len(_decision_items(aws)) == 50
    listed: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = decisions(limit="20", **({"next": cursor} if cursor else {})).body
        listed += page["decisions"]
        cursor = page["next"]
        if cursor is None:
            break
    assert len(listed) == 50
