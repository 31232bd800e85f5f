"""The local event-source mapping (tools/localapi/streams.py): Lambda's filter syntax as the
template uses it, batching, and what Lambda does with a failing batch (retries, partial batch
responses, bisection, the on-failure destination), against a stub stream and a stub function."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models.dynamodb import (
    DynamoDBStreamLambdaOnFailureDestinationModel,
    DynamoDBStreamRecordModel,
)

from localapi import streams
from localapi.streams import Mapping, Pattern, Poller

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2027-01-15T00:00:00.000"
FIRST = 1100000000017454423009  # moto's first sequence number


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def record(name: str, new: dict[str, Any] | None = None, old: dict[str, Any] | None = None, seq: int = FIRST) -> Any:
    """A record as DynamoDB Streams returns it (as lambda_record shapes it for a function)."""
    data: dict[str, Any] = {
        "ApproximateCreationDateTime": 1800000000.0,
        "Keys": {"pk": _s("K"), "sk": _s("S")},
        "SequenceNumber": str(seq),
        "SizeBytes": 10,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        data["NewImage"] = {k: _s(v) for k, v in new.items()}
    if old is not None:
        data["OldImage"] = {k: _s(v) for k, v in old.items()}
    raw = {"eventID": f"e{seq}", "eventName": name, "eventSource": "aws:dynamodb", "awsRegion": "us-east-1"}
    return streams.lambda_record({**raw, "dynamodb": data}, STREAM_ARN)


# -- the template's mappings and filters ---------------------------------------------------------


def by_function() -> dict[str, Mapping]:
    return {m.function: m for m in streams.mappings()}


def test_the_template_declares_the_publisher_and_the_enforcer_mappings() -> None:
    found = by_function()
    assert sorted(found) == ["ChangePublisherFunction", "SessionEnforcerFunction"]
    publisher, enforcer = found["ChangePublisherFunction"], found["SessionEnforcerFunction"]
    for mapping in (publisher, enforcer):
        assert mapping.table == "StreamAuthTable" and mapping.starting_position == "LATEST"
        assert mapping.window == 1 and mapping.bisect and mapping.max_retries == 5
        assert mapping.report_item_failures and mapping.on_failure == "EventsDeadLetterQueue"
    assert publisher.batch_size == 100 and len(publisher.filters) == 2
    assert enforcer.batch_size == 10 and len(enforcer.filters) == 5


ENFORCED = [
    ("revocation", record("MODIFY", {"kind": "stream", "revokedAtMs": "2"}, {"kind": "stream"})),
    ("subscriber blocked", record("MODIFY", {"kind": "subscriber", "blockedType": "publish"}, {"kind": "subscriber"})),
    ("subscriber deleted", record("REMOVE", None, {"kind": "subscriber"})),
    ("session ended", record("MODIFY", {"kind": "session", "endedBy": "operator"}, {"kind": "session"})),
    ("srs session deleted", record("REMOVE", None, {"kind": "session", "server": "srs"})),
]
NOT_ENFORCED = [
    ("token issued", record("INSERT", {"kind": "token"})),
    ("subscriber created", record("INSERT", {"kind": "subscriber"})),
    ("subscriber modified, not blocked", record("MODIFY", {"kind": "subscriber"}, {"kind": "subscriber"})),
    (
        "session kick recorded",
        record("MODIFY", {"kind": "session", "endedBy": "o"}, {"kind": "session", "endedBy": "o"}),
    ),
    ("nginx session deleted", record("REMOVE", None, {"kind": "session", "server": "nginx-rtmp"})),
    ("session admitted", record("INSERT", {"kind": "session", "server": "srs"})),
]


@pytest.mark.parametrize(("what", "change"), ENFORCED + NOT_ENFORCED, ids=[w for w, _ in ENFORCED + NOT_ENFORCED])
def test_the_enforcers_filters_pass_exactly_the_changes_that_end_sessions(what: str, change: Any) -> None:
    enforcer = by_function()["SessionEnforcerFunction"]
    assert enforcer.accepts(change) is ((what, change) in ENFORCED)
    assert by_function()["ChangePublisherFunction"].accepts(change)  # every change but the decision log's


@pytest.mark.parametrize(
    "change",
    [record("INSERT", {"kind": "decision"}), record("REMOVE", None, {"kind": "decision"})],
    ids=["logged", "expired"],
)
def test_the_decision_log_reaches_neither_the_publisher_nor_the_enforcer(change: Any) -> None:
    """A refusal flood writes one decision item per refusal: none of them may cost an invocation."""
    from streamauth.store.changes import changes

    assert changes(change) == []
    for mapping in by_function().values():
        assert not mapping.accepts(change)


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ({"a": ["x", "y"]}, {"a": "y"}, True),
        ({"a": ["x"]}, {"a": "X"}, False),
        ({"a": ["x"]}, {}, False),
        ({"a": [1]}, {"a": 1.0}, True),  # numbers by value
        ({"a": [1]}, {"a": True}, False),  # never a boolean for a number
        ({"a": [None]}, {"a": None}, True),
        ({"a": ["x"]}, {"a": ["w", "x"]}, True),  # a list value: any element
        ({"a": {"b": ["x"]}}, {"a": {"b": "x", "c": "z"}}, True),
        ({"a": {"b": [{"exists": False}]}}, {}, True),  # under a missing parent nothing exists
        ({"a": {"b": [{"exists": True}]}}, {"a": {"b": ""}}, True),
        ({"a": [{"exists": True}]}, {"a": {"b": "x"}}, False),  # exists matches leaves only
        ({"a": [{"exists": False}]}, {"a": None}, False),  # null is a value
        ({"a": [{"prefix": "ses"}]}, {"a": "session"}, True),
        ({"a": [{"prefix": "ses"}]}, {"a": "stream"}, False),
        ({"a": [{"suffix": ".mp4"}]}, {"a": "x.mp4"}, True),
        ({"a": [{"equals-ignore-case": "SRS"}]}, {"a": "srs"}, True),
        ({"a": [{"anything-but": ["srs", "mediamtx"]}]}, {"a": "antmedia"}, True),
        ({"a": [{"anything-but": ["srs", "mediamtx"]}]}, {"a": "srs"}, False),
        ({"a": [{"anything-but": "srs"}]}, {}, False),  # the field must be there
        ({"a": [{"anything-but": {"prefix": "nginx"}}]}, {"a": "nginx-rtmp"}, False),
        ({"a": [{"anything-but": {"prefix": "nginx"}}]}, {"a": "srs"}, True),
        ({"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 5}, True),
        ({"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 0}, False),
        ({"a": [{"numeric": ["=", 3]}]}, {"a": "3"}, False),  # DynamoDB's N is a string: no match
        ({"a": ["x"], "b": ["y"]}, {"a": "x", "b": "z"}, False),  # every field must match
    ],
)
def test_filter_operators(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    assert Pattern(json.dumps(pattern)).matches(event) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        '{"a": "x"}',  # not in a list
        '{"a": []}',
        '{"a": [{"wildcard": "x*"}]}',  # not supported here: refused, never ignored
        '{"a": [{"exists": "yes"}]}',
        '{"a": [{"numeric": [">"]}]}',
        '{"a": [{"prefix": "x", "suffix": "y"}]}',
        "[]",
    ],
)
def test_patterns_the_matcher_cannot_honour_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="pattern"):
        Pattern(pattern)


def test_lambda_records_are_what_powertools_parses() -> None:
    shaped = record("MODIFY", {"kind": "stream"}, {"kind": "stream"}, seq=FIRST + 4)
    parsed = DynamoDBStreamRecordModel.model_validate(shaped)
    assert parsed.eventSourceARN == STREAM_ARN and parsed.dynamodb.SequenceNumber == str(FIRST + 4)
    assert "userIdentity" not in shaped  # only DynamoDB's TTL service deletes carry one


# -- batching and failures, with a stub stream and a stub function ---------------------------------


class ListShard:
    arn = STREAM_ARN
    shard_id = "shardId-00000001541626099285-f35f62ef"

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def add(self, *kinds: str) -> None:
        for kind in kinds:
            seq = FIRST + len(self.records)
            self.records.append(record("INSERT", {"kind": kind, "n": str(seq - FIRST)}, seq=seq))

    def position(self, starting: str) -> int:
        return FIRST if starting == "TRIM_HORIZON" else FIRST + len(self.records)

    def read(self, position: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        chosen = self.records[position - FIRST : position - FIRST + limit]
        return chosen, position + len(chosen)


class Function:
    """A stub function: `answer` decides each invocation's reply from its records' numbers."""

    def __init__(self, answer: Callable[[list[int]], dict[str, Any]] | None = None) -> None:
        self.batches: list[list[int]] = []
        self._answer = answer or (lambda _: {"result": {"batchItemFailures": []}})

    def __call__(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
        numbers = [int(r["dynamodb"]["NewImage"]["n"]["S"]) for r in event["Records"]]
        self.batches.append(numbers)
        return self._answer(numbers)


def failing_items(*numbers: int) -> dict[str, Any]:
    return {"result": {"batchItemFailures": [{"itemIdentifier": str(FIRST + n)} for n in numbers]}}


ERROR = {"error": "boom", "errorType": "RuntimeError"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def poller(
    function: Function, *, batch_size: int = 10, window: float = 0, retries: int = 2, bisect: bool = False, **more: Any
) -> tuple[Poller, ListShard, list[dict[str, Any]], Clock]:
    mapping = Mapping(
        "StubFunction",
        "T",
        "TRIM_HORIZON",
        batch_size=batch_size,
        window=window,
        bisect=bisect,
        max_retries=retries,
        report_item_failures=more.pop("report", True),
        on_failure="Queue",
        filters=more.pop("filters", ()),
    )
    shard, clock = ListShard(), Clock()
    parked: list[dict[str, Any]] = []
    found = Poller(mapping, shard, function, parked.append, log=lambda _: None, clock=clock)
    return found, shard, parked, clock


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "RETRY_BACKOFF_SECONDS", 0.0)


def drain(found: Poller, limit: int = 50) -> None:
    for _ in range(limit):
        if not found.poll_once():
            return
    raise AssertionError("still delivering")


def test_batches_of_batch_size_in_order_of_the_stream_filtered_first() -> None:
    function = Function()
    found, shard, parked, _ = poller(function, filters=(Pattern('{"dynamodb": {"NewImage": {"kind": {"S": ["a"]}}}}'),))
    shard.add(*(["a"] * 12 + ["b"] * 5 + ["a"] * 13))
    drain(found)
    assert function.batches == [list(range(10)), [10, 11, *range(17, 25)], list(range(25, 30))]
    assert parked == [] and found.poll_once() is False


def test_a_batch_waits_for_its_window_unless_it_is_full() -> None:
    function = Function()
    found, shard, _, clock = poller(function, batch_size=3, window=1.0)
    shard.add("a", "a")
    assert found.poll_once() is False and function.batches == []
    clock.now = 0.99
    assert found.poll_once() is False
    clock.now = 1.0
    assert found.poll_once() is True and function.batches == [[0, 1]]
    shard.add("a", "a", "a")  # a full batch goes at once
    assert found.poll_once() is True and function.batches == [[0, 1], [2, 3, 4]]


def test_a_partial_failure_is_retried_from_the_failed_record_on() -> None:
    answers = [failing_items(5, 3), failing_items(), failing_items()]
    function = Function(lambda _: answers.pop(0))
    found, shard, parked, _ = poller(function, batch_size=10)
    shard.add(*["a"] * 8)
    drain(found)
    assert function.batches == [list(range(8)), list(range(3, 8))]  # the lowest one reported, on
    assert parked == []


def test_an_unknown_or_empty_item_identifier_fails_the_whole_batch() -> None:
    answers = [{"result": {"batchItemFailures": [{"itemIdentifier": ""}]}}, failing_items()]
    function = Function(lambda _: answers.pop(0))
    found, shard, _, _ = poller(function)
    shard.add("a", "a", "a")
    drain(found)
    assert function.batches == [[0, 1, 2], [0, 1, 2]]


def test_item_failures_are_ignored_unless_the_mapping_reports_them() -> None:
    function = Function(lambda _: failing_items(1))
    found, shard, parked, _ = poller(function, report=False)
    shard.add("a", "a", "a")
    drain(found)
    assert function.batches == [[0, 1, 2]] and parked == []


def test_partial_failures_that_exhaust_the_retries_go_to_the_destination() -> None:
    function = Function(lambda numbers: failing_items(4) if 4 in numbers else failing_items())
    found, shard, parked, _ = poller(function, retries=2)
    shard.add(*["a"] * 6)
    drain(found)
    assert function.batches == [list(range(6)), [4, 5], [4, 5]]  # one try and two retries
    (parked_record,) = parked
    parsed = DynamoDBStreamLambdaOnFailureDestinationModel.model_validate(parked_record)
    info = parsed.ddb_stream_batch_info
    assert (info.start_sequence_number, info.end_sequence_number) == (str(FIRST + 4), str(FIRST + 5))
    assert info.batch_size == 2 and info.stream_arn == STREAM_ARN and info.shard_id == ListShard.shard_id
    assert parsed.request_context.condition == "RetryAttemptsExhausted"
    assert parsed.request_context.approximate_invoke_count == 3
    assert parsed.request_context.function_arn.endswith(":function:StubFunction")
    assert parsed.response_context.function_error is None  # the function answered; records failed
    assert "Records" not in json.dumps(parked_record) and "NewImage" not in json.dumps(parked_record)


def test_a_function_error_bisects_the_batch_down_to_the_poison_record() -> None:
    function = Function(lambda numbers: ERROR if 5 in numbers else failing_items())
    found, shard, parked, _ = poller(function, batch_size=8, retries=2, bisect=True)
    shard.add(*["a"] * 8)
    drain(found)
    assert function.batches == [
        list(range(8)),
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [4, 5],
        [4],
        [5],
        [5],  # splitting used no retry: the record alone gets its two
        [5],
        [6, 7],
    ]
    (parked_record,) = parked
    parsed = DynamoDBStreamLambdaOnFailureDestinationModel.model_validate(parked_record)
    info = parsed.ddb_stream_batch_info
    assert (info.start_sequence_number, info.end_sequence_number, info.batch_size) == (str(FIRST + 5),) * 2 + (1,)
    assert parsed.response_context.function_error == "Unhandled"
    assert parsed.request_context.approximate_invoke_count == 6  # every invocation that carried it


def test_without_bisection_a_function_error_retries_the_whole_batch() -> None:
    function = Function(lambda numbers: ERROR if 1 in numbers else failing_items())
    found, shard, parked, _ = poller(function, retries=1)
    shard.add("a", "a", "a")
    shard_records = list(shard.records)
    drain(found)
    assert function.batches == [[0, 1, 2], [0, 1, 2]]
    (parked_record,) = parked
    assert parked_record["DDBStreamBatchInfo"]["batchSize"] == 3
    assert parked_record["DDBStreamBatchInfo"]["startSequenceNumber"] == shard_records[0]["dynamodb"]["SequenceNumber"]
    shard.add("a")  # and the stream goes on after it
    drain(found)
    assert function.batches[-1] == [3]


def test_the_poller_stops_promptly_and_gives_nothing_up_when_stopped_mid_batch() -> None:
    started = threading.Event()

    def answer(_: list[int]) -> dict[str, Any]:
        started.set()
        found.stop.set()  # the runner stops while the function runs; its worker is killed
        return {"error": "Runtime exited", "errorType": "Runtime.ExitError"}

    function = Function(answer)
    found, shard, parked, _ = poller(function, retries=5)
    shard.add("a")
    thread = threading.Thread(target=found.run, daemon=True)
    thread.start()
    assert started.wait(5)
    thread.join(2)
    assert not thread.is_alive() and function.batches == [[0]] and parked == []


def test_an_idle_poller_sleeps_between_polls_and_stops_at_once() -> None:
    reads = []
    found, shard, _, _ = poller(Function())
    original = shard.read

    def counted(position: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        reads.append(time.monotonic())
        return original(position, limit)

    shard.read = counted  # type: ignore[method-assign]
    thread = threading.Thread(target=found.run, daemon=True)
    thread.start()
    time.sleep(0.6)
    stopped_at = time.monotonic()
    found.stop.set()
    thread.join(2)
    assert not thread.is_alive() and time.monotonic() - stopped_at < 0.2
    assert 2 <= len(reads) <= 4  # every POLL_SECONDS (0.25 s), not a busy loop


def test_the_moto_shard_reads_the_tables_own_stream(aws: Any) -> None:
    dynamodb = aws.client("dynamodb")
    dynamodb.put_item(TableName=aws.table_name, Item={"pk": _s("STREAM#before"), "sk": _s("META")})
    arn = dynamodb.describe_table(TableName=aws.table_name)["Table"]["LatestStreamArn"]
    shard = streams.MotoShard(aws.table_name, "us-east-1", arn)
    latest = shard.position("LATEST")
    dynamodb.put_item(TableName=aws.table_name, Item={"pk": _s("STREAM#s1"), "sk": _s("META"), "kind": _s("stream")})
    dynamodb.delete_item(TableName=aws.table_name, Key={"pk": _s("STREAM#s1"), "sk": _s("META")})
    records, after = shard.read(latest, 10)
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"] and after == latest + 2
    shaped = [streams.lambda_record(r, shard.arn) for r in records]
    for one in shaped:
        DynamoDBStreamRecordModel.model_validate(one)
        assert one["eventSourceARN"] == arn and isinstance(one["dynamodb"]["ApproximateCreationDateTime"], float)
        assert one["dynamodb"]["Keys"] == {"pk": _s("STREAM#s1"), "sk": _s("META")}
    assert shaped[0]["dynamodb"]["NewImage"]["kind"] == _s("stream") and "OldImage" not in shaped[0]["dynamodb"]
    assert shaped[1]["dynamodb"]["OldImage"]["kind"] == _s("stream") and "NewImage" not in shaped[1]["dynamodb"]
    assert shard.read(after, 10) == ([], after)
    assert shard.read(shard.position("TRIM_HORIZON"), 1)[0][0]["dynamodb"]["Keys"]["pk"] == _s("STREAM#before")
