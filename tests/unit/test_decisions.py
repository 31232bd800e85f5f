"""The decision log's pure parts: what is kept, where a flood lands, the listing's parameters and
its cursor (every bad one a 400 naming its field)."""

from __future__ import annotations

import secrets
from collections import Counter

import pytest

from streamauth.errors import BadRequest
from streamauth.logic import decisions
from streamauth.logic.admission import Reason
from streamauth.logic.shards import SHARDS
from streamauth.models.decisions import (
    LIMIT_DEFAULT,
    DecisionQuery,
    DecisionRecord,
    decode_cursor,
    encode_cursor,
    parse_decision_query,
)


def test_every_refusal_is_kept_admissions_are_sampled_allowed_renews_never() -> None:
    for draw in (0.0, 0.5, 0.999):
        assert decisions.kept(False, False, draw) and decisions.kept(False, True, draw)
        assert not decisions.kept(True, True, draw)
    assert decisions.kept(True, False, 0.0)
    assert not decisions.kept(True, False, 1 / decisions.ADMISSION_SAMPLE)
    draws = [i / 10_000 for i in range(10_000)]
    assert sum(decisions.kept(True, False, d) for d in draws) == 10_000 // decisions.ADMISSION_SAMPLE


def test_sort_keys_order_by_time_and_expiry_is_the_retention() -> None:
    keys = [decisions.sort_key(ms, secrets.token_hex(8)) for ms in (5, 1_700_000_000_000, 1_700_000_000_001)]
    assert keys == sorted(keys)
    assert decisions.expires_at(1_800_000_000_500, 7) == 1_800_000_000 + 7 * 86_400


def test_a_flood_on_one_stream_spreads_under_a_partitions_write_limit() -> None:
    """100,000 refusals in a minute, for one stream (one address, one credential: the shard comes
    from each decision's own random id): no partition key gets near 1,000 writes/s."""
    per_second = 100_000 // 60 + 1
    busiest = 0
    for _ in range(3):  # three seconds of the flood
        counts = Counter(decisions.shard(secrets.token_hex(8)) for _ in range(per_second))
        assert set(counts) == set(range(SHARDS))
        busiest = max(busiest, max(counts.values()))
    assert busiest < 200, busiest  # ~104 expected; 1,000 is the partition's limit


def _record(**changes: object) -> DecisionRecord:
    fields: dict[str, object] = {
        "at_ms": 1,
        "stream_id": "s1",
        "action": "play",
        "allowed": False,
        "reason": Reason.INVALID_TOKEN,
        "credential": "token:0123456789abcdef",
    }
    fields.update(changes)
    return DecisionRecord(**fields)  # type: ignore[arg-type]


def test_the_answer_shape_leaves_out_what_is_unknown() -> None:
    assert _record().to_dict() == {
        "at": 1,
        "streamId": "s1",
        "action": "play",
        "allowed": False,
        "reason": "invalid_token",
        "credential": "token:0123456789abcdef",
    }
    full = _record(subscriber_id="alice", session_id="x" * 32, server="srs", server_id="edge-1", address="10.0.0.1")
    assert {"subscriberId", "sessionId", "server", "serverId", "address"} <= set(full.to_dict())


def test_parameters_are_parsed_and_each_bad_one_is_named() -> None:
    query = parse_decision_query(
        "s1", {"reason": "blocked", "subscriberId": "alice", "address": "2001:db8::1", "since": "5", "limit": "7"}
    )
    assert (query.reason, query.subscriber_id, query.address, query.since_ms, query.limit) == (
        Reason.BLOCKED,
        "alice",
        "2001:db8::1",
        5,
        7,
    )
    assert parse_decision_query("s1", None).limit == LIMIT_DEFAULT
    bad = {
        "reason": {"reason": "made_up"},
        "subscriberId": {"subscriberId": "a"},
        "address": {"address": "10.0.0.1; drop"},
        "since": {"since": "yesterday"},
        "limit": {"limit": "0"},
        "next": {"next": "not a cursor"},
        "sort": {"sort": "asc"},  # an unknown parameter is named too
    }
    for field, params in bad.items():
        with pytest.raises(BadRequest) as refused:
            parse_decision_query("s1", params)
        assert refused.value.field == field
    with pytest.raises(BadRequest) as refused:
        parse_decision_query("s1", {"limit": "101"})
    assert refused.value.field == "limit"


def test_a_cursor_reads_back_only_in_its_own_query() -> None:
    query = DecisionQuery("s1", reason=Reason.BLOCKED)
    key = decisions.sort_key(1_800_000_000_000, "0123456789abcdef")
    cursor = encode_cursor(key, query)
    assert decode_cursor(cursor, query) == key
    assert parse_decision_query("s1", {"reason": "blocked", "next": cursor, "limit": "3"}).before == key
    flips = [cursor[:i] + ("A" if cursor[i] != "A" else "B") + cursor[i + 1 :] for i in range(len(cursor))]
    for tampered, other in (
        *((flipped, query) for flipped in flips),  # any one character changed: the position too
        (encode_cursor(key, query)[:20] + encode_cursor(decisions.sort_key(1, "0" * 16), query)[20:], query),
        (cursor[:-3], query),
        (cursor, DecisionQuery("s2", reason=Reason.BLOCKED)),  # another stream's
        (cursor, DecisionQuery("s1")),  # other filters
        (cursor, DecisionQuery("s1", session_id="a" * 32, reason=Reason.BLOCKED)),
        (encode_cursor("1800000000000#zzzz", query), query),  # a sort key no decision has
    ):
        with pytest.raises(BadRequest) as refused:
            decode_cursor(tampered, other)
        assert refused.value.field == "next"


def test_every_place_that_counts_a_refusal_logs_the_decision() -> None:
    """The enforcement points count `<...>Refused` metrics; each of those sources calls the ONE
    `log_decision` too (a new enforcement point that counts and does not log fails here). Not
    decisions about a stream: a wrong hook secret (no stream yet) and API credentials."""
    import re

    from localapi.template import ROOT

    not_stream_decisions = {"HookSecretRefused", "CredentialRefused"}
    sources = [*ROOT.glob("functions/*/app.py"), *ROOT.glob("layers/streamauth/streamauth/**/*.py")]
    counting = []
    for path in sources:
        text = path.read_text()
        metric_lines = "\n".join(line for line in text.splitlines() if "add_metric(" in line)
        names = set(re.findall(r'"(\w*Refused)', metric_lines)) - not_stream_decisions
        if names:
            counting.append(path.relative_to(ROOT).as_posix())
            assert "log_decision(" in text, f"{path}: counts {sorted(names)} but logs no decision"
    # hooks.py (admission and renew, HLS/DASH playback), CloudFront, validate-token, the code check
    assert len(counting) >= 4, counting
